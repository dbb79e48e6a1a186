/* The fp32 attention kernels of kernels/attention_simd.h, written once over a small vector
 * layer. Included (only) by attention_avx512.c and attention_avx2.c, after they define:
 *   vf, VW             the vector type and its lane count
 *   MR, NR             the micro-tile: MR rows x NR vectors of accumulators, sized so that
 *                      MR * NR + NR + 1 vectors fit the ISA's registers
 *   v_load, v_store, v_set1, v_zero, v_add, v_sub, v_mul, v_max, v_fma (a * b + c)
 *   v_hsum, v_hmax     horizontal sum and maximum
 *   v_first(v, n, f)   v with lanes n.. replaced by f
 *   v_exp(x)           e^x, accurate to a few ulp for x <= 0 and finite for any x
 * Everything here is static: each including file gets its own copy for its ISA. */

#include <math.h>
#include <omp.h>

#include "kernels/attention.h"
#include "kernels/attention_simd.h"

/* Keys padded to whole 16-float rows (either ISA); padded keys are zero and never reach a
 * softmax. */
static int padded(int L) { return (L + 15) & ~15; }

/* One mr x (VW*nr) tile of C = alpha * A B (+ C when accumulating). A is addressed as
 * A[row * rs + k * ks], so it can be read transposed; B is row-major (ldb) with K rows. Each
 * step broadcasts one element of every A row against nr vectors of a B row; the mr * nr
 * accumulators stay in registers for the whole K loop (mr, nr are constants after inlining,
 * and the arrays are sized for the largest tile any ISA uses). */
static inline __attribute__((always_inline)) void tile(float *C, int ldc, const float *A, int rs,
                                                       int ks, const float *B, int ldb, int K,
                                                       float alpha, int accumulate, const int mr,
                                                       const int nr) {
    vf acc[6][4];
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < nr; c++) acc[r][c] = v_zero();
    for (int k = 0; k < K; k++) {
        vf b[4];
        for (int c = 0; c < nr; c++) b[c] = v_load(B + (size_t)k * ldb + VW * c);
        for (int r = 0; r < mr; r++) {
            const vf a = v_set1(A[(size_t)r * rs + (size_t)k * ks]);
            for (int c = 0; c < nr; c++) acc[r][c] = v_fma(a, b[c], acc[r][c]);
        }
    }
    const vf s = v_set1(alpha);
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < nr; c++) {
            float *dst = C + (size_t)r * ldc + VW * c;
            const vf v = v_mul(acc[r][c], s);
            v_store(dst, accumulate ? v_add(v_load(dst), v) : v);
        }
}

#define TILE_CASE(m, n) \
    case (m) * 8 + (n): tile(c, ldc, a, rs, ks, b, ldbp, K, alpha, accumulate, m, n); break;

/* Query rows per block: the most whole micro-tiles in VC_ATTN_QBLOCK (64 rows would end every
 * block on a 4-row tile of the 6-row kernel). */
enum { QROWS = VC_ATTN_QBLOCK / MR * MR };

/* Columns per panel of a panelled B (see pack_transposed): one micro-tile's width. */
enum { PANEL = VW * NR };

/* C[M, N] = alpha * A[M, K] B[K, N] (+ C when accumulating), A addressed as in tile(); B
 * row-major with leading dimension ldb, or panelled when ldb is 0 (then N must be all its
 * columns); N a multiple of VW. */
static void matmul(float *C, int ldc, const float *A, int rs, int ks, const float *B, int ldb,
                   int M, int N, int K, float alpha, int accumulate) {
    for (int n0 = 0; n0 < N; n0 += PANEL) {
        const int nr = (N - n0) / VW < NR ? (N - n0) / VW : NR;
        const float *b = ldb ? B + n0 : B + (size_t)n0 * K;
        const int ldbp = ldb ? ldb : VW * nr;
        for (int m0 = 0; m0 < M; m0 += MR) {
            const int mr = M - m0 < MR ? M - m0 : MR;
            float *c = C + (size_t)m0 * ldc + n0;
            const float *a = A + (size_t)m0 * rs;
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

/* Rows [0, L) of a [L, hd] block with leading dimension ld, transposed into T [hd, Lp] (keys
 * along each head dimension; keys L.. zero), stored in panels of PANEL keys: panel p holds
 * keys p*PANEL.. as a dense [hd, width] block (the last one narrower), so one micro-tile's
 * whole K loop reads one contiguous block instead of hd rows a page apart. 16 keys at a time,
 * so the 16 source rows stay in L1 and the stores fill whole cache lines. */
static void pack_transposed(float *T, const float *x, int L, int Lp, int hd, int ld) {
    for (int j0 = 0; j0 < Lp; j0 += 16) {
        const int n = L - j0 < 16 ? (L - j0 > 0 ? L - j0 : 0) : 16;
        const int p0 = j0 - j0 % PANEL, width = Lp - p0 < PANEL ? Lp - p0 : PANEL;
        for (int e = 0; e < hd; e++) {
            float *t = T + (size_t)p0 * hd + (size_t)e * width + (j0 - p0);
            for (int u = 0; u < n; u++) t[u] = x[(size_t)(j0 + u) * ld + e];
            for (int u = n; u < 16; u++) t[u] = 0;
        }
    }
}

/* Rows [0, L) of a [L, hd] block with leading dimension ld, copied densely into R [Lp, hd]. */
static void pack_rows(float *R, const float *x, int L, int Lp, int hd, int ld) {
    for (int j = 0; j < Lp; j++)
        for (int e = 0; e < hd; e += VW)
            v_store(R + (size_t)j * hd + e, j < L ? v_load(x + (size_t)j * ld + e) : v_zero());
}

/* Row softmax of the n x (keys) score tile in place, unnormalised: row r keeps exp(s - max) on
 * its `valid` keys and 0 on the rest up to `kv`; inv[r] gets 1 / sum (the caller scales the
 * hd outputs of the row instead of its L probabilities) and lse the log-sum-exp. The row is
 * padded to whole vectors, so the last one is read whole and its lanes past `valid` dropped. */
static void softmax_rows(float *S, int ldS, int n, int i0, int L, int kv, int causal, float *inv,
                         float *lse) {
    for (int r = 0; r < n; r++) {
        float *row = S + (size_t)r * ldS;
        const int valid = causal ? i0 + r + 1 : L, whole = valid - valid % VW, tail = valid % VW;
        vf m = v_set1(row[0]);
        for (int j = 0; j < whole; j += VW) m = v_max(m, v_load(row + j));
        if (tail) m = v_max(m, v_first(v_load(row + whole), tail, v_set1(row[0])));
        const float mx = v_hmax(m);
        const vf mv = v_set1(mx);
        vf sum = v_zero();
        for (int j = 0; j < whole; j += VW) {
            const vf e = v_exp(v_sub(v_load(row + j), mv));
            sum = v_add(sum, e);
            v_store(row + j, e);
        }
        if (tail) {
            const vf e = v_first(v_exp(v_sub(v_load(row + whole), mv)), tail, v_zero());
            sum = v_add(sum, e);
            v_store(row + whole, e);
        }
        for (int j = whole + (tail ? VW : 0); j < kv; j++) row[j] = 0;
        const float total = v_hsum(sum);
        inv[r] = 1.0f / total;
        if (lse) lse[r] = mx + logf(total);
    }
}

static int simd_forward(vc_real *out, vc_real *lse, vc_real *scratch, size_t per_thread,
                        const vc_real *qkv, int B, int L, int C, int H, int causal) {
    const int hd = C / H, C3 = 3 * C, Lp = padded(L);
    if (hd % 16 || per_thread < vc_attention_simd_scratch_elems(L, hd)) return -1;
    const float scale = (float)(1.0 / sqrt((double)hd));
    const int nblk = (L + QROWS - 1) / QROWS;
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
        pack_transposed(Kt, q + C, L, Lp, hd, C3);
        pack_rows(V, q + 2 * C, L, Lp, hd, C3);
        for (int blk = run * nblk / runs; blk < (run + 1) * nblk / runs; blk++) {
            const int i0 = blk * QROWS, n = L - i0 < QROWS ? L - i0 : QROWS;
            /* causal: the block's last query sees keys up to i0 + n - 1, the rest are masked.
             * The scores still cover every key (whole panels; causal attention is the text
             * tower's, L <= 77), but the weighted sum stops at the last one seen. */
            const int kv = causal ? i0 + n : L;
            float inv[VC_ATTN_QBLOCK];
            matmul(S, Lp, q + (size_t)i0 * C3, C3, 1, Kt, 0, n, Lp, hd, scale, 0);
            softmax_rows(S, Lp, n, i0, L, kv, causal, inv, lse ? lse + (size_t)bh * L + i0 : NULL);
            float *o = out + ((size_t)b * L + i0) * C + h * hd;
            matmul(o, C, S, Lp, 1, V, hd, n, hd, kv, 1, 0);
            for (int r = 0; r < n; r++)
#pragma omp simd
                for (int e = 0; e < hd; e++) o[(size_t)r * C + e] *= inv[r];
        }
    }
    return 0;
}

/* Backward of simd_forward for one (sample, head) per task: its dK and dV collect every query
 * block's share, so one thread owns them. Per query block, the probabilities are recomputed
 * from lse with the forward's own score tiles (the same bits), then
 *   dP = dO V^T, dS = P (dP - rowsum(dO * O)), dQ += s dS K, dK += s dS^T Q, dV += P^T dO,
 * the last two reading dS and P transposed in place (a transposed copy measured slower). */
static int simd_backward(vc_real *dqkv, vc_real *scratch, size_t per_thread, const vc_real *dout,
                         const vc_real *qkv, const vc_real *out, const vc_real *lse, int B, int L,
                         int C, int H, int causal) {
    const int hd = C / H, C3 = 3 * C, Lp = padded(L);
    if (hd % 16 || per_thread < vc_attention_simd_scratch_elems(L, hd)) return -1;
    const float scale = (float)(1.0 / sqrt((double)hd));
#pragma omp parallel for schedule(dynamic, 1)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const size_t qoff = (size_t)b * L * C3 + h * hd;
        const float *q = qkv + qoff, *k = q + C, *v = q + 2 * C;
        float *dq = dqkv + qoff, *dk = dq + C, *dv = dq + 2 * C;
        float *P = scratch + (size_t)omp_get_thread_num() * per_thread;
        float *dS = P + (size_t)VC_ATTN_QBLOCK * Lp, *Kt = dS + (size_t)VC_ATTN_QBLOCK * Lp;
        float *Vt = Kt + (size_t)hd * Lp, *K = Vt + (size_t)hd * Lp;
        pack_transposed(Kt, k, L, Lp, hd, C3);
        pack_transposed(Vt, v, L, Lp, hd, C3);
        pack_rows(K, k, L, Lp, hd, C3);
        for (int i0 = 0; i0 < L; i0 += QROWS) {
            const int n = L - i0 < QROWS ? L - i0 : QROWS, kv = causal ? i0 + n : L;
            const float *qi = q + (size_t)i0 * C3;
            const float *dO = dout + ((size_t)b * L + i0) * C + h * hd;
            const float *O = out + ((size_t)b * L + i0) * C + h * hd;
            matmul(P, Lp, qi, C3, 1, Kt, 0, n, Lp, hd, scale, 0); /* scores, as forward */
            matmul(dS, Lp, dO, C, 1, Vt, 0, n, Lp, hd, 1, 0);     /* dP = dO V^T */
            for (int r = 0; r < n; r++) {
                float *p = P + (size_t)r * Lp, *d = dS + (size_t)r * Lp;
                const int valid = causal ? i0 + r + 1 : L, whole = valid - valid % VW, tail = valid % VW;
                double dot = 0;
                for (int e = 0; e < hd; e++) dot += (double)dO[(size_t)r * C + e] * O[(size_t)r * C + e];
                const vf m = v_set1(lse[(size_t)bh * L + i0 + r]), D = v_set1((float)dot);
                for (int j = 0; j < whole + (tail ? VW : 0); j += VW) {
                    vf pj = v_exp(v_sub(v_load(p + j), m));
                    if (j == whole) pj = v_first(pj, tail, v_zero());
                    v_store(p + j, pj);
                    v_store(d + j, v_mul(pj, v_sub(v_load(d + j), D)));
                }
                for (int j = whole + (tail ? VW : 0); j < kv; j++) p[j] = d[j] = 0;
            }
            matmul(dq + (size_t)i0 * C3, C3, dS, Lp, 1, K, hd, n, hd, kv, scale, 1); /* dQ += s dS K */
            matmul(dk, C3, dS, 1, Lp, qi, C3, kv, hd, n, scale, 1);                /* dK += s dS^T Q */
            matmul(dv, C3, P, 1, Lp, dO, C, kv, hd, n, 1, 1);                      /* dV += P^T dO */
        }
    }
    return 0;
}
