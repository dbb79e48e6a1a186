#include "kernels/activation.h"

#include "kernels/fastmath.h"


void vc_quickgelu_forward(vc_real *out, const vc_real *inp, size_t n) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        vc_real x = inp[i];
        out[i] = x / (1 + vc_exp((vc_real)-1.702 * x));
    }
}

void vc_quickgelu_backward(vc_real *dinp, const vc_real *inp, const vc_real *dout, size_t n) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        vc_real x = inp[i];
        vc_real s = 1 / (1 + vc_exp((vc_real)-1.702 * x));
        dinp[i] += dout[i] * (s + x * (vc_real)1.702 * s * (1 - s));
    }
}
