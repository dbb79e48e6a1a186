/* Float-build kernel checks that the double-precision gradient checks cannot see. */
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

TEST_MAIN("kernels", T(fast_exp_is_accurate_over_the_float_range), T(plain_gemm_matches_a_triple_loop))
