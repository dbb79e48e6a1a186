#include "kernels/attention_bf16.h"

#if defined(__AVX512BF16__) && !defined(VC_DOUBLE)

#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "kernels/fastmath.h"
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
    case (mr) * 8 + (nr): tile(c, ldc, a, lda, b, ldb, K, alpha, mr, nr); break;

/* C[M, N] = alpha * A[M, K] B[K, N] with fp32 accumulation; N a multiple of 16, K even. */
static void matmul_bf16(float *C, int ldc, const uint16_t *A, int lda, const uint16_t *Bp, int ldb,
                        int M, int N, int K, float alpha) {
    for (int n0 = 0; n0 < N; n0 += 64) {
        const int nr = (N - n0) / 16 < 4 ? (N - n0) / 16 : 4;
        for (int m0 = 0; m0 < M; m0 += 4) {
            const int mr = M - m0 < 4 ? M - m0 : 4;
            float *c = C + (size_t)m0 * ldc + n0;
            const uint16_t *a = A + (size_t)m0 * lda, *b = Bp + 2 * n0;
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

size_t vc_attention_bf16_scratch_elems(int L, int hd) {
    const size_t Lp = (size_t)padded(L);
    /* fp32 scores, bf16 probabilities, packed K and V, one bf16 query block (in floats) */
    return VC_ATTN_QBLOCK * Lp + VC_ATTN_QBLOCK * Lp / 2 + Lp * hd + VC_ATTN_QBLOCK * (size_t)hd / 2 + 32;
}

int vc_attention_bf16_forward(vc_real *out, vc_real *lse, vc_real *scratch, size_t per_thread,
                              const vc_real *qkv, int B, int L, int C, int H, int causal) {
    const int hd = C / H, C3 = 3 * C, Lp = padded(L);
    if (hd % 16 || !vc_gemm_has_bf16() || per_thread < vc_attention_bf16_scratch_elems(L, hd)) return -1;
    const float scale = (float)(1.0 / sqrt((double)hd));
#pragma omp parallel for schedule(dynamic, 1)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const float *q = qkv + (size_t)b * L * C3 + h * hd, *k = q + C, *v = q + 2 * C;
        float *S = scratch + (size_t)omp_get_thread_num() * per_thread;
        uint16_t *P = (uint16_t *)(S + (size_t)VC_ATTN_QBLOCK * Lp);
        uint16_t *Kp = P + (size_t)VC_ATTN_QBLOCK * Lp, *Vp = Kp + (size_t)Lp * hd;
        uint16_t *Q = Vp + (size_t)Lp * hd;
        /* K^T as B of the score product: pairs of head dimensions, one column per key. */
        for (int e = 0; e < hd; e += 2)
            for (int j = 0; j < Lp; j++) {
                uint16_t *d = Kp + (size_t)(e / 2) * 2 * Lp + 2 * j;
                d[0] = j < L ? vc_bf16_from_f32(k[(size_t)j * C3 + e]) : 0;
                d[1] = j < L ? vc_bf16_from_f32(k[(size_t)j * C3 + e + 1]) : 0;
            }
        /* V as B of the weighted sum: pairs of keys, one column per head dimension. */
        for (int j = 0; j < Lp; j += 2)
            for (int e = 0; e < hd; e++) {
                uint16_t *d = Vp + (size_t)(j / 2) * 2 * hd + 2 * e;
                d[0] = j < L ? vc_bf16_from_f32(v[(size_t)j * C3 + e]) : 0;
                d[1] = j + 1 < L ? vc_bf16_from_f32(v[(size_t)(j + 1) * C3 + e]) : 0;
            }
        for (int i0 = 0; i0 < L; i0 += VC_ATTN_QBLOCK) {
            const int n = L - i0 < VC_ATTN_QBLOCK ? L - i0 : VC_ATTN_QBLOCK;
            for (int r = 0; r < n; r++)
                for (int e = 0; e < hd; e++)
                    Q[(size_t)r * hd + e] = vc_bf16_from_f32(q[(size_t)(i0 + r) * C3 + e]);
            matmul_bf16(S, Lp, Q, hd, Kp, 2 * Lp, n, Lp, hd, scale);
            /* Softmax in fp32 (statistics stay fp32). The probabilities leave as bf16 for PV
             * unnormalised, exp(s - max) in (0, 1]: bf16 keeps the same relative precision at
             * any scale, so dividing by the sum afterwards, on the hd outputs of the row rather
             * than its L probabilities, loses nothing and saves a pass over the score tile. */
            float inv[VC_ATTN_QBLOCK];
            for (int r = 0; r < n; r++) {
                const float *row = S + (size_t)r * Lp;
                uint16_t *p = P + (size_t)r * Lp;
                const int valid = causal ? i0 + r + 1 : L;
                float mx = row[0];
#pragma omp simd reduction(max : mx)
                for (int j = 1; j < valid; j++) mx = row[j] > mx ? row[j] : mx;
                /* 16 keys at a time (the row is padded to whole vectors): exp by the compiler's
                 * vectorisation, the rounding to bf16 by the CPU's own instruction */
                __m512 sum = _mm512_setzero_ps();
                int j0 = 0;
                for (; j0 < valid; j0 += 16) {
                    /* all 16 lanes (the padded scores are finite), then the keys past `valid` zeroed */
                    const __mmask16 keep = valid - j0 >= 16 ? 0xffff : (__mmask16)((1u << (valid - j0)) - 1);
                    float e[16];
#pragma omp simd
                    for (int t = 0; t < 16; t++) e[t] = vc_exp(row[j0 + t] - mx);
                    const __m512 ev = _mm512_maskz_loadu_ps(keep, e);
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
