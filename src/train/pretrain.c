#include "train/pretrain.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "model/mae.h"
#include "model/model_io.h"
#include "model/umt.h"
#include "train/train_state.h"

int vc_pretrain_objective_parse(const char *s, vc_pretrain_objective *out, vc_error *err) {
    if (!strcasecmp(s, "mae")) *out = VC_PRETRAIN_MAE;
    else if (!strcasecmp(s, "umt")) *out = VC_PRETRAIN_UMT;
    else return vc_fail(err, "--objective '%s': expected mae or umt", s);
    return 0;
}

vc_pretrain_params vc_pretrain_default_params(void) {
    vc_pretrain_params p = {.train = vc_train_default_params()};
    vc_train_params *t = &p.train;
    t->batch_size = 32;
    t->steps = 500;
    t->warmup = 50;
    t->lr = 1e-3;
    t->min_lr = 1e-5;
    t->weight_decay = 0.05;
    t->beta2 = 0.95; /* VideoMAE's betas and eps */
    t->eps = 1e-8;
    t->mask_ratio = 0; /* the contrastive loop's masking: the objective masks */
    t->freeze_text = 1;
    t->temp_init = 0.07;
    t->temporal_init_std = 0.5;
    t->workers = 0;
    p.objective = VC_PRETRAIN_MAE;
    p.mask_ratio = 0.9;
    p.decoder_width = 64;
    p.decoder_depth = 2;
    p.decoder_heads = 4;
    return p;
}

/* The objective's head next to the model: the MAE decoder or the UMT teacher and projection. */
typedef struct {
    vc_mae_decoder *dec;
    vc_mae_work mae;
    vc_model *teacher_model;
    vc_umt_teacher *teacher;
    vc_umt_head *head;
    vc_umt_work umt;
    const vc_param_table *table;
    vc_real *params, *grads;
    vc_adamw opt;
    int32_t *keep, *masked;
} objective_state;

static void objective_free(objective_state *o) {
    vc_mae_decoder_free(o->dec);
    vc_mae_work_free(&o->mae);
    vc_model_free(o->teacher_model);
    vc_umt_teacher_free(o->teacher);
    vc_umt_head_free(o->head);
    vc_umt_work_free(&o->umt);
    vc_adamw_free(&o->opt);
    free(o->keep), free(o->masked);
}

static int objective_open(objective_state *o, const vc_pretrain_params *p, const vc_train_state *s, vc_error *err) {
    const vc_config *c = &s->model->cfg;
    const uint64_t seed = p->train.seed;
    if (p->objective == VC_PRETRAIN_UMT) {
        if (!(o->teacher_model = vc_model_load(p->teacher, NULL, err))) return -1;
        const vc_config *tc = &o->teacher_model->cfg;
        if (tc->image_size != c->image_size || tc->patch_size != c->patch_size)
            return vc_fail(err, "teacher %s sees %dx%d frames in %d-pixel patches; the student %dx%d in %d-pixel patches",
                           p->teacher, tc->image_size, tc->image_size, tc->patch_size, c->image_size, c->image_size,
                           c->patch_size);
        if (!(o->teacher = vc_umt_teacher_new(o->teacher_model, c->num_frames, err)) ||
            !(o->head = vc_umt_head_new(c->vision_width, tc->embed_dim, err)))
            return -1;
        vc_umt_head_init(o->head, seed);
        o->table = &o->head->table, o->params = o->head->params, o->grads = o->head->grads;
    } else {
        if (!(o->dec = vc_mae_decoder_new(c, p->decoder_width, p->decoder_depth, p->decoder_heads, err))) return -1;
        vc_mae_decoder_init(o->dec, seed);
        o->table = &o->dec->table, o->params = o->dec->params, o->grads = o->dec->grads;
    }
    o->keep = malloc((size_t)s->B * s->N_tok * sizeof(int32_t));
    o->masked = malloc((size_t)s->B * s->N_tok * sizeof(int32_t));
    if (!o->keep || !o->masked) return vc_fail(err, "out of memory for the masks of %d clips", s->B);
    return vc_adamw_init(&o->opt, o->table, &s->opt.p, err);
}

int vc_pretrain(const vc_pretrain_params *p, const vc_tokenizer *tok, vc_train_summary *summary, vc_error *err) {
    const vc_train_params *tp = &p->train;
    if (summary) memset(summary, 0, sizeof *summary);
    if (!(p->mask_ratio > 0 && p->mask_ratio < 1)) return vc_fail(err, "mask ratio %g must be in (0, 1)", p->mask_ratio);
    if (p->objective == VC_PRETRAIN_UMT && !p->teacher) return vc_fail(err, "--objective umt needs --teacher FILE");
    if (tp->resume || tp->accum_freq != 1 || tp->mask_ratio != 0)
        return vc_fail(err, "pretraining does not resume, accumulate or use the contrastive masking");
    vc_train_state s;
    objective_state o;
    memset(&o, 0, sizeof o);
    int rc = -1;
    if (vc_train_state_open(&s, tp, tok, err)) goto done;
    /* only the video tower and the head learn; the text tower and the temperature ride along */
    s.opt.p.frozen[VC_TOWER_TEXT] = s.opt.p.frozen[VC_TOWER_SHARED] = 1;
    if (objective_open(&o, p, &s, err)) goto done;
    vc_model *m = s.model;
    const vc_config *c = &m->cfg;
    const int B = s.B, T = c->num_frames, P = vc_config_patches(c);
    const int keep_patches = P - (int)(p->mask_ratio * P); /* the official rule: hide int(ratio * P) */
    if (keep_patches < 1 || keep_patches >= P) {
        vc_fail(err, "mask ratio %g of %d patches per frame leaves %d visible; need between 1 and %d", p->mask_ratio, P,
                keep_patches, P - 1);
        goto done;
    }
    const int K = keep_patches * T;
    if (vc_model_enable_grads(m, err)) goto done;
    const double t0 = vc_now_s();
    for (int64_t step = 0; step < tp->steps; step++) {
        const double lr = vc_cosine_lr(step, tp->warmup, tp->steps, tp->lr, tp->min_lr);
        if (vc_train_load_batch(&s, step, 0, err)) goto done;
        vc_model_zero_grads(m);
        memset(o.grads, 0, o.table->total * sizeof(vc_real));
        double loss;
        if (p->objective == VC_PRETRAIN_UMT) {
            if (vc_umt_teacher_forward(o.teacher, s.video, B, err)) goto done;
            vc_umt_select(o.keep, o.teacher->attention, (vc_umt_masking)p->umt_masking, B, T, P, keep_patches, s.seed,
                          (uint64_t)step);
            if (vc_umt_step(&o.umt, m, o.head, o.teacher, s.video, o.keep, B, K, (vc_umt_loss)p->umt_loss, 1, 1, &loss, err))
                goto done;
        } else {
            vc_tube_mask(o.keep, o.masked, B, P, T, keep_patches, s.seed, (uint64_t)step);
            if (vc_mae_step(&o.mae, m, o.dec, s.video, o.keep, o.masked, B, K, 1, 1, &loss, err)) goto done;
        }
        if (!isfinite(loss)) {
            vc_fail(err, "loss became %g at step %" PRId64 " (lower the learning rate?)", loss, step);
            goto done;
        }
        /* one global norm over the tower and the head, as one optimizer would see them */
        const double n1 = vc_grad_norm(&s.opt, &m->table, m->grads), n2 = vc_grad_norm(&o.opt, o.table, o.grads);
        const double norm = sqrt(n1 * n1 + n2 * n2);
        const double clip = tp->grad_clip_norm > 0 && norm > tp->grad_clip_norm ? tp->grad_clip_norm / norm : 1;
        vc_adamw_step(&s.opt, &m->table, m->params, m->grads, lr, clip, NULL);
        vc_adamw_step(&o.opt, o.table, o.params, o.grads, lr, clip, NULL);
        const double elapsed = vc_now_s() - t0;
        if (summary) *summary = (vc_train_summary){0, step + 1, s.data.n, s.n_skipped, elapsed, s.data_wait_s, loss, 0, 1, 0, 0};
        const vc_train_progress pr = {.step = step + 1, .steps = tp->steps, .loss = loss, .lr = lr, .grad_norm = norm,
                                      .temp = m->p.temp[0], .samples_per_s = (step + 1) * (double)B / elapsed,
                                      .elapsed_s = elapsed, .eta_s = elapsed / (step + 1) * (double)(tp->steps - step - 1),
                                      .masked = 1, .data_wait_s = s.data_wait_s};
        if (vc_train_log_step(&s, &pr, err)) goto done;
        if (tp->on_progress && (pr.step % (tp->progress_every > 0 ? tp->progress_every : 1) == 0 || pr.step == tp->steps))
            tp->on_progress(&pr, tp->user);
    }
    rc = vc_train_finish(&s, 1, err);
done:
    objective_free(&o);
    vc_train_state_free(&s);
    return rc;
}
