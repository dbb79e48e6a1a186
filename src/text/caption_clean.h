/* ViCLIP's caption cleaning, applied to every caption and zero-shot prompt before tokenising
 * (the official training and evaluation code's pre_text, without word truncation). In Python:
 *     t = re.sub(r"([,.'!?\"()*#:;~])", '', text.lower())
 *     t = t.replace('-', ' ').replace('/', ' ').replace('<person>', 'person')
 *     t = re.sub(r"\s{2,}", ' ', t)
 *     t = t.rstrip('\n').strip(' ')
 * lower() is CPython's full Unicode lowercase and \s its str.isspace() set. */
#ifndef VC_TEXT_CAPTION_CLEAN_H
#define VC_TEXT_CAPTION_CLEAN_H

#include "core/error.h"

/* *out: the cleaned UTF-8 text (malloc'd). Invalid UTF-8 becomes U+FFFD, as Python's
 * errors='replace' decoding would give. Fails only when memory runs out. */
int vc_clean_caption(const char *in, char **out, vc_error *err);

#endif
