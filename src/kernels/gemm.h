/* Row-major GEMM: C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C.
 * The one place the BLAS is called, so the backend (OpenBLAS now, oneDNN or cuBLAS later)
 * can change without touching the model. */
#ifndef VC_KERNELS_GEMM_H
#define VC_KERNELS_GEMM_H

#include "core/real.h"

void vc_gemm(int trans_a, int trans_b, int M, int N, int K, vc_real alpha, const vc_real *A,
             int lda, const vc_real *B, int ldb, vc_real beta, vc_real *C, int ldc);

#endif
