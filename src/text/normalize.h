/* Unicode NFC normalization, as unicodedata.normalize('NFC', s) (the last step of ftfy.fix_text). */
#ifndef VC_TEXT_NORMALIZE_H
#define VC_TEXT_NORMALIZE_H

#include "text/ustr.h"

/* Canonical combining class of cp. */
uint8_t vc_ccc(uint32_t cp);
/* out = NFC(in); `tmp` is scratch space (both may hold old data; out must differ from in). */
void vc_nfc(const vc_ustr *in, vc_ustr *out, vc_ustr *tmp);

#endif
