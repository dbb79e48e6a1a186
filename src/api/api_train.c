/* The public API over training: architectures, checkpoint metadata, data-parallel processes
 * and whole runs (train, pretrain, finetune). Parameters are translated field by field; the
 * defaults are the internal ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/context.h"
#include "dist/collectives.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/align.h"
#include "model/config.h"
#include "model/umt.h"
#include "train/dataset.h"
#include "train/finetune.h"
#include "train/pretrain.h"
#include "train/trainer.h"
#include "video/sampling.h"

#define pass_error vc_api_pass_error
#define fail vc_api_fail

/* ---- architectures -------------------------------------------------------------------------- */

#define CONFIG_FIELDS(X)                                                                                               \
    X(image_size) X(patch_size) X(num_frames) X(vision_width) X(vision_layers) X(vision_heads) X(context_length)      \
    X(vocab_size) X(text_width) X(text_layers) X(text_heads) X(embed_dim)

static struct viclip_config config_out(const vc_config *c) {
    struct viclip_config o;
#define COPY(f) o.f = c->f;
    CONFIG_FIELDS(COPY)
#undef COPY
    return o;
}

static vc_config config_in(const struct viclip_config *c) {
    vc_config o;
#define COPY(f) o.f = c->f;
    CONFIG_FIELDS(COPY)
#undef COPY
    return o;
}

int viclip_config_preset(const char *name, struct viclip_config *out, viclip_error *err) {
    vc_error e;
    vc_config c;
    if (vc_config_from_name(name, &c, &e)) return pass_error(&e, err), -1;
    *out = config_out(&c);
    return 0;
}

int viclip_config_validate(const struct viclip_config *c, viclip_error *err) {
    vc_error e;
    const vc_config v = config_in(c);
    if (vc_config_validate(&v, &e)) return pass_error(&e, err), -1;
    return 0;
}

/* ---- checkpoint metadata -------------------------------------------------------------------- */

struct viclip_checkpoint {
    vc_safetensors *st;
    char path[4096];
    vc_json *train_args;
};

viclip_checkpoint *viclip_checkpoint_open(const char *path, viclip_error *err) {
    vc_error e;
    viclip_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck) return fail(err, "%s: out of memory", path ? path : ""), NULL;
    if (!(ck->st = vc_st_open(path, &e))) {
        free(ck);
        return pass_error(&e, err), NULL;
    }
    snprintf(ck->path, sizeof ck->path, "%s", path);
    return ck;
}

void viclip_checkpoint_close(viclip_checkpoint *ck) {
    if (!ck) return;
    vc_json_free(ck->train_args);
    vc_st_close(ck->st);
    free(ck);
}

int viclip_checkpoint_config(const viclip_checkpoint *ck, struct viclip_config *out, viclip_error *err) {
    vc_error e;
    vc_config c;
    const char *json = vc_st_meta(ck->st, "config");
    if (!json)
        return fail(err, "%s: no 'config' metadata (not a viclip model file; convert it with `viclip convert`)", ck->path);
    if (vc_config_from_json(json, &c, &e)) return pass_error(&e, err), -1;
    *out = config_out(&c);
    return 0;
}

const char *viclip_checkpoint_meta(const viclip_checkpoint *ck, const char *key) { return vc_st_meta(ck->st, key); }

int viclip_checkpoint_has_train_args(viclip_checkpoint *ck, viclip_error *err) {
    if (ck->train_args) return 1;
    const char *args = vc_st_meta(ck->st, "train_args");
    if (!args) return 0;
    vc_error e;
    if (!(ck->train_args = vc_json_parse(args, strlen(args), &e))) {
        vc_fail_ctx(&e, "%s: metadata 'train_args'", ck->path);
        return pass_error(&e, err), -1;
    }
    return 1;
}

struct viclip_value viclip_checkpoint_train_arg(const viclip_checkpoint *ck, const char *key) {
    struct viclip_value v = {0};
    const vc_json *j = ck->train_args ? vc_json_get(ck->train_args, key) : NULL;
    if (!j) return v;
    if (vc_json_type(j) == VC_JSON_NUMBER) {
        v.kind = VICLIP_VALUE_NUMBER, v.number = vc_json_number(j);
        v.is_int64 = !vc_json_as_int64(j, &v.int64);
    } else if ((v.string = vc_json_string(j))) {
        v.kind = VICLIP_VALUE_STRING;
    } else {
        v.kind = VICLIP_VALUE_OTHER;
    }
    return v;
}

/* ---- data-parallel processes ---------------------------------------------------------------- */

viclip_dist *viclip_dist_init(int *argc, char ***argv, double timeout_s, viclip_error *err) {
    vc_error e;
    vc_dist *d = vc_dist_init(argc, argv, timeout_s, &e);
    if (!d) pass_error(&e, err);
    return (viclip_dist *)d;
}

int viclip_dist_rank(const viclip_dist *d) { return ((const vc_dist *)d)->rank; }
int viclip_dist_size(const viclip_dist *d) { return ((const vc_dist *)d)->size; }
int viclip_dist_local_size(const viclip_dist *d) { return ((const vc_dist *)d)->local_size; }
void viclip_dist_abort(viclip_dist *d, int code) { vc_dist_abort((vc_dist *)d, code); }
void viclip_dist_free(viclip_dist *d) { vc_dist_free((vc_dist *)d); }

/* ---- callbacks ------------------------------------------------------------------------------ */

static void progress_bridge(const vc_train_progress *p, void *user) {
    const struct viclip_run_callbacks *cb = user;
    const struct viclip_run_progress o = {.step = p->step, .steps = p->steps, .loss = p->loss, .lr = p->lr,
                                          .grad_norm = p->grad_norm, .temp = p->temp, .samples_per_s = p->samples_per_s,
                                          .elapsed_s = p->elapsed_s, .eta_s = p->eta_s, .masked = p->masked,
                                          .data_wait_s = p->data_wait_s};
    if (cb->on_progress) cb->on_progress(&o, cb->user);
}

static void start_bridge(const vc_train_start *s, void *user) {
    const struct viclip_run_callbacks *cb = user;
    const struct viclip_run_start o = {.first_step = s->first_step, .steps = s->steps, .parameters = s->parameters,
                                       .batch = s->batch, .masked_activation_bytes = s->masked_bytes,
                                       .unmasked_activation_bytes = s->unmasked_bytes, .kept_tokens = s->kept_tokens,
                                       .all_tokens = s->all_tokens, .grad_checkpointing = s->grad_checkpointing};
    if (cb->on_start) cb->on_start(&o, cb->user);
}

static void warning_bridge(const char *msg, void *user) {
    const struct viclip_run_callbacks *cb = user;
    if (cb->on_warning) cb->on_warning(msg, cb->user);
}

static void summary_out(const vc_train_summary *s, struct viclip_run_summary *o) {
    if (!o) return;
    *o = (struct viclip_run_summary){.first_step = s->first_step, .last_step = s->last_step, .n_clips = s->n_clips,
                                     .n_skipped = s->n_skipped, .elapsed_s = s->elapsed_s, .data_wait_s = s->data_wait_s,
                                     .final_loss = s->final_loss, .stopped = s->stopped, .ranks = s->ranks,
                                     .comm_wait_s = s->comm_wait_s, .comm_busy_s = s->comm_busy_s};
}

/* The installed vocabulary unless the caller brings a tokenizer; *owned is freed after. */
static const vc_tokenizer *run_tokenizer(const viclip_tokenizer *given, vc_tokenizer **owned, vc_error *e) {
    *owned = NULL;
    if (given) return (const vc_tokenizer *)given;
    char found[4096];
    if (vc_tokenizer_find_vocab(found, sizeof found, e)) return NULL;
    return *owned = vc_tokenizer_load(found, e);
}

/* A run of the trainer behind fn (train, pretrain, finetune) once its parameters t are made
 * (rc: whether making them failed): the tokenizer, the run, the summary, the error. */
typedef int (*run_fn)(const void *t, const vc_tokenizer *tok, vc_train_summary *s, vc_error *e);

static int run(run_fn fn, const void *t, int rc, const viclip_tokenizer *given, vc_error *e,
               struct viclip_run_summary *summary, viclip_error *err) {
    vc_train_summary s = {0};
    vc_tokenizer *owned;
    const vc_tokenizer *tok = NULL;
    if (!rc && !(tok = run_tokenizer(given, &owned, e))) rc = -1;
    if (!rc) rc = fn(t, tok, &s, e);
    if (tok) vc_tokenizer_free(owned);
    summary_out(&s, summary);
    if (rc) pass_error(e, err);
    return rc ? -1 : 0;
}

static int run_train(const void *t, const vc_tokenizer *tok, vc_train_summary *s, vc_error *e) { return vc_train(t, tok, s, e); }
static int run_pretrain(const void *t, const vc_tokenizer *tok, vc_train_summary *s, vc_error *e) { return vc_pretrain(t, tok, s, e); }
static int run_finetune(const void *t, const vc_tokenizer *tok, vc_train_summary *s, vc_error *e) { return vc_finetune(t, tok, s, e); }

/* ---- train ---------------------------------------------------------------------------------- */

struct viclip_train_run_params viclip_train_run_default_params(void) {
    const vc_train_params d = vc_train_default_params();
    return (struct viclip_train_run_params){
        .format = "auto", .config = config_out(&d.cfg), .batch_size = d.batch_size, .accum_freq = d.accum_freq,
        .steps = d.steps, .warmup = d.warmup, .unmasked_steps = d.unmasked_steps, .new_branch_warmup = d.new_branch_warmup,
        .lr = d.lr, .min_lr = d.min_lr, .weight_decay = d.weight_decay, .grad_clip_norm = d.grad_clip_norm,
        .beta1 = d.beta1, .beta2 = d.beta2, .eps = d.eps, .mask_ratio = d.mask_ratio, .drop_path = d.drop_path,
        .lr_mult_vision = d.lr_mult_vision, .lr_mult_text = d.lr_mult_text, .balance = d.balance,
        .balance_target = d.balance_target, .freeze_text = d.freeze_text, .temp_init = d.temp_init,
        .temp_min = d.temp_min, .temporal_init_std = d.temporal_init_std, .workers = d.workers, .prefetch = d.prefetch,
        .sampling = vc_sampling_name((vc_sampling)d.sampling), .augment = d.augment, .clean_captions = d.clean_captions,
        .positives = vc_positives_name((vc_positives)d.positives), .align = "global", .seed = d.seed,
        .save_every = d.save_every, .stop_after = d.stop_after, .progress_every = d.progress_every,
        .local_loss = d.local_loss};
}

/* The internal parameters of a run, names parsed in the order the CLI checks its flags. */
static int train_in(const struct viclip_train_run_params *p, vc_train_params *t, vc_error *e) {
    *t = vc_train_default_params();
    vc_sampling smode;
    vc_positives pos;
    vc_annotation_format fmt;
    vc_align_weights w;
    vc_precision prec = vc_default_precision();
    const char *align_weights = p->align_weights && *p->align_weights ? p->align_weights : NULL; /* "": a resumed checkpoint's record of none */
    if (vc_sampling_parse(p->sampling, &smode, e) || vc_positives_parse(p->positives, &pos, e) ||
        vc_annotation_format_parse(p->format, &fmt, e) || vc_align_weights_parse(p->align, align_weights, &w, e))
        return -1;
    if (p->precision && vc_precision_from_name(p->precision, &prec))
        return vc_fail(e, "precision '%s': expected fp32 or bf16", p->precision);
    vc_device_kind dev = VC_DEVICE_CPU;
    if (p->device && vc_device_kind_from_name(p->device, &dev, e)) return -1;
    t->device = (int)dev;
    t->train_annotations = p->train_data;
    t->annotation = (vc_annotation_opts){fmt, p->video_root, p->video_pattern};
    t->out_dir = p->out_dir, t->init_model = p->init_model, t->init_vision = p->init_vision;
    t->init_text = p->init_text, t->resume = p->resume;
    t->cfg = config_in(&p->config);
    t->batch_size = p->batch_size, t->accum_freq = p->accum_freq, t->steps = p->steps, t->warmup = p->warmup;
    t->lr = p->lr, t->min_lr = p->min_lr, t->weight_decay = p->weight_decay, t->grad_clip_norm = p->grad_clip_norm;
    t->beta1 = p->beta1, t->beta2 = p->beta2, t->eps = p->eps, t->mask_ratio = p->mask_ratio;
    t->unmasked_steps = p->unmasked_steps, t->drop_path = p->drop_path;
    t->lr_mult_vision = p->lr_mult_vision, t->lr_mult_text = p->lr_mult_text;
    t->balance = p->balance, t->balance_target = p->balance_target, t->new_branch_warmup = p->new_branch_warmup;
    t->freeze_text = p->freeze_text, t->temp_init = p->temp_init, t->temp_min = p->temp_min;
    t->temporal_init_std = p->temporal_init_std, t->workers = p->workers, t->prefetch = p->prefetch;
    t->sampling = (int)smode, t->augment = p->augment, t->clean_captions = p->clean_captions, t->positives = (int)pos;
    t->align_global = w.global, t->align_frame = w.frame, t->seed = p->seed;
    t->align_n_layers = w.n_layers;
    for (int i = 0; i < w.n_layers; i++) t->align_layers[i] = w.layers[i], t->align_layer_weights[i] = w.layer_weight[i];
    t->align_spec = p->align, t->align_weights_spec = align_weights;
    t->save_every = p->save_every, t->stop_after = p->stop_after, t->stop_requested = p->stop_requested;
    t->dist = (vc_dist *)p->dist, t->local_loss = p->local_loss;
    t->on_progress = progress_bridge, t->on_warning = warning_bridge, t->user = (void *)&p->cb;
    t->progress_every = p->progress_every, t->precision = (int)prec;
    t->grad_checkpointing = p->grad_checkpointing, t->on_start = start_bridge;
    return 0;
}

int viclip_train_run_check(const struct viclip_train_run_params *p, viclip_error *err) {
    vc_error e;
    vc_train_params t;
    if (train_in(p, &t, &e) || vc_config_validate(&t.cfg, &e)) return pass_error(&e, err), -1;
    return 0;
}

int viclip_train_run(const struct viclip_train_run_params *p, struct viclip_run_summary *summary, viclip_error *err) {
    vc_error e;
    vc_train_params t;
    const int rc = train_in(p, &t, &e);
    return run(run_train, &t, rc, p->tokenizer, &e, summary, err);
}

/* ---- pretrain ------------------------------------------------------------------------------- */

struct viclip_pretrain_params viclip_pretrain_default_params(void) {
    const vc_pretrain_params d = vc_pretrain_default_params();
    struct viclip_pretrain_params p = {.train = viclip_train_run_default_params(), .objective = "mae",
                                       .mask_ratio = d.mask_ratio, .decoder_width = d.decoder_width,
                                       .decoder_depth = d.decoder_depth, .decoder_heads = d.decoder_heads,
                                       .umt_loss = "cosine", .umt_masking = "semantic"};
    struct viclip_train_run_params *t = &p.train;
    const vc_train_params *dt = &d.train;
    t->batch_size = dt->batch_size, t->steps = dt->steps, t->warmup = dt->warmup, t->lr = dt->lr, t->min_lr = dt->min_lr;
    t->weight_decay = dt->weight_decay, t->beta2 = dt->beta2, t->eps = dt->eps, t->mask_ratio = dt->mask_ratio;
    t->freeze_text = dt->freeze_text, t->temp_init = dt->temp_init, t->temporal_init_std = dt->temporal_init_std;
    t->workers = dt->workers, t->precision = "fp32";
    return p;
}

/* The internal parameters of a pretraining run. */
static int pretrain_in(const struct viclip_pretrain_params *p, vc_pretrain_params *t, vc_error *e) {
    *t = vc_pretrain_default_params();
    vc_pretrain_objective obj;
    if (vc_pretrain_objective_parse(p->objective, &obj, e) || train_in(&p->train, &t->train, e)) return -1;
    if (!p->umt_loss || (strcmp(p->umt_loss, "cosine") && strcmp(p->umt_loss, "mse")))
        return vc_fail(e, "umt_loss '%s': expected cosine or mse", p->umt_loss ? p->umt_loss : "");
    if (!p->umt_masking || (strcmp(p->umt_masking, "semantic") && strcmp(p->umt_masking, "random")))
        return vc_fail(e, "umt_masking '%s': expected semantic or random", p->umt_masking ? p->umt_masking : "");
    t->objective = (int)obj, t->mask_ratio = p->mask_ratio, t->decoder_width = p->decoder_width;
    t->decoder_depth = p->decoder_depth, t->decoder_heads = p->decoder_heads, t->teacher = p->teacher;
    t->umt_loss = strcmp(p->umt_loss, "mse") ? VC_UMT_COSINE : VC_UMT_MSE;
    t->umt_masking = strcmp(p->umt_masking, "random") ? VC_UMT_SEMANTIC : VC_UMT_RANDOM;
    return 0;
}

int viclip_pretrain_check(const struct viclip_pretrain_params *p, viclip_error *err) {
    vc_error e;
    vc_pretrain_params t;
    if (pretrain_in(p, &t, &e)) return pass_error(&e, err), -1;
    return 0;
}

int viclip_pretrain(const struct viclip_pretrain_params *p, struct viclip_run_summary *summary, viclip_error *err) {
    vc_error e;
    vc_pretrain_params t;
    const int rc = pretrain_in(p, &t, &e);
    return run(run_pretrain, &t, rc, p->train.tokenizer, &e, summary, err);
}

/* ---- finetune ------------------------------------------------------------------------------- */

struct viclip_finetune_params viclip_finetune_default_params(void) {
    const vc_finetune_params d = vc_finetune_default_params();
    return (struct viclip_finetune_params){
        .templates = d.templates, .head_init = d.head_init == VC_HEAD_RANDOM ? "random" : "zeroshot",
        .linear_probe = d.linear_probe, .batch_size = d.batch_size, .steps = d.steps, .warmup = d.warmup, .lr = d.lr,
        .min_lr = d.min_lr, .weight_decay = d.weight_decay, .grad_clip_norm = d.grad_clip_norm, .beta1 = d.beta1,
        .beta2 = d.beta2, .eps = d.eps, .layer_decay = d.layer_decay, .drop_path = d.drop_path,
        .label_smoothing = d.label_smoothing, .mixup_alpha = d.mixup_alpha, .mixup_prob = d.mixup_prob,
        .head_std = d.head_std, .workers = d.workers, .prefetch = d.prefetch,
        .sampling = vc_sampling_name((vc_sampling)d.sampling), .augment = d.augment, .clean_captions = d.clean_captions,
        .seed = d.seed, .progress_every = d.progress_every};
}

int viclip_finetune(const struct viclip_finetune_params *p, struct viclip_run_summary *summary, viclip_error *err) {
    vc_error e;
    vc_finetune_params t = vc_finetune_default_params();
    vc_sampling smode;
    int rc = 0;
    if (!p->head_init || (strcmp(p->head_init, "zeroshot") && strcmp(p->head_init, "random")))
        rc = vc_fail(&e, "head_init '%s': expected zeroshot or random", p->head_init ? p->head_init : "");
    if (!rc) rc = vc_sampling_parse(p->sampling, &smode, &e);
    if (!rc) {
        t.train_annotations = p->train_data, t.labels = p->labels, t.init_model = p->init_model, t.out_dir = p->out_dir;
        t.templates = p->templates, t.head_init = strcmp(p->head_init, "random") ? VC_HEAD_ZEROSHOT : VC_HEAD_RANDOM;
        t.linear_probe = p->linear_probe, t.batch_size = p->batch_size, t.steps = p->steps, t.warmup = p->warmup;
        t.lr = p->lr, t.min_lr = p->min_lr, t.weight_decay = p->weight_decay, t.grad_clip_norm = p->grad_clip_norm;
        t.beta1 = p->beta1, t.beta2 = p->beta2, t.eps = p->eps, t.layer_decay = p->layer_decay, t.drop_path = p->drop_path;
        t.label_smoothing = p->label_smoothing, t.mixup_alpha = p->mixup_alpha, t.mixup_prob = p->mixup_prob;
        t.head_std = p->head_std, t.workers = p->workers, t.prefetch = p->prefetch, t.sampling = (int)smode;
        t.augment = p->augment, t.clean_captions = p->clean_captions, t.seed = p->seed;
        t.on_progress = progress_bridge, t.on_warning = warning_bridge, t.user = (void *)&p->cb;
        t.progress_every = p->progress_every;
        t.grad_checkpointing = p->grad_checkpointing, t.on_start = start_bridge;
    }
    return run(run_finetune, &t, rc, p->tokenizer, &e, summary, err);
}
