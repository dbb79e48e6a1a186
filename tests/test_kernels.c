/* Float-build kernel checks that the double-precision gradient checks cannot see. */
#include "kernels/fastmath.h"
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

TEST_MAIN("kernels", T(fast_exp_is_accurate_over_the_float_range))
