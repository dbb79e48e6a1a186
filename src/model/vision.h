/* The video tower: per-frame patch embedding, class token, spatial + temporal position
 * embeddings, optional patch-token masking, pre-LN transformer over all frames jointly,
 * ln_post on the class token and the projection. */
#ifndef VC_MODEL_VISION_H
#define VC_MODEL_VISION_H

#include <stdint.h>

#include "model/ln_head.h"
#include "model/transformer.h"

typedef struct vc_vision_acts {
    int B;          /* planned batch */
    int K;          /* patch tokens kept per clip (all of them when not masking) */
    int L;          /* 1 + K */
    int training;
    int masked;     /* set by forward: whether `keep` selected the tokens */
    /* Set by the caller after planning (the plan leaves it 0) when nothing reads the last
     * block's tokens other than the class token: that block then runs only the class token's
     * row (vc_block_forward_pooled), and vc_vision_output_tokens / the token backwards are off. */
    int pooled_last;
    int32_t *keep;  /* [B, K] kept patch-token indices n*T+t, ascending (owned separately) */
    vc_real *patches;                 /* [B, K, 3*p*p] */
    vc_real *embed;                   /* [B, L, W] tokens before ln_pre */
    vc_real *x;                       /* [B, L, W] ln_pre output = block 0 input */
    vc_real *ln_pre_mean, *ln_pre_rstd;
    vc_block_acts *blocks;            /* [layers] */
    vc_block_scratch scratch;
    vc_real *cls;                     /* [B, W] class token after the last block */
    vc_ln_head_acts head;             /* ln_post, proj: head.out [B, E] is the embedding */
    vc_layer_taps taps;               /* class tokens at intermediate blocks (none when planned) */
    /* backward */
    vc_real *d_stream, *d_embed;      /* [B, L, W] */
} vc_vision_acts;

/* Plans activations for batch B with K kept tokens, the blocks' as `mode` says (training
 * modes keep what backward needs). Returns elements used (count with a->base NULL). */
void vc_vision_plan(vc_arena *a, vc_vision_acts *acts, const vc_config *c, int B, int K,
                    vc_acts_mode mode, int drop_path, int max_threads);

/* video [B, T, 3, H, W] (the official encode_vision layout). keep [B, K] ascending indices into
 * the patch-major token order n*T+t, or NULL for all tokens (then K must equal all tokens).
 * drop_rates: per-layer drop-path rate, or NULL; the clips are rows row0.. of the step's batch
 * for the drop-path draws. Output in acts->head.out [B, E]. */
void vc_vision_forward(const vc_config *c, const vc_vision_view *p, vc_vision_acts *acts,
                       const vc_real *video, int B, const int32_t *keep, const double *drop_rates,
                       unsigned long long seed, unsigned long long step, int row0);
/* Gradient readiness during a backward pass: fn(user, from) says that every gradient of the
 * tower at address >= from is final (the layout runs embeddings, blocks 0..L-1, head, and the
 * backward visits them in reverse), so a data-parallel run can start sending them while the
 * earlier blocks' backward still runs. */
typedef struct vc_grads_ready {
    void (*fn)(void *user, const vc_real *from);
    void *user;
} vc_grads_ready;

/* demb [B, E] in; parameter gradients accumulated into g. ready: called after each block (and
 * at the end, with the tower's first gradient), or NULL. */
void vc_vision_backward(const vc_config *c, const vc_vision_view *p, vc_vision_view *g,
                        vc_vision_acts *acts, const vc_real *demb, int B, const vc_grads_ready *ready);

/* As vc_vision_backward, plus d_out [B, L, W] (or NULL): a gradient w.r.t. the last block's
 * output tokens from another head (the frame-level alignment), added to the class token's. */
void vc_vision_backward_with_tokens(const vc_config *c, const vc_vision_view *p, vc_vision_view *g,
                                    vc_vision_acts *acts, const vc_real *demb, const vc_real *d_out, int B,
                                    const vc_grads_ready *ready);

/* The last block's output, all tokens [B, L, W] with the class token first (training plans
 * keep it for backward); not with pooled_last. */
const vc_real *vc_vision_output_tokens(const vc_config *c, const vc_vision_acts *acts);
/* Backward from acts->d_stream [B, L, W], the gradient w.r.t. that output (filled by the
 * caller; overwritten on the way down): blocks, ln_pre and the embeddings. vc_vision_backward
 * ends here after routing demb into the class token's row; token-level objectives (MAE, UMT)
 * start here. ready: as for vc_vision_backward, or NULL. */
void vc_vision_backward_tokens(const vc_config *c, const vc_vision_view *p, vc_vision_view *g,
                               vc_vision_acts *acts, int B, const vc_grads_ready *ready);

/* The last block's patch-token outputs [B, K, W] (the class token left out), and the backward
 * from their gradient d_tokens [B, K, W] (the class token's zero) through the whole tower. */
void vc_vision_patch_tokens(const vc_config *c, const vc_vision_acts *acts, vc_real *dst, int B);
void vc_vision_backward_patch_tokens(const vc_config *c, const vc_vision_view *p, vc_vision_view *g,
                                     vc_vision_acts *acts, const vc_real *d_tokens, int B);

/* Gathers the pixels of the tokens `idx` [B, K] (patch-major token j = n*T + t; NULL: all
 * tokens in order) from video [B, T, 3, H, W] into patches [B, K, 3*p*p], channel-major. */
void vc_vision_gather_patches(const vc_config *c, vc_real *patches, const vc_real *video,
                              const int32_t *idx, int B, int K);

/* Draws a random mask: for each clip keep K of N tokens (uniformly, ascending order). */
void vc_vision_sample_keep(int32_t *keep, int B, int N, int K, unsigned long long seed,
                           unsigned long long step);

#endif
