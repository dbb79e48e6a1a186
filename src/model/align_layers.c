#include "model/align_layers.h"

#include <string.h>

#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "model/contrastive.h"

void vc_layer_align_plan(vc_arena *a, vc_layer_align_acts *acts, const vc_config *c, const vc_params_view *p,
                         vc_vision_acts *vis, vc_text_acts *txt, int B) {
    const size_t W = (size_t)c->vision_width, Wt = (size_t)c->text_width, E = (size_t)c->embed_dim;
    const size_t nB = (size_t)p->n_heads * B;
    memset(acts, 0, sizeof *acts);
    acts->B = B, acts->n = p->n_heads;
    for (int h = 0; h < p->n_heads; h++) acts->layers[h] = p->heads[h].layer;
    acts->v_tap = vc_arena_take(a, nB * W);
    acts->t_tap = vc_arena_take(a, nB * Wt);
    acts->v_ln = vc_arena_take(a, nB * W);
    acts->v_mean = vc_arena_take(a, nB);
    acts->v_rstd = vc_arena_take(a, nB);
    acts->v_emb = vc_arena_take(a, nB * E);
    acts->t_ln = vc_arena_take(a, nB * Wt);
    acts->t_mean = vc_arena_take(a, nB);
    acts->t_rstd = vc_arena_take(a, nB);
    acts->t_emb = vc_arena_take(a, nB * E);
    acts->dv = vc_arena_take(a, nB * E);
    acts->dt = vc_arena_take(a, nB * E);
    acts->v_tap_grad = vc_arena_take(a, nB * W);
    acts->t_tap_grad = vc_arena_take(a, nB * Wt);
    acts->d_a = vc_arena_take(a, (size_t)B * (W > Wt ? W : Wt));
    acts->loss_scratch = vc_arena_take(a, vc_contrastive_scratch_elems(B, B, (int)E));
    vis->taps = (vc_layer_taps){acts->n, acts->layers, acts->v_tap, NULL};
    txt->taps = (vc_layer_taps){acts->n, acts->layers, acts->t_tap, NULL};
}

double vc_layer_align_forward(const vc_config *c, const vc_params_view *p, vc_layer_align_acts *acts,
                              const int32_t *ids, const double *weight, int B, int grads, vc_real *dtemp) {
    const int W = c->vision_width, Wt = c->text_width, E = c->embed_dim;
    double total = 0;
    for (int h = 0; h < acts->n; h++) {
        const vc_align_head_view *hp = &p->heads[h];
        const size_t o = (size_t)h * B;
        vc_layernorm_forward(acts->v_ln + o * W, acts->v_mean + o, acts->v_rstd + o, acts->v_tap + o * W, hp->v_ln_w,
                             hp->v_ln_b, B, W);
        vc_project_forward(acts->v_emb + o * E, acts->v_ln + o * W, hp->v_proj, B, W, E);
        vc_layernorm_forward(acts->t_ln + o * Wt, acts->t_mean + o, acts->t_rstd + o, acts->t_tap + o * Wt, hp->t_ln_w,
                             hp->t_ln_b, B, Wt);
        vc_project_forward(acts->t_emb + o * E, acts->t_ln + o * Wt, hp->t_proj, B, Wt, E);
        vc_real dt_h = 0;
        acts->loss[h] = vc_contrastive_loss(acts->v_emb + o * E, acts->t_emb + o * E, ids, B, E, p->temp[0],
                                            grads ? acts->dv + o * E : NULL, grads ? acts->dt + o * E : NULL,
                                            grads ? &dt_h : NULL, acts->loss_scratch);
        total += weight[h] * acts->loss[h];
        if (grads) *dtemp += (vc_real)(weight[h] * dt_h);
    }
    return total;
}

/* One side of a head: d emb -> projection -> LayerNorm -> d token, parameter gradients into g. */
static void head_side_backward(vc_real *d_tap, vc_real *d_ln_w, vc_real *d_ln_b, vc_real *d_proj, vc_real *demb,
                               const vc_real *ln, const vc_real *tap, const vc_real *ln_w, const vc_real *proj,
                               const vc_real *mean, const vc_real *rstd, vc_real *d_a, int B, int W, int E,
                               double scale) {
    for (size_t k = 0; k < (size_t)B * E; k++) demb[k] *= (vc_real)scale;
    memset(d_a, 0, (size_t)B * W * sizeof(vc_real));
    vc_project_backward(d_a, d_proj, demb, ln, proj, B, W, E);
    memset(d_tap, 0, (size_t)B * W * sizeof(vc_real));
    vc_layernorm_backward(d_tap, d_ln_w, d_ln_b, d_a, tap, ln_w, mean, rstd, B, W);
}

void vc_layer_align_backward(const vc_config *c, const vc_params_view *p, vc_params_view *g,
                             vc_layer_align_acts *acts, const double *weight, int B, double scale) {
    const int W = c->vision_width, Wt = c->text_width, E = c->embed_dim;
    for (int h = 0; h < acts->n; h++) {
        const vc_align_head_view *hp = &p->heads[h];
        vc_align_head_view *hg = &g->heads[h];
        const size_t o = (size_t)h * B;
        head_side_backward(acts->v_tap_grad + o * W, hg->v_ln_w, hg->v_ln_b, hg->v_proj, acts->dv + o * E,
                           acts->v_ln + o * W, acts->v_tap + o * W, hp->v_ln_w, hp->v_proj, acts->v_mean + o,
                           acts->v_rstd + o, acts->d_a, B, W, E, scale * weight[h]);
        head_side_backward(acts->t_tap_grad + o * Wt, hg->t_ln_w, hg->t_ln_b, hg->t_proj, acts->dt + o * E,
                           acts->t_ln + o * Wt, acts->t_tap + o * Wt, hp->t_ln_w, hp->t_proj, acts->t_mean + o,
                           acts->t_rstd + o, acts->d_a, B, Wt, E, scale * weight[h]);
    }
}

void vc_layer_align_init_heads(const vc_config *c, vc_params_view *p, const int *keep, int n_keep) {
    const size_t W = (size_t)c->vision_width, Wt = (size_t)c->text_width, E = (size_t)c->embed_dim;
    for (int h = 0; h < p->n_heads; h++) {
        vc_align_head_view *a = &p->heads[h];
        int kept = 0;
        for (int k = 0; k < n_keep; k++) kept |= keep[k] == a->layer;
        if (kept) continue;
        memcpy(a->v_ln_w, p->v.ln_post_w, W * sizeof(vc_real));
        memcpy(a->v_ln_b, p->v.ln_post_b, W * sizeof(vc_real));
        memcpy(a->v_proj, p->v.proj, W * E * sizeof(vc_real));
        memcpy(a->t_ln_w, p->t.ln_final_w, Wt * sizeof(vc_real));
        memcpy(a->t_ln_b, p->t.ln_final_b, Wt * sizeof(vc_real));
        memcpy(a->t_proj, p->t.proj, Wt * E * sizeof(vc_real));
    }
}
