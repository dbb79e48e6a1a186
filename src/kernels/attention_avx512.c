#include "kernels/attention_avx512.h"

#if defined(__AVX512F__) && !defined(VC_DOUBLE)

#include <immintrin.h>
#include <math.h>
#include <omp.h>

#include "core/cpu.h"
#include "kernels/attention.h"
#include "kernels/fastmath.h"
#include "kernels/gemm.h"

int vc_attention_avx512_compiled(void) { return 1; }

/* Key rows padded to whole 16-lane vectors; padded keys are zero and never reach the softmax. */
static int padded(int L) { return (L + 15) & ~15; }

enum { MR = 6, NR = 4 }; /* 6 x 4 accumulators + 4 B vectors + 1 broadcast: 29 of 32 registers */

/* One mr x (16*nr) tile of C = alpha * A B, A row-major (lda), B row-major (ldb) with K rows:
 * each step broadcasts one element of every A row against nr vectors of a B row, and the
 * mr * nr accumulators stay in registers for the whole K loop (mr, nr are constants after
 * inlining, so the arrays below are registers). */
static inline __attribute__((always_inline)) void tile(float *C, int ldc, const float *A, int lda,
                                                       const float *B, int ldb, int K, float alpha,
                                                       const int mr, const int nr) {
    __m512 acc[MR][NR];
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < nr; c++) acc[r][c] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512 b[NR];
        for (int c = 0; c < nr; c++) b[c] = _mm512_loadu_ps(B + (size_t)k * ldb + 16 * c);
        for (int r = 0; r < mr; r++) {
            const __m512 a = _mm512_set1_ps(A[(size_t)r * lda + k]);
            for (int c = 0; c < nr; c++) acc[r][c] = _mm512_fmadd_ps(a, b[c], acc[r][c]);
        }
    }
    const __m512 s = _mm512_set1_ps(alpha);
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < nr; c++)
            _mm512_storeu_ps(C + (size_t)r * ldc + 16 * c, _mm512_mul_ps(acc[r][c], s));
}

#define TILE_CASE(m, n) \
    case (m) * 8 + (n): tile(c, ldc, a, lda, b, ldb, K, alpha, m, n); break;

/* C[M, N] = alpha * A[M, K] B[K, N]; N a multiple of 16. */
static void matmul(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int M,
                   int N, int K, float alpha) {
    for (int n0 = 0; n0 < N; n0 += 16 * NR) {
        const int nr = (N - n0) / 16 < NR ? (N - n0) / 16 : NR;
        for (int m0 = 0; m0 < M; m0 += MR) {
            const int mr = M - m0 < MR ? M - m0 : MR;
            float *c = C + (size_t)m0 * ldc + n0;
            const float *a = A + (size_t)m0 * lda, *b = B + n0;
            switch (mr * 8 + nr) {
                TILE_CASE(1, 1) TILE_CASE(1, 2) TILE_CASE(1, 3) TILE_CASE(1, 4)
                TILE_CASE(2, 1) TILE_CASE(2, 2) TILE_CASE(2, 3) TILE_CASE(2, 4)
                TILE_CASE(3, 1) TILE_CASE(3, 2) TILE_CASE(3, 3) TILE_CASE(3, 4)
                TILE_CASE(4, 1) TILE_CASE(4, 2) TILE_CASE(4, 3) TILE_CASE(4, 4)
                TILE_CASE(5, 1) TILE_CASE(5, 2) TILE_CASE(5, 3) TILE_CASE(5, 4)
                TILE_CASE(6, 1) TILE_CASE(6, 2) TILE_CASE(6, 3) TILE_CASE(6, 4)
            }
        }
    }
}
#undef TILE_CASE

size_t vc_attention_avx512_scratch_elems(int L, int hd) {
    /* the score tile, K^T and V, each padded to whole vectors of keys */
    return ((size_t)VC_ATTN_QBLOCK + 2 * (size_t)hd) * padded(L) + 16;
}

/* K^T [hd, Lp] (one row per head dimension, the keys along it) and V [Lp, hd] of one
 * (sample, head), rows past L zero. K is transposed 16 keys at a time, so the 16 source rows
 * stay in L1 and every store fills a whole cache line of Kt (key by key, each store would land
 * on another line and page). */
static void pack_kv(float *Kt, float *V, const float *k, const float *v, int L, int Lp, int hd,
                    int ld) {
    for (int j0 = 0; j0 < Lp; j0 += 16) {
        const int n = L - j0 < 16 ? (L - j0 > 0 ? L - j0 : 0) : 16;
        const __mmask16 keep = (__mmask16)((1u << n) - 1);
        const __m512i rows = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6,
                                                                 5, 4, 3, 2, 1, 0),
                                                _mm512_set1_epi32(ld));
        const float *kj = k + (size_t)(n ? j0 : 0) * ld;
        for (int e = 0; e < hd; e++)
            _mm512_storeu_ps(Kt + (size_t)e * Lp + j0,
                             _mm512_mask_i32gather_ps(_mm512_setzero_ps(), keep, rows, kj + e, 4));
        for (int t = 0; t < 16; t++)
            for (int e = 0; e < hd; e += 16)
                _mm512_storeu_ps(V + (size_t)(j0 + t) * hd + e,
                                 t < n ? _mm512_loadu_ps(v + (size_t)(j0 + t) * ld + e) : _mm512_setzero_ps());
    }
}

/* e^x for x <= 0 (scores minus their row maximum): x = n ln2 + r with |r| <= ln2/2, e^r by the
 * same degree-6 polynomial as vc_exp (kernels/fastmath.h), and 2^n applied by vscalefps, which
 * also takes care of the underflow that vc_exp's clamp handles. */
static inline __m512 exp_nonpositive(__m512 x) {
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860682030941723212e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* Row softmax of the n x (keys) score tile in place, unnormalised: row r keeps exp(s - max) on
 * its `valid` keys and 0 on the rest up to `kv`; inv[r] gets 1 / sum (the caller scales the
 * hd outputs of the row instead of its L probabilities) and lse the log-sum-exp. */
static void softmax_rows(float *S, int ldS, int n, int i0, int L, int kv, int causal, float *inv,
                         float *lse) {
    for (int r = 0; r < n; r++) {
        float *row = S + (size_t)r * ldS;
        const int valid = causal ? i0 + r + 1 : L;
        const __mmask16 tail = (__mmask16)((1u << (valid % 16)) - 1);
        const int whole = valid - valid % 16;
        __m512 m = _mm512_set1_ps(row[0]);
        for (int j = 0; j < whole; j += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(row + j));
        m = _mm512_mask_max_ps(m, tail, m, _mm512_maskz_loadu_ps(tail, row + whole));
        const float mx = _mm512_reduce_max_ps(m);
        const __m512 mv = _mm512_set1_ps(mx);
        __m512 sum = _mm512_setzero_ps();
        for (int j = 0; j < whole; j += 16) {
            const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(row + j), mv));
            sum = _mm512_add_ps(sum, e);
            _mm512_storeu_ps(row + j, e);
        }
        if (tail) {
            const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, row + whole), mv));
            sum = _mm512_mask_add_ps(sum, tail, sum, e);
            _mm512_mask_storeu_ps(row + whole, tail, e);
        }
        for (int j = valid; j < kv; j++) row[j] = 0;
        const float total = _mm512_reduce_add_ps(sum);
        inv[r] = 1.0f / total;
        if (lse) lse[r] = mx + logf(total);
    }
}

int vc_attention_avx512_forward(vc_real *out, vc_real *lse, vc_real *scratch, size_t per_thread,
                                const vc_real *qkv, int B, int L, int C, int H, int causal) {
    const int hd = C / H, C3 = 3 * C, Lp = padded(L);
    if (hd % 16 || vc_gemm_isa() < VC_ISA_AVX512 ||
        per_thread < vc_attention_avx512_scratch_elems(L, hd))
        return -1;
    const float scale = (float)(1.0 / sqrt((double)hd));
    const int nblk = (L + VC_ATTN_QBLOCK - 1) / VC_ATTN_QBLOCK;
    /* Tasks are (sample, head, run of query blocks): a run shares one packing of K and V, and
     * runs are split only as far as keeping every thread busy needs (B * H can be 12). */
    const int want = 2 * omp_get_max_threads(), bh_n = B * H;
    const int runs = bh_n >= want ? 1 : ((want + bh_n - 1) / bh_n < nblk ? (want + bh_n - 1) / bh_n : nblk);
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t < bh_n * runs; t++) {
        const int bh = t / runs, run = t % runs, b = bh / H, h = bh % H;
        const float *q = qkv + (size_t)b * L * C3 + h * hd;
        float *S = scratch + (size_t)omp_get_thread_num() * per_thread;
        float *Kt = S + (size_t)VC_ATTN_QBLOCK * Lp, *V = Kt + (size_t)hd * Lp;
        pack_kv(Kt, V, q + C, q + 2 * C, L, Lp, hd, C3);
        for (int blk = run * nblk / runs; blk < (run + 1) * nblk / runs; blk++) {
            const int i0 = blk * VC_ATTN_QBLOCK, n = L - i0 < VC_ATTN_QBLOCK ? L - i0 : VC_ATTN_QBLOCK;
            /* causal: the block's last query sees keys up to i0 + n - 1, the rest are masked */
            const int kv = causal ? i0 + n : L, nk = causal ? padded(kv) : Lp;
            float inv[VC_ATTN_QBLOCK];
            matmul(S, Lp, q + (size_t)i0 * C3, C3, Kt, Lp, n, nk, hd, scale);
            softmax_rows(S, Lp, n, i0, L, kv, causal, inv, lse ? lse + (size_t)bh * L + i0 : NULL);
            float *o = out + ((size_t)b * L + i0) * C + h * hd;
            matmul(o, C, S, Lp, V, hd, n, hd, kv, 1);
            for (int r = 0; r < n; r++)
#pragma omp simd
                for (int e = 0; e < hd; e++) o[(size_t)r * C + e] *= inv[r];
        }
    }
    return 0;
}

#else

int vc_attention_avx512_compiled(void) { return 0; }

size_t vc_attention_avx512_scratch_elems(int L, int hd) { (void)L, (void)hd; return 0; }

int vc_attention_avx512_forward(vc_real *out, vc_real *lse, vc_real *scratch, size_t per_thread,
                                const vc_real *qkv, int B, int L, int C, int H, int causal) {
    (void)out, (void)lse, (void)scratch, (void)per_thread, (void)qkv, (void)B, (void)L, (void)C,
        (void)H, (void)causal;
    return -1;
}

#endif
