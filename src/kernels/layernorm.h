/* LayerNorm over the last dimension, eps 1e-5 (PyTorch semantics, biased variance). */
#ifndef VC_KERNELS_LAYERNORM_H
#define VC_KERNELS_LAYERNORM_H

#include "core/real.h"

#define VC_LN_EPS 1e-5

/* out[N,C]; mean, rstd [N] are saved for backward (may be NULL at inference). */
void vc_layernorm_forward(vc_real *out, vc_real *mean, vc_real *rstd, const vc_real *inp,
                          const vc_real *w, const vc_real *b, int N, int C);
/* Accumulates into dinp, dw, db (any may be NULL). */
void vc_layernorm_backward(vc_real *dinp, vc_real *dw, vc_real *db, const vc_real *dout,
                           const vc_real *inp, const vc_real *w, const vc_real *mean,
                           const vc_real *rstd, int N, int C);

#endif
