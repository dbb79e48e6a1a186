#include "model/params.h"

#include "core/finite.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

void vc_table_add(vc_table_builder *b, vc_tower tower, int decay, int ndim, const int64_t *shape,
                  const char *fmt, ...) {
    vc_param_table *t = b->t;
    if (b->failed) return;
    if (t->count == b->cap) {
        int cap = b->cap ? 2 * b->cap : 64;
        vc_param_info *n = realloc(t->info, (size_t)cap * sizeof *n);
        if (!n) {
            b->failed = 1;
            return;
        }
        t->info = n;
        b->cap = cap;
    }
    vc_param_info *p = &t->info[t->count++];
    memset(p, 0, sizeof *p);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->name, sizeof p->name, fmt, ap);
    va_end(ap);
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->numel *= (size_t)shape[i];
    }
    p->offset = t->total;
    p->tower = tower;
    p->decay = decay;
    t->total += p->numel;
}

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define NDIM(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define ADD(tower, decay, name_fmt, ...) \
    vc_table_add(b, tower, decay, NDIM(__VA_ARGS__), SHAPE(__VA_ARGS__), name_fmt, prefix, i)

void vc_table_add_blocks(vc_table_builder *b, vc_tower tower, const char *prefix, int layers, int w) {
    for (int i = 0; i < layers; i++) {
        ADD(tower, 0, "%s.transformer.resblocks.%d.ln_1.weight", w);
        ADD(tower, 0, "%s.transformer.resblocks.%d.ln_1.bias", w);
        ADD(tower, 1, "%s.transformer.resblocks.%d.attn.in_proj_weight", 3 * w, w);
        ADD(tower, 0, "%s.transformer.resblocks.%d.attn.in_proj_bias", 3 * w);
        ADD(tower, 1, "%s.transformer.resblocks.%d.attn.out_proj.weight", w, w);
        ADD(tower, 0, "%s.transformer.resblocks.%d.attn.out_proj.bias", w);
        ADD(tower, 0, "%s.transformer.resblocks.%d.ln_2.weight", w);
        ADD(tower, 0, "%s.transformer.resblocks.%d.ln_2.bias", w);
        ADD(tower, 1, "%s.transformer.resblocks.%d.mlp.c_fc.weight", 4 * w, w);
        ADD(tower, 0, "%s.transformer.resblocks.%d.mlp.c_fc.bias", 4 * w);
        ADD(tower, 1, "%s.transformer.resblocks.%d.mlp.c_proj.weight", w, 4 * w);
        ADD(tower, 0, "%s.transformer.resblocks.%d.mlp.c_proj.bias", w);
    }
}

int vc_param_table_build(const vc_config *c, vc_param_table *t, vc_error *err) {
    return vc_param_table_build_heads(c, NULL, 0, t, err);
}

enum { HEAD_TENSORS = 6 };

int vc_param_head_layer(const char *name) {
    int l = 0, n = 0;
    if ((sscanf(name, "vision_encoder.align_layers.%d.%n", &l, &n) == 1 && n) ||
        (sscanf(name, "text_encoder.align_layers.%d.%n", &l, &n) == 1 && n))
        return l > 0 ? l : 0;
    return 0;
}

int vc_param_table_build_heads(const vc_config *c, const int *layers, int n, vc_param_table *t, vc_error *err) {
    memset(t, 0, sizeof *t);
    vc_table_builder builder = {t, 0, 0}, *b = &builder;
    const int W = c->vision_width, P = vc_config_patches(c), p = c->patch_size;
    const int Wt = c->text_width, E = c->embed_dim;
    const char *prefix = "vision_encoder";
    int i = 0; /* unused by the non-block names; keeps ADD's argument list uniform */
    /* Names without a %d ignore the extra argument. */
    ADD(VC_TOWER_VISION, 1, "%s.conv1.weight", W, 3, 1, p, p);
    ADD(VC_TOWER_VISION, 0, "%s.class_embedding", W);
    ADD(VC_TOWER_VISION, 0, "%s.positional_embedding", 1 + P, W);
    ADD(VC_TOWER_VISION, 0, "%s.temporal_positional_embedding", 1, c->num_frames, W);
    ADD(VC_TOWER_VISION, 0, "%s.ln_pre.weight", W);
    ADD(VC_TOWER_VISION, 0, "%s.ln_pre.bias", W);
    vc_table_add_blocks(b, VC_TOWER_VISION, prefix, c->vision_layers, W);
    ADD(VC_TOWER_VISION, 0, "%s.ln_post.weight", W);
    ADD(VC_TOWER_VISION, 0, "%s.ln_post.bias", W);
    ADD(VC_TOWER_VISION, 1, "%s.proj", W, E);
    prefix = "text_encoder";
    ADD(VC_TOWER_TEXT, 0, "%s.token_embedding.weight", c->vocab_size, Wt);
    ADD(VC_TOWER_TEXT, 0, "%s.positional_embedding", c->context_length, Wt);
    vc_table_add_blocks(b, VC_TOWER_TEXT, prefix, c->text_layers, Wt);
    ADD(VC_TOWER_TEXT, 0, "%s.ln_final.weight", Wt);
    ADD(VC_TOWER_TEXT, 0, "%s.ln_final.bias", Wt);
    ADD(VC_TOWER_TEXT, 1, "%s.text_projection", Wt, E);
    vc_table_add(b, VC_TOWER_SHARED, 0, 0, NULL, "temp");
    for (int h = 0; h < n; h++) { /* HEAD_TENSORS entries each, in vc_params_view_bind's order */
        const int l = layers[h];
        vc_table_add(b, VC_TOWER_SHARED, 0, 1, SHAPE(W), "vision_encoder.align_layers.%d.ln.weight", l);
        vc_table_add(b, VC_TOWER_SHARED, 0, 1, SHAPE(W), "vision_encoder.align_layers.%d.ln.bias", l);
        vc_table_add(b, VC_TOWER_SHARED, 1, 2, SHAPE(W, E), "vision_encoder.align_layers.%d.proj", l);
        vc_table_add(b, VC_TOWER_SHARED, 0, 1, SHAPE(Wt), "text_encoder.align_layers.%d.ln.weight", l);
        vc_table_add(b, VC_TOWER_SHARED, 0, 1, SHAPE(Wt), "text_encoder.align_layers.%d.ln.bias", l);
        vc_table_add(b, VC_TOWER_SHARED, 1, 2, SHAPE(Wt, E), "text_encoder.align_layers.%d.proj", l);
    }
    (void)i;
    if (!b->failed) return 0;
    vc_param_table_free(t);
    return vc_fail(err, "out of memory building the parameter table");
}

void vc_param_table_free(vc_param_table *t) {
    free(t->info);
    memset(t, 0, sizeof *t);
}

const vc_param_info *vc_param_find(const vc_param_table *t, const char *name) {
    for (int i = 0; i < t->count; i++)
        if (!strcmp(t->info[i].name, name)) return &t->info[i];
    return NULL;
}

static vc_real *at(const vc_param_table *t, vc_real *base, int *cursor) {
    return base + t->info[(*cursor)++].offset;
}

void vc_block_view_bind(const vc_param_table *t, vc_real *base, int *k, vc_block_view *b) {
    b->ln1_w = at(t, base, k);
    b->ln1_b = at(t, base, k);
    b->qkv_w = at(t, base, k);
    b->qkv_b = at(t, base, k);
    b->out_w = at(t, base, k);
    b->out_b = at(t, base, k);
    b->ln2_w = at(t, base, k);
    b->ln2_b = at(t, base, k);
    b->fc_w = at(t, base, k);
    b->fc_b = at(t, base, k);
    b->proj_w = at(t, base, k);
    b->proj_b = at(t, base, k);
}

/* An alignment head's side: ln.weight, ln.bias, proj, in the table's order. */
static void bind_ln_head(const vc_param_table *t, vc_real *base, int *k, vc_ln_head *h) {
    h->ln_w = at(t, base, k);
    h->ln_b = at(t, base, k);
    h->proj = at(t, base, k);
}

int vc_params_view_bind(const vc_config *c, const vc_param_table *t, vc_real *base,
                        vc_params_view *v, vc_error *err) {
    memset(v, 0, sizeof *v);
    v->base = base;
    v->v.blocks = calloc((size_t)c->vision_layers, sizeof *v->v.blocks);
    v->t.blocks = calloc((size_t)c->text_layers, sizeof *v->t.blocks);
    if (!v->v.blocks || !v->t.blocks) {
        vc_params_view_free(v);
        return vc_fail(err, "out of memory binding parameter views");
    }
    /* Walks the table in the order vc_param_table_build laid it out. */
    int k = 0;
    v->v.conv1 = at(t, base, &k);
    v->v.class_emb = at(t, base, &k);
    v->v.pos_emb = at(t, base, &k);
    v->v.temporal_emb = at(t, base, &k);
    v->v.ln_pre_w = at(t, base, &k);
    v->v.ln_pre_b = at(t, base, &k);
    for (int l = 0; l < c->vision_layers; l++) vc_block_view_bind(t, base, &k, &v->v.blocks[l]);
    v->v.ln_post_w = at(t, base, &k);
    v->v.ln_post_b = at(t, base, &k);
    v->v.proj = at(t, base, &k);
    v->t.token_emb = at(t, base, &k);
    v->t.pos_emb = at(t, base, &k);
    for (int l = 0; l < c->text_layers; l++) vc_block_view_bind(t, base, &k, &v->t.blocks[l]);
    v->t.ln_final_w = at(t, base, &k);
    v->t.ln_final_b = at(t, base, &k);
    v->t.proj = at(t, base, &k);
    v->temp = at(t, base, &k);
    v->n_heads = (t->count - k) / HEAD_TENSORS;
    if (v->n_heads && !(v->heads = calloc((size_t)v->n_heads, sizeof *v->heads))) {
        vc_params_view_free(v);
        return vc_fail(err, "out of memory binding parameter views");
    }
    for (int h = 0; h < v->n_heads; h++) {
        vc_align_head_view *a = &v->heads[h];
        a->layer = vc_param_head_layer(t->info[k].name);
        bind_ln_head(t, base, &k, &a->v);
        bind_ln_head(t, base, &k, &a->t);
    }
    return 0;
}

void vc_params_view_free(vc_params_view *v) {
    free(v->v.blocks);
    free(v->t.blocks);
    free(v->heads);
    v->v.blocks = v->t.blocks = NULL;
    v->heads = NULL;
    v->n_heads = 0;
}

void vc_fill_normal(vc_real *x, size_t n, double std, vc_rng *r) {
    for (size_t i = 0; i < n; i++) x[i] = (vc_real)(std * vc_rng_normal(r));
}

void vc_fill_const(vc_real *x, size_t n, double v) {
    for (size_t i = 0; i < n; i++) x[i] = (vc_real)v;
}

void vc_blocks_init(vc_block_view *blocks, int layers, int W, vc_rng *r) {
    const double attn_std = pow(W, -0.5), proj_std = pow(W, -0.5) * pow(2.0 * layers, -0.5);
    const double fc_std = pow(2.0 * W, -0.5);
    const size_t w = (size_t)W;
    for (int l = 0; l < layers; l++) {
        vc_block_view *b = &blocks[l];
        vc_fill_const(b->ln1_w, w, 1);
        vc_fill_const(b->ln1_b, w, 0);
        vc_fill_normal(b->qkv_w, 3 * w * w, attn_std, r);
        vc_fill_const(b->qkv_b, 3 * w, 0);
        vc_fill_normal(b->out_w, w * w, proj_std, r);
        vc_fill_const(b->out_b, w, 0);
        vc_fill_const(b->ln2_w, w, 1);
        vc_fill_const(b->ln2_b, w, 0);
        vc_fill_normal(b->fc_w, 4 * w * w, fc_std, r);
        vc_fill_const(b->fc_b, 4 * w, 0);
        vc_fill_normal(b->proj_w, 4 * w * w, proj_std, r);
        vc_fill_const(b->proj_b, w, 0);
    }
}

int vc_params_check_finite(const vc_param_table *t, const vc_real *buf, const char *what, vc_error *err) {
    for (int i = 0; i < t->count; i++) {
        const vc_param_info *pi = &t->info[i];
        const vc_nonfinite c = vc_count_nonfinite_real(buf + pi->offset, pi->numel);
        if (c.nan + c.inf == 0) continue;
        char name[256];
        snprintf(name, sizeof name, "%s tensor '%s'", what, pi->name);
        return vc_fail_nonfinite(err, name, c);
    }
    return 0;
}
