/* Code point buffers, UTF-8 conversion with Python's error handling, table lookups and the
 * CPython str operations (lower, strip) that the reference tokenizer applies. */
#include "text/ustr.h"

#include <stdlib.h>
#include <string.h>

void vc_ustr_free(vc_ustr *s) {
    free(s->d);
    s->d = NULL;
    s->n = s->cap = 0;
}

void vc_ustr_clear(vc_ustr *s) { s->n = 0; }

static bool ustr_reserve(vc_ustr *s, size_t extra) {
    if (s->oom) return false;
    if (s->n + extra <= s->cap) return true;
    size_t cap = s->cap ? s->cap : 16;
    while (cap < s->n + extra) {
        if (cap > SIZE_MAX / 2 / sizeof(uint32_t)) {
            s->oom = true;
            return false;
        }
        cap *= 2;
    }
    uint32_t *d = realloc(s->d, cap * sizeof(uint32_t));
    if (!d) {
        s->oom = true;
        return false;
    }
    s->d = d;
    s->cap = cap;
    return true;
}

void vc_ustr_push(vc_ustr *s, uint32_t cp) {
    if (ustr_reserve(s, 1)) s->d[s->n++] = cp;
}

void vc_ustr_append(vc_ustr *s, const uint32_t *cps, size_t n) {
    if (n && ustr_reserve(s, n)) {
        memcpy(s->d + s->n, cps, n * sizeof(uint32_t));
        s->n += n;
    }
}

void vc_ustr_swap(vc_ustr *a, vc_ustr *b) {
    vc_ustr t = *a;
    *a = *b;
    *b = t;
}

bool vc_ustr_eq(const vc_ustr *a, const vc_ustr *b) {
    return a->n == b->n && (a->n == 0 || memcmp(a->d, b->d, a->n * sizeof(uint32_t)) == 0);
}

/* ---------------------------------------------------------------- UTF-8 */

void vc_ustr_from_utf8(const uint8_t *p, size_t n, vc_ustr *out) {
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        if (b < 0x80) {
            vc_ustr_push(out, b);
            i++;
            continue;
        }
        int need;
        uint32_t cp;
        uint8_t lo = 0x80, hi = 0xBF;   /* allowed range of the second byte */
        if (b >= 0xC2 && b <= 0xDF) { need = 1; cp = b & 0x1F; }
        else if (b >= 0xE0 && b <= 0xEF) {
            need = 2; cp = b & 0x0F;
            if (b == 0xE0) lo = 0xA0;
            if (b == 0xED) hi = 0x9F;   /* no surrogates */
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3; cp = b & 0x07;
            if (b == 0xF0) lo = 0x90;
            if (b == 0xF4) hi = 0x8F;
        } else {                         /* 0x80-0xC1, 0xF5-0xFF: invalid start byte */
            vc_ustr_push(out, 0xFFFD);
            i++;
            continue;
        }
        size_t j = i + 1;
        int got = 0;
        while (got < need && j < n) {
            uint8_t c = p[j];
            uint8_t clo = got == 0 ? lo : 0x80, chi = got == 0 ? hi : 0xBF;
            if (c < clo || c > chi) break;
            cp = (cp << 6) | (c & 0x3F);
            got++;
            j++;
        }
        if (got == need) {
            vc_ustr_push(out, cp);
        } else {
            vc_ustr_push(out, 0xFFFD);   /* one replacement for the maximal valid prefix */
        }
        i = j;
    }
}

int vc_utf8_put(uint32_t cp, uint8_t out[4]) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---------------------------------------------------------------- lookups */

bool vc_uset_has(const vc_uset *set, uint32_t cp) {
    uint32_t lo = 0, hi = set->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cp < set->r[mid].lo) hi = mid;
        else if (cp > set->r[mid].hi) lo = mid + 1;
        else return true;
    }
    return false;
}

const vc_umulti *vc_umulti_find(const vc_umulti *tab, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < tab[mid].cp) hi = mid;
        else if (cp > tab[mid].cp) lo = mid + 1;
        else return &tab[mid];
    }
    return NULL;
}

/* ---------------------------------------------------------------- str.lower / str.strip */

static uint32_t lower_simple(uint32_t cp) {
    if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    size_t lo = 0, hi = vc_py_lower_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const vc_umaprange *r = &vc_py_lower[mid];
        if (cp < r->lo) hi = mid;
        else if (cp > r->hi) lo = mid + 1;
        else return ((cp - r->lo) % r->stride == 0) ? (uint32_t)((int64_t)cp + r->delta) : cp;
    }
    return cp;
}

/* CPython's handle_capital_sigma: final form when preceded by a cased letter (skipping
 * case-ignorables) and not followed by one. */
static uint32_t capital_sigma(const vc_ustr *s, size_t i) {
    size_t j = i;
    uint32_t c = 0;
    bool found = false;
    while (j > 0) {
        c = s->d[--j];
        if (!vc_uset_has(&vc_py_case_ignorable, c)) {
            found = true;
            break;
        }
    }
    bool final_sigma = found && vc_uset_has(&vc_py_cased, c);
    if (final_sigma && i + 1 < s->n) {
        size_t k = i + 1;
        for (; k < s->n; k++) {
            c = s->d[k];
            if (!vc_uset_has(&vc_py_case_ignorable, c)) break;
        }
        final_sigma = k == s->n || !vc_uset_has(&vc_py_cased, c);
    }
    return final_sigma ? 0x3C2 : 0x3C3;
}

void vc_py_lower_str(const vc_ustr *in, vc_ustr *out) {
    vc_ustr_clear(out);
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->d[i];
        if (c == 0x3A3) {
            vc_ustr_push(out, capital_sigma(in, i));
            continue;
        }
        const vc_umulti *m = c >= 0x80 ? vc_umulti_find(vc_py_lower_multi, vc_py_lower_multi_n, c) : NULL;
        if (m) vc_ustr_append(out, m->out, m->n);
        else vc_ustr_push(out, lower_simple(c));
    }
}

void vc_py_strip(const vc_ustr *in, vc_ustr *out) {
    size_t a = 0, b = in->n;
    while (a < b && vc_py_isspace(in->d[a])) a++;
    while (b > a && vc_py_isspace(in->d[b - 1])) b--;
    vc_ustr_clear(out);
    vc_ustr_append(out, in->d + a, b - a);
}
