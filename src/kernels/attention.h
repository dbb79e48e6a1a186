/* Multi-head scaled dot-product attention over packed q/k/v (nn.MultiheadAttention layout:
 * qkv[b, l, 0:C] = q, [C:2C] = k, [2C:3C] = v; head h owns columns h*hd .. h*hd+hd-1 of each).
 * The output is the concatenation of heads, before the output projection. */
#ifndef VC_KERNELS_ATTENTION_H
#define VC_KERNELS_ATTENTION_H

#include <stddef.h>

#include "core/real.h"

/* Scratch elements the caller must provide for L tokens (one L x L tile per thread). */
size_t vc_attention_scratch_elems(int L, int max_threads);

/* out [B, L, C]; probs [B, H, L, L] keeps the softmax for backward (NULL at inference, then
 * scratch is used instead); causal masks keys after the query (text tower). */
void vc_attention_forward(vc_real *out, vc_real *probs, vc_real *scratch, const vc_real *qkv,
                          int B, int L, int C, int H, int causal);

/* dqkv [B, L, 3C] accumulated; needs the saved probs and scratch. */
void vc_attention_backward(vc_real *dqkv, vc_real *scratch, const vc_real *dout,
                           const vc_real *qkv, const vc_real *probs, int B, int L, int C, int H);

#endif
