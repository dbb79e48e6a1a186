/* ViCLIP's caption cleaning, applied to every caption and zero-shot prompt before tokenising
 * (the official training and evaluation code's pre_text, without word truncation). In Python:
 *     t = re.sub(r"([,.'!?\"()*#:;~])", '', text.lower())
 *     t = t.replace('-', ' ').replace('/', ' ').replace('<person>', 'person')
 *     t = re.sub(r"\s{2,}", ' ', t)
 *     t = t.rstrip('\n').strip(' ')
 * lower() is CPython's full Unicode lowercase (final sigma, İ -> i + U+0307) and \s is the
 * stdlib re's, i.e. str.isspace(): unlike the tokenizer's whitespace_clean, which uses the
 * `regex` module's \s, it includes U+001C..U+001F. A run of two or more whitespace characters
 * becomes one space; a single tab or newline stays. */
#ifndef VC_TEXT_CAPTION_CLEAN_H
#define VC_TEXT_CAPTION_CLEAN_H

#include <stdint.h>

#include "core/error.h"
#include "text/tokenizer.h"

/* *out: the cleaned UTF-8 text (malloc'd; NULL on failure). Fails on invalid UTF-8 (a Python
 * str cannot hold it), naming the byte, its offset and what is wrong, or when memory runs out. */
int vc_clean_caption(const char *in, char **out, vc_error *err);

/* ids [ctx]: text tokenised, after vc_clean_caption when clean (the one place captions,
 * prompts and queries become token ids). */
int vc_tokenize_caption(const vc_tokenizer *tok, const char *text, int ctx, int clean, int32_t *ids, vc_error *err);

#endif
