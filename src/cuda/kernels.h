/* The CUDA backend's kernels (kernels.cu), callable from C. Each mirrors the CPU op of the
 * same name in src/kernels/ or src/model/ (the comment says which) on the same row-major
 * layouts; all take the stream they are queued on and return nothing (errors surface at the
 * caller's next cudaGetLastError / synchronisation). */
#ifndef VC_CUDA_KERNELS_H
#define VC_CUDA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* vc_layernorm_forward (statistics in double, as the CPU computes them). */
void vc_cu_layernorm(float *out, const float *inp, const float *w, const float *b, int N, int C, float eps,
                     cudaStream_t s);
/* The same, the output rounded to bf16: the operand of the bf16 GEMM it feeds. */
void vc_cu_layernorm_bf16(uint16_t *out, const float *inp, const float *w, const float *b, int N, int C, float eps,
                          cudaStream_t s);
/* The same keeping each row's mean and 1/std (float, as vc_layernorm_forward's) for backward. */
void vc_cu_layernorm_train(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                           int N, int C, float eps, cudaStream_t s);
/* out[n, :] = b for every row (the bias the linear layer's GEMM then adds to, beta = 1). */
void vc_cu_broadcast_rows(float *out, const float *b, int N, int C, cudaStream_t s);
/* vc_quickgelu_forward, in place allowed. */
void vc_cu_quickgelu(float *out, const float *inp, size_t n, cudaStream_t s);
/* The same, the output rounded to bf16. */
void vc_cu_quickgelu_bf16(uint16_t *out, const float *inp, size_t n, cudaStream_t s);
/* x += y (the residual stream at inference, no drop-path). */
void vc_cu_add(float *x, const float *y, size_t n, cudaStream_t s);
/* fp32 -> bf16 (round to nearest even), the operands of a bf16 GEMM. */
void vc_cu_to_bf16(uint16_t *dst, const float *src, size_t n, cudaStream_t s);
/* vc_vision_gather_patches with no mask: patches[b, k, (c, ky, kx)] of token k = n*T + t. */
void vc_cu_gather_patches(float *patches, const float *video, int B, int T, int S, int p, cudaStream_t s);
/* The masked gather: the K tokens keep[b, :] of each clip (NULL: the first K, i.e. all). */
void vc_cu_gather_patches_keep(float *patches, const float *video, const int32_t *keep, int B, int K, int T, int S,
                               int p, cudaStream_t s);
/* The embedding rows of vc_vision_forward: x[b, 0] = class + pos[0]; x[b, 1 + k] = tok[b, k] +
 * pos[1 + k / T] + temporal[k % T]. */
void vc_cu_vision_embed(float *x, const float *tok, const float *class_emb, const float *pos, const float *temporal,
                        int B, int K, int T, int W, cudaStream_t s);
/* The same for the kept tokens keep [B, K] (token k of clip b is keep[b, k] = n*T + t). */
void vc_cu_vision_embed_keep(float *x, const float *tok, const float *class_emb, const float *pos,
                             const float *temporal, const int32_t *keep, int B, int K, int T, int W, cudaStream_t s);
/* vc_text_forward's embedding of the first L positions: x[b, i] = token_emb[tokens[b, i]] + pos[i]. */
void vc_cu_text_embed(float *x, const int32_t *tokens, const float *token_emb, const float *pos, int B, int L,
                      int ctx, int W, cudaStream_t s);
/* dst[b] = src[b * L + row[b]] (row NULL: 0), rows of W floats: the class token or the EOT token. */
void vc_cu_gather_rows(float *dst, const float *src, const int32_t *row, int B, int L, int W, cudaStream_t s);
/* vc_attention_forward (out [B*L, C] from packed qkv [B*L, 3C], H heads, causal for text) in one
 * pass with an online softmax: the L x L scores are never stored. Head dims up to 128. Returns
 * -1 (nothing launched) for a larger one. */
int vc_cu_attention(float *out, const float *qkv, int B, int L, int C, int H, int causal, cudaStream_t s);
/* The same keeping lse [B, H, L], each query row's log-sum-exp of its scaled scores (training). */
int vc_cu_attention_train(float *out, float *lse, const float *qkv, int B, int L, int C, int H, int causal,
                          cudaStream_t s);
/* The same on tensor cores for --precision bf16: Q, K, V and the probabilities rounded to bf16,
 * scores, softmax and sums in fp32 (FlashAttention-2's loop). Head dim 64 without a causal
 * mask (the video towers of B/16 and L/14); anything else runs vc_cu_attention. */
int vc_cu_attention_bf16(float *out, const float *qkv, int B, int L, int C, int H, int causal, cudaStream_t s);
/* The same keeping lse [B, H, L] of its scores (bf16 Q pre-scaled, bf16 K) for the tensor-core
 * backward; -1 (nothing launched) when causal or the head dim is not 64. */
int vc_cu_attention_bf16_train(float *out, float *lse, const float *qkv, int B, int L, int C, int H, int causal,
                               cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
