/* Multi-level alignment, the layer level: besides the global clip <-> caption InfoNCE, one
 * InfoNCE per chosen block l (1-based, the same index in both towers) between
 *   the video class token after block l  -> its own LayerNorm -> its own projection
 *   the text EOT token after block l     -> its own LayerNorm -> its own projection
 * with the shared temperature (the symmetric InfoNCE of model/contrastive.h). The heads'
 * parameters are vc_align_head_view (model/params.h); the towers hand over the tokens and take
 * back their gradients through their layer taps (vc_vision_acts / vc_text_acts). */
#ifndef VC_MODEL_ALIGN_LAYERS_H
#define VC_MODEL_ALIGN_LAYERS_H

#include "model/align.h"
#include "model/text.h"
#include "model/vision.h"

typedef struct vc_layer_align_acts {
    int B, n;                                   /* clips, heads */
    int layers[VC_ALIGN_MAX_LAYERS];            /* the heads' blocks (the towers' taps point here) */
    vc_real *v_tap, *t_tap;                     /* [n, B, Wv], [n, B, Wt]: tokens the towers copied */
    vc_ln_head_acts v[VC_ALIGN_MAX_LAYERS];     /* each head's video side: v[i].out [B, E] */
    vc_ln_head_acts t[VC_ALIGN_MAX_LAYERS];     /* and text side */
    vc_real *dv, *dt;                           /* [n, B, E] d loss / d embeddings */
    vc_real *v_tap_grad, *t_tap_grad;           /* [n, B, W]: gradients handed back to the towers */
    vc_real *loss_scratch;
    double loss[VC_ALIGN_MAX_LAYERS];           /* each head's InfoNCE of the last forward, unweighted */
} vc_layer_align_acts;

/* Plans the activations of the model's heads (p->heads) for B clips and points the towers'
 * taps at them (vis and txt must be planned first). */
void vc_layer_align_plan(vc_arena *a, vc_layer_align_acts *acts, const vc_config *c, const vc_params_view *p,
                         vc_vision_acts *vis, vc_text_acts *txt, int B);

/* sum_i weight[i] * InfoNCE_i over the towers' last forward (ids: positive groups or NULL).
 * With grads, keeps d loss_i / d embeddings and adds sum_i weight[i] * d loss_i / d temp to
 * *dtemp. */
double vc_layer_align_forward(const vc_config *c, const vc_params_view *p, vc_layer_align_acts *acts,
                              const int32_t *ids, const double *weight, int B, int grads, vc_real *dtemp);

/* scale * weight[i] * the kept gradients through each head: the heads' parameter gradients
 * accumulated into g (text heads too: they are new and train when the text tower is frozen),
 * v_tap_grad / t_tap_grad filled for the towers' backward. */
void vc_layer_align_backward(const vc_config *c, const vc_params_view *p, vc_params_view *g,
                             vc_layer_align_acts *acts, const double *weight, int B, double scale);

/* Initialises the heads of p whose layers are not in `keep` [n_keep] as copies of the towers'
 * final heads (ln_post, proj; ln_final, text_projection): a head then starts as the global
 * embedding read at an earlier block, in the same space and at the same scale, so its loss is
 * meaningful from the first step (a head at the last block starts equal to the global one). */
void vc_layer_align_init_heads(const vc_config *c, vc_params_view *p, const int *keep, int n_keep);

#endif
