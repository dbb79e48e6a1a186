/* ftfy's fix_encoding (6.3.1): detect mojibake with the badness heuristic and undo it by
 * re-encoding in a single-byte codec and decoding as UTF-8. The regular expressions of
 * ftfy.chardata / ftfy.fixes are byte-level and short, so they are written out as scanners
 * here (alternatives tried in pattern order, leftmost-first, like Python's re); the character
 * classes of BADNESS_RE and UTF8_DETECTOR_RE come generated in ftfy_tables.c. */
#include "text/ftfy.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- byte buffers */

typedef struct {
    uint8_t *d;
    size_t n, cap;
    bool oom;
} bytes_t;

static void bytes_push(bytes_t *b, uint8_t v) {
    if (b->oom) return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        uint8_t *d = realloc(b->d, cap);
        if (!d) {
            b->oom = true;
            return;
        }
        b->d = d;
        b->cap = cap;
    }
    b->d[b->n++] = v;
}

static void bytes_swap(bytes_t *a, bytes_t *b) {
    bytes_t t = *a;
    *a = *b;
    *b = t;
}

static bool bytes_eq(const bytes_t *a, const bytes_t *b) {
    return a->n == b->n && (a->n == 0 || memcmp(a->d, b->d, a->n) == 0);
}

/* ---------------------------------------------------------------- badness */

static bool in_class(uint8_t cls, uint32_t cp) { return vc_uset_has(vc_ftfy_classes[cls], cp); }

/* Does alternative `a`, from step k, match s at pos? (\s? is the only optional step; greedy
 * with backtracking, like re.) */
static bool alt_match(const vc_mb_alt *a, int k, const uint32_t *s, size_t n, size_t pos) {
    if (k == a->n) return true;
    const vc_mb_step st = a->s[k];
    switch (st.kind) {
    case VC_MB_BOL:
        return pos == 0 && alt_match(a, k + 1, s, n, pos);
    case VC_MB_OPT:
        if (pos < n && in_class(st.cls, s[pos]) && alt_match(a, k + 1, s, n, pos + 1)) return true;
        return alt_match(a, k + 1, s, n, pos);
    default:
        return pos < n && in_class(st.cls, s[pos]) && alt_match(a, k + 1, s, n, pos + 1);
    }
}

bool vc_ftfy_is_bad(const uint32_t *s, size_t n) {
    for (size_t pos = 0; pos < n; pos++)
        for (size_t a = 0; a < vc_ftfy_badness_n; a++)
            if (alt_match(&vc_ftfy_badness[a], 0, s, n, pos)) return true;
    return false;
}

/* ---------------------------------------------------------------- codecs */

static const vc_charmap *charmap_named(const char *name) {
    for (size_t i = 0; i < vc_ftfy_charmaps_n; i++)
        if (strcmp(vc_ftfy_charmaps[i].name, name) == 0) return &vc_ftfy_charmaps[i];
    return NULL;
}

/* text.encode(codec); false when some character is not in the codec (possible_encoding()). */
static bool charmap_encode(const vc_charmap *cm, const uint32_t *s, size_t n, bytes_t *out) {
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = s[i];
        if (c < 0x80 && c != 0x1A) {
            bytes_push(out, (uint8_t)c);
            continue;
        }
        size_t lo = 0, hi = cm->enc_n;
        bool found = false;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (c < cm->enc[mid].cp) hi = mid;
            else if (c > cm->enc[mid].cp) lo = mid + 1;
            else {
                bytes_push(out, cm->enc[mid].byte);
                found = true;
                break;
            }
        }
        if (!found) return false;
    }
    return true;
}

static bool cont(uint8_t b) { return b >= 0x80 && b <= 0xBF; }
/* a continuation byte other than 0x85 and 0xA0 */
static bool cont_strict(uint8_t b) { return cont(b) && b != 0x85 && b != 0xA0; }

/* Length of the chardata.ALTERED_UTF8_RE match at i, or 0. */
static size_t altered_at(const uint8_t *b, size_t n, size_t i) {
    size_t r = n - i;
    uint8_t c0 = b[i];
    if (r >= 2 && (c0 == 0xC2 || c0 == 0xC3 || c0 == 0xC5 || c0 == 0xCE || c0 == 0xD0 || c0 == 0xD9) &&
        b[i + 1] == 0x20)
        return 2;
    if (r >= 3 && (c0 == 0xE2 || c0 == 0xE3) && b[i + 1] == 0x20 && cont_strict(b[i + 2])) return 3;
    if (r >= 3 && c0 >= 0xE0 && c0 <= 0xE3 && cont_strict(b[i + 1]) && b[i + 2] == 0x20) return 3;
    if (r >= 4 && c0 == 0xF0) {
        if (b[i + 1] == 0x20 && cont(b[i + 2]) && cont(b[i + 3])) return 4;
        if (cont(b[i + 1]) && b[i + 2] == 0x20 && cont(b[i + 3])) return 4;
        if (cont(b[i + 1]) && cont(b[i + 2]) && b[i + 3] == 0x20) return 4;
    }
    return 0;
}

static bool altered_search(const bytes_t *b) {
    for (size_t i = 0; i < b->n; i++)
        if (altered_at(b->d, b->n, i)) return true;
    return false;
}

static bool starts_with(const uint8_t *b, size_t n, size_t i, const char *lit) {
    size_t len = strlen(lit);
    return n - i >= len && memcmp(b + i, lit, len) == 0;
}

/* fixes.restore_byte_a0 */
static void restore_byte_a0(const bytes_t *in, bytes_t *tmp, bytes_t *out) {
    /* A_GRAVE_WORD_RE = \xc3 (?! |quele|quela|quilo|s ) -> \xc3\xa0 + space */
    tmp->n = 0;
    const uint8_t *b = in->d;
    size_t n = in->n;
    for (size_t i = 0; i < n;) {
        if (b[i] == 0xC3 && i + 1 < n && b[i + 1] == 0x20) {
            size_t j = i + 2;
            bool excluded = starts_with(b, n, j, " ") || starts_with(b, n, j, "quele") ||
                            starts_with(b, n, j, "quela") || starts_with(b, n, j, "quilo") ||
                            starts_with(b, n, j, "s ");
            if (!excluded) {
                bytes_push(tmp, 0xC3);
                bytes_push(tmp, 0xA0);
                bytes_push(tmp, 0x20);
                i += 2;
                continue;
            }
        }
        bytes_push(tmp, b[i++]);
    }
    /* ALTERED_UTF8_RE matches get their spaces turned back into 0xA0 */
    out->n = 0;
    for (size_t i = 0; i < tmp->n;) {
        size_t m = altered_at(tmp->d, tmp->n, i);
        if (m) {
            for (size_t k = 0; k < m; k++) bytes_push(out, tmp->d[i + k] == 0x20 ? 0xA0 : tmp->d[i + k]);
            i += m;
        } else {
            bytes_push(out, tmp->d[i++]);
        }
    }
    if (tmp->oom) out->oom = true;
}

/* Length of the chardata.LOSSY_UTF8_RE match at i, or 0. */
static size_t lossy_at(const uint8_t *b, size_t n, size_t i) {
#define SUB(x) ((x) == 0x1A)
#define Q(x) ((x) == 0x1A || (x) == '?')
#define SC(x) ((x) == 0x1A || cont(x))
#define QC(x) ((x) == 0x1A || (x) == '?' || cont(x))
    size_t r = n - i;
    uint8_t c0 = b[i];
    if (r >= 2 && c0 >= 0xC2 && c0 <= 0xDF && SUB(b[i + 1])) return 2;
    if (r >= 2 && (c0 == 0xC2 || c0 == 0xC3) && b[i + 1] == '?') return 2;
    if (r >= 6 && c0 == 0xED && b[i + 1] >= 0xA0 && b[i + 1] <= 0xAF && b[i + 3] == 0xED &&
        b[i + 4] >= 0xB0 && b[i + 4] <= 0xBF) {
        if (Q(b[i + 2]) && QC(b[i + 5])) return 6;
        if (QC(b[i + 2]) && Q(b[i + 5])) return 6;
    }
    if (r >= 3 && c0 >= 0xE0 && c0 <= 0xEF) {
        if (Q(b[i + 1]) && SC(b[i + 2])) return 3;
        if (SC(b[i + 1]) && Q(b[i + 2])) return 3;
    }
    if (r >= 4 && c0 >= 0xF0 && c0 <= 0xF4) {
        if (Q(b[i + 1]) && SC(b[i + 2]) && SC(b[i + 3])) return 4;
        if (SC(b[i + 1]) && Q(b[i + 2]) && SC(b[i + 3])) return 4;
        if (SC(b[i + 1]) && SC(b[i + 2]) && Q(b[i + 3])) return 4;
    }
    if (SUB(c0)) return 1;
    return 0;
#undef SUB
#undef Q
#undef SC
#undef QC
}

/* fixes.replace_lossy_sequences: each match becomes the UTF-8 of U+FFFD. */
static void replace_lossy(const bytes_t *in, bytes_t *out) {
    out->n = 0;
    for (size_t i = 0; i < in->n;) {
        size_t m = lossy_at(in->d, in->n, i);
        if (m) {
            bytes_push(out, 0xEF);
            bytes_push(out, 0xBF);
            bytes_push(out, 0xBD);
            i += m;
        } else {
            bytes_push(out, in->d[i++]);
        }
    }
}

/* Python's strict UTF-8 decoder, or ftfy's "utf-8-variants" (also CESU-8 surrogate pairs and
 * Java's C0 80 for U+0000). Returns false on any decoding error. In the variants codec a
 * regular-expression '$' also matches before a final '\n', which lets C0 '\n' and a CESU-8 pair
 * ending in '\n' through; that quirk is reproduced. */
static bool utf8_decode_strict(const bytes_t *in, bool variants, vc_ustr *out) {
    vc_ustr_clear(out);
    const uint8_t *p = in->d;
    size_t n = in->n;
    for (size_t i = 0; i < n;) {
        uint8_t b = p[i];
        if (b < 0x80) {
            vc_ustr_push(out, b);
            i++;
            continue;
        }
        if (variants && b == 0xC0) {
            if (i + 1 < n && (p[i + 1] == 0x80 || (i + 1 == n - 1 && p[i + 1] == '\n'))) {
                vc_ustr_push(out, 0);
                i += 2;
                continue;
            }
            return false;
        }
        if (variants && b == 0xED && i + 1 < n && p[i + 1] >= 0xA0 && p[i + 1] <= 0xBF) {
            if (n - i >= 6 && p[i + 1] <= 0xAF && cont(p[i + 2]) && p[i + 3] == 0xED &&
                p[i + 4] >= 0xB0 && p[i + 4] <= 0xBF &&
                (cont(p[i + 5]) || (i + 5 == n - 1 && p[i + 5] == '\n'))) {
                uint32_t cp = ((uint32_t)(p[i + 1] & 0x0F) << 16) + ((uint32_t)(p[i + 2] & 0x3F) << 10) +
                              ((uint32_t)(p[i + 4] & 0x0F) << 6) + (p[i + 5] & 0x3F) + 0x10000;
                vc_ustr_push(out, cp);
                i += 6;
                continue;
            }
            return false;   /* a lone surrogate: an error in every branch of the codec */
        }
        int need;
        uint32_t cp;
        uint8_t lo = 0x80, hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) { need = 1; cp = b & 0x1F; }
        else if (b >= 0xE0 && b <= 0xEF) {
            need = 2; cp = b & 0x0F;
            if (b == 0xE0) lo = 0xA0;
            if (b == 0xED) hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3; cp = b & 0x07;
            if (b == 0xF0) lo = 0x90;
            if (b == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (n - i <= (size_t)need) return false;
        for (int k = 1; k <= need; k++) {
            uint8_t c = p[i + k];
            if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return false;
            cp = (cp << 6) | (c & 0x3F);
        }
        vc_ustr_push(out, cp);
        i += (size_t)need + 1;
    }
    return !out->oom;
}

/* ---------------------------------------------------------------- embedded mojibake */

/* End of the UTF8_DETECTOR_RE match starting at p (== p: no match). */
static size_t detector_at(const uint32_t *s, size_t n, size_t p) {
    const vc_utf8_detector *d = &vc_ftfy_utf8_detector;
    if (p > 0 && in_class(d->cont_strict, s[p - 1])) return p;
    size_t q = p;
    for (;;) {
        size_t len = 0;
        for (int alt = 0; alt < 3 && !len; alt++) {
            size_t need = (size_t)alt + 1;   /* continuation characters after the first */
            if (n - q < need + 1 || !in_class(d->first[alt], s[q])) continue;
            bool ok = true;
            for (size_t k = 1; k <= need && ok; k++) ok = in_class(d->cont, s[q + k]);
            if (ok) len = need + 1;
        }
        if (!len) return q;
        q += len;
    }
}

/* fixes.decode_inconsistent_utf8 */
static void decode_inconsistent_utf8(const vc_ustr *in, vc_ustr *out) {
    vc_ustr_clear(out);
    vc_ustr sub = {0}, fixed = {0};
    for (size_t p = 0; p < in->n;) {
        size_t q = detector_at(in->d, in->n, p);
        if (q == p) {
            vc_ustr_push(out, in->d[p++]);
            continue;
        }
        if (q - p < in->n && vc_ftfy_is_bad(in->d + p, q - p)) {
            vc_ustr_clear(&sub);
            vc_ustr_append(&sub, in->d + p, q - p);
            vc_ftfy_fix_encoding(&sub, &fixed);
            if (fixed.oom || sub.oom) out->oom = true;
            vc_ustr_append(out, fixed.d, fixed.n);
        } else {
            vc_ustr_append(out, in->d + p, q - p);
        }
        p = q;
    }
    vc_ustr_free(&sub);
    vc_ustr_free(&fixed);
}

void vc_ftfy_fix_c1_controls(const vc_ustr *in, vc_ustr *out) {
    const vc_charmap *w = charmap_named("sloppy-windows-1252");
    vc_ustr_clear(out);
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->d[i];
        vc_ustr_push(out, (w && c >= 0x80 && c <= 0x9F) ? w->dec[c] : c);
    }
}

static bool has_c1(const vc_ustr *s) {
    for (size_t i = 0; i < s->n; i++)
        if (s->d[i] >= 0x80 && s->d[i] <= 0x9F) return true;
    return false;
}

/* ---------------------------------------------------------------- fix_encoding */

/* ftfy._fix_encoding_one_step_and_explain: out = the text after one fixing step. */
static void fix_encoding_step(const vc_ustr *in, vc_ustr *out) {
    vc_ustr_clear(out);
    bool ascii = true;
    for (size_t i = 0; i < in->n && ascii; i++) ascii = in->d[i] < 0x80;
    if (in->n == 0 || ascii || !vc_ftfy_is_bad(in->d, in->n)) {
        vc_ustr_append(out, in->d, in->n);
        return;
    }
    bytes_t enc = {0}, alt = {0}, tmp = {0};
    bool latin1_possible = false, done = false;
    for (size_t e = 0; e < vc_ftfy_charmaps_n && !done; e++) {
        const vc_charmap *cm = &vc_ftfy_charmaps[e];
        if (!charmap_encode(cm, in->d, in->n, &enc)) continue;
        if (strcmp(cm->name, "latin-1") == 0) latin1_possible = true;
        if (!cm->macroman && altered_search(&enc)) {
            restore_byte_a0(&enc, &tmp, &alt);
            if (!bytes_eq(&alt, &enc)) bytes_swap(&alt, &enc);
        }
        if (cm->sloppy) {
            replace_lossy(&enc, &alt);
            if (!bytes_eq(&alt, &enc)) bytes_swap(&alt, &enc);
        }
        bool variants = memchr(enc.d, 0xED, enc.n) || memchr(enc.d, 0xC0, enc.n);
        if (enc.oom || alt.oom || tmp.oom) {
            out->oom = true;
            done = true;
        } else if (utf8_decode_strict(&enc, variants, out)) {
            done = true;
        }
    }
    free(enc.d);
    free(alt.d);
    free(tmp.d);
    if (done) return;

    for (size_t p = 0; p < in->n; p++) {
        if (detector_at(in->d, in->n, p) != p) {
            decode_inconsistent_utf8(in, out);
            if (out->oom || !vc_ustr_eq(out, in)) return;
            break;
        }
    }
    if (latin1_possible) {
        /* text.encode('latin-1').decode('windows-1252'), strict */
        vc_ustr_clear(out);
        bool ok = true;
        for (size_t i = 0; i < in->n && ok; i++) {
            uint32_t c = vc_cp1252_strict[in->d[i]];   /* latin-1 possible: every cp < 0x100 */
            ok = c != VC_CHARMAP_NONE;
            vc_ustr_push(out, c);
        }
        if (ok && (out->oom || !vc_ustr_eq(out, in))) return;
    }
    vc_ustr_clear(out);
    if (has_c1(in)) {
        vc_ftfy_fix_c1_controls(in, out);
        return;
    }
    vc_ustr_append(out, in->d, in->n);
}

void vc_ftfy_fix_encoding(const vc_ustr *in, vc_ustr *out) {
    vc_ustr cur = {0}, next = {0};
    vc_ustr_append(&cur, in->d, in->n);
    for (;;) {
        fix_encoding_step(&cur, &next);
        if (next.oom || cur.oom) {
            out->oom = true;
            break;
        }
        bool same = vc_ustr_eq(&cur, &next);
        vc_ustr_swap(&cur, &next);
        if (same) break;
    }
    vc_ustr_clear(out);
    vc_ustr_append(out, cur.d, cur.n);
    vc_ustr_free(&cur);
    vc_ustr_free(&next);
}
