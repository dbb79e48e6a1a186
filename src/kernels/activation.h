/* QuickGELU: x * sigmoid(1.702 x), the activation of CLIP and ViCLIP. */
#ifndef VC_KERNELS_ACTIVATION_H
#define VC_KERNELS_ACTIVATION_H

#include <stddef.h>

#include "core/real.h"

void vc_quickgelu_forward(vc_real *out, const vc_real *inp, size_t n);
/* dinp += dout * d/dx quickgelu(x) */
void vc_quickgelu_backward(vc_real *dinp, const vc_real *inp, const vc_real *dout, size_t n);

#endif
