/* A C reimplementation of ftfy.fix_text() with its default configuration (ftfy 6.3.1, the
 * first step of CLIP's basic_clean). ftfy is (c) Robyn Speer, Apache License 2.0; this code
 * follows its published behaviour and uses data derived from it (src/text/ftfy_tables.c).
 *
 * Implemented: unescape_html ("auto": off from the first line containing '<'), the whole of
 * fix_encoding (mojibake detection with the badness heuristic, the ten single-byte codecs,
 * restore_byte_a0, replace_lossy_sequences, utf-8-variants/CESU-8, decode_inconsistent_utf8,
 * latin-1 -> windows-1252, fix_c1_controls), fix_latin_ligatures, fix_character_width,
 * uncurl_quotes, fix_line_breaks, remove_terminal_escapes, remove_control_chars and NFC, in
 * ftfy's order, repeated to a fixed point, per line segment.
 * Not needed: fix_surrogates (UTF-8 input cannot carry surrogates). */
#ifndef VC_TEXT_FTFY_H
#define VC_TEXT_FTFY_H

#include "text/ustr.h"

/* out = ftfy.fix_text(in). Returns 0, or -1 when memory runs out. */
int vc_ftfy_fix_text(const vc_ustr *in, vc_ustr *out);

/* ftfy.badness.is_bad(text). */
bool vc_ftfy_is_bad(const uint32_t *s, size_t n);

/* out = ftfy.fix_encoding(in) (one segment). */
void vc_ftfy_fix_encoding(const vc_ustr *in, vc_ustr *out);

/* out = ftfy.fixes.fix_c1_controls(in): U+0080-U+009F read as sloppy windows-1252. */
void vc_ftfy_fix_c1_controls(const vc_ustr *in, vc_ustr *out);

#endif
