/* NFC = canonical decomposition, canonical ordering, canonical composition (UAX #15), with the
 * data of the unicodedata version the reference ran with (generated into unicode_tables.c).
 * Hangul syllables are decomposed and composed arithmetically, as the standard defines. */
#include "text/normalize.h"

enum {
    S_BASE = 0xAC00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11A7,
    L_COUNT = 19, V_COUNT = 21, T_COUNT = 28, N_COUNT = V_COUNT * T_COUNT, S_COUNT = L_COUNT * N_COUNT
};

uint8_t vc_ccc(uint32_t cp) {
    if (cp < 0x300) return 0;
    size_t lo = 0, hi = vc_nfc_ccc_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < vc_nfc_ccc[mid].lo) hi = mid;
        else if (cp > vc_nfc_ccc[mid].hi) lo = mid + 1;
        else return vc_nfc_ccc[mid].ccc;
    }
    return 0;
}

static const vc_decomp *find_decomp(uint32_t cp) {
    size_t lo = 0, hi = vc_nfc_decomp_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < vc_nfc_decomp[mid].cp) hi = mid;
        else if (cp > vc_nfc_decomp[mid].cp) lo = mid + 1;
        else return &vc_nfc_decomp[mid];
    }
    return NULL;
}

/* Full canonical decomposition of cp appended to out (depth is bounded by the data, < 5). */
static void decompose(uint32_t cp, vc_ustr *out) {
    if (cp >= S_BASE && cp < S_BASE + S_COUNT) {
        uint32_t s = cp - S_BASE;
        vc_ustr_push(out, L_BASE + s / N_COUNT);
        vc_ustr_push(out, V_BASE + (s % N_COUNT) / T_COUNT);
        if (s % T_COUNT) vc_ustr_push(out, T_BASE + s % T_COUNT);
        return;
    }
    const vc_decomp *d = cp >= 0xC0 ? find_decomp(cp) : NULL;
    if (!d) {
        vc_ustr_push(out, cp);
        return;
    }
    decompose(d->a, out);
    if (d->b) decompose(d->b, out);
}

/* Primary composite of (a, b), or 0. */
static uint32_t compose(uint32_t a, uint32_t b) {
    if (a >= L_BASE && a < L_BASE + L_COUNT && b >= V_BASE && b < V_BASE + V_COUNT)
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a >= S_BASE && a < S_BASE + S_COUNT && (a - S_BASE) % T_COUNT == 0 &&
        b > T_BASE && b < T_BASE + T_COUNT)
        return a + (b - T_BASE);
    size_t lo = 0, hi = vc_nfc_comp_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const vc_comp *c = &vc_nfc_comp[mid];
        if (a < c->a || (a == c->a && b < c->b)) hi = mid;
        else if (a > c->a || b > c->b) lo = mid + 1;
        else return c->c;
    }
    return 0;
}

void vc_nfc(const vc_ustr *in, vc_ustr *out, vc_ustr *tmp) {
    vc_ustr_clear(out);
    /* Fast path: nothing below U+0300 decomposes, composes with a following mark or reorders,
     * except a base followed by a mark, which needs a code point >= U+0300 anyway. */
    bool simple = true;
    for (size_t i = 0; i < in->n && simple; i++) simple = in->d[i] < 0x300;
    if (simple) {
        vc_ustr_append(out, in->d, in->n);
        return;
    }

    vc_ustr_clear(tmp);
    for (size_t i = 0; i < in->n; i++) decompose(in->d[i], tmp);
    if (tmp->oom) {
        out->oom = true;
        return;
    }
    /* Canonical ordering: stable insertion sort of each run of non-starters by class. */
    for (size_t i = 1; i < tmp->n; i++) {
        uint8_t c = vc_ccc(tmp->d[i]);
        if (c == 0) continue;
        size_t j = i;
        uint32_t cp = tmp->d[i];
        while (j > 0) {
            uint8_t p = vc_ccc(tmp->d[j - 1]);
            if (p <= c) break;   /* p == 0 stops too: starters never move */
            tmp->d[j] = tmp->d[j - 1];
            j--;
        }
        tmp->d[j] = cp;
    }
    /* Canonical composition. A character C composes with the last starter S unless some
     * character left between them has class 0 or >= class(C); with the run sorted, the last
     * character kept after S is the one to compare with. */
    size_t starter = SIZE_MAX;
    for (size_t i = 0; i < tmp->n; i++) {
        uint32_t cp = tmp->d[i];
        uint8_t cc = vc_ccc(cp);
        if (starter != SIZE_MAX) {
            bool adjacent = out->n - 1 == starter;
            uint8_t last_cc = adjacent ? 0 : vc_ccc(out->d[out->n - 1]);
            if (adjacent || (last_cc != 0 && last_cc < cc)) {
                uint32_t c = compose(out->d[starter], cp);
                if (c) {
                    out->d[starter] = c;
                    continue;
                }
            }
        }
        if (cc == 0) starter = out->n;
        vc_ustr_push(out, cp);
        if (out->oom) return;
    }
}
