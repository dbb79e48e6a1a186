#include "kernels/attention_bf16.h"

#if defined(__AVX512BF16__) && !defined(VC_DOUBLE)

#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "kernels/exp_avx512.h"
#include "kernels/gemm.h"

int vc_attention_bf16_compiled(void) { return 1; }

/* Key rows padded to whole 16-lane vectors; padded keys are zero and masked out of the softmax. */
static int padded(int L) { return (L + 15) & ~15; }

/* One MR x (16*NR) tile of C = alpha * A Bp: A is bf16 row-major (lda elements), Bp holds B in
 * vdpbf16ps order, rows k and k+1 interleaved: Bp[(k/2) * ldb + 2n + (k & 1)]. Each step
 * broadcasts one bf16 pair of every A row and multiplies it with NR vectors of 16 B-column
 * pairs: MR * NR independent fp32 accumulators stay in registers for the whole K loop. */
static inline __attribute__((always_inline)) void tile(float *C, int ldc, const uint16_t *A,
                                                       int lda, const uint16_t *Bp, int ldb,
                                                       int K, float alpha, const int MR, const int NR) {
    __m512 acc[4][4];
    for (int r = 0; r < MR; r++)
        for (int c = 0; c < NR; c++) acc[r][c] = _mm512_setzero_ps();
    for (int kp = 0; kp < K / 2; kp++) {
        __m512bh b[4];
        for (int c = 0; c < NR; c++)
            b[c] = (__m512bh)_mm512_loadu_si512((const void *)(Bp + (size_t)kp * ldb + 32 * c));
        for (int r = 0; r < MR; r++) {
            int32_t pair;
            memcpy(&pair, A + (size_t)r * lda + 2 * kp, sizeof pair);
            const __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
            for (int c = 0; c < NR; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], a, b[c]);
        }
    }
    const __m512 s = _mm512_set1_ps(alpha);
    for (int r = 0; r < MR; r++)
        for (int c = 0; c < NR; c++)
            _mm512_storeu_ps(C + (size_t)r * ldc + 16 * c, _mm512_mul_ps(acc[r][c], s));
}

#define TILE_CASE(mr, nr) \
    case (mr) * 8 + (nr): tile(c, ldc, a, lda, b, ldbp, K, alpha, mr, nr); break;

/* Columns per panel of a panelled B: one tile's width. */
enum { PANEL = 64 };

/* C[M, N] = alpha * A[M, K] B[K, N] with fp32 accumulation; N a multiple of 16, K even. Bp in
 * vdpbf16ps order with row-pair stride ldb, or panelled when ldb is 0 (then N must be all its
 * columns): panel p holds columns p*PANEL.. as a dense [K/2, 2*width] block, so one tile's K
 * loop reads one contiguous block instead of K/2 rows a page apart. */
static void matmul_bf16(float *C, int ldc, const uint16_t *A, int lda, const uint16_t *Bp, int ldb,
                        int M, int N, int K, float alpha) {
    for (int n0 = 0; n0 < N; n0 += PANEL) {
        const int nr = (N - n0) / 16 < 4 ? (N - n0) / 16 : 4;
        const uint16_t *b = ldb ? Bp + 2 * n0 : Bp + (size_t)n0 * K;
        const int ldbp = ldb ? ldb : 32 * nr;
        for (int m0 = 0; m0 < M; m0 += 4) {
            const int mr = M - m0 < 4 ? M - m0 : 4;
            float *c = C + (size_t)m0 * ldc + n0;
            const uint16_t *a = A + (size_t)m0 * lda;
            switch (mr * 8 + nr) {
                TILE_CASE(1, 1) TILE_CASE(1, 2) TILE_CASE(1, 3) TILE_CASE(1, 4)
                TILE_CASE(2, 1) TILE_CASE(2, 2) TILE_CASE(2, 3) TILE_CASE(2, 4)
                TILE_CASE(3, 1) TILE_CASE(3, 2) TILE_CASE(3, 3) TILE_CASE(3, 4)
                TILE_CASE(4, 1) TILE_CASE(4, 2) TILE_CASE(4, 3) TILE_CASE(4, 4)
            }
        }
    }
}
#undef TILE_CASE

/* The largest head dimension the packing's stack buffer takes (ViCLIP's is 64). */
enum { MAX_HEAD_DIM = 256 };

/* K^T as B of the score product, in panels of PANEL keys (see matmul_bf16): row e/2 of a panel
 * holds, key after key, the bf16 pair (e, e + 1), which is one 32-bit word of the key's bf16
 * row. So 16 keys are converted row by row into words, and the 16 x hd/2 words transposed by
 * plain 32-bit moves (element by element, the conversion and the strided reads were gathers). */
static void pack_keys(uint16_t *Kp, const float *k, int L, int Lp, int hd, int ld) {
    uint32_t words[16][MAX_HEAD_DIM / 2];
    for (int j0 = 0; j0 < Lp; j0 += 16) {
        const int p0 = j0 - j0 % PANEL, width = Lp - p0 < PANEL ? Lp - p0 : PANEL;
        for (int u = 0; u < 16; u++) {
            if (j0 + u < L) vc_bf16_row((uint16_t *)words[u], k + (size_t)(j0 + u) * ld, hd);
            else memset(words[u], 0, (size_t)hd * sizeof(uint16_t));
        }
        uint32_t *panel = (uint32_t *)(Kp + (size_t)p0 * hd) + (j0 - p0);
        for (int w = 0; w < hd / 2; w++)
            for (int u = 0; u < 16; u++) panel[(size_t)w * width + u] = words[u][w];
    }
}

/* V as B of the weighted sum: row j/2 holds, dimension after dimension, the bf16 pair of keys
 * (j, j + 1), built from the two converted rows by 16-bit interleaves. */
static void pack_values(uint16_t *Vp, const float *v, int L, int Lp, int hd, int ld) {
    for (int j = 0; j < Lp; j += 2) {
        __m256i *d = (__m256i *)(Vp + (size_t)(j / 2) * 2 * hd);
        for (int e = 0; e < hd; e += 16) {
            const __m256i a = j < L ? (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(v + (size_t)j * ld + e))
                                    : _mm256_setzero_si256();
            const __m256i b = j + 1 < L ? (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(v + (size_t)(j + 1) * ld + e))
                                        : _mm256_setzero_si256();
            /* per 128-bit lane: lo = pairs of dimensions 0-3 | 8-11, hi = 4-7 | 12-15 */
            const __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
            _mm256_storeu_si256(d + e / 8, _mm256_permute2x128_si256(lo, hi, 0x20));
            _mm256_storeu_si256(d + e / 8 + 1, _mm256_permute2x128_si256(lo, hi, 0x31));
        }
    }
}

size_t vc_attention_bf16_scratch_elems(int L, int hd) {
    const size_t Lp = (size_t)padded(L);
    /* fp32 scores, bf16 probabilities, packed K and V, one bf16 query block (in floats) */
    return VC_ATTN_QBLOCK * Lp + VC_ATTN_QBLOCK * Lp / 2 + Lp * hd + VC_ATTN_QBLOCK * (size_t)hd / 2 + 32;
}

int vc_attention_bf16_forward(vc_real *out, vc_real *lse, vc_real *scratch, size_t per_thread,
                              const vc_real *qkv, int B, int L, int C, int H, int causal) {
    const int hd = C / H, C3 = 3 * C, Lp = padded(L);
    if (hd % 16 || hd > MAX_HEAD_DIM || !vc_gemm_has_bf16() ||
        per_thread < vc_attention_bf16_scratch_elems(L, hd))
        return -1;
    const float scale = (float)(1.0 / sqrt((double)hd));
#pragma omp parallel for schedule(dynamic, 1)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const float *q = qkv + (size_t)b * L * C3 + h * hd, *k = q + C, *v = q + 2 * C;
        float *S = scratch + (size_t)omp_get_thread_num() * per_thread;
        uint16_t *P = (uint16_t *)(S + (size_t)VC_ATTN_QBLOCK * Lp);
        uint16_t *Kp = P + (size_t)VC_ATTN_QBLOCK * Lp, *Vp = Kp + (size_t)Lp * hd;
        uint16_t *Q = Vp + (size_t)Lp * hd;
        pack_keys(Kp, k, L, Lp, hd, C3);
        pack_values(Vp, v, L, Lp, hd, C3);
        for (int i0 = 0; i0 < L; i0 += VC_ATTN_QBLOCK) {
            const int n = L - i0 < VC_ATTN_QBLOCK ? L - i0 : VC_ATTN_QBLOCK;
            for (int r = 0; r < n; r++) vc_bf16_row(Q + (size_t)r * hd, q + (size_t)(i0 + r) * C3, hd);
            matmul_bf16(S, Lp, Q, hd, Kp, 0, n, Lp, hd, scale);
            /* Softmax in fp32 (statistics stay fp32). The probabilities leave as bf16 for PV
             * unnormalised, exp(s - max) in (0, 1]: bf16 keeps the same relative precision at
             * any scale, so dividing by the sum afterwards, on the hd outputs of the row rather
             * than its L probabilities, loses nothing and saves a pass over the score tile. */
            float inv[VC_ATTN_QBLOCK];
            for (int r = 0; r < n; r++) {
                const float *row = S + (size_t)r * Lp;
                uint16_t *p = P + (size_t)r * Lp;
                const int valid = causal ? i0 + r + 1 : L;
                /* 16 keys at a time (the row is padded to whole vectors, the padded scores
                 * finite): the keys past `valid` are left out of the max and zeroed after the
                 * exp, and the rounding to bf16 is the CPU's own instruction */
                __m512 m = _mm512_set1_ps(row[0]);
                for (int j0 = 0; j0 < valid; j0 += 16) {
                    const __mmask16 keep = valid - j0 >= 16 ? 0xffff : (__mmask16)((1u << (valid - j0)) - 1);
                    m = _mm512_mask_max_ps(m, keep, m, _mm512_loadu_ps(row + j0));
                }
                const float mx = _mm512_reduce_max_ps(m);
                const __m512 mv = _mm512_set1_ps(mx);
                __m512 sum = _mm512_setzero_ps();
                int j0 = 0;
                for (; j0 < valid; j0 += 16) {
                    const __mmask16 keep = valid - j0 >= 16 ? 0xffff : (__mmask16)((1u << (valid - j0)) - 1);
                    const __m512 ev = _mm512_maskz_mov_ps(keep, vc_exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(row + j0), mv)));
                    sum = _mm512_add_ps(sum, ev);
                    _mm256_storeu_si256((__m256i *)(p + j0), (__m256i)_mm512_cvtneps_pbh(ev));
                }
                for (int j = j0; j < Lp; j++) p[j] = 0;
                inv[r] = 1.0f / _mm512_reduce_add_ps(sum);
                if (lse) lse[(size_t)bh * L + i0 + r] = mx - logf(inv[r]);
            }
            float *o = out + ((size_t)b * L + i0) * C + h * hd;
            matmul_bf16(o, C, P, Lp, Vp, 2 * hd, n, hd, Lp, 1);
            for (int r = 0; r < n; r++)
#pragma omp simd
                for (int e = 0; e < hd; e++) o[(size_t)r * C + e] *= inv[r];
        }
    }
    return 0;
}

#else

int vc_attention_bf16_compiled(void) { return 0; }

size_t vc_attention_bf16_scratch_elems(int L, int hd) { (void)L, (void)hd; return 0; }

int vc_attention_bf16_forward(vc_real *out, vc_real *lse, vc_real *scratch, size_t per_thread,
                              const vc_real *qkv, int B, int L, int C, int H, int causal) {
    (void)out, (void)lse, (void)scratch, (void)per_thread, (void)qkv, (void)B, (void)L, (void)C,
        (void)H, (void)causal;
    return -1;
}

#endif
