#include "search/rank.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "kernels/gemm.h"

enum { BLOCK = 256 }; /* rows per block: their float32 copy (768 KB at E = 768) stays in L2 for the GEMM */

static void f16_block_to_f32(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
#endif
    for (; i < n; i++) dst[i] = vc_f16_to_f32(src[i]);
}

/* Few queries: the product read straight from float16 rows (one pass over memory, which is
 * what bounds the search), 4 rows at a time against each query. */
enum { FUSED_MAX_Q = 8 };
#if defined(__F16C__) && defined(__FMA__) && defined(__AVX2__)
#define HAVE_FUSED 1
static float hsum(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_add_ss(a, _mm_movehdup_ps(a)));
}
static void fused_scores(const uint16_t *rows, int nr, int E, const float *q, int nq, float *scores) {
    const int E8 = E & ~7;
    for (int i = 0; i < nr; i++) {
        const uint16_t *r = rows + (size_t)i * E;
        for (int j = 0; j < nq; j++) {
            const float *qj = q + (size_t)j * E;
            __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
            int e = 0;
            for (; e + 16 <= E8; e += 16) {
                acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + e))), _mm256_loadu_ps(qj + e), acc0);
                acc1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + e + 8))), _mm256_loadu_ps(qj + e + 8), acc1);
            }
            for (; e < E8; e += 8)
                acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + e))), _mm256_loadu_ps(qj + e), acc0);
            float s = hsum(_mm256_add_ps(acc0, acc1));
            for (; e < E; e++) s += vc_f16_to_f32(r[e]) * qj[e];
            scores[(size_t)j * nr + i] = s;
        }
    }
}
#else
#define HAVE_FUSED 0
static void fused_scores(const uint16_t *rows, int nr, int E, const float *q, int nq, float *scores) {}
#endif

/* worse(a, b): a ranks below b */
static int worse(vc_hit a, vc_hit b) { return a.score < b.score || (a.score == b.score && a.row > b.row); }

/* A min-heap of the best m hits: heap[0] is the worst kept. */
static void heap_push(vc_hit *heap, int *len, int m, vc_hit h) {
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
    vc_hit *heaps = malloc((size_t)threads * nq * k * sizeof *heaps);
    int *lens = calloc((size_t)threads * nq, sizeof *lens);
    float *bufs = malloc((size_t)threads * BLOCK * ((size_t)E + nq) * sizeof *bufs);
    if (!heaps || !lens || !bufs) {
        free(heaps), free(lens), free(bufs);
        return vc_fail(err, "out of memory searching %d rows", n);
    }
#pragma omp parallel num_threads(threads)
    {
        const int t = omp_get_thread_num();
        float *rows = bufs + (size_t)t * BLOCK * (E + nq), *scores = rows + (size_t)BLOCK * E;
        vc_hit *heap = heaps + (size_t)t * nq * k;
        int *len = lens + (size_t)t * nq;
#pragma omp for schedule(dynamic, 4)
        for (int b = 0; b < n_blocks; b++) {
            const int r0 = b * BLOCK, nr = n - r0 < BLOCK ? n - r0 : BLOCK;
            const float *block = (const float *)x->rows + (size_t)r0 * E;
            if (x->dtype == VC_DT_F16 && HAVE_FUSED && nq <= FUSED_MAX_Q) {
                fused_scores((const uint16_t *)x->rows + (size_t)r0 * E, nr, E, q, nq, scores);
            } else {
                if (x->dtype == VC_DT_F16) {
                    f16_block_to_f32((const uint16_t *)x->rows + (size_t)r0 * E, rows, (size_t)nr * E);
                    block = rows;
                }
                vc_gemm(0, 1, nq, nr, E, 1, q, E, block, E, 0, scores, nr);
            }
            for (int j = 0; j < nq; j++)
                for (int i = 0; i < nr; i++)
                    heap_push(heap + (size_t)j * k, &len[j], k, (vc_hit){r0 + i, scores[(size_t)j * nr + i]});
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
    return 0;
}
