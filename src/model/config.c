#include "model/config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "io/json.h"

vc_config vc_config_preset(vc_preset p) {
    vc_config c;
    memset(&c, 0, sizeof c);
    switch (p) {
    case VC_PRESET_B16:
        c = (vc_config){.image_size = 224, .patch_size = 16, .num_frames = 8, .vision_width = 768,
                        .vision_layers = 12, .vision_heads = 12, .context_length = 32,
                        .vocab_size = 49408, .text_width = 512, .text_layers = 12,
                        .text_heads = 8, .embed_dim = 512};
        break;
    case VC_PRESET_L14:
        c = (vc_config){.image_size = 224, .patch_size = 14, .num_frames = 8, .vision_width = 1024,
                        .vision_layers = 24, .vision_heads = 16, .context_length = 32,
                        .vocab_size = 49408, .text_width = 768, .text_layers = 12,
                        .text_heads = 12, .embed_dim = 768};
        break;
    case VC_PRESET_DEMO:
        /* Small enough to train from scratch on 2 cores in minutes on the synthetic set. */
        c = (vc_config){.image_size = 32, .patch_size = 8, .num_frames = 8, .vision_width = 128,
                        .vision_layers = 3, .vision_heads = 4, .context_length = 32,
                        .vocab_size = 49408, .text_width = 128, .text_layers = 2,
                        .text_heads = 4, .embed_dim = 128};
        break;
    case VC_PRESET_TINY:
    default:
        c = (vc_config){.image_size = 16, .patch_size = 4, .num_frames = 4, .vision_width = 32,
                        .vision_layers = 2, .vision_heads = 2, .context_length = 8,
                        .vocab_size = 100, .text_width = 32, .text_layers = 2, .text_heads = 4,
                        .embed_dim = 24};
        break;
    }
    return c;
}

int vc_config_from_name(const char *name, vc_config *out, vc_error *err) {
    if (!strcasecmp(name, "tiny")) *out = vc_config_preset(VC_PRESET_TINY);
    else if (!strcasecmp(name, "demo")) *out = vc_config_preset(VC_PRESET_DEMO);
    else if (!strcasecmp(name, "b16") || !strcasecmp(name, "ViT-B/16") || !strcasecmp(name, "b/16"))
        *out = vc_config_preset(VC_PRESET_B16);
    else if (!strcasecmp(name, "l14") || !strcasecmp(name, "ViT-L/14") || !strcasecmp(name, "l/14"))
        *out = vc_config_preset(VC_PRESET_L14);
    else
        return vc_fail(err, "unknown model config '%s' (expected tiny, demo, b16 or l14)", name);
    return 0;
}

int vc_config_validate(const vc_config *c, vc_error *err) {
    struct { const char *name; int v; } pos[] = {
        {"image_size", c->image_size}, {"patch_size", c->patch_size},
        {"num_frames", c->num_frames}, {"vision_width", c->vision_width},
        {"vision_layers", c->vision_layers}, {"vision_heads", c->vision_heads},
        {"context_length", c->context_length}, {"vocab_size", c->vocab_size},
        {"text_width", c->text_width}, {"text_layers", c->text_layers},
        {"text_heads", c->text_heads}, {"embed_dim", c->embed_dim},
    };
    for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
        if (pos[i].v <= 0 || pos[i].v > VC_CONFIG_MAX_DIM)
            return vc_fail(err, "config field '%s' is %d, outside 1..%d", pos[i].name, pos[i].v, VC_CONFIG_MAX_DIM);
    if (c->image_size % c->patch_size)
        return vc_fail(err, "config: image_size %d is not a multiple of patch_size %d",
                       c->image_size, c->patch_size);
    if (c->vision_width % c->vision_heads)
        return vc_fail(err, "config: vision_width %d is not divisible by vision_heads %d",
                       c->vision_width, c->vision_heads);
    if (c->text_width % c->text_heads)
        return vc_fail(err, "config: text_width %d is not divisible by text_heads %d",
                       c->text_width, c->text_heads);
    if (c->context_length < 2)
        return vc_fail(err, "config: context_length %d must be at least 2 (SOT and EOT)",
                       c->context_length);
    return 0;
}

int vc_config_kept_tokens(const vc_config *c, double mask_ratio) {
    int n = vc_config_video_tokens(c);
    if (mask_ratio <= 0) return n;
    int dropped = (int)(mask_ratio * n);
    int kept = n - dropped;
    return kept < 1 ? 1 : kept;
}

#define VC_CONFIG_FIELDS(X)                                                             \
    X(image_size) X(patch_size) X(num_frames) X(vision_width) X(vision_layers)         \
    X(vision_heads) X(embed_dim) X(context_length) X(vocab_size) X(text_width)         \
    X(text_layers) X(text_heads)

int vc_config_to_json(const vc_config *c, char *buf, size_t cap) {
    size_t n = 0;
    int w = snprintf(buf, cap, "{");
    n += (size_t)w;
#define VC_EMIT(f) \
    w = snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, "%s\"" #f "\":%d", n > 1 ? "," : "", c->f); \
    n += (size_t)w;
    VC_CONFIG_FIELDS(VC_EMIT)
#undef VC_EMIT
    w = snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, "}");
    n += (size_t)w;
    return (int)n;
}

int vc_config_from_json(const char *json, vc_config *out, vc_error *err) {
    vc_json *root = vc_json_parse(json, strlen(json), err);
    if (!root) return vc_fail_ctx(err, "model config metadata");
    vc_config c;
    memset(&c, 0, sizeof c);
    int64_t v = 0;
    /* range-checked as read: a value that does not fit is an error quoting it, not a wrapped int */
#define VC_READ(f)                                                              \
    if (vc_json_get_int_in(root, #f, 1, VC_CONFIG_MAX_DIM, &v, err)) {          \
        vc_json_free(root);                                                     \
        return vc_fail_ctx(err, "model config metadata");                       \
    }                                                                           \
    c.f = (int)v;
    VC_CONFIG_FIELDS(VC_READ)
#undef VC_READ
    vc_json_free(root);
    if (vc_config_validate(&c, err)) return -1;
    *out = c;
    return 0;
}
