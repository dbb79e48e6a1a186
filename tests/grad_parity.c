/* Parity with the PyTorch float64 reference, in the double-precision build. */
#include "parity.h"

TEST(matches_pytorch_float64_reference) {
    parity_run("tests/fixtures/tiny_ref.safetensors", VC_FP32, 1e-9, 1 - 1e-12, 1e-10, 1e-8, vc_t_failed, vc_t_why, vc_t_whylen);
}

TEST_MAIN("parity_f64", T(matches_pytorch_float64_reference))
