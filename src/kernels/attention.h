/* Multi-head scaled dot-product attention over packed q/k/v (nn.MultiheadAttention layout:
 * qkv[b, l, 0:C] = q, [C:2C] = k, [2C:3C] = v; head h owns columns h*hd .. h*hd+hd-1 of each).
 * The output is the concatenation of heads, before the output projection.
 *
 * Blocked (flash-style): queries are processed VC_ATTN_QBLOCK rows at a time against all keys,
 * so only a QBLOCK x L score tile per thread exists, never the L x L matrix (B/16 unmasked:
 * 1,569 tokens x 12 heads). Softmax is fused with the score tile; training keeps only the
 * row log-sum-exp, and backward recomputes the probabilities from it. */
#ifndef VC_KERNELS_ATTENTION_H
#define VC_KERNELS_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

#include "core/real.h"
#include "kernels/gemm.h"

enum { VC_ATTN_QBLOCK = 64 };

/* Which kernels vc_attention_forward/backward run in this process (from the build, the CPU
 * and VICLIP_ISA), for `viclip info --system` and the benchmark. */
void vc_attention_describe(char *buf, size_t cap);

/* Scratch elements the caller must provide for L tokens of width C in H heads (per thread: two
 * QBLOCK x L tiles, or what the bf16 forward needs). */
size_t vc_attention_scratch_elems(int L, int C, int H, int max_threads);

/* out [B, L, C]; lse [B, H, L] keeps each query row's log-sum-exp of scaled scores for
 * backward (NULL at inference); causal masks keys after the query (text tower). VC_BF16 at
 * inference (lse NULL) runs the score and weighted-sum products in bf16
 * (kernels/attention_bf16.h) where the CPU has AVX512-BF16; training attention is fp32. */
void vc_attention_forward(vc_precision prec, vc_real *out, vc_real *lse, vc_real *scratch,
                          const vc_real *qkv, int B, int L, int C, int H, int causal);

/* dqkv [B, L, 3C] accumulated; needs the forward's out and lse, and scratch. */
void vc_attention_backward(vc_real *dqkv, vc_real *scratch, const vc_real *dout,
                           const vc_real *qkv, const vc_real *out, const vc_real *lse, int B,
                           int L, int C, int H, int causal);

/* Attention of ONE query per sequence (the pooled token: the video's class token, the text's
 * EOT) over all keys, for a last block whose other rows nobody reads. q [B, C] holds the query
 * rows, kv [B, L, 2C] every position's keys (columns 0..C-1) and values (C..2C-1); rows[b] is
 * the query's position (causal: it sees keys 0..rows[b]; rows NULL: position 0 for all). out [B, C]; lse [B, H] for backward
 * (NULL at inference). fp32 always: a handful of dot products per head, not worth bf16.
 * scratch: vc_attention_scratch_elems(L, C, H, max_threads). */
void vc_attention_pooled_forward(vc_real *out, vc_real *lse, vc_real *scratch, const vc_real *q,
                                 const vc_real *kv, const int32_t *rows, int B, int L, int C, int H,
                                 int causal);
/* dq [B, C] and dkv [B, L, 2C] accumulated from dout [B, C]; needs the forward's out and lse. */
void vc_attention_pooled_backward(vc_real *dq, vc_real *dkv, vc_real *scratch, const vc_real *dout,
                                  const vc_real *q, const vc_real *kv, const vc_real *out,
                                  const vc_real *lse, const int32_t *rows, int B, int L, int C, int H,
                                  int causal);

/* probs [B, H, L]: the attention of query row `query` over all keys, recomputed from the
 * forward's lse (what the saved probability matrix would hold in that row). */
void vc_attention_query_probs(vc_real *probs, const vc_real *qkv, const vc_real *lse, int B,
                              int L, int C, int H, int query, int causal);

#endif
