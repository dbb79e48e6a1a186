/* C = alpha * op(A) @ op(B) + beta * C with OpenMP loops: the GEMM of builds that have neither
 * oneDNN nor OpenBLAS (a machine where nothing can be installed). Operands are first copied
 * to row-major A[M,K] and B[K,N], then each thread owns a block of ROWS rows by COLS columns
 * and sweeps k, so the innermost loop runs over contiguous columns of B and C (vectorised).
 * beta == 0 never reads C (it may hold garbage), as BLAS does. */
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"

enum { ROWS = 4, COLS = 256 };

static vc_real *row_major(int trans, int rows, int cols, const vc_real *X, int ld, int *ld_out) {
    if (!trans) {
        *ld_out = ld;
        return NULL; /* use X as it is */
    }
    vc_real *t = malloc((size_t)rows * cols * sizeof *t);
    if (!t) return NULL;
#pragma omp parallel for schedule(static) if ((size_t)rows * cols > 65536)
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) t[(size_t)r * cols + c] = X[(size_t)c * ld + r];
    *ld_out = cols;
    return t;
}

/* One ROWS x COLS block of C from row-major a (lda) and b (ldb). */
static void block(int rows, int cols, int K, vc_real alpha, const vc_real *a, int lda, const vc_real *b,
                  int ldb, vc_real beta, vc_real *c, int ldc) {
    vc_real acc[ROWS][COLS];
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < K; k++) {
        const vc_real *bk = b + (size_t)k * ldb;
        for (int r = 0; r < rows; r++) {
            const vc_real ar = a[(size_t)r * lda + k];
            vc_real *acc_r = acc[r];
#pragma omp simd
            for (int j = 0; j < cols; j++) acc_r[j] += ar * bk[j];
        }
    }
    for (int r = 0; r < rows; r++) {
        vc_real *cr = c + (size_t)r * ldc;
        if (beta == 0)
            for (int j = 0; j < cols; j++) cr[j] = alpha * acc[r][j];
        else
            for (int j = 0; j < cols; j++) cr[j] = alpha * acc[r][j] + beta * cr[j];
    }
}

void vc_gemm_plain(int trans_a, int trans_b, int M, int N, int K, vc_real alpha, const vc_real *A,
                   int lda, const vc_real *B, int ldb, vc_real beta, vc_real *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    int la, lb;
    /* op(A) is M x K: stored K x M when transposed; op(B) is K x N: stored N x K when transposed. */
    vc_real *ta = row_major(trans_a, M, K, A, lda, &la), *tb = row_major(trans_b, K, N, B, ldb, &lb);
    if ((trans_a && !ta) || (trans_b && !tb)) {
        /* Out of memory for the copies: the same sum, element by element. */
        free(ta), free(tb);
#pragma omp parallel for schedule(static)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                vc_real s = 0;
                for (int k = 0; k < K; k++)
                    s += (trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                         (trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
                C[(size_t)i * ldc + j] = beta == 0 ? alpha * s : alpha * s + beta * C[(size_t)i * ldc + j];
            }
        return;
    }
    const vc_real *a = ta ? ta : A, *b = tb ? tb : B;
    const int row_blocks = (M + ROWS - 1) / ROWS, col_blocks = (N + COLS - 1) / COLS;
#pragma omp parallel for schedule(dynamic, 4) collapse(2) if ((double)M * N * K > 1e6)
    for (int rb = 0; rb < row_blocks; rb++)
        for (int cb = 0; cb < col_blocks; cb++) {
            const int i = rb * ROWS, j = cb * COLS;
            const int rows = M - i < ROWS ? M - i : ROWS, cols = N - j < COLS ? N - j : COLS;
            block(rows, cols, K, alpha, a + (size_t)i * la, la, b + j, lb, beta, C + (size_t)i * ldc + j, ldc);
        }
    free(ta), free(tb);
}
