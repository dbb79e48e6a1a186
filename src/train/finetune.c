#include "train/finetune.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/rng.h"
#include "io/annotations.h"
#include "io/fs.h"
#include "io/svg_plot.h"
#include "model/classifier.h"
#include "model/model_io.h"
#include "train/classifier_model.h"
#include "train/dataset.h"
#include "train/optimizer.h"
#include "train/train_state.h"

vc_finetune_params vc_finetune_default_params(void) {
    vc_finetune_params p = {0};
    p.head_init = VC_HEAD_ZEROSHOT;
    p.batch_size = 32;
    p.steps = 500;
    p.warmup = 50;
    p.lr = 5e-4;
    p.min_lr = 1e-6;
    p.weight_decay = 0.05;
    p.beta1 = 0.9, p.beta2 = 0.999, p.eps = 1e-8;
    p.layer_decay = 0.75;
    p.drop_path = 0.1;
    p.label_smoothing = 0.1;
    p.mixup_alpha = 0;
    p.mixup_prob = 1;
    p.head_std = 0.02;
    p.workers = 0, p.prefetch = 2, p.sampling = VC_SAMPLE_RAND, p.augment = 1, p.clean_captions = 1;
    p.progress_every = 10;
    return p;
}

/* The two tensors of the head as a parameter table, so AdamW updates them like the model's. */
static int head_table(const vc_classifier *c, vc_param_table *t, vc_error *err) {
    memset(t, 0, sizeof *t);
    t->info = calloc(2, sizeof *t->info);
    if (!t->info) return vc_fail(err, "out of memory for the head's parameter table");
    const int C = c->n_classes, E = c->model->cfg.embed_dim;
    t->info[0] = (vc_param_info){.name = "head.weight", .ndim = 2, .shape = {C, E}, .offset = 0,
                                 .numel = (size_t)C * E, .tower = VC_TOWER_VISION, .decay = 1};
    t->info[1] = (vc_param_info){.name = "head.bias", .ndim = 1, .shape = {C}, .offset = (size_t)C * E,
                                 .numel = (size_t)C, .tower = VC_TOWER_VISION, .decay = 0};
    t->count = 2;
    t->total = vc_classifier_head_elems(c);
    return 0;
}

typedef struct {
    vc_classifier cls;
    vc_dataset data;
    vc_loader *loader;
    vc_adamw opt, head_opt;
    vc_param_table head_tab;
    int32_t *y_all, *y, *y2;
    vc_sample_order order;
    vc_real *video, *mix_scratch, *emb, *features, *x, *logits, *targets, *dlogits, *demb, *head_grad;
    double *rates, *losses, *steps_x;
    FILE *log;
} ft_state;

static void ft_free(ft_state *s) {
    vc_loader_free(s->loader);
    vc_dataset_free(&s->data);
    vc_classifier_free(&s->cls);
    vc_adamw_free(&s->opt), vc_adamw_free(&s->head_opt);
    vc_param_table_free(&s->head_tab);
    free(s->y_all), free(s->y), free(s->y2), free(s->order.perm);
    free(s->video), free(s->mix_scratch), free(s->emb), free(s->features), free(s->x), free(s->logits);
    free(s->targets), free(s->dlogits), free(s->demb), free(s->head_grad);
    free(s->rates), free(s->losses), free(s->steps_x);
    if (s->log) fclose(s->log);
}

static int item_at(void *order, int64_t g) { return vc_sample_order_index(order, g); }

static int check_params(const vc_finetune_params *p, vc_error *err) {
    if (!p->train_annotations) return vc_fail(err, "no training annotations given (--train-data)");
    if (!p->labels) return vc_fail(err, "no class list given (--labels)");
    if (!p->init_model) return vc_fail(err, "no model to fine-tune given (--init)");
    if (!p->out_dir) return vc_fail(err, "no output folder given (--out)");
    if (p->batch_size < 1) return vc_fail(err, "batch size %d must be at least 1", p->batch_size);
    if (p->steps < 1) return vc_fail(err, "steps %" PRId64 " must be at least 1", p->steps);
    if (!(p->lr > 0)) return vc_fail(err, "learning rate %g must be positive", p->lr);
    if (!(p->layer_decay > 0 && p->layer_decay <= 1)) return vc_fail(err, "--layer-decay %g must be in (0, 1]", p->layer_decay);
    if (p->drop_path < 0 || p->drop_path >= 1) return vc_fail(err, "--drop-path %g must be in [0, 1)", p->drop_path);
    if (p->label_smoothing < 0 || p->label_smoothing >= 1) return vc_fail(err, "--smoothing %g must be in [0, 1)", p->label_smoothing);
    if (p->mixup_alpha < 0 || p->mixup_prob < 0 || p->mixup_prob > 1)
        return vc_fail(err, "--mixup %g must be >= 0 and --mixup-prob %g in [0, 1]", p->mixup_alpha, p->mixup_prob);
    if (p->mixup_alpha > 0 && p->linear_probe)
        return vc_fail(err, "--mixup mixes clips before the tower; a --linear-probe trains on fixed features: use one or the other");
    if (p->grad_checkpointing && p->linear_probe)
        return vc_fail(err, "--grad-checkpointing recomputes the tower's activations in its backward, but a --linear-probe "
                            "freezes the tower (no backward through it): use one or the other");
    if (p->mixup_alpha > 0 && p->batch_size < 2) return vc_fail(err, "--mixup needs a batch of at least 2 clips");
    if (p->workers < 0 || (p->workers > 0 && p->prefetch < 1)) return vc_fail(err, "workers %d / prefetch %d: need workers >= 0 and prefetch >= 1", p->workers, p->prefetch);
    return 0;
}

static double rng_uniform(void *r) { return vc_rng_uniform(r); }
static double rng_normal(void *r) { return vc_rng_normal(r); }

static int write_plot(const ft_state *s, int64_t n, const char *out_dir, vc_error *err) {
    char svg[4096];
    snprintf(svg, sizeof svg, "%s/loss.svg", out_dir);
    const char *names[1] = {"cross-entropy"};
    const double *X[1] = {s->steps_x}, *Y[1] = {s->losses};
    const int lens[1] = {(int)n};
    return vc_svg_plot_lines(svg, "ViCLIP fine-tuning loss", "step", "loss", 1, names, X, Y, lens, err);
}

int vc_finetune(const vc_finetune_params *p, const vc_tokenizer *tok, vc_train_summary *summary, vc_error *err) {
    if (summary) memset(summary, 0, sizeof *summary);
    if (check_params(p, err)) return -1;
    ft_state s;
    memset(&s, 0, sizeof s);
    int rc = -1;
    char **classes = NULL, **templates = NULL;
    int C = 0, nt = 0;
    if (vc_mkdir_p(p->out_dir, err) || vc_read_lines(p->labels, &classes, &C, err)) goto done;
    if (p->templates && vc_read_lines(p->templates, &templates, &nt, err)) goto done;
    vc_model *m = vc_model_load(p->init_model, (const char *const[]){"optimizer.", "head.", NULL}, err);
    if (!m || vc_classifier_init(&s.cls, m, (const char *const *)classes, C, err)) goto done;
    const vc_config *c = &m->cfg;
    const int E = c->embed_dim, B = p->batch_size, T = c->num_frames, S = c->image_size;
    if (p->head_init == VC_HEAD_ZEROSHOT) {
        if (vc_classifier_init_zeroshot(&s.cls, tok, (const char *const *)templates, nt, p->clean_captions, err)) goto done;
    } else {
        vc_classifier_init_random(&s.cls, p->seed, p->head_std);
    }
    vc_preprocess pp = vc_preprocess_default(T, S);
    const vc_dataset_opts dopts = {.clean_captions = p->clean_captions};
    if (vc_dataset_open(&s.data, p->train_annotations, &pp, tok, c->context_length, &dopts, err)) goto done;
    if (!p->workers && vc_dataset_preload(&s.data, 0, err)) goto done;
    for (int i = 0; i < s.data.n_skipped && p->on_warning; i++) p->on_warning(s.data.skipped[i], p->user);
    const int n = s.data.n;
    const size_t clip = (size_t)T * 3 * S * S;
    s.y_all = malloc((size_t)n * sizeof *s.y_all);
    s.order = (vc_sample_order){p->seed, n, -1, malloc((size_t)n * sizeof(int32_t))};
    s.y = malloc((size_t)B * sizeof *s.y), s.y2 = malloc((size_t)B * sizeof *s.y2);
    s.video = malloc((size_t)B * clip * sizeof *s.video);
    s.mix_scratch = p->mixup_alpha > 0 ? malloc((size_t)B * clip * sizeof *s.mix_scratch) : NULL;
    s.emb = malloc((size_t)B * E * sizeof *s.emb), s.x = malloc((size_t)B * E * sizeof *s.x);
    s.demb = malloc((size_t)B * E * sizeof *s.demb);
    s.logits = malloc((size_t)B * C * sizeof *s.logits), s.targets = malloc((size_t)B * C * sizeof *s.targets);
    s.dlogits = malloc((size_t)B * C * sizeof *s.dlogits);
    s.head_grad = malloc(vc_classifier_head_elems(&s.cls) * sizeof *s.head_grad);
    s.rates = malloc((size_t)c->vision_layers * sizeof *s.rates);
    s.losses = malloc((size_t)p->steps * sizeof *s.losses), s.steps_x = malloc((size_t)p->steps * sizeof *s.steps_x);
    if (!s.y_all || !s.order.perm || !s.y || !s.y2 || !s.video || (p->mixup_alpha > 0 && !s.mix_scratch) || !s.emb || !s.x ||
        !s.demb || !s.logits || !s.targets || !s.dlogits || !s.head_grad || !s.rates || !s.losses || !s.steps_x) {
        vc_fail(err, "out of memory for a batch of %d clips", B);
        goto done;
    }
    if (vc_classifier_label_ids(&s.cls, &s.data.ann, s.y_all, err)) goto done;
    vc_drop_path_schedule(s.rates, c->vision_layers, p->drop_path);

    vc_adamw_params op = vc_adamw_default_params();
    op.beta1 = p->beta1, op.beta2 = p->beta2, op.eps = p->eps, op.weight_decay = p->weight_decay, op.temp_min = 0;
    op.frozen[VC_TOWER_TEXT] = op.frozen[VC_TOWER_SHARED] = 1;
    op.frozen[VC_TOWER_VISION] = p->linear_probe;
    if (vc_adamw_init(&s.opt, &m->table, &op, err) ||
        vc_adamw_set_layer_decay(&s.opt, &m->table, c->vision_layers, p->layer_decay, err))
        goto done;
    vc_adamw_params hp = op;
    hp.frozen[VC_TOWER_VISION] = 0;
    if (head_table(&s.cls, &s.head_tab, err) || vc_adamw_init(&s.head_opt, &s.head_tab, &hp, err)) goto done;
    if (!p->linear_probe && vc_model_enable_grads(m, err)) goto done;
    vc_model_set_grad_checkpointing(m, p->grad_checkpointing);
    if (p->on_start) {
        const int all = vc_config_video_tokens(c);
        const vc_train_start st = {.steps = p->steps, .parameters = m->table.total, .batch = B, .all_tokens = all,
                                   .kept_tokens = all, .grad_checkpointing = p->grad_checkpointing,
                                   .unmasked_bytes = p->linear_probe ? 0 : vc_model_training_bytes(m, B, 0, all, 0, p->drop_path > 0, NULL)};
        p->on_start(&st, p->user);
    }

    /* A linear probe on preloaded clips sees each clip's features unchanged: encode them once. */
    if (p->linear_probe && !p->workers) {
        if (!(s.features = malloc((size_t)n * E * sizeof *s.features))) {
            vc_fail(err, "out of memory for the features of %d clips", n);
            goto done;
        }
        for (int i0 = 0; i0 < n; i0 += B) {
            const int nb = n - i0 < B ? n - i0 : B;
            for (int b = 0; b < nb; b++) vc_dataset_clip(&s.data, i0 + b, NULL, s.video + b * clip);
            if (vc_model_encode_video(m, s.video, nb, s.features + (size_t)i0 * E, err)) goto done;
        }
    }
    if (p->workers) {
        vc_loader_params lp = vc_loader_default_params(&pp);
        lp.clip.sampling = (vc_sampling)p->sampling, lp.clip.augment = p->augment, lp.clip.seed = p->seed;
        lp.workers = p->workers, lp.batch = B, lp.prefetch = p->prefetch, lp.substitute = 1;
        lp.item_at = item_at, lp.user = &s.order;
        if (!(s.loader = vc_loader_start(s.data.items, n, &lp, err))) goto done;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/train_log.jsonl", p->out_dir);
    if (!(s.log = fopen(path, "w"))) {
        vc_fail(err, "%s: %s", path, strerror(errno));
        goto done;
    }
    const double t0 = vc_now_s();
    double data_wait = 0;
    int n_skipped = s.data.n_skipped;
    for (int64_t step = 0; step < p->steps; step++) {
        const double lr = vc_cosine_lr(step, p->warmup, p->steps, p->lr, p->min_lr);
        vc_loader_batch lb = {0};
        if (s.loader && vc_train_next_streamed(s.loader, &s.data, B, p->on_warning, p->user, &data_wait, &n_skipped,
                                               &lb, err))
            goto done;
        for (int b = 0; b < B; b++) {
            const int i = s.loader ? lb.item[b] : vc_sample_order_index(&s.order, step * B + b);
            s.y[b] = s.y_all[i];
            if (s.features) memcpy(s.emb + (size_t)b * E, s.features + (size_t)i * E, E * sizeof *s.emb);
            else if (s.loader) vc_clip_normalize(&pp, lb.frames + (size_t)b * T * S * S * 3, NULL, s.video + b * clip);
            else vc_dataset_clip(&s.data, i, NULL, s.video + b * clip);
        }
        /* mixup: one weight per step from (seed, step), partners in reversed batch order (timm) */
        int mixed = 0;
        double lam = 1;
        if (p->mixup_alpha > 0) {
            vc_rng r = vc_rng_at(p->seed, VC_STREAM_AUGMENT, (uint64_t)step, UINT64_MAX);
            if (vc_rng_uniform(&r) < p->mixup_prob) {
                lam = vc_beta_sample(p->mixup_alpha, rng_uniform, rng_normal, &r);
                vc_mixup_rows(s.video, B, clip, lam, s.y, s.y2, s.mix_scratch);
                mixed = 1;
            }
        }
        vc_soft_targets(s.y, mixed ? s.y2 : NULL, lam, B, C, p->label_smoothing, s.targets);
        const vc_step_inputs in = {.video = s.video, .B = B, .K = vc_config_video_tokens(c),
                                   .drop_rates = p->drop_path > 0 ? s.rates : NULL, .seed = p->seed,
                                   .step = (uint64_t)step, .grad_scale = 1};
        if (!p->linear_probe) {
            vc_model_zero_grads(m);
            if (vc_model_video_forward_train(m, &in, s.emb, err)) goto done;
        } else if (!s.features) {
            if (vc_model_encode_video(m, s.video, B, s.emb, err)) goto done;
        }
        vc_head_forward(s.cls.w, s.cls.b, s.emb, B, E, C, s.x, s.logits);
        const double loss = vc_soft_cross_entropy(s.logits, s.targets, B, C, s.dlogits);
        if (!isfinite(loss)) {
            vc_fail(err, "loss became %g at step %" PRId64 " (lower the learning rate?)", loss, step);
            goto done;
        }
        memset(s.head_grad, 0, vc_classifier_head_elems(&s.cls) * sizeof *s.head_grad);
        vc_head_backward(s.cls.w, s.emb, s.x, s.dlogits, B, E, C, s.head_grad, s.head_grad + (size_t)C * E,
                         p->linear_probe ? NULL : s.demb);
        if (!p->linear_probe && vc_model_video_backward(m, &in, s.demb, err)) goto done;
        const double gm = p->linear_probe ? 0 : vc_grad_norm(&s.opt, &m->table, m->grads);
        const double gh = vc_grad_norm(&s.head_opt, &s.head_tab, s.head_grad);
        const double norm = sqrt(gm * gm + gh * gh);
        const double clip_scale = p->grad_clip_norm > 0 && norm > p->grad_clip_norm ? p->grad_clip_norm / norm : 1;
        if (!p->linear_probe) vc_adamw_step(&s.opt, &m->table, m->params, m->grads, lr, clip_scale, NULL);
        vc_adamw_step(&s.head_opt, &s.head_tab, s.cls.head, s.head_grad, lr, clip_scale, NULL);
        int correct = 0;
        for (int b = 0; b < B; b++) {
            int best = 0;
            for (int k = 1; k < C; k++)
                if (s.logits[(size_t)b * C + k] > s.logits[(size_t)b * C + best]) best = k;
            correct += best == s.y[b];
        }
        const double elapsed = vc_now_s() - t0;
        s.losses[step] = loss, s.steps_x[step] = (double)(step + 1);
        if (summary) *summary = (vc_train_summary){0, step + 1, n, n_skipped, elapsed, data_wait, loss, 0, 1, 0, 0};
        vc_train_progress pr = {.step = step + 1, .steps = p->steps, .loss = loss, .lr = lr, .grad_norm = norm,
                                .temp = m->p.temp[0], .samples_per_s = (step + 1) * (double)B / elapsed,
                                .elapsed_s = elapsed, .eta_s = elapsed / (step + 1) * (double)(p->steps - step - 1),
                                .masked = 0, .data_wait_s = data_wait};
        fprintf(s.log, "{\"step\":%" PRId64 ",\"loss\":%.6f,\"lr\":%.6g,\"grad_norm\":%.6g,\"batch_top1\":%.4f,"
                       "\"mixup_lambda\":%.4f,\"update_ratio_vision\":%.6g,\"elapsed_s\":%.2f,\"data_wait_s\":%.2f}\n",
                pr.step, loss, lr, norm, (double)correct / B, lam,
                p->linear_probe ? 0.0 : vc_adamw_update_ratio(&s.opt, VC_TOWER_VISION), elapsed, data_wait);
        if (p->on_progress && (pr.step % (p->progress_every > 0 ? p->progress_every : 1) == 0 || pr.step == p->steps))
            p->on_progress(&pr, p->user);
    }
    fflush(s.log);
    snprintf(path, sizeof path, "%s/model.safetensors", p->out_dir);
    if (vc_classifier_save(&s.cls, path, err) || write_plot(&s, p->steps, p->out_dir, err)) goto done;
    rc = 0;
done:
    ft_free(&s);
    vc_free_lines(classes, C);
    if (templates) vc_free_lines(templates, nt);
    return rc;
}
