#include "train/trainer.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/rng.h"
#include "io/fs.h"
#include "io/svg_plot.h"
#include "model/model_io.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/optimizer.h"

vc_train_params vc_train_default_params(void) {
    vc_train_params p = {0};
    p.cfg = vc_config_preset(VC_PRESET_DEMO);
    p.batch_size = 32;
    p.accum_freq = 1;
    p.steps = 1000;
    p.warmup = 100;
    p.lr = 5e-4;
    p.min_lr = 1e-6;
    p.weight_decay = 0.2;
    p.grad_clip_norm = 0;
    p.beta1 = 0.9;
    p.beta2 = 0.98;
    p.eps = 1e-6;
    p.mask_ratio = 0.9;
    p.unmasked_steps = 0;
    p.drop_path = 0;
    p.lr_mult_vision = 1;
    p.lr_mult_text = 1;
    p.temp_init = 0.01;
    p.temp_min = 0.01;
    p.seed = 0;
    p.progress_every = 10;
    p.workers = 0;
    p.prefetch = 2;
    p.sampling = VC_SAMPLE_RAND;
    p.augment = 1;
    p.clean_captions = 1;
    return p;
}

/* Sample order: epoch e visits a permutation drawn from (seed, e); the g-th sample drawn since
 * the start of training is a pure function of g, so resuming needs only the step. */
typedef struct {
    uint64_t seed;
    int n;
    int64_t epoch;
    int32_t *perm;
} sample_order;

static int order_index(sample_order *o, int64_t g) {
    int64_t e = g / o->n;
    if (e != o->epoch) {
        vc_rng r = vc_rng_at(o->seed, VC_STREAM_SHUFFLE, (uint64_t)e, 0);
        vc_rng_permutation(&r, o->perm, o->n);
        o->epoch = e;
    }
    return o->perm[g % o->n];
}

static void train_args_json(const vc_train_params *p, char *buf, size_t cap) {
    snprintf(buf, cap,
             "{\"batch_size\":%d,\"accum_freq\":%d,\"steps\":%" PRId64 ",\"warmup\":%" PRId64
             ",\"lr\":%g,\"min_lr\":%g,\"wd\":%g,\"grad_clip_norm\":%g,\"mask_ratio\":%g,"
             "\"unmasked_steps\":%" PRId64 ",\"drop_path\":%g,\"lr_mult_vision\":%g,"
             "\"lr_mult_text\":%g,\"freeze_text\":%d,\"temp_min\":%g,\"seed\":%" PRIu64 ",\"workers\":%d,"
             "\"sampling\":\"%s\",\"augment\":%d,\"clean_captions\":%d}",
             p->batch_size, p->accum_freq, p->steps, p->warmup, p->lr, p->min_lr, p->weight_decay,
             p->grad_clip_norm, p->mask_ratio, p->unmasked_steps, p->drop_path, p->lr_mult_vision,
             p->lr_mult_text, p->freeze_text, p->temp_min, p->seed, p->workers,
             p->workers ? vc_sampling_name((vc_sampling)p->sampling) : "middle", p->workers ? p->augment : 0, p->clean_captions);
}

static int write_loss_plot(const char *log_path, const char *svg_path, vc_error *err) {
    FILE *f = fopen(log_path, "r");
    if (!f) return vc_fail(err, "%s: %s", log_path, strerror(errno));
    size_t cap = 1024, n = 0;
    double *xs = malloc(cap * sizeof *xs), *ys = malloc(cap * sizeof *ys);
    char line[1024];
    while (xs && ys && fgets(line, sizeof line, f)) {
        double s, l;
        if (sscanf(line, "{\"step\":%lf,\"loss\":%lf", &s, &l) != 2) continue;
        if (n == cap) {
            cap *= 2;
            double *nx = realloc(xs, cap * sizeof *xs), *ny = realloc(ys, cap * sizeof *ys);
            if (nx) xs = nx;
            if (ny) ys = ny;
            if (!nx || !ny) break;
        }
        xs[n] = s, ys[n] = l, n++;
    }
    fclose(f);
    int rc = 0;
    double *smooth = malloc((n ? n : 1) * sizeof *smooth);
    if (!xs || !ys || !smooth) {
        rc = vc_fail(err, "out of memory plotting %s", log_path);
    } else {
        /* centred moving average over ~1/20 of the run (no lag, unlike an EMA) */
        const size_t half = n / 40;
        for (size_t i = 0; i < n; i++) {
            size_t lo = i > half ? i - half : 0, hi = i + half < n ? i + half : n - 1;
            double sum = 0;
            for (size_t k = lo; k <= hi; k++) sum += ys[k];
            smooth[i] = sum / (double)(hi - lo + 1);
        }
        const char *names[2] = {"loss", "smoothed"};
        const double *X[2] = {xs, xs}, *Y[2] = {ys, smooth};
        int lens[2] = {(int)n, (int)n};
        rc = vc_svg_plot_lines(svg_path, "ViCLIP training loss", "step", "contrastive loss", 2,
                               names, X, Y, lens, err);
    }
    free(xs), free(ys), free(smooth);
    return rc;
}

static int item_at_position(void *order, int64_t g) { return order_index(order, g); }

typedef struct {
    vc_dataset data;
    vc_loader *loader;  /* streaming only */
    vc_model *model;
    vc_adamw opt;
    vc_real *video;                 /* [accum * B] clips: every micro-batch of a step */
    int32_t *tokens, *ids, *keep;
    vc_real *emb, *demb, *loss_scratch; /* accumulation: embeddings and their gradients, video then text */
    vc_step_inputs *micro;
    double *rates;
    sample_order order;
    FILE *log;
} train_state;

static void state_free(train_state *s) {
    vc_loader_free(s->loader);
    vc_dataset_free(&s->data);
    vc_model_free(s->model);
    vc_adamw_free(&s->opt);
    free(s->video), free(s->tokens), free(s->ids), free(s->keep), free(s->rates), free(s->order.perm);
    free(s->emb), free(s->demb), free(s->loss_scratch), free(s->micro);
    if (s->log) fclose(s->log);
}

static int check_params(const vc_train_params *p, vc_error *err) {
    if (!p->train_annotations) return vc_fail(err, "no training annotations given");
    if (!p->out_dir) return vc_fail(err, "no output folder given");
    if (p->batch_size < 2) return vc_fail(err, "batch size %d: contrastive training needs at least 2", p->batch_size);
    if (p->accum_freq < 1) return vc_fail(err, "accum-freq %d must be at least 1", p->accum_freq);
    if (p->steps < 1) return vc_fail(err, "steps %" PRId64 " must be at least 1", p->steps);
    if (p->mask_ratio < 0 || p->mask_ratio >= 1) return vc_fail(err, "mask ratio %g must be in [0, 1)", p->mask_ratio);
    if (p->drop_path < 0 || p->drop_path >= 1) return vc_fail(err, "drop-path %g must be in [0, 1)", p->drop_path);
    if (p->workers < 0 || (p->workers > 0 && p->prefetch < 1)) return vc_fail(err, "workers %d / prefetch %d: need workers >= 0 and prefetch >= 1", p->workers, p->prefetch);
    if (!(p->lr > 0)) return vc_fail(err, "learning rate %g must be positive", p->lr);
    return 0;
}

int vc_train(const vc_train_params *p, const vc_tokenizer *tok, vc_train_summary *summary, vc_error *err) {
    if (summary) memset(summary, 0, sizeof *summary);
    if (check_params(p, err)) return -1;
    train_state s;
    memset(&s, 0, sizeof s);
    int rc = -1;
    int64_t start = 0;
    uint64_t seed = p->seed;
    vc_adamw_params op = vc_adamw_default_params();
    op.beta1 = p->beta1, op.beta2 = p->beta2, op.eps = p->eps, op.weight_decay = p->weight_decay;
    op.lr_mult[VC_TOWER_VISION] = p->lr_mult_vision;
    op.lr_mult[VC_TOWER_TEXT] = p->lr_mult_text;
    op.frozen[VC_TOWER_TEXT] = p->freeze_text;
    op.temp_min = p->temp_min;
    if (vc_mkdir_p(p->out_dir, err)) goto done;
    if (p->resume) {
        s.model = vc_checkpoint_load(p->resume, &s.opt, &op, &start, &seed, err);
        if (!s.model) goto done;
    } else {
        if (p->init_model) {
            s.model = vc_model_load(p->init_model, NULL, err);
        } else {
            s.model = vc_model_new(&p->cfg, err);
            if (s.model) vc_model_init_random(s.model, seed, p->temp_init);
            if (s.model && p->temporal_init_std > 0) vc_model_init_temporal(s.model, seed, p->temporal_init_std);
        }
        if (!s.model || vc_adamw_init(&s.opt, &s.model->table, &op, err)) goto done;
    }
    vc_model *m = s.model;
    const vc_config *c = &m->cfg;
    if (tok && c->vocab_size < 49408) {
        vc_fail(err, "the model's vocabulary (%d) is smaller than the CLIP tokenizer's (49408)", c->vocab_size);
        goto done;
    }
    vc_preprocess pp = vc_preprocess_default(c->num_frames, c->image_size);
    const vc_dataset_opts dopts = {.clean_captions = p->clean_captions};
    if (vc_dataset_open(&s.data, p->train_annotations, &pp, tok, c->context_length, &dopts, err)) goto done;
    if (!p->workers && vc_dataset_preload(&s.data, 0, err)) goto done;
    if (vc_dataset_set_positives(&s.data, (vc_positives)p->positives, err)) goto done;
    for (int i = 0; i < s.data.n_skipped && p->on_warning; i++) p->on_warning(s.data.skipped[i], p->user);
    int n_skipped = s.data.n_skipped;
    double data_wait = 0;
    const int B = p->batch_size, T = c->num_frames, S = c->image_size, N_tok = vc_config_video_tokens(c);
    const int K_masked = vc_config_kept_tokens(c, p->mask_ratio);
    const size_t clip = (size_t)T * 3 * S * S;
    const int A = p->accum_freq, E = c->embed_dim;
    s.video = malloc((size_t)A * B * clip * sizeof(vc_real));
    s.tokens = malloc((size_t)A * B * c->context_length * sizeof(int32_t));
    s.ids = malloc((size_t)A * B * sizeof(int32_t));
    s.keep = malloc((size_t)A * B * N_tok * sizeof(int32_t));
    s.micro = malloc((size_t)A * sizeof *s.micro);
    if (A > 1) {
        s.emb = malloc((size_t)2 * A * B * E * sizeof(vc_real));
        s.demb = malloc((size_t)2 * A * B * E * sizeof(vc_real));
        s.loss_scratch = malloc(vc_contrastive_scratch_elems(A * B, A * B, E) * sizeof(vc_real));
        if (!s.emb || !s.demb || !s.loss_scratch) {
            vc_fail(err, "out of memory for %d accumulated micro-batches of %d clips", A, B);
            goto done;
        }
    }
    s.rates = malloc((size_t)c->vision_layers * sizeof(double));
    s.order = (sample_order){seed, s.data.n, -1, malloc((size_t)s.data.n * sizeof(int32_t))};
    if (!s.video || !s.tokens || !s.ids || !s.keep || !s.micro || !s.rates || !s.order.perm) {
        vc_fail(err, "out of memory for a batch of %d clips", B);
        goto done;
    }
    if (p->workers) {
        vc_loader_params lp = vc_loader_default_params(&pp);
        lp.clip.sampling = (vc_sampling)p->sampling, lp.clip.augment = p->augment, lp.clip.seed = seed;
        lp.workers = p->workers, lp.batch = B, lp.prefetch = p->prefetch, lp.substitute = 1;
        lp.first_batch = start * p->accum_freq; /* batch number = micro-batch counter */
        lp.item_at = item_at_position, lp.user = &s.order;
        if (!(s.loader = vc_loader_start(s.data.items, s.data.n, &lp, err))) goto done;
    }
    vc_drop_path_schedule(s.rates, c->vision_layers, p->drop_path);
    char path[4096], args[1024];
    train_args_json(p, args, sizeof args);
    snprintf(path, sizeof path, "%s/train_log.jsonl", p->out_dir);
    s.log = fopen(path, start ? "a" : "w");
    if (!s.log) {
        vc_fail(err, "%s: %s", path, strerror(errno));
        goto done;
    }
    const int64_t end = p->stop_after > 0 && p->stop_after < p->steps ? p->stop_after : p->steps;
    const double t0 = vc_now_s();
    for (int64_t step = start; step < end; step++) {
        const double lr = vc_cosine_lr(step, p->warmup, p->steps, p->lr, p->min_lr);
        const int masked = p->mask_ratio > 0 && step < p->steps - p->unmasked_steps;
        const int K = masked ? K_masked : N_tok;
        vc_model_zero_grads(m);
        for (int micro = 0; micro < A; micro++) {
            const uint64_t draw = (uint64_t)step * A + micro; /* micro-batch counter */
            vc_real *video = s.video + (size_t)micro * B * clip;
            int32_t *tokens = s.tokens + (size_t)micro * B * c->context_length, *ids = s.ids + (size_t)micro * B;
            int32_t *keep = s.keep + (size_t)micro * B * N_tok;
            vc_loader_batch lb = {0};
            if (s.loader) {
                if (vc_loader_next(s.loader, &lb, err)) goto done;
                data_wait += lb.wait_s;
                for (int k = 0; k < lb.n_failed; k++, n_skipped++) {
                    char msg[2048];
                    snprintf(msg, sizeof msg, "%s:%ld: %s (replaced by the next readable clip)", s.data.ann.source,
                             s.data.ann.items[lb.failed[k].item].line, lb.failed[k].msg);
                    if (p->on_warning) p->on_warning(msg, p->user);
                }
                if (lb.n != B) {
                    vc_fail(err, "the loader returned %d clips for a batch of %d", lb.n, B);
                    goto done;
                }
            }
            for (int b = 0; b < B; b++) {
                int i = s.loader ? lb.item[b] : order_index(&s.order, (int64_t)draw * B + b);
                if (s.loader) vc_clip_normalize(&pp, lb.frames + (size_t)b * T * S * S * 3, NULL, video + b * clip);
                else vc_dataset_clip(&s.data, i, NULL, video + b * clip);
                memcpy(tokens + (size_t)b * c->context_length, s.data.tokens + (size_t)i * c->context_length,
                       (size_t)c->context_length * sizeof(int32_t));
                ids[b] = s.data.group[i];
            }
            if (masked) vc_vision_sample_keep(keep, B, N_tok, K, seed, draw);
            s.micro[micro] = (vc_step_inputs){.video = video, .tokens = tokens, .ids = ids,
                                              .keep = masked ? keep : NULL, .B = B, .K = K,
                                              .drop_rates = p->drop_path > 0 ? s.rates : NULL, .seed = seed,
                                              .step = draw, .train_text = !p->freeze_text, .grad_scale = 1};
        }
        double loss;
        if (A == 1) {
            if (vc_model_forward_backward(m, &s.micro[0], &loss, err)) goto done;
        } else {
            /* open_clip's --accum-freq: every clip of the step is a negative of every other, as in
             * one batch of A*B; the forward runs twice, activations are kept for one micro-batch */
            const size_t BE = (size_t)B * E, all = (size_t)A * BE;
            for (int micro = 0; micro < A; micro++)
                if (vc_model_step_embeddings(m, &s.micro[micro], s.emb + micro * BE, s.emb + all + micro * BE, err)) goto done;
            vc_real dtemp;
            loss = vc_contrastive_loss(s.emb, s.emb + all, s.ids, A * B, E, m->p.temp[0], s.demb, s.demb + all, &dtemp,
                                       s.loss_scratch);
            for (int micro = 0; micro < A; micro++)
                if (vc_model_backward_from(m, &s.micro[micro], s.demb + micro * BE, s.demb + all + micro * BE, err)) goto done;
            m->g.temp[0] += dtemp;
        }
        if (!isfinite(loss)) {
            vc_fail(err, "loss became %g at step %" PRId64 " (lower the learning rate?)", loss, step);
            goto done;
        }
        const double norm = vc_grad_norm(&s.opt, &m->table, m->grads);
        const double clip_scale = p->grad_clip_norm > 0 && norm > p->grad_clip_norm ? p->grad_clip_norm / norm : 1;
        vc_adamw_step(&s.opt, &m->table, m->params, m->grads, lr, clip_scale, m->p.temp);
        const double elapsed = vc_now_s() - t0;
        if (summary) *summary = (vc_train_summary){start, step + 1, s.data.n, n_skipped, elapsed, data_wait, loss};
        const int64_t done_steps = step + 1 - start;
        vc_train_progress pr = {.step = step + 1, .steps = p->steps, .loss = loss, .lr = lr,
                                .grad_norm = norm, .temp = m->p.temp[0],
                                .samples_per_s = done_steps * (double)B * p->accum_freq / elapsed,
                                .elapsed_s = elapsed,
                                .eta_s = elapsed / done_steps * (double)(p->steps - step - 1),
                                .masked = masked, .data_wait_s = data_wait};
        fprintf(s.log, "{\"step\":%" PRId64 ",\"loss\":%.6f,\"lr\":%.6g,\"grad_norm\":%.6g,\"temp\":%.6g,"
                       "\"masked\":%d,\"samples_per_s\":%.2f,\"elapsed_s\":%.2f,\"data_wait_s\":%.2f}\n",
                pr.step, loss, lr, norm, pr.temp, masked, pr.samples_per_s, elapsed, data_wait);
        if (p->on_progress && (pr.step % (p->progress_every > 0 ? p->progress_every : 1) == 0 || pr.step == end))
            p->on_progress(&pr, p->user);
        if ((p->save_every > 0 && pr.step % p->save_every == 0) || pr.step == end) {
            fflush(s.log);
            snprintf(path, sizeof path, "%s/checkpoint.safetensors", p->out_dir);
            if (vc_checkpoint_save(path, m, &s.opt, pr.step, seed, args, err)) goto done;
        }
    }
    fflush(s.log);
    if (end == p->steps) {
        snprintf(path, sizeof path, "%s/model.safetensors", p->out_dir);
        if (vc_model_save(m, path, VC_DT_F32, err)) goto done;
    }
    char svg[4096];
    snprintf(path, sizeof path, "%s/train_log.jsonl", p->out_dir);
    snprintf(svg, sizeof svg, "%s/loss.svg", p->out_dir);
    if (write_loss_plot(path, svg, err)) goto done;
    rc = 0;
done:
    state_free(&s);
    return rc;
}
