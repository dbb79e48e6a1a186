/* Parity at the real ViCLIP-B/16 shapes (224x224, 8 frames, 12+12 layers, batch 2, 90% of the
 * 1568 patch tokens masked): the fixture (~1.1 GB) is generated at test time by
 * tools/gen_model_fixture.py --config b16 when PyTorch is installed (python3-torch), and the
 * test says SKIP otherwise. Targets as for the tiny fixture: cosine >= 0.99999, max abs error
 * <= 1e-4 x max magnitude, loss within 1e-5 relative, every gradient within 1e-4 (norm-wise). */
#include <unistd.h>

#include "parity.h"

#define B16_FIXTURE "build/tests/b16_ref.safetensors"

TEST(matches_pytorch_at_b16_shapes) {
    if (access(B16_FIXTURE, R_OK) != 0) {
        if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
            printf("SKIP parity_b16: PyTorch (python3-torch) is not installed, so the B/16 fixture cannot be generated\n");
            return;
        }
        int rc = system("/usr/bin/python3 tools/gen_model_fixture.py --config b16 --threads 2 --out " B16_FIXTURE
                        " > build/tests/b16_ref.log 2>&1");
        CHECK(rc == 0, "generating the B/16 fixture failed (see build/tests/b16_ref.log)");
    }
    parity_run(B16_FIXTURE, 1e-4, 0.99999, 1e-5, 1e-4, vc_t_failed, vc_t_why, vc_t_whylen);
}

TEST_MAIN("parity_b16", T(matches_pytorch_at_b16_shapes))
