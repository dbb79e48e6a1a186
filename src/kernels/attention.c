#include "kernels/attention.h"

#include <math.h>
#include <stdio.h>

#include <omp.h>

#include "kernels/attention_bf16.h"
#include "kernels/attention_simd.h"
#include "kernels/fastmath.h"
#include "kernels/gemm.h"

size_t vc_attention_simd_scratch_elems(int L, int hd) {
    /* backward's need, the larger: the probability and score-gradient tiles, K^T, V^T and K,
     * each padded to whole 16-float rows of keys (forward: one tile, K^T and V) */
    return (2 * (size_t)VC_ATTN_QBLOCK + 3 * (size_t)hd) * (size_t)((L + 15) & ~15) + 16;
}

/* Per thread: two QBLOCK x L tiles (portable forward and backward), or what the SIMD or bf16
 * forward needs, whichever is most. */
static size_t per_thread_elems(int L, int C, int H) {
    const size_t fp32 = 2 * VC_ATTN_QBLOCK * (size_t)L, bf16 = vc_attention_bf16_scratch_elems(L, C / H);
    const size_t simd = vc_attention_simd_scratch_elems(L, C / H);
    const size_t most = bf16 > fp32 ? bf16 : fp32;
    return simd > most ? simd : most;
}

size_t vc_attention_scratch_elems(int L, int C, int H, int max_threads) {
    return (size_t)max_threads * per_thread_elems(L, C, H);
}

int vc_attention_simd_usable(const vc_attention_simd *k) {
    return k->forward && k->backward && vc_gemm_isa() >= k->level;
}

const vc_attention_simd *vc_attention_simd_pick(void) {
    static const vc_attention_simd *const best_first[] = {&vc_attention_avx512, &vc_attention_avx2};
    for (size_t i = 0; i < sizeof best_first / sizeof *best_first; i++)
        if (vc_attention_simd_usable(best_first[i])) return best_first[i];
    return NULL;
}

void vc_attention_describe(char *buf, size_t cap) {
    const vc_attention_simd *k = vc_attention_simd_pick();
    const int bf16 = vc_attention_bf16_compiled() && vc_gemm_has_bf16();
    snprintf(buf, cap, "fp32 on %s%s; bf16 inference on %s", k ? k->name : "a GEMM per query block",
             k ? " micro-kernels" : "", bf16 ? "the AVX512-BF16 micro-kernel" : "the fp32 kernels");
}

/* Keys a query block [i0, i1) sees: all of them, or up to i1 - 1 when causal. */
static int keys_seen(int i1, int L, int causal) { return causal ? i1 : L; }

/* Row softmax of an n x nk score tile (row r is query i0 + r) in place; returns each row's
 * log-sum-exp in lse (if non-NULL). Causal: keys j > i get probability 0. */
static void softmax_tile(vc_real *S, int n, int nk, int i0, int causal, vc_real *lse) {
    for (int r = 0; r < n; r++) {
        vc_real *row = S + (size_t)r * nk;
        int valid = causal ? i0 + r + 1 : nk;
        vc_real mx, sum = vc_exp_shifted_row(row, valid, &mx);
        vc_real inv = (vc_real)(1.0 / sum);
#pragma omp simd
        for (int j = 0; j < valid; j++) row[j] *= inv;
        for (int j = valid; j < nk; j++) row[j] = 0;
        if (lse) lse[r] = mx + (vc_real)log((double)sum);
    }
}

void vc_attention_forward(vc_precision prec, vc_real *out, vc_real *lse, vc_real *scratch,
                          const vc_real *qkv, int B, int L, int C, int H, int causal) {
    /* bf16 at inference only: backward recomputes the probabilities in fp32 from lse, which
     * must come from the same fp32 scores (and training attention is a few % of a masked step). */
    const size_t per_thread = per_thread_elems(L, C, H);
    if (prec == VC_BF16 && !lse &&
        !vc_attention_bf16_forward(out, lse, scratch, per_thread, qkv, B, L, C, H, causal))
        return;
    const vc_attention_simd *simd = vc_attention_simd_pick();
    if (simd && !simd->forward(out, lse, scratch, per_thread, qkv, B, L, C, H, causal)) return;
    const int hd = C / H, C3 = 3 * C, nblk = (L + VC_ATTN_QBLOCK - 1) / VC_ATTN_QBLOCK;
    const vc_real scale = (vc_real)(1.0 / sqrt((double)hd));
    /* One (sample, head, query block) per iteration; the GEMMs run single-threaded inside. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t < B * H * nblk; t++) {
        int bh = t / nblk, b = bh / H, h = bh % H;
        int i0 = (t % nblk) * VC_ATTN_QBLOCK, i1 = i0 + VC_ATTN_QBLOCK < L ? i0 + VC_ATTN_QBLOCK : L;
        int n = i1 - i0, nk = keys_seen(i1, L, causal);
        const vc_real *q = qkv + (size_t)b * L * C3 + h * hd;
        const vc_real *k = q + C, *v = q + 2 * C;
        vc_real *S = scratch + (size_t)omp_get_thread_num() * per_thread;
        vc_gemm(0, 1, n, nk, hd, scale, q + (size_t)i0 * C3, C3, k, C3, 0, S, nk);
        softmax_tile(S, n, nk, i0, causal, lse ? lse + (size_t)bh * L + i0 : NULL);
        vc_gemm(0, 0, n, hd, nk, 1, S, nk, v, C3, 0, out + ((size_t)b * L + i0) * C + h * hd, C);
    }
}

void vc_attention_backward(vc_real *dqkv, vc_real *scratch, const vc_real *dout,
                           const vc_real *qkv, const vc_real *out, const vc_real *lse, int B,
                           int L, int C, int H, int causal) {
    const size_t per_thread = per_thread_elems(L, C, H);
    const vc_attention_simd *simd = vc_attention_simd_pick();
    if (simd && !simd->backward(dqkv, scratch, per_thread, dout, qkv, out, lse, B, L, C, H, causal))
        return;
    const int hd = C / H, C3 = 3 * C;
    const vc_real scale = (vc_real)(1.0 / sqrt((double)hd));
    /* One (sample, head) per iteration: its dK and dV collect every query block's share, so
     * the blocks run in order on one thread and no two threads write the same gradient. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        size_t qoff = (size_t)b * L * C3 + h * hd;
        const vc_real *q = qkv + qoff, *k = q + C, *v = q + 2 * C;
        vc_real *dq = dqkv + qoff, *dk = dq + C, *dv = dq + 2 * C;
        vc_real *P = scratch + (size_t)omp_get_thread_num() * per_thread;
        vc_real *dS = P + (size_t)VC_ATTN_QBLOCK * L;
        for (int i0 = 0; i0 < L; i0 += VC_ATTN_QBLOCK) {
            int i1 = i0 + VC_ATTN_QBLOCK < L ? i0 + VC_ATTN_QBLOCK : L, n = i1 - i0;
            int nk = keys_seen(i1, L, causal);
            const vc_real *qi = q + (size_t)i0 * C3;
            const vc_real *dO = dout + ((size_t)b * L + i0) * C + h * hd;
            const vc_real *O = out + ((size_t)b * L + i0) * C + h * hd;
            vc_gemm(0, 1, n, nk, hd, scale, qi, C3, k, C3, 0, P, nk);        /* scores again */
            vc_gemm(0, 1, n, nk, hd, 1, dO, C, v, C3, 0, dS, nk);            /* dP = dO V^T */
            for (int r = 0; r < n; r++) {
                vc_real *p = P + (size_t)r * nk, *d = dS + (size_t)r * nk;
                const vc_real m = lse[(size_t)bh * L + i0 + r];
                const int valid = causal ? i0 + r + 1 : nk;
                /* softmax backward: dS = P (dP - rowsum(dO * O)), rowsum(P dP) = dO . O */
                double dot = 0;
                for (int e = 0; e < hd; e++) dot += (double)dO[(size_t)r * C + e] * O[(size_t)r * C + e];
                const vc_real D = (vc_real)dot;
#pragma omp simd
                for (int j = 0; j < valid; j++) {
                    p[j] = vc_exp(p[j] - m);
                    d[j] = p[j] * (d[j] - D);
                }
                for (int j = valid; j < nk; j++) p[j] = d[j] = 0;
            }
            vc_gemm(0, 0, n, hd, nk, scale, dS, nk, k, C3, 1, dq + (size_t)i0 * C3, C3); /* dQ += s dS K */
            vc_gemm(1, 0, nk, hd, n, scale, dS, nk, qi, C3, 1, dk, C3);    /* dK += s dS^T Q */
            vc_gemm(1, 0, nk, hd, n, 1, P, nk, dO, C, 1, dv, C3);          /* dV += P^T dO */
        }
    }
}

/* One (sample, head) of the pooled attention: the scores of its query against its keys, as
 * exp(s - lse) probabilities in p [nk] when lse is given, else softmax-normalised (and the new
 * log-sum-exp stored in *lse_out). */
static void pooled_probs(vc_real *p, const vc_real *q, const vc_real *k, int ldk, int nk, int hd,
                         vc_real scale, const vc_real *lse, vc_real *lse_out) {
    for (int j = 0; j < nk; j++) {
        vc_real d = 0;
#pragma omp simd reduction(+ : d)
        for (int e = 0; e < hd; e++) d += q[e] * k[(size_t)j * ldk + e];
        p[j] = d * scale;
    }
    if (lse) {
#pragma omp simd
        for (int j = 0; j < nk; j++) p[j] = vc_exp(p[j] - *lse);
        return;
    }
    softmax_tile(p, 1, nk, 0, 0, lse_out);
}

/* Keys the pooled query of sample b sees: all L, or up to its own position when causal. */
static int pooled_keys(const int32_t *rows, int b, int L, int causal) {
    return causal ? (rows ? rows[b] : 0) + 1 : L;
}

void vc_attention_pooled_forward(vc_real *out, vc_real *lse, vc_real *scratch, const vc_real *q,
                                 const vc_real *kv, const int32_t *rows, int B, int L, int C, int H,
                                 int causal) {
    const int hd = C / H;
    const vc_real scale = (vc_real)(1.0 / sqrt((double)hd));
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H, nk = pooled_keys(rows, b, L, causal);
        const vc_real *k = kv + (size_t)b * L * 2 * C + h * hd, *v = k + C;
        vc_real *p = scratch + (size_t)omp_get_thread_num() * per_thread_elems(L, C, H), m;
        pooled_probs(p, q + (size_t)b * C + h * hd, k, 2 * C, nk, hd, scale, NULL, &m);
        if (lse) lse[bh] = m;
        vc_real *o = out + (size_t)b * C + h * hd;
        for (int e = 0; e < hd; e++) o[e] = 0;
        for (int j = 0; j < nk; j++) {
            const vc_real pj = p[j], *vj = v + (size_t)j * 2 * C;
#pragma omp simd
            for (int e = 0; e < hd; e++) o[e] += pj * vj[e];
        }
    }
}

void vc_attention_pooled_backward(vc_real *dq, vc_real *dkv, vc_real *scratch, const vc_real *dout,
                                  const vc_real *q, const vc_real *kv, const vc_real *out,
                                  const vc_real *lse, const int32_t *rows, int B, int L, int C, int H,
                                  int causal) {
    const int hd = C / H;
    const vc_real scale = (vc_real)(1.0 / sqrt((double)hd));
    const size_t per_thread = per_thread_elems(L, C, H);
    /* One (sample, head) per iteration owns its columns of dq, dk and dv: no shared writes. */
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H, nk = pooled_keys(rows, b, L, causal);
        const size_t qo = (size_t)b * C + h * hd, ko = (size_t)b * L * 2 * C + h * hd;
        const vc_real *qh = q + qo, *dO = dout + qo, *O = out + qo, *k = kv + ko, *v = k + C;
        vc_real *dqh = dq + qo, *dk = dkv + ko, *dv = dk + C;
        vc_real *p = scratch + (size_t)omp_get_thread_num() * per_thread;
        pooled_probs(p, qh, k, 2 * C, nk, hd, scale, &lse[bh], NULL);
        /* softmax backward as in vc_attention_backward: dS = P (dP - dO . O), dP = dO V^T */
        double dot = 0;
        for (int e = 0; e < hd; e++) dot += (double)dO[e] * O[e];
        const vc_real D = (vc_real)dot;
        for (int j = 0; j < nk; j++) {
            const vc_real *vj = v + (size_t)j * 2 * C, *kj = k + (size_t)j * 2 * C;
            vc_real dp = 0;
#pragma omp simd reduction(+ : dp)
            for (int e = 0; e < hd; e++) dp += dO[e] * vj[e];
            const vc_real ds = p[j] * (dp - D) * scale, pj = p[j];
            vc_real *dkj = dk + (size_t)j * 2 * C, *dvj = dv + (size_t)j * 2 * C;
#pragma omp simd
            for (int e = 0; e < hd; e++) {
                dqh[e] += ds * kj[e];
                dkj[e] += ds * qh[e];
                dvj[e] += pj * dO[e];
            }
        }
    }
}

void vc_attention_query_probs(vc_real *probs, const vc_real *qkv, const vc_real *lse, int B,
                              int L, int C, int H, int query, int causal) {
    const int hd = C / H, C3 = 3 * C;
    const vc_real scale = (vc_real)(1.0 / sqrt((double)hd));
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        const vc_real *q = qkv + ((size_t)b * L + query) * C3 + h * hd;
        const vc_real *k = qkv + (size_t)b * L * C3 + C + h * hd;
        const vc_real m = lse[(size_t)bh * L + query];
        vc_real *p = probs + (size_t)bh * L;
        for (int j = 0; j < L; j++) {
            vc_real d = 0;
            for (int e = 0; e < hd; e++) d += q[e] * k[(size_t)j * C3 + e];
            p[j] = (causal && j > query) ? 0 : vc_exp(d * scale - m);
        }
    }
}
