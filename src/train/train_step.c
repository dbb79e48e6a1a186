/* A training step's compute: forward, loss and backward over the micro-batches, then the update. */
#include "train/train_state.h"

int vc_train_forward_backward(vc_train_state *s, double *loss, vc_error *err) {
    vc_model *m = s->model;
    vc_model_zero_grads(m);
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

/* A pretrained tower next to a randomly initialised one: held, then ramped over the warmup. */
static double hold_factor(const vc_train_state *s, int64_t step, vc_tower t) {
    const int all = 1 << VC_TOWER_VISION | 1 << VC_TOWER_TEXT;
    if (!s->new_towers || s->new_towers == all || (s->new_towers & (1 << t))) return 1;
    return vc_balance_hold_factor(step, s->p->new_branch_warmup, s->p->warmup);
}

double vc_train_update(vc_train_state *s, int64_t step, double lr) {
    vc_model *m = s->model;
    const int held[2] = {hold_factor(s, step, VC_TOWER_VISION) == 0, hold_factor(s, step, VC_TOWER_TEXT) == 0};
    const int frozen[2] = {s->opt.p.frozen[VC_TOWER_VISION], s->opt.p.frozen[VC_TOWER_TEXT]};
    for (int t = 0; t < 2; t++) {
        s->opt.p.lr_mult[t] = s->balance.mult[t] * hold_factor(s, step, (vc_tower)t);
        s->opt.p.frozen[t] = frozen[t] || held[t];
    }
    const double clip_norm = s->p->grad_clip_norm;
    const double norm = vc_grad_norm(&s->opt, &m->table, m->grads);
    const double clip_scale = clip_norm > 0 && norm > clip_norm ? clip_norm / norm : 1;
    vc_adamw_step(&s->opt, &m->table, m->params, m->grads, lr, clip_scale, m->p.temp);
    for (int t = 0; t < 2; t++) s->opt.p.frozen[t] = frozen[t];
    /* balancing starts once a held tower is fully released: the ramp is deliberate imbalance */
    if (hold_factor(s, step, VC_TOWER_VISION) == 1 && hold_factor(s, step, VC_TOWER_TEXT) == 1)
        vc_balance_update(&s->balance, vc_adamw_update_ratio(&s->opt, VC_TOWER_VISION),
                          vc_adamw_update_ratio(&s->opt, VC_TOWER_TEXT));
    return norm;
}
