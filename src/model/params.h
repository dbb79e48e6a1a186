/* Parameter layout. All parameters live in one contiguous buffer described by a table of
 * named tensors (names and shapes exactly those of the official ViCLIP checkpoints). The
 * gradients and both AdamW moments use the same layout, so one "view" type binds named
 * pointers onto any of those buffers. */
#ifndef VC_MODEL_PARAMS_H
#define VC_MODEL_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "core/real.h"
#include "core/rng.h"
#include "model/config.h"

typedef enum { VC_TOWER_VISION = 0, VC_TOWER_TEXT = 1, VC_TOWER_SHARED = 2 } vc_tower;

typedef struct vc_param_info {
    char name[96];
    int ndim;
    int64_t shape[5];
    size_t offset; /* in elements from the start of the buffer */
    size_t numel;
    vc_tower tower;
    int decay;     /* AdamW weight decay applies (matrices only; not embeddings, biases, norms, temp) */
} vc_param_info;

typedef struct vc_param_table {
    vc_param_info *info;
    int count;
    size_t total; /* elements */
} vc_param_table;

/* One pre-LN transformer block (nn.MultiheadAttention packing: in_proj is [3W, W]). */
typedef struct vc_block_view {
    vc_real *ln1_w, *ln1_b;   /* [W] */
    vc_real *qkv_w, *qkv_b;   /* [3W, W], [3W] */
    vc_real *out_w, *out_b;   /* [W, W], [W] */
    vc_real *ln2_w, *ln2_b;   /* [W] */
    vc_real *fc_w, *fc_b;     /* [4W, W], [4W] */
    vc_real *proj_w, *proj_b; /* [W, 4W], [W] */
} vc_block_view;

/* A LayerNorm + projection head (model/ln_head.h): the towers' ln_post + proj and ln_final +
 * text_projection, the layer-level alignment heads, the UMT student head, the MAE decoder's
 * input embedding and pixel head. The projection is CLIP's [W, E] matrix (out = x @ proj, no
 * bias) or an nn.Linear weight [E, W] with an optional bias [E]: exactly one of proj, lin_w. */
typedef struct vc_ln_head {
    vc_real *ln_w, *ln_b;   /* [W] */
    vc_real *proj;          /* [W, E] */
    vc_real *lin_w, *lin_b; /* [E, W], [E] (or NULL: no bias) */
} vc_ln_head;

typedef struct vc_vision_view {
    vc_real *conv1;         /* [W, 3, 1, p, p] == [W, 3*p*p] */
    vc_real *class_emb;     /* [W] */
    vc_real *pos_emb;       /* [1 + P, W] */
    vc_real *temporal_emb;  /* [1, T, W] */
    vc_real *ln_pre_w, *ln_pre_b;
    vc_block_view *blocks;  /* [layers] */
    vc_real *ln_post_w, *ln_post_b;
    vc_real *proj;          /* [W, E] (x @ proj) */
} vc_vision_view;

typedef struct vc_text_view {
    vc_real *token_emb;     /* [V, W] */
    vc_real *pos_emb;       /* [ctx, W] */
    vc_block_view *blocks;
    vc_real *ln_final_w, *ln_final_b;
    vc_real *proj;          /* text_projection [W, E] */
} vc_text_view;

/* A layer-level alignment head (model/align_layers.h): the class token after video block
 * `layer` and the EOT token after text block `layer`, each through its own LayerNorm and
 * projection into the embedding space. Not part of either tower: created only when training
 * asks for it, stored after `temp` as vision_encoder.align_layers.<layer>.{ln.weight,ln.bias,proj}
 * and text_encoder.align_layers.<layer>.{...}, and never used by encoding or evaluation. */
typedef struct vc_align_head_view {
    int layer;                          /* 1-based block index, the same in both towers */
    vc_ln_head v, t;                    /* ln [Wv], proj [Wv, E]; ln [Wt], proj [Wt, E] */
} vc_align_head_view;

/* The towers' own heads as vc_ln_head: ln_post + proj, ln_final + text_projection. */
static inline vc_ln_head vc_vision_head(const vc_vision_view *v) {
    return (vc_ln_head){v->ln_post_w, v->ln_post_b, v->proj, NULL, NULL};
}
static inline vc_ln_head vc_text_head(const vc_text_view *v) {
    return (vc_ln_head){v->ln_final_w, v->ln_final_b, v->proj, NULL, NULL};
}

typedef struct vc_params_view {
    vc_vision_view v;
    vc_text_view t;
    vc_real *temp;          /* [] scalar temperature */
    int n_heads;            /* layer-level alignment heads, ascending layers (usually 0) */
    vc_align_head_view *heads;
    vc_real *base;
} vc_params_view;

/* Builds a table tensor by tensor (the model's, and the pretraining heads' next to it). A
 * failed allocation is recorded in `failed`, so a table is built by a run of calls and checked
 * once. */
typedef struct vc_table_builder {
    vc_param_table *t;
    int cap;
    int failed;
} vc_table_builder;
/* shape: ndim sizes. fmt: printf-style name. */
void vc_table_add(vc_table_builder *b, vc_tower tower, int decay, int ndim, const int64_t *shape,
                  const char *fmt, ...);
/* `layers` pre-LN blocks named PREFIX.transformer.resblocks.N.* (the official names). */
void vc_table_add_blocks(vc_table_builder *b, vc_tower tower, const char *prefix, int layers, int width);
/* Binds one block's twelve tensors, starting at table entry *cursor (advanced past them). */
void vc_block_view_bind(const vc_param_table *t, vc_real *base, int *cursor, vc_block_view *v);

/* Builds the table for a config. Returns -1 only on allocation failure. */
int vc_param_table_build(const vc_config *c, vc_param_table *t, vc_error *err);
/* The same plus layer-level alignment heads at `layers` [n] (ascending, distinct, each within
 * both towers' depth), appended after temp so every other tensor keeps its offset. Their
 * tensors belong to VC_TOWER_SHARED: trained with the temperature whatever the towers'
 * multipliers or freezing. */
int vc_param_table_build_heads(const vc_config *c, const int *layers, int n, vc_param_table *t, vc_error *err);
/* The head layer named by a table entry (vision_encoder.align_layers.<l>.* or text_...), or 0. */
int vc_param_head_layer(const char *name);
void vc_param_table_free(vc_param_table *t);
const vc_param_info *vc_param_find(const vc_param_table *t, const char *name);

/* 0 when every element of buf (a buffer in t's layout: parameters, gradients, moments) is
 * finite; else -1, the message naming `what` (e.g. the file) and the first tensor at fault. */
int vc_params_check_finite(const vc_param_table *t, const vc_real *buf, const char *what, vc_error *err);

/* Binds named pointers over `base` (a buffer of t->total elements). The block arrays are
 * allocated; free them with vc_params_view_free. */
int vc_params_view_bind(const vc_config *c, const vc_param_table *t, vc_real *base,
                        vc_params_view *v, vc_error *err);
void vc_params_view_free(vc_params_view *v);

/* Initialisation helpers: x[0..n) from N(0, std^2), or a constant. */
void vc_fill_normal(vc_real *x, size_t n, double std, vc_rng *r);
void vc_fill_const(vc_real *x, size_t n, double v);
/* CLIP's initialisation of `layers` blocks of width W (attention/MLP weights scaled by width and
 * depth, biases 0, LayerNorms 1 and 0). */
void vc_blocks_init(vc_block_view *blocks, int layers, int W, vc_rng *r);

#endif
