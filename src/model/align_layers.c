#include "model/align_layers.h"

#include <string.h>

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
    for (int h = 0; h < p->n_heads; h++) {
        vc_ln_head_plan(a, &acts->v[h], B, (int)W, (int)E, 1);
        vc_ln_head_plan(a, &acts->t[h], B, (int)Wt, (int)E, 1);
    }
    acts->dv = vc_arena_take(a, nB * E);
    acts->dt = vc_arena_take(a, nB * E);
    acts->v_tap_grad = vc_arena_take(a, nB * W);
    acts->t_tap_grad = vc_arena_take(a, nB * Wt);
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
        vc_ln_head_forward(&hp->v, &acts->v[h], acts->v_tap + o * W, B);
        vc_ln_head_forward(&hp->t, &acts->t[h], acts->t_tap + o * Wt, B);
        vc_real dt_h = 0;
        acts->loss[h] = vc_contrastive_loss(acts->v[h].out, acts->t[h].out, ids, B, E, p->temp[0],
                                            grads ? acts->dv + o * E : NULL, grads ? acts->dt + o * E : NULL,
                                            grads ? &dt_h : NULL, acts->loss_scratch);
        total += weight[h] * acts->loss[h];
        if (grads) *dtemp += (vc_real)(weight[h] * dt_h);
    }
    return total;
}

void vc_layer_align_backward(const vc_config *c, const vc_params_view *p, vc_params_view *g,
                             vc_layer_align_acts *acts, const double *weight, int B, double scale) {
    const int W = c->vision_width, Wt = c->text_width, E = c->embed_dim;
    for (int h = 0; h < acts->n; h++) {
        const vc_align_head_view *hp = &p->heads[h], *hg = &g->heads[h];
        const size_t o = (size_t)h * B;
        vc_real *dv = acts->dv + o * E, *dt = acts->dt + o * E;
        for (size_t k = 0; k < (size_t)B * E; k++) {
            dv[k] *= (vc_real)(scale * weight[h]);
            dt[k] *= (vc_real)(scale * weight[h]);
        }
        vc_ln_head_backward(&hp->v, &hg->v, &acts->v[h], acts->v_tap + o * W, dv, acts->v_tap_grad + o * W, B);
        vc_ln_head_backward(&hp->t, &hg->t, &acts->t[h], acts->t_tap + o * Wt, dt, acts->t_tap_grad + o * Wt, B);
    }
}

void vc_layer_align_init_heads(const vc_config *c, vc_params_view *p, const int *keep, int n_keep) {
    const size_t W = (size_t)c->vision_width, Wt = (size_t)c->text_width, E = (size_t)c->embed_dim;
    for (int h = 0; h < p->n_heads; h++) {
        vc_align_head_view *a = &p->heads[h];
        int kept = 0;
        for (int k = 0; k < n_keep; k++) kept |= keep[k] == a->layer;
        if (kept) continue;
        memcpy(a->v.ln_w, p->v.ln_post_w, W * sizeof(vc_real));
        memcpy(a->v.ln_b, p->v.ln_post_b, W * sizeof(vc_real));
        memcpy(a->v.proj, p->v.proj, W * E * sizeof(vc_real));
        memcpy(a->t.ln_w, p->t.ln_final_w, Wt * sizeof(vc_real));
        memcpy(a->t.ln_b, p->t.ln_final_b, Wt * sizeof(vc_real));
        memcpy(a->t.proj, p->t.proj, Wt * E * sizeof(vc_real));
    }
}
