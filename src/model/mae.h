/* VideoMAE-style masked video modelling on the ViCLIP video tower (vision-first pretraining):
 * tube masking (the same patches hidden in every frame), the video tower on the visible
 * tokens only, a small transformer decoder that fills the hidden positions with a learned mask
 * token and reconstructs their pixels, normalised per patch, and a mean squared error on the
 * hidden patches only. Token order is the tower's patch-major n*T + t throughout. */
#ifndef VC_MODEL_MAE_H
#define VC_MODEL_MAE_H

#include <stdint.h>

#include "model/model.h"

/* Tube masking: for each clip keep `keep_patches` of the P spatial patches (a uniform draw from
 * (seed, step, clip)) in all T frames. keep [B, keep_patches*T] and masked
 * [B, (P-keep_patches)*T] receive the kept and hidden token ids, each ascending. */
void vc_tube_mask(int32_t *keep, int32_t *masked, int B, int P, int T, int keep_patches,
                  uint64_t seed, uint64_t step);

/* Per-patch normalised pixels (VideoMAE's normalised targets): each of the N patches
 * [3, pp] has, per channel, its mean subtracted and is divided by sqrt(unbiased var + 1e-6).
 * In place. */
void vc_patch_normalize(vc_real *patches, size_t N, int pp);

/* Mean of (pred - target)^2 over n values; dpred (if not NULL) receives its gradient. */
double vc_mse_loss(const vc_real *pred, const vc_real *target, size_t n, vc_real *dpred);

typedef struct vc_mae_view {
    vc_ln_head embed;                 /* enc_norm [W] on the encoder's output tokens, embed [D, W] + [D] */
    vc_real *mask_token;              /* [D] */
    vc_real *pos_emb;                 /* [N, D] one per patch token n*T + t */
    vc_block_view *blocks;            /* [depth] */
    vc_ln_head head;                  /* norm [D], head [3*p*p, D] + [3*p*p]: pixels of one patch */
} vc_mae_view;

typedef struct vc_mae_decoder {
    vc_config enc;     /* the video tower it decodes */
    int width, depth, heads;
    vc_param_table table;
    vc_real *params, *grads;
    vc_mae_view p, g;
} vc_mae_decoder;

/* A decoder for the video tower of `enc`: width D (divisible by heads), depth blocks. */
vc_mae_decoder *vc_mae_decoder_new(const vc_config *enc, int width, int depth, int heads, vc_error *err);
/* Random initialisation (CLIP-style blocks, positions and mask token N(0, 0.02^2)). */
void vc_mae_decoder_init(vc_mae_decoder *d, uint64_t seed);
void vc_mae_decoder_free(vc_mae_decoder *d);

/* Planned activations of one MAE step (encoder on the visible tokens, decoder, loss). */
typedef struct vc_mae_work {
    int B, K, M, planned; /* clips, visible and hidden tokens per clip */
    vc_acts_mode mode;    /* of the tower's and the decoder's blocks (the model's setting) */
    vc_real *mem;
    int32_t *ints;        /* keep [B*K] for the encoder, then keep and masked copies */
    int32_t *keep, *masked;
    vc_vision_acts vis;
    vc_real *enc_tok;                                /* [B*K, W] the encoder's visible tokens */
    vc_ln_head_acts embed;                           /* embed.out [B*K, D] */
    vc_real *dec_in;                                 /* [B, N, D] */
    vc_block_acts *blocks;
    vc_block_scratch scratch;
    vc_real *hid;                                    /* [B*M, D] the decoder at the hidden positions */
    vc_ln_head_acts head;                            /* head.out [B*M, 3pp]: the prediction */
    vc_real *target, *d_pred;                        /* [B*M, 3pp] */
    vc_real *d_hid, *d_stream, *d_vis_emb, *d_enc_tok;
} vc_mae_work;

void vc_mae_work_free(vc_mae_work *w);

/* One MAE step on video [B, T, 3, H, W] with a tube mask (keep [B, K], masked [B, M],
 * K + M = the tower's tokens, each ascending and together a partition). Returns the loss in
 * *loss; with backward, gradients are ACCUMULATED into m->grads (the video tower; enable them
 * first) and d->grads, scaled by grad_scale. */
int vc_mae_step(vc_mae_work *w, vc_model *m, vc_mae_decoder *d, const vc_real *video,
                const int32_t *keep, const int32_t *masked, int B, int K, int backward,
                double grad_scale, double *loss, vc_error *err);

/* The reconstruction of the last step: pred [B*M, 3pp] (normalised pixels of the hidden
 * patches, in `masked` order), and its target. */
static inline const vc_real *vc_mae_prediction(const vc_mae_work *w) { return w->head.out; }

#endif
