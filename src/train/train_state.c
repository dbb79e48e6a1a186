#include "train/train_state.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dist/collectives.h"
#include "io/fs.h"
#include "model/model_io.h"
#include "model/model_open.h"
#include "train/checkpoint.h"
#include "train/start_model.h"

static int check_params(const vc_train_params *p, vc_error *err) {
    if (!p->train_annotations) return vc_fail(err, "no training annotations given");
    if (!p->out_dir) return vc_fail(err, "no output folder given");
    if (p->resume && (p->init_model || p->init_vision || p->init_text))
        return vc_fail(err, "--resume continues a run: it cannot be combined with --init, --init-vision or --init-text");
    if (p->batch_size < 2) return vc_fail(err, "batch size %d: contrastive training needs at least 2", p->batch_size);
    if (p->accum_freq < 1) return vc_fail(err, "accum-freq %d must be at least 1", p->accum_freq);
    if (p->steps < 1) return vc_fail(err, "steps %" PRId64 " must be at least 1", p->steps);
    if (p->mask_ratio < 0 || p->mask_ratio >= 1) return vc_fail(err, "mask ratio %g must be in [0, 1)", p->mask_ratio);
    if (p->drop_path < 0 || p->drop_path >= 1) return vc_fail(err, "drop-path %g must be in [0, 1)", p->drop_path);
    if (p->workers < 0 || (p->workers > 0 && p->prefetch < 1)) return vc_fail(err, "workers %d / prefetch %d: need workers >= 0 and prefetch >= 1", p->workers, p->prefetch);
    if (!(p->lr > 0)) return vc_fail(err, "learning rate %g must be positive", p->lr);
    if (p->balance_target < 0) return vc_fail(err, "--balance-target %g must be positive", p->balance_target);
    if (p->new_branch_warmup < 0) return vc_fail(err, "--new-branch-warmup %" PRId64 " must be >= 0", p->new_branch_warmup);
    if (p->balance && p->freeze_text) return vc_fail(err, "--balance auto balances two training towers, but the text tower is frozen");
    double layer_sum = 0;
    for (int i = 0; i < p->align_n_layers && i < VC_ALIGN_MAX_LAYERS; i++) {
        if (!(p->align_layer_weights[i] >= 0))
            return vc_fail(err, "--align-weights: the weight %g of layer %d must be non-negative", p->align_layer_weights[i],
                           p->align_layers[i]);
        layer_sum += p->align_layer_weights[i];
    }
    if (!(p->align_global >= 0 && p->align_frame >= 0 && p->align_global + p->align_frame + layer_sum > 0))
        return vc_fail(err, "alignment weights (global %g, frame %g) must be non-negative and not all 0",
                       p->align_global, p->align_frame);
    if (p->align_frame > 0 && p->accum_freq > 1)
        return vc_fail(err, "the frame-level alignment needs accum-freq 1 (got %d)", p->accum_freq);
    if (p->align_frame > 0 && p->dist && p->dist->size > 1)
        return vc_fail(err, "the frame-level alignment is not supported in data-parallel training (%d ranks)", p->dist->size);
    if (p->align_n_layers < 0 || p->align_n_layers > VC_ALIGN_MAX_LAYERS)
        return vc_fail(err, "--align: %d layers (at most %d)", p->align_n_layers, VC_ALIGN_MAX_LAYERS);
    if (p->align_n_layers && p->accum_freq > 1)
        return vc_fail(err, "--align layers=...: the layer-level alignment needs accum-freq 1 (got %d)", p->accum_freq);
    if (p->device != VC_DEVICE_CPU) {
        const char *dev = vc_device_kind_name((vc_device_kind)p->device);
        if (p->accum_freq > 1)
            return vc_fail(err, "--device %s: --accum-freq %d is not supported on the device yet (use a larger "
                                "--batch-size, or --device cpu)", dev, p->accum_freq);
        if (p->dist && p->dist->size > 1)
            return vc_fail(err, "--device %s: data-parallel training (%d ranks) runs on the CPU", dev, p->dist->size);
        if (p->align_frame > 0 || p->align_n_layers)
            return vc_fail(err, "--device %s: --align trains the global level only on the device (frame and layer "
                                "levels run with --device cpu)", dev);
        if (p->grad_checkpointing)
            return vc_fail(err, "--device %s: --grad-checkpointing recomputes activations on the CPU's training path "
                                "only (the device keeps every block's activations; use --device cpu or drop the flag)", dev);
    }
    if (p->align_n_layers && p->dist && p->dist->size > 1)
        return vc_fail(err, "--align layers=...: the layer-level alignment is not supported in data-parallel training (%d ranks)",
                       p->dist->size);
    return 0;
}

/* Every setting a resumed run must repeat is here (the CLI checks --resume against it);
 * numbers are written exactly (%.17g) so they read back as the same doubles. batch_size is the
 * global batch (per rank x ranks), which a resumed run keeps whatever its number of ranks. */
static void train_args_json(const vc_train_params *p, char *buf, size_t cap) {
    snprintf(buf, cap,
             "{\"batch_size\":%d,\"accum_freq\":%d,\"steps\":%" PRId64 ",\"warmup\":%" PRId64
             ",\"lr\":%.17g,\"min_lr\":%.17g,\"wd\":%.17g,\"grad_clip_norm\":%.17g,\"mask_ratio\":%.17g,"
             "\"unmasked_steps\":%" PRId64 ",\"drop_path\":%.17g,\"lr_mult_vision\":%.17g,"
             "\"lr_mult_text\":%.17g,\"freeze_text\":%d,\"temp_min\":%.17g,\"beta1\":%.17g,\"beta2\":%.17g,"
             "\"eps\":%.17g,\"positives\":\"%s\",\"seed\":%" PRIu64 ",\"workers\":%d,"
             "\"sampling\":\"%s\",\"augment\":%d,\"clean_captions\":%d,\"align_global\":%.17g,\"align_frame\":%.17g,"
             "\"align\":\"%s\",\"align_weights\":\"%s\"}",
             p->batch_size * (p->dist ? p->dist->size : 1), p->accum_freq, p->steps, p->warmup, p->lr, p->min_lr,
             p->weight_decay, p->grad_clip_norm, p->mask_ratio, p->unmasked_steps, p->drop_path, p->lr_mult_vision,
             p->lr_mult_text, p->freeze_text, p->temp_min, p->beta1, p->beta2, p->eps,
             vc_positives_name((vc_positives)p->positives), p->seed, p->workers,
             p->workers ? vc_sampling_name((vc_sampling)p->sampling) : "middle", p->workers ? p->augment : 0, p->clean_captions,
             p->align_global, p->align_frame, p->align_spec ? p->align_spec : "global",
             p->align_weights_spec ? p->align_weights_spec : "");
}

/* The layer-level heads the run asks for: checked against the towers' depth; a new run gains
 * or drops heads to match, a resumed one must already have exactly them. */
static int set_align_heads(vc_train_state *s, vc_error *err) {
    const vc_train_params *p = s->p;
    vc_model *m = s->model;
    if (vc_align_check_layers(&s->align, &m->cfg, err)) return -1;
    if (vc_model_heads_match(m, &s->align)) return 0;
    if (p->resume) {
        char have[128], want[128];
        vc_model_heads_format(m, have, sizeof have);
        vc_align_layers_format(&s->align, want, sizeof want);
        return vc_fail(err, "--align layers=%s contradicts the checkpoint %s, whose alignment heads are at layers %s: a "
                            "resumed run keeps them", want[0] ? want : "(none)", p->resume, have);
    }
    if (m->p.n_heads && p->on_warning && s->rank == 0) {
        char have[128], want[128], line[512];
        vc_model_heads_format(m, have, sizeof have);
        vc_align_layers_format(&s->align, want, sizeof want);
        snprintf(line, sizeof line, "the starting model's alignment heads at layers %s are replaced by those --align asks "
                                    "for (%s); heads kept only where the layers match", have, want[0] ? want : "none");
        p->on_warning(line, p->user);
    }
    /* the optimizer's moments are laid out over the parameters: rebuilt with them */
    vc_adamw_params op = s->opt.p;
    vc_adamw_free(&s->opt);
    if (vc_model_set_align_heads(m, s->align.layers, s->align.n_layers, err)) return -1;
    return vc_adamw_init(&s->opt, &m->table, &op, err);
}

/* The model and optimizer: resumed from a checkpoint, or a new run from a model file or a seed. */
static int open_model(vc_train_state *s, vc_error *err) {
    const vc_train_params *p = s->p;
    vc_adamw_params op = vc_adamw_default_params();
    op.beta1 = p->beta1, op.beta2 = p->beta2, op.eps = p->eps, op.weight_decay = p->weight_decay;
    op.lr_mult[VC_TOWER_VISION] = p->lr_mult_vision;
    op.lr_mult[VC_TOWER_TEXT] = p->lr_mult_text;
    op.frozen[VC_TOWER_TEXT] = p->freeze_text;
    op.temp_min = p->temp_min;
    if (p->resume) {
        s->model = vc_checkpoint_load(p->resume, &s->opt, &op, &s->start, &s->seed, err);
        return s->model ? 0 : -1;
    }
    if (p->init_model && !p->init_vision && !p->init_text) {
        vc_model_source src;
        s->model = vc_model_open(p->init_model, NULL, &src, err); /* any checkpoint format */
        if (s->model && src.imported && p->on_warning) {
            char line[1024];
            vc_model_source_describe(p->init_model, &src, line, sizeof line);
            p->on_warning(line, p->user);
        }
    } else {
        const vc_start_model sm = {p->init_model, p->init_vision, p->init_text, p->cfg, s->seed, p->temp_init,
                                   p->temporal_init_std};
        s->model = vc_start_model_build(&sm, &s->new_towers, err);
        /* loaded weights are checked on load; random ones must be too, or a NaN would later be
         * blamed on the learning rate */
        if (s->model && s->new_towers &&
            vc_params_check_finite(&s->model->table, s->model->params, "random initialisation:", err))
            return -1;
    }
    return !s->model || vc_adamw_init(&s->opt, &s->model->table, &op, err) ? -1 : 0;
}

static int item_at_position(void *order, int64_t g) { return vc_sample_order_index(order, g); }

/* The training set, preloaded (workers = 0) or streamed by a loader starting at the resumed step. */
static int open_data(vc_train_state *s, const vc_tokenizer *tok, vc_error *err) {
    const vc_train_params *p = s->p;
    const vc_config *c = &s->model->cfg;
    s->pp = vc_preprocess_default(c->num_frames, c->image_size);
    const vc_dataset_opts dopts = {.clean_captions = p->clean_captions, .annotations = p->annotation};
    if (vc_dataset_open(&s->data, p->train_annotations, &s->pp, tok, c->context_length, &dopts, err)) return -1;
    if (!p->workers && vc_dataset_preload(&s->data, 0, err)) return -1;
    if (vc_dataset_set_positives(&s->data, (vc_positives)p->positives, err)) return -1;
    for (int i = 0; i < s->data.n_skipped && p->on_warning; i++) p->on_warning(s->data.skipped[i], p->user);
    s->n_skipped = s->data.n_skipped;
    s->order = (vc_sample_order){s->seed, s->data.n, -1, malloc((size_t)s->data.n * sizeof(int32_t))};
    if (!s->order.perm) return vc_fail(err, "out of memory for the sample order of %d clips", s->data.n);
    if (p->workers) {
        vc_loader_params lp = vc_loader_default_params(&s->pp);
        lp.clip.sampling = (vc_sampling)p->sampling, lp.clip.augment = p->augment, lp.clip.seed = s->seed;
        lp.workers = p->workers, lp.batch = s->B, lp.prefetch = p->prefetch, lp.substitute = 1;
        lp.first_batch = s->start * p->accum_freq; /* batch number = micro-batch counter */
        lp.item_at = item_at_position, lp.user = &s->order;
        lp.global_batch = (int64_t)s->ranks * s->B, lp.shard_offset = (int64_t)s->rank * s->B; /* this rank's shard */
        if (!(s->loader = vc_loader_start(s->data.items, s->data.n, &lp, err))) return -1;
    }
    return 0;
}

/* Buffers for every micro-batch of a step, and for the whole-step loss when accumulating. */
static int plan_buffers(vc_train_state *s, vc_error *err) {
    const vc_config *c = &s->model->cfg;
    const int A = s->A, B = s->B, E = c->embed_dim;
    s->video = malloc((size_t)A * B * s->clip * sizeof(vc_real));
    s->tokens = malloc((size_t)A * B * c->context_length * sizeof(int32_t));
    s->ids = malloc((size_t)A * B * sizeof(int32_t));
    s->keep = malloc((size_t)A * B * s->N_tok * sizeof(int32_t));
    s->keep_global = malloc((size_t)s->ranks * B * s->N_tok * sizeof(int32_t));
    s->micro = malloc((size_t)A * sizeof *s->micro);
    s->rates = malloc((size_t)c->vision_layers * sizeof(double));
    if (!s->video || !s->tokens || !s->ids || !s->keep || !s->keep_global || !s->micro || !s->rates)
        return vc_fail(err, "out of memory for a batch of %d clips", B);
    if (A > 1) {
        s->emb = malloc((size_t)2 * A * B * E * sizeof(vc_real));
        s->demb = malloc((size_t)2 * A * B * E * sizeof(vc_real));
        s->loss_scratch = malloc(vc_contrastive_scratch_elems(A * B, A * B, E) * sizeof(vc_real));
        if (!s->emb || !s->demb || !s->loss_scratch)
            return vc_fail(err, "out of memory for %d accumulated micro-batches of %d clips", A, B);
    }
    vc_drop_path_schedule(s->rates, c->vision_layers, s->p->drop_path);
    if (s->ranks > 1) {
        const int frozen[3] = {0, s->p->freeze_text, 0};
        return vc_data_parallel_init(&s->dp, s->p->dist, s->model, A, B, frozen, s->p->local_loss, err);
    }
    return 0;
}

int vc_train_state_open(vc_train_state *s, const vc_train_params *p, const vc_tokenizer *tok, vc_error *err) {
    memset(s, 0, sizeof *s);
    s->log.fd = -1;
    s->p = p;
    s->seed = p->seed;
    s->align = (vc_align_weights){.global = p->align_global, .frame = p->align_frame, .n_layers = p->align_n_layers};
    for (int i = 0; i < p->align_n_layers && i < VC_ALIGN_MAX_LAYERS; i++)
        s->align.layers[i] = p->align_layers[i], s->align.layer_weight[i] = p->align_layer_weights[i];
    s->rank = p->dist ? p->dist->rank : 0, s->ranks = p->dist ? p->dist->size : 1;
    if (s->ranks > 1) snprintf(s->who, sizeof s->who, "rank %d: ", s->rank);
    if (check_params(p, err) || (s->rank == 0 && vc_mkdir_p(p->out_dir, err)) || open_model(s, err) ||
        set_align_heads(s, err))
        return -1;
    vc_model_set_precision(s->model, (vc_precision)p->precision);
    /* a training device takes the parameters and the optimizer's moments (new or resumed) */
    if (p->device != VC_DEVICE_CPU &&
        (vc_model_enable_grads(s->model, err) || vc_model_use_device(s->model, (vc_device_kind)p->device, err) ||
         vc_device_train_open(s->model->device, s->model, &s->opt, err)))
        return -1;
    vc_model_set_grad_checkpointing(s->model, p->grad_checkpointing);
    const vc_config *c = &s->model->cfg;
    if (tok && c->vocab_size < 49408)
        return vc_fail(err, "the model's vocabulary (%d) is smaller than the CLIP tokenizer's (49408)", c->vocab_size);
    s->B = p->batch_size, s->A = p->accum_freq;
    s->N_tok = vc_config_video_tokens(c);
    s->K_masked = vc_config_kept_tokens(c, p->mask_ratio);
    s->clip = (size_t)c->num_frames * 3 * c->image_size * c->image_size;
    if (open_data(s, tok, err) || plan_buffers(s, err)) return -1;
    s->balance = vc_balance_new(p->balance, p->balance_target, p->lr_mult_vision, p->lr_mult_text);
    train_args_json(p, s->args, sizeof s->args);
    if (s->rank) return 0; /* rank 0 writes the files */
    char path[4096];
    snprintf(path, sizeof path, "%s/train_log.jsonl", p->out_dir);
    return vc_jsonl_log_open(&s->log, path, s->start, err);
}

void vc_train_state_free(vc_train_state *s) {
    vc_loader_free(s->loader);
    vc_dataset_free(&s->data);
    vc_model_free(s->model);
    vc_adamw_free(&s->opt);
    free(s->video), free(s->tokens), free(s->ids), free(s->keep), free(s->rates), free(s->order.perm);
    free(s->emb), free(s->demb), free(s->loss_scratch), free(s->micro), free(s->keep_global);
    vc_data_parallel_free(&s->dp);
    vc_jsonl_log_close(&s->log);
    memset(s, 0, sizeof *s);
    s->log.fd = -1;
}
