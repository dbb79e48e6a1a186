/* Parity with the PyTorch reference in the float build, at the project's stated targets:
 * cosine >= 0.99999, max abs error <= 1e-4 x max magnitude, loss within 1e-5 relative,
 * every gradient within 1e-4 relative (norm-wise). */
#include "parity.h"

TEST(matches_pytorch_reference_in_float32) {
    parity_run("tests/fixtures/tiny_ref.safetensors", VC_FP32, 1e-4, 0.99999, 1e-5, 1e-4, vc_t_failed, vc_t_why, vc_t_whylen);
}

TEST_MAIN("parity_f32", T(matches_pytorch_reference_in_float32))
