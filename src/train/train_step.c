/* A training step's compute: forward, loss and backward over the micro-batches, then the update. */
#include "train/train_state.h"

int vc_train_forward_backward(vc_train_state *s, double *loss, vc_error *err) {
    vc_model *m = s->model;
    vc_model_zero_grads(m);
    if (s->ranks > 1) return vc_data_parallel_step(&s->dp, m, s->micro, loss, err);
    if (s->A == 1) return vc_model_forward_backward(m, &s->micro[0], loss, err);
    /* open_clip's --accum-freq: every clip of the step is a negative of every other, as in one
     * batch of A*B; the forward runs twice, activations are kept for one micro-batch */
    const int E = m->cfg.embed_dim;
    const size_t BE = (size_t)s->B * E, all = (size_t)s->A * BE;
    for (int micro = 0; micro < s->A; micro++)
        if (vc_model_step_embeddings(m, &s->micro[micro], s->emb + micro * BE, s->emb + all + micro * BE, err)) return -1;
    vc_real dtemp;
    *loss = vc_contrastive_loss(s->emb, s->emb + all, s->ids, s->A * s->B, E, m->p.temp[0], s->demb,
                                s->demb + all, &dtemp, s->loss_scratch);
    for (int micro = 0; micro < s->A; micro++)
        if (vc_model_backward_from(m, &s->micro[micro], s->demb + micro * BE, s->demb + all + micro * BE, err)) return -1;
    m->g.temp[0] += dtemp;
    return 0;
}

double vc_train_update(vc_train_state *s, double lr) {
    vc_model *m = s->model;
    const double clip_norm = s->p->grad_clip_norm;
    const double norm = vc_grad_norm(&s->opt, &m->table, m->grads);
    const double clip_scale = clip_norm > 0 && norm > clip_norm ? clip_norm / norm : 1;
    vc_adamw_step(&s->opt, &m->table, m->params, m->grads, lr, clip_scale, m->p.temp);
    return norm;
}
