/* Model configuration: the shapes of both towers. Stored as JSON in the "config" metadata
 * entry of every safetensors file viclip writes, so a file always says what model it holds. */
#ifndef VC_MODEL_CONFIG_H
#define VC_MODEL_CONFIG_H

#include <stddef.h>

#include "core/error.h"

typedef struct vc_config {
    /* video tower */
    int image_size;     /* input H = W */
    int patch_size;     /* Conv3d kernel (1, p, p) */
    int num_frames;     /* T; the temporal position embedding has T rows */
    int vision_width;
    int vision_layers;
    int vision_heads;
    /* text tower */
    int context_length; /* 32 for ViCLIP */
    int vocab_size;     /* 49408 for the CLIP BPE */
    int text_width;
    int text_layers;
    int text_heads;
    /* shared */
    int embed_dim;      /* output of proj and text_projection */
} vc_config;

/* Every field lies in 1..VC_CONFIG_MAX_DIM (checked when a config is read or validated). */
#define VC_CONFIG_MAX_DIM (1 << 20)

typedef enum { VC_PRESET_TINY, VC_PRESET_DEMO, VC_PRESET_B16, VC_PRESET_L14 } vc_preset;

vc_config vc_config_preset(vc_preset p);
/* Accepts "tiny", "demo", "b16" / "ViT-B/16", "l14" / "ViT-L/14". */
int vc_config_from_name(const char *name, vc_config *out, vc_error *err);
int vc_config_validate(const vc_config *c, vc_error *err);
int vc_config_to_json(const vc_config *c, char *buf, size_t cap);
int vc_config_from_json(const char *json, vc_config *out, vc_error *err);

static inline int vc_config_grid(const vc_config *c) { return c->image_size / c->patch_size; }
/* Patch tokens per frame. */
static inline int vc_config_patches(const vc_config *c) {
    return vc_config_grid(c) * vc_config_grid(c);
}
/* Patch tokens per clip (all frames). */
static inline int vc_config_video_tokens(const vc_config *c) {
    return vc_config_patches(c) * c->num_frames;
}
/* Patch tokens kept per clip after masking a fraction `ratio` (the official rule:
 * drop int(ratio * N), keep the rest). */
int vc_config_kept_tokens(const vc_config *c, double mask_ratio);

#endif
