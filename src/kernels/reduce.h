/* Column sums of a row-major matrix, used for bias gradients. */
#ifndef VC_KERNELS_REDUCE_H
#define VC_KERNELS_REDUCE_H

#include "core/real.h"

/* dst[c] += sum_n src[n*C + c]; deterministic for any thread count. */
void vc_colsum_accumulate(vc_real *dst, const vc_real *src, int N, int C);

#endif
