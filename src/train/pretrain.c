#include "train/pretrain.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/rng.h"
#include "io/fs.h"
#include "model/mae.h"
#include "model/umt.h"
#include "model/model_io.h"
#include "train/dataset.h"
#include "train/optimizer.h"

int vc_pretrain_objective_parse(const char *s, vc_pretrain_objective *out, vc_error *err) {
    if (!strcasecmp(s, "mae")) *out = VC_PRETRAIN_MAE;
    else if (!strcasecmp(s, "umt")) *out = VC_PRETRAIN_UMT;
    else return vc_fail(err, "--objective '%s': expected mae or umt", s);
    return 0;
}

vc_pretrain_params vc_pretrain_default_params(void) {
    vc_pretrain_params p = {0};
    p.cfg = vc_config_preset(VC_PRESET_DEMO);
    p.objective = VC_PRETRAIN_MAE;
    p.batch_size = 32;
    p.steps = 500;
    p.warmup = 50;
    p.lr = 1e-3;
    p.min_lr = 1e-5;
    p.weight_decay = 0.05;
    p.beta1 = 0.9;
    p.beta2 = 0.95; /* VideoMAE's betas */
    p.eps = 1e-8;
    p.mask_ratio = 0.9;
    p.decoder_width = 64;
    p.decoder_depth = 2;
    p.decoder_heads = 4;
    p.temporal_init_std = 0.5;
    p.clean_captions = 1;
    p.progress_every = 10;
    return p;
}

static int check_params(const vc_pretrain_params *p, vc_error *err) {
    if (!p->train_annotations) return vc_fail(err, "no training annotations given");
    if (!p->out_dir) return vc_fail(err, "no output folder given");
    if (p->batch_size < 1) return vc_fail(err, "batch size %d must be at least 1", p->batch_size);
    if (p->steps < 1) return vc_fail(err, "steps %" PRId64 " must be at least 1", p->steps);
    if (!(p->mask_ratio > 0 && p->mask_ratio < 1)) return vc_fail(err, "mask ratio %g must be in (0, 1)", p->mask_ratio);
    if (!(p->lr > 0)) return vc_fail(err, "learning rate %g must be positive", p->lr);
    if (p->objective == VC_PRETRAIN_UMT && !p->teacher) return vc_fail(err, "--objective umt needs --teacher FILE");
    return 0;
}

typedef struct {
    vc_dataset data;
    vc_model *model;
    vc_mae_decoder *dec;
    vc_mae_work work;
    vc_model *teacher_model;
    vc_umt_teacher *teacher;
    vc_umt_head *head;
    vc_umt_work umt;
    const vc_param_table *head_table; /* the decoder's or the UMT head's */
    vc_real *head_params, *head_grads;
    vc_adamw opt, dec_opt;
    vc_real *video;
    int32_t *keep, *masked, *perm;
    FILE *log;
} pretrain_state;

static void state_free(pretrain_state *s) {
    vc_dataset_free(&s->data);
    vc_model_free(s->model);
    vc_mae_decoder_free(s->dec);
    vc_mae_work_free(&s->work);
    vc_model_free(s->teacher_model);
    vc_umt_teacher_free(s->teacher);
    vc_umt_head_free(s->head);
    vc_umt_work_free(&s->umt);
    vc_adamw_free(&s->opt);
    vc_adamw_free(&s->dec_opt);
    free(s->video), free(s->keep), free(s->masked), free(s->perm);
    if (s->log) fclose(s->log);
}

int vc_pretrain(const vc_pretrain_params *p, const vc_tokenizer *tok, vc_train_summary *summary, vc_error *err) {
    if (summary) memset(summary, 0, sizeof *summary);
    if (check_params(p, err)) return -1;
    pretrain_state s;
    memset(&s, 0, sizeof s);
    int rc = -1;
    if (vc_mkdir_p(p->out_dir, err)) goto done;
    if (p->init_model) {
        s.model = vc_model_load(p->init_model, NULL, err);
    } else {
        s.model = vc_model_new(&p->cfg, err);
        if (s.model) vc_model_init_random(s.model, p->seed, 0.07);
        if (s.model && p->temporal_init_std > 0) vc_model_init_temporal(s.model, p->seed, p->temporal_init_std);
    }
    if (!s.model || vc_model_enable_grads(s.model, err)) goto done;
    vc_model *m = s.model;
    const vc_config *c = &m->cfg;
    /* only the video tower learns; the text tower and the temperature are carried along */
    vc_adamw_params op = vc_adamw_default_params();
    op.beta1 = p->beta1, op.beta2 = p->beta2, op.eps = p->eps, op.weight_decay = p->weight_decay;
    op.frozen[VC_TOWER_TEXT] = op.frozen[VC_TOWER_SHARED] = 1;
    op.temp_min = 0;
    const int umt = p->objective == VC_PRETRAIN_UMT;
    if (umt) {
        if (!(s.teacher_model = vc_model_load(p->teacher, NULL, err))) goto done;
        const vc_config *tc = &s.teacher_model->cfg;
        if (tc->image_size != c->image_size || tc->patch_size != c->patch_size) {
            vc_fail(err, "teacher %s sees %dx%d frames in %d-pixel patches; the student %dx%d in %d-pixel patches",
                    p->teacher, tc->image_size, tc->image_size, tc->patch_size, c->image_size, c->image_size, c->patch_size);
            goto done;
        }
        if (!(s.teacher = vc_umt_teacher_new(s.teacher_model, c->num_frames, err)) ||
            !(s.head = vc_umt_head_new(c->vision_width, tc->embed_dim, err)))
            goto done;
        vc_umt_head_init(s.head, p->seed);
        s.head_table = &s.head->table, s.head_params = s.head->params, s.head_grads = s.head->grads;
    } else {
        if (!(s.dec = vc_mae_decoder_new(c, p->decoder_width, p->decoder_depth, p->decoder_heads, err))) goto done;
        vc_mae_decoder_init(s.dec, p->seed);
        s.head_table = &s.dec->table, s.head_params = s.dec->params, s.head_grads = s.dec->grads;
    }
    if (vc_adamw_init(&s.opt, &m->table, &op, err) || vc_adamw_init(&s.dec_opt, s.head_table, &op, err)) goto done;
    vc_preprocess pp = vc_preprocess_default(c->num_frames, c->image_size);
    const vc_dataset_opts dopts = {.clean_captions = p->clean_captions};
    if (vc_dataset_open(&s.data, p->train_annotations, &pp, tok, c->context_length, &dopts, err) ||
        vc_dataset_preload(&s.data, 0, err))
        goto done;
    for (int i = 0; i < s.data.n_skipped && p->on_warning; i++) p->on_warning(s.data.skipped[i], p->user);
    const int B = p->batch_size, T = c->num_frames, S = c->image_size, P = vc_config_patches(c);
    /* the official rule: hide int(ratio * P) patches of each frame, keep the rest */
    const int keep_patches = P - (int)(p->mask_ratio * P);
    if (keep_patches < 1 || keep_patches >= P) {
        vc_fail(err, "mask ratio %g of %d patches per frame leaves %d visible; need between 1 and %d", p->mask_ratio, P,
                keep_patches, P - 1);
        goto done;
    }
    const int K = keep_patches * T, M = (P - keep_patches) * T;
    const size_t clip = (size_t)T * 3 * S * S;
    s.video = malloc((size_t)B * clip * sizeof(vc_real));
    s.keep = malloc((size_t)B * K * sizeof(int32_t));
    s.masked = malloc((size_t)B * M * sizeof(int32_t));
    s.perm = malloc((size_t)s.data.n * sizeof(int32_t));
    if (!s.video || !s.keep || !s.masked || !s.perm) {
        vc_fail(err, "out of memory for a batch of %d clips", B);
        goto done;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/train_log.jsonl", p->out_dir);
    if (!(s.log = fopen(path, "w"))) {
        vc_fail(err, "%s: %s", path, strerror(errno));
        goto done;
    }
    int64_t epoch = -1;
    const double t0 = vc_now_s();
    for (int64_t step = 0; step < p->steps; step++) {
        const double lr = vc_cosine_lr(step, p->warmup, p->steps, p->lr, p->min_lr);
        for (int b = 0; b < B; b++) { /* sample g visits epoch g / n in the order drawn from (seed, epoch) */
            const int64_t g = step * B + b;
            if (g / s.data.n != epoch) {
                epoch = g / s.data.n;
                vc_rng r = vc_rng_at(p->seed, VC_STREAM_SHUFFLE, (uint64_t)epoch, 0);
                vc_rng_permutation(&r, s.perm, s.data.n);
            }
            vc_dataset_clip(&s.data, s.perm[g % s.data.n], NULL, s.video + b * clip);
        }
        vc_model_zero_grads(m);
        memset(s.head_grads, 0, s.head_table->total * sizeof(vc_real));
        double loss;
        if (umt) {
            if (vc_umt_teacher_forward(s.teacher, s.video, B, err)) goto done;
            vc_umt_select(s.keep, s.teacher->attention, (vc_umt_masking)p->umt_masking, B, T, P, keep_patches, p->seed,
                          (uint64_t)step);
            if (vc_umt_step(&s.umt, m, s.head, s.teacher, s.video, s.keep, B, K, (vc_umt_loss)p->umt_loss, 1, 1, &loss, err))
                goto done;
        } else {
            vc_tube_mask(s.keep, s.masked, B, P, T, keep_patches, p->seed, (uint64_t)step);
            if (vc_mae_step(&s.work, m, s.dec, s.video, s.keep, s.masked, B, K, 1, 1, &loss, err)) goto done;
        }
        if (!isfinite(loss)) {
            vc_fail(err, "loss became %g at step %" PRId64 " (lower the learning rate?)", loss, step);
            goto done;
        }
        const double n1 = vc_grad_norm(&s.opt, &m->table, m->grads), n2 = vc_grad_norm(&s.dec_opt, s.head_table, s.head_grads);
        const double norm = sqrt(n1 * n1 + n2 * n2);
        const double clip_scale = p->grad_clip_norm > 0 && norm > p->grad_clip_norm ? p->grad_clip_norm / norm : 1;
        vc_adamw_step(&s.opt, &m->table, m->params, m->grads, lr, clip_scale, NULL);
        vc_adamw_step(&s.dec_opt, s.head_table, s.head_params, s.head_grads, lr, clip_scale, NULL);
        const double elapsed = vc_now_s() - t0;
        if (summary) *summary = (vc_train_summary){0, step + 1, s.data.n, s.data.n_skipped, elapsed, 0, loss};
        vc_train_progress pr = {.step = step + 1, .steps = p->steps, .loss = loss, .lr = lr, .grad_norm = norm,
                                .temp = m->p.temp[0], .samples_per_s = (step + 1) * (double)B / elapsed,
                                .elapsed_s = elapsed, .eta_s = elapsed / (step + 1) * (double)(p->steps - step - 1),
                                .masked = 1};
        fprintf(s.log, "{\"step\":%" PRId64 ",\"loss\":%.6f,\"lr\":%.6g,\"grad_norm\":%.6g,\"objective\":\"%s\","
                       "\"samples_per_s\":%.2f,\"elapsed_s\":%.2f}\n",
                pr.step, loss, lr, norm, umt ? "umt" : "mae", pr.samples_per_s, elapsed);
        if (p->on_progress && (pr.step % (p->progress_every > 0 ? p->progress_every : 1) == 0 || pr.step == p->steps))
            p->on_progress(&pr, p->user);
    }
    fflush(s.log);
    snprintf(path, sizeof path, "%s/model.safetensors", p->out_dir);
    if (vc_model_save(m, path, VC_DT_F32, err)) goto done;
    rc = 0;
done:
    state_free(&s);
    return rc;
}
