/* BPE merging of one word: the reference's quadratic loop, and an equivalent heap version for
 * long words. */
#include "text/bpe_vocab.h"

#include <stdlib.h>

/* Words longer than this (in bytes) use the heap merge; shorter ones the reference's loop. */
#ifndef VC_BPE_HEAP_MIN
#define VC_BPE_HEAP_MIN 48
#endif

/* The reference's loop: find the lowest-ranked adjacent pair, merge it at every occurrence left
 * to right, repeat. O(n^2) in the word length. Returns the new length. */
static size_t merge_simple(const vc_bpe_vocab *v, int32_t *w, size_t m) {
    while (m > 1) {
        int32_t best = -1, first = 0, second = 0, merged = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            int32_t mg;
            int32_t r = vc_bpe_rank(v, w[i], w[i + 1], &mg);
            if (r >= 0 && (best < 0 || r < best)) {
                best = r;
                first = w[i];
                second = w[i + 1];
                merged = mg;
            }
        }
        if (best < 0) break;
        size_t j = 0;
        for (size_t i = 0; i < m;) {
            if (i + 1 < m && w[i] == first && w[i + 1] == second) {
                w[j++] = merged;
                i += 2;
            } else {
                w[j++] = w[i++];
            }
        }
        m = j;
    }
    return m;
}

typedef struct { int32_t rank; uint32_t pos; int32_t left, right, merged; } heap_item;

static bool heap_less(const heap_item *a, const heap_item *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(heap_item *h, size_t *n, heap_item it) {
    size_t i = (*n)++;
    while (i > 0 && heap_less(&it, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = it;
}

static heap_item heap_pop(heap_item *h, size_t *n) {
    heap_item top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && heap_less(&h[c + 1], &h[c])) c++;
        if (!heap_less(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

/* The same result in O(n log n), valid when v->ranks_ordered: pairs are merged in (rank,
 * position) order. All occurrences of the lowest rank then merge left to right before anything
 * else, because a pair containing a newly made symbol always has a higher rank than the merge
 * that made it; that is exactly one pass of the reference's loop. Entries whose symbols have
 * changed since they were pushed are skipped (a position's symbol only ever grows into a new,
 * longer string, so a stale entry can never look current). Returns the new length, or 0 when
 * memory runs out (the caller then uses merge_simple). */
static size_t merge_heap(const vc_bpe_vocab *v, int32_t *w, size_t m) {
    int32_t *next = malloc(sizeof(int32_t) * m), *prev = malloc(sizeof(int32_t) * m);
    heap_item *h = malloc(sizeof(heap_item) * 3 * m);   /* m-1 initial pushes + <= 2 per merge */
    size_t hn = 0;
    if (!next || !prev || !h) {
        free(next);
        free(prev);
        free(h);
        return 0;
    }
    for (size_t i = 0; i < m; i++) {
        next[i] = i + 1 < m ? (int32_t)(i + 1) : -1;
        prev[i] = (int32_t)i - 1;
    }
    for (size_t i = 0; i + 1 < m; i++) {
        int32_t mg, r = vc_bpe_rank(v, w[i], w[i + 1], &mg);
        if (r >= 0) heap_push(h, &hn, (heap_item){r, (uint32_t)i, w[i], w[i + 1], mg});
    }
    while (hn) {
        heap_item it = heap_pop(h, &hn);
        int32_t p = (int32_t)it.pos, q = next[p];
        if (w[p] != it.left || q < 0 || w[q] != it.right) continue;   /* stale */
        w[p] = it.merged;
        int32_t r2 = next[q];
        next[p] = r2;
        if (r2 >= 0) prev[r2] = p;
        w[q] = -1;   /* removed */
        int32_t mg, r;
        if (prev[p] >= 0 && (r = vc_bpe_rank(v, w[prev[p]], w[p], &mg)) >= 0)
            heap_push(h, &hn, (heap_item){r, (uint32_t)prev[p], w[prev[p]], w[p], mg});
        if (r2 >= 0 && (r = vc_bpe_rank(v, w[p], w[r2], &mg)) >= 0)
            heap_push(h, &hn, (heap_item){r, (uint32_t)p, w[p], w[r2], mg});
    }
    size_t j = 0;
    for (int32_t i = 0; i >= 0; i = next[i]) w[j++] = w[i];
    free(next);
    free(prev);
    free(h);
    return j;
}


size_t vc_bpe_merge(const vc_bpe_vocab *v, int32_t *w, size_t m) {
    size_t out = 0;
    if (m >= VC_BPE_HEAP_MIN && v->ranks_ordered) out = merge_heap(v, w, m);
    return out ? out : merge_simple(v, w, m);
}
