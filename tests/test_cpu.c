/* CPU dispatch and the GEMM backend: the level follows the features (never a model table),
 * VICLIP_ISA caps it, and every transpose case of the fp32 and bf16 GEMMs matches a direct sum
 * on the paths this CPU has (bf16 SKIPs visibly without a bf16 GEMM). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/rng.h"
#include "kernels/attention_simd.h"
#include "kernels/gemm.h"
#include "testutil.h"

TEST(level_follows_features_and_os_support) {
    vc_cpu_features f = {0};
    CHECK(vc_cpu_best_isa(&f) == VC_ISA_GENERIC, "no features");
    f.avx2 = f.fma = 1;
    CHECK(vc_cpu_best_isa(&f) == VC_ISA_GENERIC, "AVX2 without OS YMM state must not be used");
    f.os_avx = 1;
    CHECK(vc_cpu_best_isa(&f) == VC_ISA_AVX2, "AVX2 + FMA");
    f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = 1;
    CHECK(vc_cpu_best_isa(&f) == VC_ISA_AVX2, "AVX-512 without OS ZMM state");
    f.os_avx512 = 1;
    CHECK(vc_cpu_best_isa(&f) == VC_ISA_AVX512, "AVX-512");
    f.avx512_bf16 = 1;
    CHECK(vc_cpu_best_isa(&f) == VC_ISA_AVX512_BF16, "AVX512-BF16");
    f.amx_bf16 = f.amx_tile = 1;
    CHECK(vc_cpu_best_isa(&f) == VC_ISA_AVX512_BF16, "AMX without OS tile state");
    f.os_amx = 1;
    CHECK(vc_cpu_best_isa(&f) == VC_ISA_AMX, "AMX");
    for (int i = VC_ISA_GENERIC; i <= VC_ISA_AMX; i++) {
        vc_isa back;
        CHECK(vc_isa_from_name(vc_isa_name((vc_isa)i), &back) == 0 && back == (vc_isa)i, "name of %d", i);
    }
    vc_isa x;
    CHECK(vc_isa_from_name("avx3", &x) != 0, "unknown names are refused");
    char line[512];
    vc_cpu_describe(line, sizeof line);
    printf("  %s\n", line);
}

/* Runs the CLI with VICLIP_ISA set and returns its line starting with `key` (or the error). */
static void info_line(const char *isa, const char *key, char *out, size_t cap) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "VICLIP_ISA=%s build/viclip info --system 2>&1", isa);
    FILE *p = popen(cmd, "r");
    out[0] = 0;
    char line[512];
    while (p && fgets(line, sizeof line, p))
        if (!strncmp(line, key, strlen(key)) || strstr(line, "error")) snprintf(out, cap, "%s", line);
    if (p) pclose(p);
}

TEST(viclip_isa_caps_the_level) {
    char out[512];
    info_line("avx2", "kernels:", out, sizeof out);
    CHECK(strstr(out, "kernels:    avx2 (capped"), "VICLIP_ISA=avx2: %s", out);
    info_line("avx2", "attention:", out, sizeof out);
    CHECK(strstr(out, vc_attention_avx2.forward ? "fp32 on AVX2 micro-kernels" : "fp32 on a GEMM"),
          "VICLIP_ISA=avx2: %s", out);
    CHECK(strstr(out, "bf16 inference on the fp32 kernels"), "VICLIP_ISA=avx2 has no bf16: %s", out);
    info_line("generic", "kernels:", out, sizeof out);
    CHECK(strstr(out, "kernels:    generic"), "VICLIP_ISA=generic: %s", out);
    info_line("generic", "attention:", out, sizeof out);
    CHECK(strstr(out, "fp32 on a GEMM per query block"), "VICLIP_ISA=generic: %s", out);
    info_line("sse9", "kernels:", out, sizeof out);
    CHECK(strstr(out, "VICLIP_ISA=sse9"), "a bad VICLIP_ISA must be named: %s", out);
}

static float round_bf16(float x) {
    uint32_t u = (uint32_t)vc_bf16_from_f32(x) << 16;
    float y;
    memcpy(&y, &u, sizeof y);
    return y;
}

/* C = alpha op(A) op(B) + beta C against a double sum over (optionally bf16-rounded) inputs;
 * `planned`: the bf16 operand copies go to a space of exactly the size asked for, filled with
 * garbage first (else each product allocates its own). */
static double gemm_error(vc_precision prec, int planned, int ta, int tb, int M, int N, int K) {
    const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1; /* padded rows */
    float *A = malloc(sizeof(float) * (size_t)(ta ? K : M) * lda);
    float *B = malloc(sizeof(float) * (size_t)(tb ? N : K) * ldb);
    float *C = malloc(sizeof(float) * (size_t)M * ldc), *C0 = malloc(sizeof(float) * (size_t)M * ldc);
    vc_rng r = vc_rng_at(7, 0, (uint64_t)(ta * 2 + tb), 0);
    for (size_t i = 0; i < (size_t)(ta ? K : M) * lda; i++) A[i] = (float)vc_rng_normal(&r);
    for (size_t i = 0; i < (size_t)(tb ? N : K) * ldb; i++) B[i] = (float)vc_rng_normal(&r);
    for (size_t i = 0; i < (size_t)M * ldc; i++) C[i] = C0[i] = (float)vc_rng_normal(&r);
    const float alpha = 0.75f, beta = 0.5f;
    vc_matmul mm = {prec, NULL, 0};
    if (planned) {
        mm.bf16_elems = vc_matmul_bf16_elems(M, N, K);
        mm.bf16 = malloc(mm.bf16_elems * sizeof(uint16_t));
        for (size_t i = 0; mm.bf16 && i < mm.bf16_elems; i++) mm.bf16[i] = 0x7fc1; /* NaN */
    }
    vc_gemm_p(&mm, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    free(mm.bf16);
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                if (prec == VC_BF16) a = round_bf16(a), b = round_bf16(b);
                s += (double)a * b, mag += fabs((double)a * b);
            }
            double want = alpha * s + beta * C0[(size_t)i * ldc + j];
            double err = fabs(C[(size_t)i * ldc + j] - want) / (alpha * mag + fabs(beta * C0[(size_t)i * ldc + j]) + 1e-30);
            if (err > worst) worst = err;
        }
    free(A), free(B), free(C), free(C0);
    return worst;
}

TEST(fp32_and_bf16_gemm_match_direct_sums) {
    char desc[256];
    vc_gemm_describe(desc, sizeof desc);
    printf("  %s\n", desc);
    for (int t = 0; t < 4; t++) {
        double e = gemm_error(VC_FP32, 0, t >> 1, t & 1, 37, 29, 70);
        CHECK(e < 1e-6, "fp32 ta=%d tb=%d: relative error %g", t >> 1, t & 1, e);
    }
    if (!vc_gemm_has_bf16()) {
        printf("SKIP cpu.bf16_gemm: no bf16 GEMM on this CPU (or VICLIP_ISA), bf16 runs as fp32\n");
        return;
    }
    /* with the operands rounded to bf16 first, only fp32 accumulation error remains */
    for (int t = 0; t < 8; t++) {
        double e = gemm_error(VC_BF16, t >> 2, (t >> 1) & 1, t & 1, 37, 29, 70);
        CHECK(e < 1e-5, "bf16 %s ta=%d tb=%d: relative error %g", t >> 2 ? "planned" : "allocated",
              (t >> 1) & 1, t & 1, e);
    }
}

TEST_MAIN("cpu", T(level_follows_features_and_os_support), T(viclip_isa_caps_the_level),
          T(fp32_and_bf16_gemm_match_direct_sums))
