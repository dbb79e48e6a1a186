/* Multi-level alignment, the frame level: besides the global clip <-> caption InfoNCE, FILIP's
 * late interaction (model/filip.h) between per-frame video embeddings and per-word text
 * embeddings, both made with the towers' own heads so no parameter is added:
 *   frame f of clip b: mean of frame f's (kept) patch tokens after the last block, ln_post, proj
 *   word i of caption b: the token after the last block at each position 1..EOT, ln_final,
 *                        text_projection (SOT, identical for every caption, and padding left out)
 * Evaluation keeps using the global embeddings. */
#ifndef VC_MODEL_ALIGN_H
#define VC_MODEL_ALIGN_H

#include "model/text.h"
#include "model/vision.h"

/* Most layer-level heads one run may ask for. */
#define VC_ALIGN_MAX_LAYERS 16

/* Weights of the loss terms: loss = global * InfoNCE(clip, caption) + frame * FILIP
 *                                   + sum_i layer_weight[i] * InfoNCE at block layers[i]
 * (model/align_layers.h). n_layers 0: no layer level. */
typedef struct vc_align_weights {
    double global, frame;
    int n_layers;
    int layers[VC_ALIGN_MAX_LAYERS];        /* 1-based blocks of both towers, ascending, distinct */
    double layer_weight[VC_ALIGN_MAX_LAYERS];
} vc_align_weights;

/* The --align / --align-weights options. Levels: a comma list of global, frame and
 * layers=L1,L2,... (the numbers after layers= are its blocks, 1-based: "global,layers=4,8,frame");
 * any non-empty subset, in any order. Weights (NULL: 1 each): a comma list of non-negative
 * numbers in the order of the levels, either one per level (the layers level's one weight then
 * applies to each of its layers) or one per layer in place of it (global,layers=4,8 takes
 * "1,0.5" or "1,0.5,0.25"). Levels not named get weight 0. The layers are checked against a
 * model by vc_align_check_layers. */
int vc_align_weights_parse(const char *levels, const char *weights, vc_align_weights *out, vc_error *err);
/* Every layer within both towers' depth; errors name --align. */
int vc_align_check_layers(const vc_align_weights *w, const vc_config *c, vc_error *err);
/* "4,8" (the layers) into buf; "" when none. */
void vc_align_layers_format(const vc_align_weights *w, char *buf, size_t cap);

typedef struct vc_frame_align_acts {
    int B, T, Lt;                       /* clips, frames, text positions planned (the context) */
    int Lw;                             /* text positions of the last forward (the tower's L) */
    vc_real *f_pool, *f_count;          /* [B, T, W], [B*T]: each frame's mean patch token */
    vc_ln_head_acts frames;             /* ln_post, proj: frames.out [B, T, E] */
    vc_real *d_femb;                    /* [B, T, E] */
    vc_ln_head_acts words;              /* ln_final, text_projection: words.out [B, Lt, E] (B*Lw rows used) */
    vc_real *d_wemb;                    /* [B, Lt, E] */
    unsigned char *vmask, *tmask;       /* [B*T], [B*Lt] valid frames / words */
    vc_real *d_pool;                    /* [B, T, W] backward: d loss / d f_pool */
    vc_real *d_vout, *d_tout;           /* [B,L,W] [B,Lt,Wt]: gradients w.r.t. the towers' outputs */
    vc_real *loss_scratch;
} vc_frame_align_acts;

void vc_frame_align_plan(vc_arena *a, vc_frame_align_acts *acts, const vc_config *c, int B, int K);

/* The frame-level loss over the towers' last training forward (ids: positive groups or NULL).
 * With grads, keeps d loss / d embeddings and sets *dtemp for vc_frame_align_backward. */
double vc_frame_align_forward(const vc_config *c, const vc_params_view *p, vc_frame_align_acts *acts,
                              const vc_vision_acts *vis, const vc_text_acts *txt, const int32_t *ids,
                              int B, int grads, int text_grads, vc_real *dtemp);
/* scale * the kept gradients through the heads: parameter gradients of ln_post/proj (and of
 * ln_final/text_projection when text) accumulated into g; d_vout and d_tout filled with the
 * gradients w.r.t. the towers' output tokens, for vc_vision/text_backward_with_tokens. */
void vc_frame_align_backward(const vc_config *c, const vc_params_view *p, vc_params_view *g,
                             vc_frame_align_acts *acts, const vc_vision_acts *vis, const vc_text_acts *txt,
                             int B, double scale, int text);

#endif
