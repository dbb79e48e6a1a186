#include "search/rank.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "search/score.h"

enum { BLOCK = 256 }; /* rows per block: 384 KB of float16 at E = 768, read from L2 by every group of queries */

/* worse(a, b): a ranks below b */
static int worse(vc_hit a, vc_hit b) { return a.score < b.score || (a.score == b.score && a.row > b.row); }

/* A min-heap of the best m hits: heap[0] is the worst kept. */
static inline void heap_push(vc_hit *heap, int *len, int m, vc_hit h) {
    if (*len == m) {
        if (!worse(heap[0], h)) return;
        int i = 0;
        heap[0] = h;
        for (;;) { /* sift down */
            int l = 2 * i + 1, r = l + 1, s = i;
            if (l < m && worse(heap[l], heap[s])) s = l;
            if (r < m && worse(heap[r], heap[s])) s = r;
            if (s == i) break;
            vc_hit t = heap[i];
            heap[i] = heap[s], heap[s] = t, i = s;
        }
        return;
    }
    int i = (*len)++;
    heap[i] = h;
    while (i > 0 && worse(heap[i], heap[(i - 1) / 2])) {
        vc_hit t = heap[i];
        heap[i] = heap[(i - 1) / 2], heap[(i - 1) / 2] = t, i = (i - 1) / 2;
    }
}

static int best_first(const void *a, const void *b) {
    vc_hit x = *(const vc_hit *)a, y = *(const vc_hit *)b;
    return worse(x, y) ? 1 : worse(y, x) ? -1 : 0;
}

int vc_index_search(const vc_search_index *x, const float *q, int nq, int m, vc_hit *hits, int *got, vc_error *err) {
    const int n = x->n, E = x->dim, k = m < n ? m : n;
    const int n_blocks = (n + BLOCK - 1) / BLOCK, threads = omp_get_max_threads();
    *got = k;
    if (k <= 0 || nq <= 0) return 0;
    if (x->dtype != VC_DT_F16 && x->dtype != VC_DT_F32 && x->dtype != VC_DT_I8)
        return vc_fail(err, "an index of %s rows cannot be searched", vc_dtype_name(x->dtype));
    vc_score_queries prep;
    if (vc_score_queries_init(&prep, q, nq, E, x->dtype == VC_DT_I8, err)) return -1;
    vc_hit *heaps = malloc((size_t)threads * nq * k * sizeof *heaps);
    int *lens = calloc((size_t)threads * nq, sizeof *lens);
    float *bufs = malloc((size_t)threads * BLOCK * nq * sizeof *bufs);
    if (!heaps || !lens || !bufs) {
        free(heaps), free(lens), free(bufs), vc_score_queries_free(&prep);
        return vc_fail(err, "out of memory searching %d rows", n);
    }
#pragma omp parallel num_threads(threads)
    {
        const int t = omp_get_thread_num();
        float *scores = bufs + (size_t)t * BLOCK * nq;
        vc_hit *heap = heaps + (size_t)t * nq * k;
        int *len = lens + (size_t)t * nq;
#pragma omp for schedule(dynamic, 4)
        for (int b = 0; b < n_blocks; b++) {
            const int r0 = b * BLOCK, nr = n - r0 < BLOCK ? n - r0 : BLOCK;
            const size_t off = (size_t)r0 * E;
            if (x->dtype == VC_DT_F16) vc_score_f16(&prep, (const uint16_t *)x->rows + off, nr, scores);
            else if (x->dtype == VC_DT_I8) vc_score_i8(&prep, (const int8_t *)x->rows + off, x->scale + r0, nr, scores);
            else vc_gemm(0, 1, nq, nr, E, 1, q, E, (const float *)x->rows + off, E, 0, scores, nr);
            for (int j = 0; j < nq; j++) {
                vc_hit *h = heap + (size_t)j * k;
                const float *sj = scores + (size_t)j * nr;
                for (int i = 0; i < nr; i++)
                    if (len[j] < k || sj[i] >= h[0].score) heap_push(h, &len[j], k, (vc_hit){r0 + i, sj[i]});
            }
        }
    }
    for (int j = 0; j < nq; j++) {
        vc_hit *out = hits + (size_t)j * m;
        int len = 0;
        for (int t = 0; t < threads; t++)
            for (int i = 0; i < lens[t * nq + j]; i++) heap_push(out, &len, k, heaps[((size_t)t * nq + j) * k + i]);
        qsort(out, (size_t)len, sizeof *out, best_first);
    }
    free(heaps), free(lens), free(bufs);
    vc_score_queries_free(&prep);
    return 0;
}
