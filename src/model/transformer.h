/* The pre-LN residual block shared by both towers:
 *   x = x + dp1 * out_proj(attn(ln_1(x)))
 *   x = x + dp2 * c_proj(quickgelu(c_fc(ln_2(x))))
 * where dp1/dp2 are per-sample drop-path scales (0 or 1/keep_prob; 1 without drop-path). */
#ifndef VC_MODEL_TRANSFORMER_H
#define VC_MODEL_TRANSFORMER_H

#include <stdint.h>

#include "core/arena.h"
#include "kernels/gemm.h"
#include "model/params.h"

/* How a stack of blocks keeps its activations (vc_blocks_plan). */
typedef enum vc_acts_mode {
    VC_ACTS_INFERENCE = 0, /* one set shared by all blocks; the stream updated in place */
    VC_ACTS_TRAINING = 1,  /* every block keeps all its activations for backward */
    /* Activation recomputation (--grad-checkpointing): every block keeps only its output (the
     * next block's input) and its drop-path scales; the rest is one set shared by all blocks,
     * which vc_block_backward refills by running the block's forward again from its input. */
    VC_ACTS_RECOMPUTE = 2,
} vc_acts_mode;

typedef struct vc_block_acts {
    vc_real *ln1, *ln1_mean, *ln1_rstd; /* [N, W], [N], [N] */
    vc_real *qkv;                       /* [N, 3W] */
    vc_real *lse;                       /* [B, H, L] attention log-sum-exp; NULL when not training */
    vc_real *attn;                      /* [N, W] heads concatenated */
    vc_real *res1;                      /* [N, W] stream after the attention branch */
    vc_real *ln2, *ln2_mean, *ln2_rstd;
    vc_real *fc;                        /* [N, 4W] pre-activation */
    vc_real *gelu;                      /* [N, 4W] */
    vc_real *out;                       /* [N, W] block output */
    vc_real *drop_scale;                /* [2, B]: attention and MLP branch scales; NULL = 1 */
} vc_block_acts;

/* Scratch shared by all blocks of a tower (not kept between forward and backward). */
typedef struct vc_block_scratch {
    vc_matmul mm;        /* the blocks' matrix products: precision (set by the model), bf16 space */
    vc_real *branch;     /* [N, W] */
    vc_real *attn_tile;  /* per-thread attention score tiles */
    /* backward only */
    vc_real *d_ln;       /* [N, W] */
    vc_real *d_attn;     /* [N, W] */
    vc_real *d_qkv;      /* [N, 3W] */
    vc_real *d_hidden;   /* [N, 4W] */
    vc_real *d_fc;       /* [N, 4W] */
    int recompute;       /* planned VC_ACTS_RECOMPUTE */
    const vc_block_acts *resident; /* the block whose activations the shared set holds (its last forward) */
} vc_block_scratch;

/* Tokens read at intermediate blocks (the layer-level alignment, model/align_layers.h): after
 * block layers[i] (1-based) a tower's forward copies one token per sequence (video: the class
 * token, text: the EOT token) into out [n, B, W]; its backward adds grad [n, B, W] (NULL: none)
 * to the gradient of that block's output at the same tokens. n = 0 (as planned): no taps. */
typedef struct vc_layer_taps {
    int n;
    const int *layers;
    vc_real *out;
    const vc_real *grad;
} vc_layer_taps;

/* A tower's tapped token of sequence b lies in a block output at b * stride elements, plus
 * rows[b] rows of W when rows is given (the text tower's EOT positions). After block `layer`
 * (1-based): the forward copies those tokens into the taps that read that block; the backward
 * adds those taps' gradients into d at the same tokens. */
static inline size_t vc_layer_tap_offset(size_t stride, const int32_t *rows, int b, int W) {
    return (size_t)b * stride + (rows ? (size_t)rows[b] * W : 0);
}
void vc_layer_taps_copy(const vc_layer_taps *t, int layer, const vc_real *out, size_t stride, const int32_t *rows,
                        int B, int W);
void vc_layer_taps_add_grads(const vc_layer_taps *t, int layer, vc_real *d, size_t stride, const int32_t *rows,
                             int B, int W);

typedef struct vc_block_dims {
    int B, L, W, H;
    int causal;
} vc_block_dims;

/* Lays out `layers` blocks as `mode` says (training modes also keep the attention
 * log-sum-exps); at inference the residual stream is updated in place in `stream` (which must
 * be the tower's [N, W] input/output buffer). The scratch is planned with the same mode. */
void vc_blocks_plan(vc_arena *a, vc_block_acts *acts, int layers, vc_block_dims d, vc_acts_mode mode,
                    int drop_path, vc_real *stream);
void vc_block_scratch_plan(vc_arena *a, vc_block_scratch *s, vc_block_dims d, vc_acts_mode mode,
                           int max_threads);

void vc_block_forward(const vc_block_view *p, vc_block_acts *a, vc_block_scratch *s,
                      const vc_real *inp, vc_block_dims d);
/* dx [N, W]: on entry the gradient w.r.t. the block output; on return w.r.t. its input.
 * Parameter gradients are accumulated into g. With VC_ACTS_RECOMPUTE the block's forward runs
 * again first (from inp, with its kept drop-path scales: the same values bit for bit) unless
 * the shared activations are still its own. */
void vc_block_backward(const vc_block_view *p, vc_block_view *g, vc_block_acts *a,
                       vc_block_scratch *s, const vc_real *inp, vc_real *dx, vc_block_dims d);

/* The last block when only one token per sequence is read afterwards (video: the class token,
 * text: the EOT token): keys and values for every position, but the query, attention output,
 * residuals and MLP only at rows[b] of each sample b (rows NULL: the first row of each, the
 * class token), which skips ~80% of the block's work.
 * a->out (and res1, ln2, fc, gelu, attn) then hold B rows [B, W...], sample order; a->lse
 * [B, H]. At inference a->out is the stream's first B rows. Same planned buffers. */
void vc_block_forward_pooled(const vc_block_view *p, vc_block_acts *a, vc_block_scratch *s,
                             const vc_real *inp, vc_block_dims d, const int32_t *rows);
/* dout [B, W]: the gradient w.r.t. the pooled output rows (overwritten); dx [N, W] receives
 * (overwrites) the gradient w.r.t. the block input. Parameter gradients accumulated into g. */
void vc_block_backward_pooled(const vc_block_view *p, vc_block_view *g, vc_block_acts *a,
                              vc_block_scratch *s, const vc_real *inp, vc_real *dout, vc_real *dx,
                              vc_block_dims d, const int32_t *rows);

/* Fills drop-path scales for one block: keep with probability 1 - rate, scaled by 1/(1-rate).
 * The B clips are rows row0 .. row0 + B - 1 of the step's batch (a data-parallel rank's shard),
 * so each clip's draw does not depend on how the batch is split. */
void vc_drop_path_sample(vc_real *scale, int B, int row0, double rate, unsigned long long seed,
                         unsigned long long step, int block_id);

#endif
