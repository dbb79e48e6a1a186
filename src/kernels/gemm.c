#include "kernels/gemm.h"

#include <cblas.h>

void vc_gemm(int trans_a, int trans_b, int M, int N, int K, vc_real alpha, const vc_real *A,
             int lda, const vc_real *B, int ldb, vc_real beta, vc_real *C, int ldc) {
    if (M <= 0 || N <= 0) return;
#ifdef VC_DOUBLE
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}
