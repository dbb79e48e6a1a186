/* The public API (include/viclip.h) over the library's modules. Only the functions declared
 * there are visible outside libviclip.so; everything here translates handles, parameters and
 * errors, and owns no numerics of its own. */
#include "viclip.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/finite.h"
#include "eval/encode_videos.h"
#include "io/npy.h"
#include "kernels/gemm.h"
#include "eval/evaluate.h"
#include "eval/metrics.h"
#include "eval/templates.h"
#include "model/contrastive.h"
#include "model/model_io.h"
#include "model/model_open.h"
#include "model/vision.h"
#include "text/tokenizer.h"
#include "train/optimizer.h"
#include "video/clip.h"
#include "api/context.h"

_Static_assert(sizeof(vc_real) == sizeof(float), "the public API exchanges float32");
_Static_assert(VICLIP_N_ACTION_TEMPLATES == VC_VICLIP_N_TEMPLATES, "the public count is the library's");
_Static_assert(sizeof(((viclip_error *)0)->msg) == sizeof(((vc_error *)0)->msg), "error buffers match");

void vc_api_pass_error(const vc_error *from, viclip_error *to) {
    if (to) snprintf(to->msg, sizeof to->msg, "%s", from->msg);
}

int vc_api_fail(viclip_error *err, const char *fmt, const char *arg) {
    if (err) snprintf(err->msg, sizeof err->msg, fmt, arg);
    return -1;
}
#define pass_error vc_api_pass_error
#define fail vc_api_fail

struct viclip_context_params viclip_context_default_params(void) {
    return (struct viclip_context_params){.vocab_path = NULL, .clean_captions = 1, .frames = 0, .image_size = 0};
}

static viclip_context *finish_context(vc_model *m, struct viclip_context_params params, const char *description,
                                      viclip_error *err) {
    vc_error e;
    viclip_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        vc_model_free(m);
        fail(err, "%s", "out of memory");
        return NULL;
    }
    ctx->model = m, ctx->params = params;
    char found[4096];
    const char *vocab = params.vocab_path;
    if (!vocab && !vc_tokenizer_find_vocab(found, sizeof found, &e)) vocab = found;
    if (vocab && !vocab[0]) vocab = NULL, e.msg[0] = 0; /* "": a video-only context */
    else if (!vocab || !(ctx->tok = vc_tokenizer_load(vocab, &e))) {
        pass_error(&e, err);
        viclip_free(ctx);
        return NULL;
    }
    /* a model with a smaller vocabulary (the tiny test config) still encodes clips and ids;
     * a text with an id beyond it fails naming the id (model/text.c) */
    vc_config_to_json(&m->cfg, ctx->config_json, sizeof ctx->config_json);
    snprintf(ctx->description, sizeof ctx->description, "%s", description);
    return ctx;
}

viclip_context *viclip_init_from_file(const char *path, struct viclip_context_params params, viclip_error *err) {
    if (!path) return fail(err, "%s", "no model path given"), NULL;
    vc_error e;
    vc_import_opts o = {.frames = params.frames, .image_size = params.image_size};
    vc_model_source src;
    vc_model *m = vc_model_open(path, &o, &src, &e);
    if (!m) return pass_error(&e, err), NULL;
    char line[1200];
    vc_model_source_describe(path, &src, line, sizeof line);
    viclip_context *ctx = finish_context(m, params, line, err);
    if (ctx) ctx->imported = src.imported;
    return ctx;
}

viclip_context *viclip_init_random(const char *config, uint64_t seed, struct viclip_context_params params,
                                   viclip_error *err) {
    vc_error e;
    vc_config c;
    if (!config || vc_config_from_name(config, &c, &e)) return config ? pass_error(&e, err) : (void)fail(err, "%s", "no config given"), NULL;
    vc_model *m = vc_model_new(&c, &e);
    if (!m) return pass_error(&e, err), NULL;
    vc_model_init_random(m, seed, 0.01);
    char line[128];
    snprintf(line, sizeof line, "random %s model (seed %llu)", config, (unsigned long long)seed);
    return finish_context(m, params, line, err);
}

void viclip_free(viclip_context *ctx) {
    if (!ctx) return;
    if (ctx->has_opt) vc_adamw_free(&ctx->opt);
    vc_tokenizer_free(ctx->tok);
    vc_model_free(ctx->model);
    free(ctx);
}

int viclip_save(const viclip_context *ctx, const char *path, viclip_error *err) {
    vc_error e;
    if (vc_api_device_pull(ctx, NULL, &e) || vc_model_save(ctx->model, path, VC_DT_F32, &e)) return pass_error(&e, err), -1;
    return 0;
}

int viclip_embed_dim(const viclip_context *ctx) { return ctx->model->cfg.embed_dim; }
int viclip_n_frames(const viclip_context *ctx) { return ctx->model->cfg.num_frames; }
int viclip_image_size(const viclip_context *ctx) { return ctx->model->cfg.image_size; }
int viclip_context_length(const viclip_context *ctx) { return ctx->model->cfg.context_length; }
float viclip_temperature(const viclip_context *ctx) { return (float)ctx->model->p.temp[0]; }
const char *viclip_model_config_json(const viclip_context *ctx) { return ctx->config_json; }
const char *viclip_model_description(const viclip_context *ctx) { return ctx->description; }
const char *viclip_version(void) { return VICLIP_VERSION; }

void viclip_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    vc_gemm_set_threads(n);
}

/* ---- video ---------------------------------------------------------------------------------- */

struct viclip_video_params viclip_video_default_params(void) {
    return (struct viclip_video_params){.sampling = VICLIP_SAMPLING_MIDDLE, .interp = VICLIP_INTERP_BICUBIC,
                                        .start_s = -1, .end_s = -1, .decode_threads = 1, .workers = 2};
}

int vc_api_clip_opts(const struct viclip_video_params *p, vc_clip_opts *o, viclip_error *err) {
    const struct viclip_video_params d = viclip_video_default_params();
    if (!p) p = &d;
    *o = vc_clip_default_opts();
    if (p->sampling < VICLIP_SAMPLING_MIDDLE || p->sampling > VICLIP_SAMPLING_DEMO)
        return fail(err, "%s", "viclip_video_params.sampling is not a viclip_sampling value");
    if (p->interp != VICLIP_INTERP_BICUBIC && p->interp != VICLIP_INTERP_BILINEAR)
        return fail(err, "%s", "viclip_video_params.interp is not a viclip_interp value");
    o->sampling = (vc_sampling)p->sampling, o->interp = (vc_interp)p->interp;
    o->start = p->start_s, o->end = p->end_s, o->augment = p->augment, o->seed = p->seed, o->key = p->key;
    o->threads = p->decode_threads > 0 ? p->decode_threads : 1;
    return 0;
}

int viclip_load_clip(const viclip_context *ctx, const char *path, const struct viclip_video_params *p, float *clip,
                     viclip_error *err) {
    return viclip_load_clip_sized(path, ctx->model->cfg.num_frames, ctx->model->cfg.image_size, p, clip, err);
}

int viclip_load_clip_sized(const char *path, int frames, int size, const struct viclip_video_params *p, float *clip,
                           viclip_error *err) {
    vc_clip_opts o;
    if (vc_api_clip_opts(p, &o, err)) return -1;
    if (!path || !clip) return fail(err, "%s", "no video path or clip buffer given");
    const vc_preprocess pp = vc_preprocess_default(frames, size);
    vc_error e;
    if (vc_clip_load_opts(path, &pp, &o, clip, NULL, &e)) return pass_error(&e, err), -1;
    return 0;
}

int viclip_encode_clips(viclip_context *ctx, const float *clips, int n, float *out, viclip_error *err) {
    if (n < 0 || (n > 0 && (!clips || !out))) return fail(err, "%s", "viclip_encode_clips: bad clips, n or out");
    vc_error e;
    if (n && vc_model_encode_video(ctx->model, clips, n, out, &e)) return pass_error(&e, err), -1;
    vc_l2_normalize_rows(out, n, ctx->model->cfg.embed_dim);
    return 0;
}

int viclip_encode_video_file(viclip_context *ctx, const char *path, const struct viclip_video_params *p, float *out,
                             viclip_error *err) {
    const vc_config *c = &ctx->model->cfg;
    float *clip = malloc((size_t)c->num_frames * 3 * c->image_size * c->image_size * sizeof *clip);
    if (!clip) return fail(err, "%s: out of memory", path ? path : "");
    int rc = viclip_load_clip(ctx, path, p, clip, err) || viclip_encode_clips(ctx, clip, 1, out, err) ? -1 : 0;
    free(clip);
    return rc;
}

int viclip_encode_video_files(viclip_context *ctx, const char *const *paths, int n, const struct viclip_video_params *p,
                              float *out, unsigned char *ok, int *n_ok, viclip_error *err) {
    return viclip_encode_video_files_cb(ctx, paths, n, p, NULL, out, ok, n_ok, err);
}

/* ---- text ----------------------------------------------------------------------------------- */

int vc_api_need_tokenizer(const viclip_context *ctx, viclip_error *err) {
    return ctx->tok ? 0 : fail(err, "%s", "the context has no tokenizer (it was made with vocab_path \"\")");
}

int viclip_tokenize(const viclip_context *ctx, const char *text, int32_t *ids, int *n_tokens, viclip_error *err) {
    if (vc_api_need_tokenizer(ctx, err)) return -1;
    if (!text || !ids) return fail(err, "%s", "viclip_tokenize: no text or ids");
    vc_error e;
    int32_t *one = ids;
    if (vc_tokenize_texts(ctx->tok, &text, 1, ctx->model->cfg.context_length, ctx->params.clean_captions, one, &e))
        return pass_error(&e, err), -1;
    if (n_tokens) {
        int total = 0;
        for (int k = 0; k < ctx->model->cfg.context_length && ids[k]; k++) total++;
        *n_tokens = total;
    }
    return 0;
}

int viclip_encode_texts(viclip_context *ctx, const char *const *texts, int n, float *out, viclip_error *err) {
    return viclip_encode_texts_ex(ctx, texts, n, 1, out, err);
}

int viclip_encode_texts_ex(viclip_context *ctx, const char *const *texts, int n, int normalize, float *out,
                           viclip_error *err) {
    if (vc_api_need_tokenizer(ctx, err)) return -1;
    if (n < 0 || (n > 0 && (!texts || !out))) return fail(err, "%s", "viclip_encode_texts: bad texts, n or out");
    for (int i = 0; i < n; i++)
        if (!texts[i]) return fail(err, "%s", "viclip_encode_texts: a NULL text");
    if (!n) return 0;
    vc_error e;
    const int ctx_len = ctx->model->cfg.context_length;
    int32_t *ids = malloc((size_t)n * ctx_len * sizeof *ids);
    int rc = ids ? 0 : vc_fail(&e, "out of memory for %d texts", n);
    if (!rc) rc = vc_tokenize_texts(ctx->tok, texts, n, ctx_len, ctx->params.clean_captions, ids, &e);
    if (!rc) rc = vc_model_encode_text(ctx->model, ids, n, out, &e);
    if (!rc && normalize) vc_l2_normalize_rows(out, n, ctx->model->cfg.embed_dim);
    free(ids);
    if (rc) pass_error(&e, err);
    return rc ? -1 : 0;
}

int viclip_encode_tensor_file(viclip_context *ctx, const char *path, int normalize, float **out, int *n_out,
                              viclip_error *err) {
    *out = NULL, *n_out = 0;
    vc_error e;
    vc_npy a;
    const vc_config *c = &ctx->model->cfg;
    if (vc_npy_read(path, &a, &e)) return pass_error(&e, err), -1;
    int rc = 0;
    const int lead = a.ndim - 4;
    if (a.dtype != VC_DT_F32 || (a.ndim != 4 && a.ndim != 5))
        rc = vc_fail(&e, "%s: expected float32 [T,3,H,W] or [N,T,3,H,W], got %s with %d dims", path, vc_dtype_name(a.dtype),
                     a.ndim);
    if (!rc && (a.shape[lead] != c->num_frames || a.shape[lead + 1] != 3 || a.shape[lead + 2] != c->image_size ||
                a.shape[lead + 3] != c->image_size))
        rc = vc_fail(&e, "%s: clip shape [%lld,%lld,%lld,%lld] does not match the model's [%d,3,%d,%d]", path,
                     (long long)a.shape[lead], (long long)a.shape[lead + 1], (long long)a.shape[lead + 2],
                     (long long)a.shape[lead + 3], c->num_frames, c->image_size, c->image_size);
    const int N = !rc && lead ? (int)a.shape[0] : 1;
    if (!rc && (N < 1 || a.shape[0] > 1000000)) rc = vc_fail(&e, "%s: %lld clips", path, (long long)a.shape[0]);
    if (!rc) rc = vc_check_finite_f32(a.data, a.nbytes / sizeof(float), path, &e);
    float *emb = rc ? NULL : malloc((size_t)N * c->embed_dim * sizeof *emb);
    if (!rc && !emb) rc = vc_fail(&e, "out of memory");
    if (!rc) rc = vc_model_encode_video(ctx->model, a.data, N, emb, &e);
    if (!rc && normalize) vc_l2_normalize_rows(emb, N, c->embed_dim);
    vc_npy_free(&a);
    if (rc) {
        free(emb);
        return pass_error(&e, err), -1;
    }
    *out = emb, *n_out = N;
    return 0;
}

int viclip_encode_tokens(viclip_context *ctx, const int32_t *ids, int n, float *out, viclip_error *err) {
    if (n < 0 || (n > 0 && (!ids || !out))) return fail(err, "%s", "viclip_encode_tokens: bad ids, n or out");
    vc_error e;
    if (n && vc_model_encode_text(ctx->model, ids, n, out, &e)) return pass_error(&e, err), -1;
    vc_l2_normalize_rows(out, n, ctx->model->cfg.embed_dim);
    return 0;
}

/* ---- similarity and classification ---------------------------------------------------------- */

float viclip_similarity(const float *a, const float *b, int dim) {
    double s = 0;
    for (int i = 0; i < dim; i++) s += (double)a[i] * b[i];
    return (float)s;
}

int viclip_classify(viclip_context *ctx, const float *videos, int n, const char *const *labels, int n_labels,
                    const char *const *templates, int n_templates, float logit_scale, float *probs, float *sims,
                    viclip_error *err) {
    if (vc_api_need_tokenizer(ctx, err)) return -1;
    if (n < 0 || n_labels < 1 || (n > 0 && !videos) || !labels || (templates && n_templates < 1))
        return fail(err, "%s", "viclip_classify: bad videos, n, labels, n_labels or templates");
    const int E = ctx->model->cfg.embed_dim, nt = templates ? n_templates : VC_VICLIP_N_TEMPLATES;
    float *text = malloc((size_t)n_labels * nt * E * sizeof *text);
    float *scores = malloc(((size_t)n * n_labels + 1) * sizeof *scores);
    vc_error e;
    int rc = text && scores ? 0 : vc_fail(&e, "out of memory for %d labels", n_labels);
    if (!rc) rc = vc_encode_class_prompts(ctx->model, ctx->tok, labels, n_labels, templates, nt, ctx->params.clean_captions, text, &e);
    if (!rc) vc_zeroshot_scores(videos, n, text, n_labels, nt, E, scores);
    const double scale = logit_scale > 0 ? logit_scale : 1.0 / ctx->model->p.temp[0];
    for (int i = 0; !rc && i < n; i++) {
        const float *s = scores + (size_t)i * n_labels;
        if (sims) memcpy(sims + (size_t)i * n_labels, s, (size_t)n_labels * sizeof *s);
        if (probs) vc_softmax_scaled(s, n_labels, scale, probs + (size_t)i * n_labels);
    }
    free(text), free(scores);
    if (rc) pass_error(&e, err);
    return rc ? -1 : 0;
}

/* ---- training ------------------------------------------------------------------------------- */

struct viclip_train_params viclip_train_default_params(void) {
    return (struct viclip_train_params){.lr = 1e-5f, .weight_decay = 0.2f, .mask_ratio = 0.9f, .train_text = 1, .seed = 0};
}

size_t viclip_train_activation_bytes(viclip_context *ctx, int batch, const struct viclip_train_params *p) {
    const struct viclip_train_params d = viclip_train_default_params();
    if (!p) p = &d;
    vc_model *m = ctx->model;
    if (batch < 1 || !(p->mask_ratio >= 0 && p->mask_ratio < 1)) return 0;
    const int saved = m->grad_checkpointing;
    vc_model_set_grad_checkpointing(m, p->grad_checkpointing);
    const size_t bytes = vc_model_training_bytes(m, batch, batch, vc_config_kept_tokens(&m->cfg, p->mask_ratio),
                                                 p->train_text, 0, NULL);
    vc_model_set_grad_checkpointing(m, saved);
    return bytes;
}

int viclip_train_step(viclip_context *ctx, const float *clips, const int32_t *ids, int batch,
                      const struct viclip_train_params *p, double *loss, viclip_error *err) {
    const struct viclip_train_params d = viclip_train_default_params();
    if (!p) p = &d;
    if (batch < 2 || !clips || !ids) return fail(err, "%s", "viclip_train_step: needs clips, ids and a batch of at least 2");
    if (!(p->mask_ratio >= 0 && p->mask_ratio < 1)) return fail(err, "%s", "viclip_train_params.mask_ratio must be in [0, 1)");
    vc_model *m = ctx->model;
    vc_error e;
    if (p->grad_checkpointing && m->device && m->device->ops->train_open)
        return fail(err, "%s", "viclip_train_params.grad_checkpointing: activation recomputation is on the CPU's "
                               "training path only (the training device keeps every block's activations)");
    if (!ctx->has_opt) {
        vc_adamw_params op = vc_adamw_default_params();
        op.weight_decay = p->weight_decay;
        op.frozen[VC_TOWER_TEXT] = !p->train_text;
        if (vc_model_enable_grads(m, &e) || vc_adamw_init(&ctx->opt, &m->table, &op, &e)) return pass_error(&e, err), -1;
        ctx->has_opt = 1;
    }
    const int N = vc_config_video_tokens(&m->cfg), K = vc_config_kept_tokens(&m->cfg, p->mask_ratio);
    int32_t *keep = K < N ? malloc((size_t)batch * K * sizeof *keep) : NULL;
    if (K < N && !keep) return fail(err, "%s", "out of memory");
    if (keep) vc_vision_sample_keep(keep, batch, N, K, p->seed, ctx->step);
    vc_step_inputs in = {.video = clips, .tokens = ids, .keep = keep, .B = batch, .K = keep ? K : N,
                         .train_text = p->train_text, .grad_scale = 1, .seed = p->seed, .step = ctx->step};
    double l = 0;
    int rc;
    if (m->device && m->device->ops->train_open) {
        /* a device that trains keeps the parameters and moments from now on (pulled back by
         * viclip_save, viclip_set_device and viclip_device_sync) */
        rc = !ctx->device_trains && vc_device_train_open(m->device, m, &ctx->opt, &e);
        if (!rc) ctx->device_trains = 1;
        rc = rc || vc_device_forward_backward(m->device, m, &in, &l, &e) ||
             vc_device_adamw_step(m->device, m, &ctx->opt, p->lr, 1, &e);
    } else {
        vc_model_set_grad_checkpointing(m, p->grad_checkpointing);
        vc_model_zero_grads(m);
        rc = vc_model_forward_backward(m, &in, &l, &e);
        if (!rc) vc_adamw_step(&ctx->opt, &m->table, m->params, m->grads, p->lr, 1, m->p.temp);
        if (!rc) rc = vc_device_sync(m->device, m, &e); /* an inference-only device's copy follows */
    }
    free(keep);
    if (rc) return pass_error(&e, err), -1;
    ctx->step++;
    if (loss) *loss = l;
    return 0;
}
