/* The CUDA backend's training kernels (train_kernels.cu), callable from C: the backward of each
 * forward op in kernels.h, the optimizer and the reductions. Each mirrors a CPU function (the
 * comment says which) on the same row-major layouts, and every sum runs in a fixed order (no
 * atomics), so a step computes the same bits every time: a resumed run continues exactly. */
#ifndef VC_CUDA_TRAIN_KERNELS_H
#define VC_CUDA_TRAIN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* vc_layernorm_backward's input gradient: dinp += d(LayerNorm)/d(inp) dout, per row in double
 * from the forward's mean and rstd. */
void vc_cu_layernorm_backward_input(float *dinp, const float *dout, const float *inp, const float *w,
                                    const float *mean, const float *rstd, int N, int C, cudaStream_t s);
/* vc_layernorm_backward's parameter gradients: dw += sum_n dout * xhat, db += sum_n dout, over
 * VC_DEV_COLSUM_CHUNKS row chunks in double (partials: 2 * chunks * C doubles). */
void vc_cu_layernorm_backward_params(float *dw, float *db, const float *dout, const float *inp, const float *mean,
                                     const float *rstd, int N, int C, double *partials, cudaStream_t s);
/* vc_colsum_accumulate: dst[c] += sum_n src[n, c] (the bias gradient), partials: chunks * C. */
void vc_cu_colsum_add(float *dst, const float *src, int N, int C, double *partials, cudaStream_t s);
/* vc_quickgelu_backward: dinp += dout * QuickGELU'(inp). */
void vc_cu_quickgelu_backward(float *dinp, const float *inp, const float *dout, size_t n, cudaStream_t s);
/* The block's residual_add: out = x + scale[b] * branch over B samples of `per` values (scale
 * NULL: 1); and scale_rows: dst = scale[b] * src. */
void vc_cu_residual(float *out, const float *x, const float *branch, const float *scale, int B, size_t per,
                    cudaStream_t s);
void vc_cu_scale_rows(float *dst, const float *src, const float *scale, int B, size_t per, cudaStream_t s);
/* Fused forward pairs of the block: fc += bias then gelu = QuickGELU(fc) (the MLP's first
 * layer after a GEMM without bias: vc_linear_forward's bias and vc_quickgelu_forward in one
 * pass), and res = x + scale[b] * branch then ln = LayerNorm(res) keeping mean and rstd
 * (residual_add and vc_layernorm_forward in one pass; rows of C, B samples of L rows). */
void vc_cu_bias_quickgelu(float *fc, float *gelu, const float *bias, int N, int C, cudaStream_t s);
void vc_cu_residual_layernorm(float *res, float *ln, float *mean, float *rstd, const float *x, const float *branch,
                              const float *scale, const float *w, const float *b, int B, int L, int C, float eps,
                              cudaStream_t s);
/* dst[b * L + row[b]] += src[b] for rows of W (row NULL: 0): the pooled token's gradient into the
 * stream (vc_cu_gather_rows's backward). */
void vc_cu_scatter_rows_add(float *dst, const float *src, const int32_t *row, int B, int L, int W, cudaStream_t s);
/* dst[b, k] = src[b, 1 + k] for k < L - 1: the patch tokens' rows without the class token. */
void vc_cu_drop_first_row(float *dst, const float *src, int B, int L, int W, cudaStream_t s);
/* The embeddings' scatter (backend/train_plan.h's vc_row_lists): for each segment s,
 * dst[dst_row[s]] += src[src_rows[start[s]]] + ... in that order, rows of W. */
void vc_cu_segment_rows_add(float *dst, const float *src, int W, int n_seg, const int32_t *dst_row,
                            const int32_t *start, const int32_t *src_rows, cudaStream_t s);
/* vc_attention_backward, exact fp32, without the L x L matrix: D = rowsum(dout * out) per query
 * and head (scratch D [B, H, L]), then dQ per query and dK, dV per key, each recomputing the
 * probabilities from the forward's lse. dqkv accumulated. Head dims up to 128 (-1 otherwise). */
int vc_cu_attention_backward(float *dqkv, float *D, const float *dout, const float *qkv, const float *out,
                             const float *lse, int B, int L, int C, int H, int causal, cudaStream_t s);

/* The contrastive loss (model/contrastive.h), each kernel one CPU function:
 * vc_l2norm_forward: norm[n] = max(|x_n|, 1e-12) (the sum in double), xn = x / norm; */
void vc_cu_l2norm(float *xn, float *norm, const float *x, int N, int E, cudaStream_t s);
/* vc_l2norm_backward: dx = (d - xn (xn . d)) / norm (dx == d allowed); */
void vc_cu_l2norm_backward(float *dx, const float *d, const float *xn, const float *norm, int N, int E,
                           cudaStream_t s);
/* vc_infonce_rows_forward then vc_infonce_rows_backward over S [R, N] (positives: equal ids, or
 * the diagonal when ids is NULL): row_loss[r] = mean over r's positives of (lse_r - S_rj), and
 * dS = weight * (P - targets) from the rounded probabilities P, as the CPU; */
void vc_cu_infonce_rows(float *dS, double *row_loss, const float *S, int R, int N, const int32_t *ids, double weight,
                        cudaStream_t s);
/* out[0] = sum a[k] * b[k] over n values in double (one block: a fixed order); */
void vc_cu_dot_sum(double *out, const float *a, const float *b, size_t n, cudaStream_t s);
/* the temperature's gradient as vc_contrastive_loss and vc_model_forward_backward round it:
 * f = (float)(-sums[0] / temp - sums[1] / temp); f *= (float)wg when wg != 1; *g = (float)scale * f; */
void vc_cu_temp_grad(float *g, const double *sums, double temp, double wg, double scale, cudaStream_t s);
/* x *= a (float). */
void vc_cu_scale(float *x, float a, size_t n, cudaStream_t s);

/* The same on tensor cores for --precision bf16 (Q, K, V, dO, P and dS rounded to bf16, sums in
 * fp32), from the lse of vc_cu_attention_bf16_train: head dim 64, no causal mask, L <= 256 (the
 * masked video towers of B/16 and L/14); -1 (nothing launched) otherwise. */
int vc_cu_attention_backward_bf16(float *dqkv, float *D, const float *dout, const float *qkv, const float *out,
                                  const float *lse, int B, int L, int C, int H, int causal, cudaStream_t s);

/* One tensor of an optimizer step: where it is in the parameter buffer and its learning rate
 * and decay factor (vc_adamw_step's plr and decay). */
typedef struct vc_cu_tensor {
    int64_t offset, numel;
    double lr, decay;
} vc_cu_tensor;

/* vc_adamw_step's element update for n tensors (the table in device memory), in double with the
 * CPU's operation order and rounding (no fused multiply-adds): bit-identical to the CPU given the
 * same gradients. partials [n, VC_DEV_NORM_BLOCKS, 2]: each block's sums of squared updates and of
 * squared new weights. */
void vc_cu_adamw(float *params, float *m, float *v, const float *grads, const vc_cu_tensor *table, int n,
                 double grad_scale, double beta1, double beta2, double bc1, double bc2, double eps,
                 double *partials, cudaStream_t s);
/* Sums of squares of n tensors' gradients: partials [n, VC_DEV_NORM_BLOCKS]. */
void vc_cu_sumsq(const float *grads, const vc_cu_tensor *table, int n, double *partials, cudaStream_t s);
/* *x = max(*x, floor) as vc_adamw_step floors the temperature. */
void vc_cu_floor(float *x, double floor, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
