/* Mapping imported tensors onto a ViCLIP model: config inference, CLIP inflation, resizing
 * (see model/import.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked_int.h"
#include "model/import.h"

#include "core/finite.h"

typedef enum { KIND_VICLIP, KIND_CLIP } ckpt_kind;

/* The source name of one of our parameter names. */
static void source_name(ckpt_kind kind, const char *ours, char *out, size_t cap) {
    if (kind == KIND_CLIP && !strncmp(ours, "vision_encoder.", 15)) snprintf(out, cap, "visual.%s", ours + 15);
    else if (kind == KIND_CLIP && !strncmp(ours, "text_encoder.", 13)) snprintf(out, cap, "%s", ours + 13);
    else snprintf(out, cap, "%s", ours);
}

static const vc_imp_tensor *get(const vc_imp_set *s, ckpt_kind kind, const char *ours) {
    char n[256];
    source_name(kind, ours, n, sizeof n);
    return vc_imp_find(s, n);
}

static void shape_str(const vc_imp_tensor *t, char *buf, size_t cap) {
    size_t n = 0;
    buf[n++] = '[';
    for (int i = 0; i < t->ndim && n + 24 < cap; i++) n += (size_t)snprintf(buf + n, cap - n, i ? ",%lld" : "%lld", (long long)t->shape[i]);
    snprintf(buf + n, cap - n, "]");
}

static int need(const vc_imp_set *s, ckpt_kind kind, const char *ours, int ndim, const vc_imp_tensor **t, vc_error *err) {
    char n[256];
    source_name(kind, ours, n, sizeof n);
    *t = vc_imp_find(s, n);
    if (!*t) return vc_fail(err, "missing tensor '%s'", n);
    if ((*t)->ndim != ndim) {
        char sh[160];
        shape_str(*t, sh, sizeof sh);
        return vc_fail(err, "tensor '%s' has shape %s, expected %d dims", n, sh, ndim);
    }
    return 0;
}

static int count_layers(const vc_imp_set *s, ckpt_kind kind, const char *tower) {
    int n = 0;
    char ours[160];
    for (;; n++) {
        snprintf(ours, sizeof ours, "%s.transformer.resblocks.%d.ln_1.weight", tower, n);
        if (!get(s, kind, ours)) return n;
    }
}

/* A config value taken from a tensor's shape: range-checked, never a wrapped int. */
static int dim(int64_t v, const char *what, int *out, vc_error *err) {
    if (vc_check_i64(v, 1, VC_CONFIG_MAX_DIM, what, err)) return -1;
    *out = (int)v;
    return 0;
}

static int isqrt_exact(int64_t v) {
    if (v < 0 || v > (int64_t)VC_CONFIG_MAX_DIM * VC_CONFIG_MAX_DIM) return -1; /* g*g cannot overflow */
    for (int64_t g = 0; g * g <= v; g++)
        if (g * g == v) return (int)g;
    return -1;
}

static void note(vc_import_report *rep, const char *fmt, ...) {
    if (!rep) return;
    size_t n = strlen(rep->notes);
    if (n + 2 >= sizeof rep->notes) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->notes + n, sizeof rep->notes - n, fmt, ap);
    va_end(ap);
    n = strlen(rep->notes);
    if (n + 1 < sizeof rep->notes) strcat(rep->notes, "\n");
}

static int detect(const vc_imp_set *s, ckpt_kind *kind, vc_error *err) {
    if (vc_imp_find(s, "vision_encoder.conv1.weight")) *kind = KIND_VICLIP;
    else if (vc_imp_find(s, "visual.conv1.weight")) *kind = KIND_CLIP;
    else
        return vc_fail(err, "unrecognised checkpoint: neither 'vision_encoder.conv1.weight' (ViCLIP) nor "
                            "'visual.conv1.weight' (OpenAI/OpenCLIP CLIP) among its %d tensors (first: '%s')",
                       s->count, s->count ? s->t[0].name : "");
    return 0;
}

static int heads_for(int width, int given, int meta_width, int meta_heads, const char *which, vc_error *err) {
    if (given > 0) return given;
    if (meta_heads > 0 && meta_width == width) return meta_heads;
    if (width % 64 == 0) return width / 64;
    return vc_fail(err, "cannot infer the %s heads for width %d (not a multiple of 64): give them explicitly", which, width);
}

int vc_import_infer_config(const vc_imp_set *s, const vc_import_opts *o, vc_config *c, vc_import_report *rep,
                           vc_error *err) {
    static const vc_import_opts defaults = {0};
    if (!o) o = &defaults;
    ckpt_kind kind = KIND_VICLIP;
    if (detect(s, &kind, err)) return -1;
    memset(c, 0, sizeof *c);
    const vc_imp_tensor *conv, *pos, *proj, *tok, *tpos, *tproj, *temporal = NULL;
    if (need(s, kind, "vision_encoder.conv1.weight", kind == KIND_CLIP ? 4 : 5, &conv, err)) return -1;
    if (conv->shape[1] != 3 || conv->shape[conv->ndim - 1] != conv->shape[conv->ndim - 2] || (conv->ndim == 5 && conv->shape[2] != 1)) {
        char sh[160];
        shape_str(conv, sh, sizeof sh);
        return vc_fail(err, "conv1 weight has shape %s: expected [W,3,p,p] (CLIP) or [W,3,1,p,p] (ViCLIP)", sh);
    }
    if (dim(conv->shape[0], "vision width (conv1 rows)", &c->vision_width, err) ||
        dim(conv->shape[conv->ndim - 1], "patch size (conv1)", &c->patch_size, err))
        return -1;
    if (need(s, kind, "vision_encoder.positional_embedding", 2, &pos, err)) return -1;
    int g = isqrt_exact(pos->shape[0] - 1);
    if (g <= 0) return vc_fail(err, "vision positional_embedding has %lld rows: not 1 + a square grid", (long long)pos->shape[0]);
    const int src_image = g * c->patch_size;
    if (kind == KIND_VICLIP && need(s, kind, "vision_encoder.temporal_positional_embedding", 3, &temporal, err)) return -1;
    if (need(s, kind, "vision_encoder.proj", 2, &proj, err)) return -1;
    if (need(s, kind, "text_encoder.token_embedding.weight", 2, &tok, err)) return -1;
    if (need(s, kind, "text_encoder.positional_embedding", 2, &tpos, err)) return -1;
    if (need(s, kind, "text_encoder.text_projection", 2, &tproj, err)) return -1;
    if (dim(proj->shape[1], "embedding size (proj)", &c->embed_dim, err) ||
        dim(tok->shape[0], "vocabulary size (token_embedding)", &c->vocab_size, err) ||
        dim(tok->shape[1], "text width (token_embedding)", &c->text_width, err))
        return -1;
    c->vision_layers = count_layers(s, kind, "vision_encoder");
    c->text_layers = count_layers(s, kind, "text_encoder");
    const vc_config *meta = s->has_config ? &s->config : NULL;
    if ((c->vision_heads = heads_for(c->vision_width, o->vision_heads, meta ? meta->vision_width : 0,
                                     meta ? meta->vision_heads : 0, "vision", err)) < 0)
        return -1;
    if ((c->text_heads = heads_for(c->text_width, o->text_heads, meta ? meta->text_width : 0,
                                   meta ? meta->text_heads : 0, "text", err)) < 0)
        return -1;
    int src_frames = 0, src_ctx = 0;
    if ((temporal && dim(temporal->shape[1], "frames (temporal_positional_embedding)", &src_frames, err)) ||
        dim(tpos->shape[0], "text context (positional_embedding)", &src_ctx, err))
        return -1;
    c->num_frames = o->frames > 0 ? o->frames : src_frames > 0 ? src_frames : 8;
    c->image_size = o->image_size > 0 ? o->image_size : src_image;
    c->context_length = o->context > 0 ? o->context : kind == KIND_CLIP ? (src_ctx < 32 ? src_ctx : 32) : src_ctx;
    if (c->image_size % c->patch_size)
        return vc_fail(err, "image size %d is not a multiple of the patch size %d", c->image_size, c->patch_size);
    if (c->context_length > src_ctx)
        return vc_fail(err, "context %d is longer than the checkpoint's %d text positions", c->context_length, src_ctx);
    if (rep) {
        snprintf(rep->kind, sizeof rep->kind, "%s", kind == KIND_CLIP ? "clip" : "viclip");
        snprintf(rep->format, sizeof rep->format, "%s", s->format);
        rep->src_frames = src_frames;
        rep->src_image_size = src_image;
        rep->src_context = src_ctx;
        rep->converted_half = s->converted_half;
        rep->converted_f64 = s->converted_f64;
    }
    return vc_config_validate(c, err);
}

/* Non-parameters an image CLIP file may hold (OpenAI's TorchScript keeps a few as tensors). */
static int known_extra(ckpt_kind kind, const char *name, const vc_import_opts *o) {
    for (const char *const *p = o->ignore_prefixes; p && *p; p++)
        if (!strncmp(name, *p, strlen(*p))) return 1;
    /* layer-level alignment heads (model/align_layers.h) only train: an import (convert, merge,
     * a tower for --init-vision/--init-text) leaves them out; model files keep them */
    if (vc_param_head_layer(name)) return 1;
    if (kind != KIND_CLIP) return 0;
    static const char *const exact[] = {"logit_scale", "input_resolution", "context_length", "vocab_size"};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (!strcmp(name, exact[i])) return 1;
    size_t n = strlen(name);
    return n >= 10 && !strcmp(name + n - 10, ".attn_mask");
}

static void store(vc_real *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = (vc_real)src[i];
}

/* Fills one parameter from its source tensor, applying the inflation and resizing rules. */
static int fill_param(vc_model *m, ckpt_kind kind, const vc_imp_tensor *t, const vc_param_info *pi,
                      const vc_import_opts *o, vc_import_report *rep, vc_error *err) {
    vc_real *dst = m->params + pi->offset;
    const vc_config *c = &m->cfg;
    const char *name = pi->name;
    char sh[160];
    shape_str(t, sh, sizeof sh);
    if (!t->data) return vc_fail(err, "tensor '%s' has dtype %s, not a float type", t->name, vc_dtype_name(t->src_dtype));
    if (!strcmp(name, "vision_encoder.conv1.weight")) {
        if (t->numel != pi->numel) return vc_fail(err, "tensor '%s' has shape %s, expected [%d,3,1,%d,%d]", t->name, sh, c->vision_width, c->patch_size, c->patch_size);
        if (kind == KIND_CLIP) note(rep, "conv1 inflated: %s -> [%d,3,1,%d,%d]", sh, c->vision_width, c->patch_size, c->patch_size);
        store(dst, t->data, pi->numel);
        return 0;
    }
    if (!strcmp(name, "vision_encoder.positional_embedding")) {
        int g_in = isqrt_exact(t->shape[0] - 1), g_out = vc_config_grid(c), W = c->vision_width;
        if (t->shape[1] != W) return vc_fail(err, "tensor '%s' has shape %s, expected [1+g*g,%d]", t->name, sh, W);
        float *tmp = malloc(pi->numel * sizeof *tmp);
        if (!tmp) return vc_fail(err, "out of memory");
        vc_resize_pos_embed(t->data, g_in, W, tmp, g_out);
        store(dst, tmp, pi->numel);
        free(tmp);
        if (g_in != g_out) note(rep, "spatial position embedding resized bicubically: grid %dx%d -> %dx%d", g_in, g_in, g_out, g_out);
        return 0;
    }
    if (!strcmp(name, "vision_encoder.temporal_positional_embedding")) {
        int T_in = (int)t->shape[1], W = c->vision_width;
        if (t->shape[0] != 1 || t->shape[2] != W) return vc_fail(err, "tensor '%s' has shape %s, expected [1,T,%d]", t->name, sh, W);
        float *tmp = malloc(pi->numel * sizeof *tmp);
        if (!tmp) return vc_fail(err, "out of memory");
        vc_resize_temporal(t->data, T_in, W, tmp, c->num_frames, o->temporal);
        store(dst, tmp, pi->numel);
        free(tmp);
        if (T_in != c->num_frames)
            note(rep, "temporal embedding %s: %d -> %d frames",
                 c->num_frames < T_in && o->temporal == VC_TEMPORAL_OFFICIAL ? "truncated" : "linearly interpolated",
                 T_in, c->num_frames);
        return 0;
    }
    if (!strcmp(name, "text_encoder.positional_embedding")) {
        if (t->shape[1] != c->text_width || t->shape[0] < c->context_length)
            return vc_fail(err, "tensor '%s' has shape %s, expected [>=%d,%d]", t->name, sh, c->context_length, c->text_width);
        store(dst, t->data, pi->numel); /* the first `context` rows */
        if (t->shape[0] != c->context_length) note(rep, "text positional embedding truncated: %lld -> %d positions", (long long)t->shape[0], c->context_length);
        return 0;
    }
    int ok = t->ndim == pi->ndim;
    for (int i = 0; ok && i < pi->ndim; i++) ok = t->shape[i] == pi->shape[i];
    if (!ok) {
        char want[160];
        vc_imp_tensor fake = {.ndim = pi->ndim};
        memcpy(fake.shape, pi->shape, sizeof pi->shape);
        shape_str(&fake, want, sizeof want);
        return vc_fail(err, "tensor '%s' has shape %s, expected %s", t->name, sh, want);
    }
    store(dst, t->data, pi->numel);
    return 0;
}

vc_model *vc_import_model(const vc_imp_set *s, const vc_import_opts *o, vc_import_report *rep, vc_error *err) {
    static const vc_import_opts defaults = {0};
    if (!o) o = &defaults;
    if (rep) memset(rep, 0, sizeof *rep);
    vc_config cfg;
    if (vc_import_infer_config(s, o, &cfg, rep, err)) return NULL;
    ckpt_kind kind = vc_imp_find(s, "vision_encoder.conv1.weight") ? KIND_VICLIP : KIND_CLIP;
    vc_model *m = vc_model_new(&cfg, err);
    if (!m) return NULL;
    char *used = calloc((size_t)s->count + 1, 1);
    if (!used) {
        vc_fail(err, "out of memory");
        goto fail;
    }
    for (int i = 0; i < m->table.count; i++) {
        const vc_param_info *pi = &m->table.info[i];
        if (kind == KIND_CLIP && !strcmp(pi->name, "vision_encoder.temporal_positional_embedding")) {
            memset(m->params + pi->offset, 0, pi->numel * sizeof *m->params);
            note(rep, "temporal embedding: zeros [1,%d,%d] (image CLIP has none)", cfg.num_frames, cfg.vision_width);
            continue;
        }
        if (kind == KIND_CLIP && !strcmp(pi->name, "temp")) {
            m->params[pi->offset] = (vc_real)0.01;
            note(rep, "temp = 0.01 (logit_scale dropped)");
            continue;
        }
        const vc_imp_tensor *t = get(s, kind, pi->name);
        if (!t) {
            char n[256];
            source_name(kind, pi->name, n, sizeof n);
            vc_fail(err, "missing tensor '%s'", n);
            goto fail;
        }
        used[t - s->t] = 1;
        if (fill_param(m, kind, t, pi, o, rep, err)) goto fail;
        const vc_nonfinite bad = vc_count_nonfinite_f32(t->data, t->numel);
        if (bad.nan + bad.inf) {
            char what[300];
            snprintf(what, sizeof what, "tensor '%s'", t->name);
            vc_fail_nonfinite(err, what, bad);
            goto fail;
        }
    }
    for (int i = 0; i < s->count; i++) {
        if (used[i]) continue;
        if (!known_extra(kind, s->t[i].name, o)) {
            vc_fail(err, "unexpected tensor '%s' (not a parameter of the %s model the other tensors describe)", s->t[i].name,
                    kind == KIND_CLIP ? "CLIP" : "ViCLIP");
            goto fail;
        }
        if (rep) rep->ignored++;
    }
    if (rep && (rep->converted_half || rep->converted_f64))
        note(rep, "converted to float32 on load: %zu F16/BF16 and %zu F64 elements", rep->converted_half, rep->converted_f64);
    free(used);
    return m;
fail:
    free(used);
    vc_model_free(m);
    return NULL;
}

vc_model *vc_import_file(const char *path, const vc_import_opts *o, vc_import_report *rep, vc_error *err) {
    vc_imp_set s;
    if (vc_imp_read(path, &s, err)) return NULL;
    vc_model *m = vc_import_model(&s, o, rep, err);
    if (!m) vc_fail_ctx(err, "%s", path);
    vc_imp_set_free(&s);
    return m;
}

int vc_merge_models(vc_model *a, const vc_model *b, double alpha, int keep_a_temporal, int keep_a_temp, vc_error *err) {
    if (memcmp(&a->cfg, &b->cfg, sizeof a->cfg)) return vc_fail(err, "cannot merge models with different configs");
    int same_heads = a->p.n_heads == b->p.n_heads;
    for (int h = 0; same_heads && h < a->p.n_heads; h++) same_heads = a->p.heads[h].layer == b->p.heads[h].layer;
    if (!same_heads)
        return vc_fail(err, "cannot merge models with different layer-level alignment heads (%d and %d heads)", a->p.n_heads,
                       b->p.n_heads);
    if (!(alpha >= 0.0 && alpha <= 1.0)) return vc_fail(err, "alpha %g is outside [0, 1]", alpha);
    for (int i = 0; i < a->table.count; i++) {
        const vc_param_info *pi = &a->table.info[i];
        if (keep_a_temporal && !strcmp(pi->name, "vision_encoder.temporal_positional_embedding")) continue;
        if (keep_a_temp && !strcmp(pi->name, "temp")) continue;
        vc_real *x = a->params + pi->offset;
        const vc_real *y = b->params + pi->offset;
        for (size_t k = 0; k < pi->numel; k++) x[k] = (vc_real)((1.0 - alpha) * (double)x[k] + alpha * (double)y[k]);
    }
    return 0;
}
