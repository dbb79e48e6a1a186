/* Parity at the real ViCLIP-B/16 shapes (224x224, 8 frames, 12+12 layers, batch 2, 90% of the
 * 1568 patch tokens masked): the fixture (~1.1 GB) is generated at test time by
 * tools/gen_model_fixture.py --config b16 when PyTorch is installed (python3-torch), and the
 * test says SKIP otherwise. Targets as for the tiny fixture: cosine >= 0.99999, max abs error
 * <= 1e-4 x max magnitude, loss within 1e-5 relative, every gradient within 1e-4 (norm-wise). */
#include <unistd.h>

#include "kernels/gemm.h"
#include "parity.h"

#define B16_FIXTURE "build/tests/b16_ref.safetensors"

/* Makes the fixture if PyTorch can; returns 0 when the test must SKIP. */
static int have_fixture(int *vc_t_failed, char *vc_t_why, size_t vc_t_whylen) {
    if (access(B16_FIXTURE, R_OK) != 0) {
        if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
            printf("SKIP parity_b16: PyTorch (python3-torch) is not installed, so the B/16 fixture cannot be generated\n");
            return 0;
        }
        int rc = system("/usr/bin/python3 tools/gen_model_fixture.py --config b16 --threads 2 --out " B16_FIXTURE
                        " > build/tests/b16_ref.log 2>&1");
        if (rc != 0) {
            *vc_t_failed = 1;
            snprintf(vc_t_why, vc_t_whylen, "generating the B/16 fixture failed (see build/tests/b16_ref.log)");
            return 0;
        }
    }
    return 1;
}

TEST(matches_pytorch_at_b16_shapes) {
    if (!have_fixture(vc_t_failed, vc_t_why, vc_t_whylen)) return;
    parity_run(B16_FIXTURE, VC_FP32, 1e-4, 0.99999, 1e-5, 1e-4, vc_t_failed, vc_t_why, vc_t_whylen);
}

/* bf16 matrix products (fp32 accumulation, statistics and weights): every embedding within
 * cosine 0.999 of the float64 reference (the bar), loss within 1%, gradients 5%. */
TEST(bf16_matches_pytorch_at_b16_shapes) {
    if (!vc_gemm_has_bf16()) {
        printf("SKIP parity_b16.bf16: this CPU (or VICLIP_ISA) has no bf16 GEMM, bf16 runs as fp32\n");
        return;
    }
    if (!have_fixture(vc_t_failed, vc_t_why, vc_t_whylen)) return;
    char gemm[256];
    vc_gemm_describe(gemm, sizeof gemm); /* says whether this ran on AVX512-BF16 or AMX kernels */
    printf("  bf16 via %s\n", gemm);
    parity_run(B16_FIXTURE, VC_BF16, 5e-2, 0.999, 1e-2, 5e-2, vc_t_failed, vc_t_why, vc_t_whylen);
}

TEST_MAIN("parity_b16", T(matches_pytorch_at_b16_shapes), T(bf16_matches_pytorch_at_b16_shapes))
