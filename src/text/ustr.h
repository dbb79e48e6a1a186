/* Code point strings for the tokenizer's text clean-up.
 * The clean-up mirrors Python str operations, which work on code points, so every stage works on
 * a growable UTF-32 buffer. Allocation failure sets a sticky `oom` flag instead of returning an
 * error from every push; stages check it once at the end. */
#ifndef VC_TEXT_USTR_H
#define VC_TEXT_USTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text/unicode_tables.h"

typedef struct {
    uint32_t *d;
    size_t n, cap;
    bool oom;
} vc_ustr;

void vc_ustr_free(vc_ustr *s);
void vc_ustr_clear(vc_ustr *s);                       /* n = 0, keeps storage and oom */
void vc_ustr_push(vc_ustr *s, uint32_t cp);
void vc_ustr_append(vc_ustr *s, const uint32_t *cps, size_t n);
void vc_ustr_swap(vc_ustr *a, vc_ustr *b);
bool vc_ustr_eq(const vc_ustr *a, const vc_ustr *b);

/* Decode UTF-8 like Python's bytes.decode('utf-8', errors='replace'): each maximal ill-formed
 * subsequence becomes one U+FFFD. */
void vc_ustr_from_utf8(const uint8_t *p, size_t n, vc_ustr *out);
/* Append the UTF-8 encoding of cp (must be a valid scalar or surrogate-free); returns bytes written (1-4). */
int vc_utf8_put(uint32_t cp, uint8_t out[4]);

/* ---- table lookups ---- */
bool vc_uset_has(const vc_uset *set, uint32_t cp);
/* Replacement for cp in a sorted vc_umulti table, or NULL. */
const vc_umulti *vc_umulti_find(const vc_umulti *tab, size_t n, uint32_t cp);

/* CPython str.isspace(). */
static inline bool vc_py_isspace(uint32_t cp) {
    if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
    return vc_uset_has(&vc_py_space, cp);
}

/* out = in.lower() with CPython semantics (full mappings, final sigma). */
void vc_py_lower_str(const vc_ustr *in, vc_ustr *out);
/* out = in.strip() (CPython whitespace). */
void vc_py_strip(const vc_ustr *in, vc_ustr *out);

#endif
