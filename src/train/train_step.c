/* A training step's compute: forward, loss and backward over the micro-batches, then the update. */
#include <inttypes.h>
#include <math.h>

#include "train/train_state.h"

int vc_train_forward_backward(vc_train_state *s, double *loss, vc_error *err) {
    vc_model *m = s->model;
    /* a training device computes the step on its own copies (one micro-batch, one process: the
     * state's checks refused the rest) */
    if (m->device) return vc_device_forward_backward(m->device, m, &s->micro[0], loss, err);
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

/* A pretrained tower next to a randomly initialised one: held, then ramped over the warmup. */
static double hold_factor(const vc_train_state *s, int64_t step, vc_tower t) {
    const int all = 1 << VC_TOWER_VISION | 1 << VC_TOWER_TEXT;
    if (!s->new_towers || s->new_towers == all || (s->new_towers & (1 << t))) return 1;
    return vc_balance_hold_factor(step, s->p->new_branch_warmup, s->p->warmup);
}

/* Freezes, for `step`, a tower that is held while a new one warms up; the flags it had go to
 * was_frozen, for restore_towers. */
static void hold_towers(vc_train_state *s, int64_t step, int was_frozen[2]) {
    for (int t = 0; t < 2; t++) {
        was_frozen[t] = s->opt.p.frozen[t];
        s->opt.p.frozen[t] = was_frozen[t] || hold_factor(s, step, (vc_tower)t) == 0;
    }
}

static void restore_towers(vc_train_state *s, const int was_frozen[2]) {
    for (int t = 0; t < 2; t++) s->opt.p.frozen[t] = was_frozen[t];
}

int vc_train_grad_norm(vc_train_state *s, int64_t step, double *norm, vc_error *err) {
    int was_frozen[2];
    hold_towers(s, step, was_frozen);
    int rc = 0;
    if (s->model->device) rc = vc_device_grad_norm(s->model->device, s->model, &s->opt, norm, err);
    else *norm = vc_grad_norm(&s->opt, &s->model->table, s->model->grads);
    restore_towers(s, was_frozen);
    return rc;
}

int vc_train_check_finite(const vc_train_state *s, int64_t step, double loss, double grad_norm, double lr,
                          vc_error *err) {
    if (isfinite(loss) && isfinite(grad_norm)) return 0;
    const char *what = isfinite(loss) ? "gradient norm" : "loss";
    const double value = isfinite(loss) ? grad_norm : loss;
    /* the weights a run starts from were checked finite, so a first step that fails is not the
     * learning rate's doing */
    if (step == s->start)
        return vc_fail(err, "the %s is %g at step %" PRId64 ", the first of this run, before any update: the model "
                            "or its inputs overflow", what, value, step + 1);
    return vc_fail(err, "the %s became %g at step %" PRId64 ": training diverged (lower the learning rate, %g at this "
                        "step, or clip gradients); stopped before updating, the last checkpoint is kept",
                   what, value, step + 1, lr);
}

int vc_train_update(vc_train_state *s, int64_t step, double lr, double grad_norm, vc_error *err) {
    vc_model *m = s->model;
    int was_frozen[2];
    hold_towers(s, step, was_frozen);
    for (int t = 0; t < 2; t++) s->opt.p.lr_mult[t] = s->balance.mult[t] * hold_factor(s, step, (vc_tower)t);
    const double clip_norm = s->p->grad_clip_norm;
    const double clip_scale = clip_norm > 0 && grad_norm > clip_norm ? clip_norm / grad_norm : 1;
    int rc = 0;
    if (m->device) rc = vc_device_adamw_step(m->device, m, &s->opt, lr, clip_scale, err);
    else vc_adamw_step(&s->opt, &m->table, m->params, m->grads, lr, clip_scale, m->p.temp);
    restore_towers(s, was_frozen);
    if (rc) return -1;
    /* balancing starts once a held tower is fully released: the ramp is deliberate imbalance */
    if (hold_factor(s, step, VC_TOWER_VISION) == 1 && hold_factor(s, step, VC_TOWER_TEXT) == 1)
        vc_balance_update(&s->balance, vc_adamw_update_ratio(&s->opt, VC_TOWER_VISION),
                          vc_adamw_update_ratio(&s->opt, VC_TOWER_TEXT));
    return 0;
}
