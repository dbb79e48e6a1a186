#include "kernels/linear.h"

#include "kernels/gemm.h"
#include "kernels/reduce.h"

void vc_linear_forward(const vc_matmul *mm, vc_real *out, const vc_real *inp, const vc_real *W, const vc_real *b,
                       int N, int IC, int OC) {
    if (b) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++) out[(size_t)n * OC + o] = b[o];
    }
    vc_gemm_p(mm, 0, 1, N, OC, IC, 1, inp, IC, W, IC, b ? 1 : 0, out, OC);
}

void vc_linear_backward(const vc_matmul *mm, vc_real *dinp, vc_real *dW, vc_real *db, const vc_real *dout,
                        const vc_real *inp, const vc_real *W, int N, int IC, int OC) {
    if (dinp) vc_gemm_p(mm, 0, 0, N, IC, OC, 1, dout, OC, W, IC, 1, dinp, IC);   /* [N,OC]@[OC,IC] */
    if (dW) vc_gemm_p(mm, 1, 0, OC, IC, N, 1, dout, OC, inp, IC, 1, dW, IC);     /* [OC,N]@[N,IC] */
    if (db) vc_colsum_accumulate(db, dout, N, OC);
}

size_t vc_linear_bf16_elems(int N, int IC, int OC) {
    const size_t fwd = vc_matmul_bf16_elems(N, OC, IC), dinp = vc_matmul_bf16_elems(N, IC, OC);
    const size_t dw = vc_matmul_bf16_elems(OC, IC, N);
    const size_t most = fwd > dinp ? fwd : dinp;
    return most > dw ? most : dw;
}

void vc_project_forward(vc_real *out, const vc_real *inp, const vc_real *P, int N, int IC, int OC) {
    vc_gemm(0, 0, N, OC, IC, 1, inp, IC, P, OC, 0, out, OC);
}

void vc_project_backward(vc_real *dinp, vc_real *dP, const vc_real *dout, const vc_real *inp,
                         const vc_real *P, int N, int IC, int OC) {
    if (dinp) vc_gemm(0, 1, N, IC, OC, 1, dout, OC, P, OC, 1, dinp, IC);   /* [N,OC]@[OC,IC] */
    if (dP) vc_gemm(1, 0, IC, OC, N, 1, inp, IC, dout, OC, 1, dP, OC);     /* [IC,N]@[N,OC] */
}
