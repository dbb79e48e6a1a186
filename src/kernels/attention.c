#include "kernels/attention.h"

#include <math.h>

#include <omp.h>

#include "kernels/fastmath.h"
#include "kernels/gemm.h"


size_t vc_attention_scratch_elems(int L, int max_threads) {
    return (size_t)max_threads * (size_t)L * (size_t)L;
}

/* In-place row softmax of an L x L score tile; with `causal`, keys j > i get probability 0. */
static void softmax_rows(vc_real *S, int L, int causal) {
    for (int i = 0; i < L; i++) {
        vc_real *row = S + (size_t)i * L;
        int n = causal ? i + 1 : L;
        vc_real mx = row[0];
        for (int j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
        vc_real sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < n; j++) {
            row[j] = vc_exp(row[j] - mx);
            sum += row[j];
        }
        vc_real inv = (vc_real)(1.0 / sum);
        for (int j = 0; j < n; j++) row[j] *= inv;
        for (int j = n; j < L; j++) row[j] = 0;
    }
}

void vc_attention_forward(vc_real *out, vc_real *probs, vc_real *scratch, const vc_real *qkv,
                          int B, int L, int C, int H, int causal) {
    const int hd = C / H, C3 = 3 * C;
    const vc_real scale = (vc_real)(1.0 / sqrt((double)hd));
    /* One (sample, head) pair per iteration; the BLAS runs single-threaded inside. */
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        const vc_real *q = qkv + (size_t)b * L * C3 + h * hd;
        const vc_real *k = q + C, *v = q + 2 * C;
        vc_real *S = probs ? probs + (size_t)bh * L * L
                           : scratch + (size_t)omp_get_thread_num() * L * L;
        vc_gemm(0, 1, L, L, hd, scale, q, C3, k, C3, 0, S, L);          /* [L,hd]@[hd,L] */
        softmax_rows(S, L, causal);
        vc_gemm(0, 0, L, hd, L, 1, S, L, v, C3, 0, out + (size_t)b * L * C + h * hd, C);
    }
}

void vc_attention_backward(vc_real *dqkv, vc_real *scratch, const vc_real *dout,
                           const vc_real *qkv, const vc_real *probs, int B, int L, int C, int H) {
    const int hd = C / H, C3 = 3 * C;
    const vc_real scale = (vc_real)(1.0 / sqrt((double)hd));
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        size_t qoff = (size_t)b * L * C3 + h * hd;
        const vc_real *q = qkv + qoff, *k = q + C, *v = q + 2 * C;
        vc_real *dq = dqkv + qoff, *dk = dq + C, *dv = dq + 2 * C;
        const vc_real *P = probs + (size_t)bh * L * L;
        const vc_real *dO = dout + (size_t)b * L * C + h * hd;
        vc_real *dS = scratch + (size_t)omp_get_thread_num() * L * L;
        vc_gemm(0, 1, L, L, hd, 1, dO, C, v, C3, 0, dS, L);            /* dP = dO @ V^T */
        for (int i = 0; i < L; i++) {                                   /* softmax backward */
            const vc_real *p = P + (size_t)i * L;
            vc_real *d = dS + (size_t)i * L;
            double dot = 0;
            for (int j = 0; j < L; j++) dot += (double)p[j] * d[j];
            for (int j = 0; j < L; j++) d[j] = p[j] * (d[j] - (vc_real)dot);
        }
        vc_gemm(0, 0, L, hd, L, scale, dS, L, k, C3, 1, dq, C3);        /* dQ += s dS @ K */
        vc_gemm(1, 0, L, hd, L, scale, dS, L, q, C3, 1, dk, C3);        /* dK += s dS^T @ Q */
        vc_gemm(1, 0, L, hd, L, 1, P, L, dO, C, 1, dv, C3);             /* dV += P^T @ dO */
    }
}
