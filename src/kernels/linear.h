/* Dense layers. Gradients are ACCUMULATED (+=) into d* buffers; a NULL d* pointer skips it.
 * mm chooses the arithmetic of the matrix products (kernels/gemm.h); bias sums stay fp32. */
#ifndef VC_KERNELS_LINEAR_H
#define VC_KERNELS_LINEAR_H

#include "core/real.h"
#include "kernels/gemm.h"

/* nn.Linear: out[N,OC] = inp[N,IC] @ W[OC,IC]^T + b[OC] (b may be NULL). */
void vc_linear_forward(const vc_matmul *mm, vc_real *out, const vc_real *inp, const vc_real *W, const vc_real *b,
                       int N, int IC, int OC);
void vc_linear_backward(const vc_matmul *mm, vc_real *dinp, vc_real *dW, vc_real *db, const vc_real *dout,
                        const vc_real *inp, const vc_real *W, int N, int IC, int OC);

/* bf16 elements the products of a linear layer of these sizes need (vc_matmul_bf16_elems over
 * its forward and backward products), for planning a vc_matmul's space. */
size_t vc_linear_bf16_elems(int N, int IC, int OC);

/* Projection stored as [IC, OC] (CLIP's proj / text_projection): out = inp @ P. */
void vc_project_forward(vc_real *out, const vc_real *inp, const vc_real *P, int N, int IC, int OC);
void vc_project_backward(vc_real *dinp, vc_real *dP, const vc_real *dout, const vc_real *inp,
                         const vc_real *P, int N, int IC, int OC);

#endif
