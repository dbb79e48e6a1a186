/* The reference tokenizer's text preparation, up to the regular-expression split:
 *     whitespace_clean(basic_clean(text)).lower()
 * where basic_clean = ftfy.fix_text, html.unescape twice, str.strip, and whitespace_clean
 * collapses regex-\s runs to one space and strips again. Then the split itself. */
#ifndef VC_TEXT_TEXT_CLEAN_H
#define VC_TEXT_TEXT_CLEAN_H

#include "core/error.h"
#include "text/ustr.h"

/* Cleans UTF-8 text (invalid sequences become U+FFFD, as Python's errors='replace' would
 * produce) into out. Returns 0, or -1 with a message when memory runs out. */
int vc_clip_clean(const char *utf8, size_t len, vc_ustr *out, vc_error *err);

/* One piece of the split: code points [start, start+len) of the cleaned text. */
typedef struct { size_t start, len; } vc_piece;

/* Splits cleaned text like re.findall of
 *   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 * (regex module, IGNORECASE). Returns the piece that starts at or after *pos and advances *pos
 * past it; false when no piece is left. */
bool vc_clip_next_piece(const vc_ustr *text, size_t *pos, vc_piece *piece);

#endif
