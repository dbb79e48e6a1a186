/* Float-build kernel checks that the double-precision gradient checks cannot see. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "kernels/attention.h"
#include "kernels/attention_bf16.h"
#include "kernels/attention_simd.h"
#include "kernels/fastmath.h"
#include "kernels/gemm.h"
#include "testutil.h"

TEST(fast_exp_is_accurate_over_the_float_range) {
    double worst = 0, at = 0;
    for (double x = -80; x <= 80; x += 0.001) {
        double ref = exp((double)(float)x);
        double rel = fabs(vc_exp((float)x) - ref) / ref;
        if (rel > worst) worst = rel, at = x;
    }
    printf("  max relative error %.3g at x = %.3f\n", worst, at);
    CHECK(worst < 5e-7, "relative error %g at %g", worst, at);
    CHECK(vc_exp(-1000.0f) < 1e-37f, "underflow must go to ~0");
    CHECK(isfinite(vc_exp(1000.0f)), "overflow must saturate");
    CHECK(vc_exp(0.0f) == 1.0f, "exp(0) = %.9g", vc_exp(0.0f));
}

#if defined(__AVX512F__) && !defined(VC_DOUBLE)
#include "kernels/exp_avx512.h"
#endif

/* The AVX-512 softmax exp: the accuracy of vc_exp on its range, and at the extremes scores reach
 * when weights diverge: 0 far below, not inf or NaN, and NaN kept. */
TEST(avx512_exp_is_accurate_and_safe_at_the_extremes) {
#if defined(__AVX512F__) && !defined(VC_DOUBLE)
    double worst = 0, at = 0;
    for (double x0 = -103; x0 <= 88; x0 += 0.016) {
        float in[16], out[16];
        for (int t = 0; t < 16; t++) in[t] = (float)(x0 + 0.001 * t);
        _mm512_storeu_ps(out, vc_exp_avx512(_mm512_loadu_ps(in)));
        for (int t = 0; t < 16; t++) {
            /* relative error, and below the normal range the denormal spacing on top */
            if (in[t] > 88) continue; /* clamped there (checked below) */
            const double ref = exp((double)in[t]), err = fabs(out[t] - ref);
            if (ref >= 1.2e-38 && err / ref > worst) worst = err / ref, at = in[t];
            CHECK(err <= 5e-7 * ref + 1.5e-45, "e^%g = %g, want %g", in[t], out[t], ref);
        }
    }
    printf("  max relative error %.3g at x = %.3f\n", worst, at);
    CHECK(worst < 5e-7, "relative error %g at %g", worst, at);
    const float ext[16] = {-1e30f, -INFINITY, -1e8f, -105.0f, 0.0f, 1e30f, INFINITY, NAN,
                           -3e38f, 100.0f, 88.0f, -0.0f, 1.0f, -1.0f, 1e-30f, -1e-30f};
    float out[16];
    _mm512_storeu_ps(out, vc_exp_avx512(_mm512_loadu_ps(ext)));
    for (int t = 0; t < 16; t++) {
        if (isnan(ext[t])) CHECK(isnan(out[t]), "e^NaN = %g, must stay NaN", out[t]);
        else if (ext[t] < -104) CHECK(out[t] == 0, "e^%g = %g, want 0", ext[t], out[t]);
        else if (ext[t] > 88) CHECK(isfinite(out[t]) && out[t] > 1e38f, "e^%g = %g, want ~e^88", ext[t], out[t]);
        else CHECK(fabs(out[t] - exp((double)ext[t])) <= 1e-6 * exp((double)ext[t]), "e^%g = %g", ext[t], out[t]);
    }
#else
    printf("SKIP kernels.avx512_exp: not an AVX-512 float build\n");
#endif
}

/* The fp32 attention paths the checks below run: [0] whatever vc_attention_forward/backward
 * pick here, then each SIMD kernel by name. */
static const vc_attention_simd *const PATHS[3] = {NULL, &vc_attention_avx512, &vc_attention_avx2};
static const char *path_name(int v) { return v ? PATHS[v]->name : "picked"; }

/* Scores of ~1e30 (diverging weights) make the softmax one-hot: every fp32 kernel must give the
 * value row of each query's best key, finite, not inf or NaN. */
TEST(fp32_attention_is_one_hot_not_nan_at_huge_scores) {
    enum { B = 1, L = 40, C = 64, H = 1, C3 = 3 * C };
    const int threads = omp_get_max_threads();
    const size_t ns = vc_attention_scratch_elems(L, C, H, threads);
    float *qkv = malloc(sizeof(float) * B * L * C3), *scratch = malloc(sizeof(float) * ns);
    float *out = malloc(sizeof(float) * B * L * C), *lse = malloc(sizeof(float) * B * H * L);
    vc_rng r = vc_rng_at(24, 0, 0, 0);
    for (int i = 0; i < B * L * C3; i++) qkv[i] = 1e14f * (float)vc_rng_normal(&r);
    for (int v = 0; v < 3; v++) {
        if (v && !vc_attention_simd_usable(PATHS[v])) continue;
        if (!v) vc_attention_forward(VC_FP32, out, lse, scratch, qkv, B, L, C, H, 0);
        else CHECK(PATHS[v]->forward(out, lse, scratch, ns / threads, qkv, B, L, C, H, 0) == 0, "declined");
        double worst = 0;
        for (int i = 0; i < L; i++) {
            int best = 0;
            double top = -INFINITY;
            for (int j = 0; j < L; j++) {
                double d = 0;
                for (int e = 0; e < C; e++) d += (double)qkv[i * C3 + e] * qkv[j * C3 + C + e];
                if (d > top) top = d, best = j;
            }
            for (int e = 0; e < C; e++) {
                const double want = qkv[best * C3 + 2 * C + e];
                CHECK(isfinite(out[i * C + e]), "%s: query %d output %g", path_name(v), i, out[i * C + e]);
                worst = fmax(worst, fabs(out[i * C + e] - want) / 1e14);
            }
        }
        printf("  %s: max |out - V[best]| %.3g (of 1e14)\n", path_name(v), worst);
        CHECK(worst < 1e-6, "%s kernel: not the best key's value row (%g)", path_name(v), worst);
    }
    free(qkv), free(scratch), free(out), free(lse);
}

/* bf16 attention against the fp32 kernel: L not a multiple of 16 or of the query block (padded
 * keys must stay masked), two heads of 64, both masks. bf16 keeps 8 bits of mantissa, so
 * outputs agree to ~1e-2 of their scale; an indexing slip would be O(1). */
static void bf16_attention_case(int causal, int *vc_t_failed, char *vc_t_why, size_t vc_t_whylen) {
    enum { B = 2, L = VC_ATTN_QBLOCK + 13, C = 128, H = 2 };
    const int threads = omp_get_max_threads();
    const size_t ns = vc_attention_scratch_elems(L, C, H, threads);
    float *qkv = malloc(sizeof(float) * B * L * 3 * C), *scratch = malloc(sizeof(float) * ns);
    float *o32 = malloc(sizeof(float) * B * L * C), *o16 = malloc(sizeof(float) * B * L * C);
    float *l32 = malloc(sizeof(float) * B * H * L), *l16 = malloc(sizeof(float) * B * H * L);
    vc_rng r = vc_rng_at(21, 0, 0, (uint64_t)causal);
    for (int i = 0; i < B * L * 3 * C; i++) qkv[i] = (float)vc_rng_normal(&r);
    vc_attention_forward(VC_FP32, o32, l32, scratch, qkv, B, L, C, H, causal);
    int rc = vc_attention_bf16_forward(o16, l16, scratch, ns / threads, qkv, B, L, C, H, causal);
    CHECK(rc == 0, "the bf16 kernel declined on a CPU with a bf16 GEMM");
    double err = 0, scale = 0, lerr = 0;
    for (int i = 0; i < B * L * C; i++) {
        err = fmax(err, fabs(o16[i] - o32[i]));
        scale = fmax(scale, fabs(o32[i]));
    }
    for (int i = 0; i < B * H * L; i++) lerr = fmax(lerr, fabs(l16[i] - l32[i]));
    printf("  %s: max |bf16 - fp32| %.3g of max |out| %.3g; lse %.3g\n", causal ? "causal" : "full", err,
           scale, lerr);
    CHECK(err < 2e-2 * scale, "output error %g (scale %g)", err, scale);
    CHECK(lerr < 5e-2, "log-sum-exp error %g", lerr);
    free(qkv), free(scratch), free(o32), free(o16), free(l32), free(l16);
}

TEST(bf16_attention_matches_fp32) {
    if (!vc_attention_bf16_compiled() || !vc_gemm_has_bf16()) {
        printf("SKIP kernels.bf16_attention: no AVX512-BF16 in this build or CPU (or VICLIP_ISA)\n");
        return;
    }
    bf16_attention_case(0, vc_t_failed, vc_t_why, vc_t_whylen);
    bf16_attention_case(1, vc_t_failed, vc_t_why, vc_t_whylen);
}

/* fp32 attention against a double-precision softmax(QK^T/sqrt(hd))V written out in full: what
 * vc_attention_forward picks here, and each SIMD kernel by name. The shapes end key vectors
 * and query blocks part-way, give one (sample, head) several query-block runs (B * H = 1), use
 * head dimension 16 as well as 64, and the `spread` case scales the inputs so scores span
 * hundreds and most exponentials underflow. Adds the number of SIMD kernels that ran to *runs. */
static void attention_case(int B, int L, int C, int H, int causal, float spread, int *runs, int *vc_t_failed,
                          char *vc_t_why, size_t vc_t_whylen) {
    const int threads = omp_get_max_threads(), hd = C / H, C3 = 3 * C;
    const size_t ns = vc_attention_scratch_elems(L, C, H, threads);
    float *qkv = malloc(sizeof(float) * B * L * C3), *scratch = malloc(sizeof(float) * ns);
    float *out[3], *lse[3];
    double *p = malloc(sizeof(double) * L), err[3] = {0}, lerr[3] = {0}, scale = 0;
    vc_rng r = vc_rng_at(22, (uint64_t)L, (uint64_t)H, (uint64_t)causal);
    for (int i = 0; i < B * L * C3; i++) qkv[i] = spread * (float)vc_rng_normal(&r);
    int ran[3] = {1, 0, 0};
    for (int v = 0; v < 3; v++) {
        out[v] = malloc(sizeof(float) * B * L * C), lse[v] = malloc(sizeof(float) * B * H * L);
        if (!v) vc_attention_forward(VC_FP32, out[v], lse[v], scratch, qkv, B, L, C, H, causal);
        else
            ran[v] = vc_attention_simd_usable(PATHS[v]) &&
                     !PATHS[v]->forward(out[v], lse[v], scratch, ns / threads, qkv, B, L, C, H, causal);
    }
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < L; i++) {
                const float *q = qkv + ((size_t)b * L + i) * C3 + h * hd;
                const int nk = causal ? i + 1 : L;
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < nk; j++) {
                    const float *k = qkv + ((size_t)b * L + j) * C3 + C + h * hd;
                    double d = 0;
                    for (int e = 0; e < hd; e++) d += (double)q[e] * k[e];
                    p[j] = d / sqrt((double)hd);
                    mx = fmax(mx, p[j]);
                }
                for (int j = 0; j < nk; j++) sum += (p[j] = exp(p[j] - mx));
                const size_t li = ((size_t)b * H + h) * L + i;
                for (int v = 0; v < 3; v++)
                    if (ran[v]) lerr[v] = fmax(lerr[v], fabs(lse[v][li] - (mx + log(sum))));
                for (int e = 0; e < hd; e++) {
                    double o = 0;
                    for (int j = 0; j < nk; j++) o += p[j] * qkv[((size_t)b * L + j) * C3 + 2 * C + h * hd + e];
                    o /= sum;
                    const size_t oi = ((size_t)b * L + i) * C + h * hd + e;
                    for (int v = 0; v < 3; v++)
                        if (ran[v]) err[v] = fmax(err[v], fabs(out[v][oi] - o));
                    scale = fmax(scale, fabs(o));
                }
            }
    printf("  B %d L %d C %d H %d %s x%g, max |out| %.3g:", B, L, C, H, causal ? "causal" : "full", spread, scale);
    for (int v = 0; v < 3; v++) {
        if (ran[v]) printf(" %s %.3g (lse %.3g)", path_name(v), err[v], lerr[v]);
        else printf(" %s absent", path_name(v));
        CHECK(err[v] <= 2e-6 * scale * spread + 1e-6, "%s kernel: output error %g (scale %g)", path_name(v), err[v], scale);
        CHECK(lerr[v] < 2e-5 * spread * spread, "%s kernel: log-sum-exp error %g", path_name(v), lerr[v]);
    }
    printf("\n");
    *runs += ran[1] + ran[2];
    for (int v = 0; v < 3; v++) free(out[v]), free(lse[v]);
    free(qkv), free(scratch), free(p);
}

TEST(fp32_attention_matches_a_double_softmax) {
    int simd_runs = 0;
    for (int causal = 0; causal < 2; causal++) {
        attention_case(2, 77, 128, 2, causal, 1, &simd_runs, vc_t_failed, vc_t_why, vc_t_whylen);
        attention_case(1, 2 * VC_ATTN_QBLOCK + 5, 64, 1, causal, 1, &simd_runs, vc_t_failed, vc_t_why, vc_t_whylen);
        attention_case(1, 20, 64, 4, causal, 1, &simd_runs, vc_t_failed, vc_t_why, vc_t_whylen);
        attention_case(3, 1, 80, 5, causal, 1, &simd_runs, vc_t_failed, vc_t_why, vc_t_whylen);
        attention_case(1, 16, 32, 2, causal, 1, &simd_runs, vc_t_failed, vc_t_why, vc_t_whylen);
        /* long rows: 10 query blocks, 35 key vectors */
        attention_case(1, 549, 64, 1, causal, 1, &simd_runs, vc_t_failed, vc_t_why, vc_t_whylen);
    }
    attention_case(1, 161, 128, 2, 0, 6, &simd_runs, vc_t_failed, vc_t_why, vc_t_whylen);
    /* long rows whose scores span hundreds */
    attention_case(1, 549, 64, 1, 0, 6, &simd_runs, vc_t_failed, vc_t_why, vc_t_whylen);
    printf("  SIMD kernel runs: %d (AVX-512 built %d, AVX2 built %d)\n", simd_runs,
           vc_attention_avx512.forward != NULL, vc_attention_avx2.forward != NULL);
}

/* fp32 attention backward against gradients of the same double-precision attention written
 * out in full (P, dP = dO V^T, dS = P (dP - rowsum(dP P)), dQ = s dS K, dK = s dS^T Q,
 * dV = P^T dO): vc_attention_backward as picked here, and each SIMD kernel by name after its
 * own forward. The gradient buffer starts non-zero, as the kernels accumulate into it. */
static void attention_backward_case(int B, int L, int C, int H, int causal, int *runs,
                                    int *vc_t_failed, char *vc_t_why, size_t vc_t_whylen) {
    const int threads = omp_get_max_threads(), hd = C / H, C3 = 3 * C;
    const size_t ns = vc_attention_scratch_elems(L, C, H, threads), nq = (size_t)B * L * C3;
    float *qkv = malloc(sizeof(float) * nq), *dout = malloc(sizeof(float) * B * L * C);
    float *out = malloc(sizeof(float) * B * L * C), *lse = malloc(sizeof(float) * B * H * L);
    float *scratch = malloc(sizeof(float) * ns), *dqkv = malloc(sizeof(float) * nq);
    double *ref = calloc(nq, sizeof(double)), *P = malloc(sizeof(double) * L * L);
    double *dS = malloc(sizeof(double) * L * L);
    vc_rng r = vc_rng_at(23, (uint64_t)L, (uint64_t)H, (uint64_t)causal);
    for (size_t i = 0; i < nq; i++) qkv[i] = (float)vc_rng_normal(&r);
    for (int i = 0; i < B * L * C; i++) dout[i] = (float)vc_rng_normal(&r);
    const double s = 1 / sqrt((double)hd);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *q = qkv + (size_t)b * L * C3 + h * hd, *k = q + C, *v = q + 2 * C;
            const float *dO = dout + (size_t)b * L * C + h * hd;
            double *dq = ref + (size_t)b * L * C3 + h * hd, *dk = dq + C, *dv = dq + 2 * C;
            for (int i = 0; i < L; i++) {
                const int nk = causal ? i + 1 : L;
                double mx = -INFINITY, sum = 0, rowdot = 0;
                for (int j = 0; j < L; j++) {
                    double d = 0;
                    for (int e = 0; e < hd; e++) d += (double)q[(size_t)i * C3 + e] * k[(size_t)j * C3 + e];
                    P[(size_t)i * L + j] = j < nk ? d * s : -INFINITY;
                    if (j < nk) mx = fmax(mx, d * s);
                }
                for (int j = 0; j < L; j++) sum += (P[(size_t)i * L + j] = exp(P[(size_t)i * L + j] - mx));
                for (int j = 0; j < L; j++) {
                    double dp = 0;
                    P[(size_t)i * L + j] /= sum;
                    for (int e = 0; e < hd; e++) dp += (double)dO[(size_t)i * C + e] * v[(size_t)j * C3 + e];
                    dS[(size_t)i * L + j] = dp;
                    rowdot += dp * P[(size_t)i * L + j];
                }
                for (int j = 0; j < L; j++) dS[(size_t)i * L + j] = P[(size_t)i * L + j] * (dS[(size_t)i * L + j] - rowdot);
            }
            for (int i = 0; i < L; i++)
                for (int j = 0; j < L; j++)
                    for (int e = 0; e < hd; e++) {
                        dq[(size_t)i * C3 + e] += s * dS[(size_t)i * L + j] * k[(size_t)j * C3 + e];
                        dk[(size_t)j * C3 + e] += s * dS[(size_t)i * L + j] * q[(size_t)i * C3 + e];
                        dv[(size_t)j * C3 + e] += P[(size_t)i * L + j] * dO[(size_t)i * C + e];
                    }
        }
    double scale = 0;
    for (size_t i = 0; i < nq; i++) scale = fmax(scale, fabs(ref[i]));
    printf("  B %d L %d C %d H %d %s, max |grad| %.3g:", B, L, C, H, causal ? "causal" : "full", scale);
    for (int v = 0; v < 3; v++) {
        for (size_t i = 0; i < nq; i++) dqkv[i] = (float)(i % 5) - 2; /* kernels accumulate */
        int ran = 1;
        if (!v) {
            vc_attention_forward(VC_FP32, out, lse, scratch, qkv, B, L, C, H, causal);
            vc_attention_backward(dqkv, scratch, dout, qkv, out, lse, B, L, C, H, causal);
        } else {
            const vc_attention_simd *k = PATHS[v];
            ran = vc_attention_simd_usable(k) &&
                  !k->forward(out, lse, scratch, ns / threads, qkv, B, L, C, H, causal) &&
                  !k->backward(dqkv, scratch, ns / threads, dout, qkv, out, lse, B, L, C, H, causal);
        }
        if (!ran) {
            printf(" %s absent", path_name(v));
            continue;
        }
        *runs += v > 0;
        double err = 0;
        for (size_t i = 0; i < nq; i++) err = fmax(err, fabs(dqkv[i] - ((double)(i % 5) - 2) - ref[i]));
        printf(" %s %.3g", path_name(v), err);
        CHECK(err <= 3e-6 * scale + 1e-6, "%s kernel: gradient error %g (scale %g)", path_name(v), err, scale);
    }
    printf("\n");
    free(qkv), free(dout), free(out), free(lse), free(scratch), free(dqkv), free(ref), free(P), free(dS);
}

TEST(fp32_attention_backward_matches_double_gradients) {
    int simd_runs = 0;
    for (int causal = 0; causal < 2; causal++) {
        attention_backward_case(2, 77, 128, 2, causal, &simd_runs, vc_t_failed, vc_t_why, vc_t_whylen);
        attention_backward_case(1, 2 * VC_ATTN_QBLOCK + 5, 64, 1, causal, &simd_runs, vc_t_failed, vc_t_why, vc_t_whylen);
        attention_backward_case(1, 20, 64, 4, causal, &simd_runs, vc_t_failed, vc_t_why, vc_t_whylen);
        attention_backward_case(3, 1, 80, 5, causal, &simd_runs, vc_t_failed, vc_t_why, vc_t_whylen);
        attention_backward_case(1, 16, 32, 2, causal, &simd_runs, vc_t_failed, vc_t_why, vc_t_whylen);
        attention_backward_case(1, 549, 64, 1, causal, &simd_runs, vc_t_failed, vc_t_why,
                                vc_t_whylen);
    }
    printf("  SIMD kernel runs: %d\n", simd_runs);
}

/* The portable kernel is what a CPU without AVX2 runs: the same check under VICLIP_ISA=generic,
 * in a child process (the ISA cap is read once per process), where no SIMD kernel may run. */
TEST(portable_attention_matches_under_a_generic_cap) {
    if (getenv("VICLIP_ISA")) {
        printf("SKIP kernels.portable_attention: VICLIP_ISA is already set (%s)\n", getenv("VICLIP_ISA"));
        return;
    }
    char self[400] = {0}, cmd[512];
    CHECK(readlink("/proc/self/exe", self, sizeof self - 1) > 0, "cannot find this test's binary");
    snprintf(cmd, sizeof cmd, "VICLIP_ISA=generic '%s' fp32_attention 2>&1", self);
    FILE *f = popen(cmd, "r");
    CHECK(f, "could not start the child test");
    char line[1024];
    int none = 0, passed = 0;
    while (fgets(line, sizeof line, f)) {
        none += strstr(line, "SIMD kernel runs: 0") != NULL;
        passed += strstr(line, "RESULT passed=") && strstr(line, " failed=0");
    }
    const int rc = pclose(f);
    printf("  child under VICLIP_ISA=generic: %s, %s\n", none ? "portable kernel only" : "a SIMD kernel ran",
           passed ? "passed" : "FAILED");
    CHECK(rc == 0 && passed && none, "the child run failed (rc %d) or ran a SIMD kernel", rc);
}

/* The plain GEMM (builds without oneDNN/OpenBLAS) against a double-precision triple loop, for
 * every transpose, odd sizes that end blocks part-way, padded leading dimensions and beta. */
TEST(plain_gemm_matches_a_triple_loop) {
    const int M = 37, N = 300, K = 29, pad = 3;
    uint64_t seed = 12345;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bi = 0; bi < 2; bi++) {
                const float beta = bi ? 0.5f : 0.0f, alpha = 1.25f;
                const int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
                float *A = malloc(sizeof(float) * (ta ? K : M) * lda), *B = malloc(sizeof(float) * (tb ? N : K) * ldb);
                float *C = malloc(sizeof(float) * M * ldc), *C0 = malloc(sizeof(float) * M * ldc);
                for (int i = 0; i < (ta ? K : M) * lda; i++) A[i] = (float)((seed = seed * 6364136223846793005ull + 1) >> 40) / (1 << 24) - 0.5f;
                for (int i = 0; i < (tb ? N : K) * ldb; i++) B[i] = (float)((seed = seed * 6364136223846793005ull + 1) >> 40) / (1 << 24) - 0.5f;
                for (int i = 0; i < M * ldc; i++) C0[i] = C[i] = bi ? (float)(i % 7) : NAN; /* beta 0 must not read C */
                vc_gemm_plain(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
                double worst = 0;
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        double s = 0;
                        for (int k = 0; k < K; k++)
                            s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
                        double ref = alpha * s + (bi ? beta * C0[i * ldc + j] : 0), d = fabs(C[i * ldc + j] - ref);
                        if (!(d <= worst)) worst = d;
                    }
                free(A), free(B), free(C), free(C0);
                CHECK(worst < 1e-5, "trans_a %d trans_b %d beta %g: max error %g", ta, tb, beta, worst);
            }
}

TEST_MAIN("kernels", T(fast_exp_is_accurate_over_the_float_range), T(avx512_exp_is_accurate_and_safe_at_the_extremes),
          T(fp32_attention_is_one_hot_not_nan_at_huge_scores), T(bf16_attention_matches_fp32),
          T(fp32_attention_matches_a_double_softmax), T(fp32_attention_backward_matches_double_gradients), T(portable_attention_matches_under_a_generic_cap),
          T(plain_gemm_matches_a_triple_loop))
