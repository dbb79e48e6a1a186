/* Hugging Face `transformers` CLIP checkpoints (CLIPModel: model.safetensors or
 * pytorch_model.bin) renamed to the OpenAI/OpenCLIP layout the mapper inflates:
 *   vision_model.embeddings.patch_embedding.weight    -> visual.conv1.weight
 *   vision_model.embeddings.class_embedding           -> visual.class_embedding
 *   vision_model.embeddings.position_embedding.weight -> visual.positional_embedding
 *   vision_model.pre_layrnorm / post_layernorm        -> visual.ln_pre / visual.ln_post
 *   visual_projection.weight [E,W]                    -> visual.proj [W,E] (transposed)
 *   text_model.embeddings.token_embedding.weight      -> token_embedding.weight
 *   text_model.embeddings.position_embedding.weight   -> positional_embedding
 *   text_model.final_layer_norm                       -> ln_final
 *   text_projection.weight [E,W]                      -> text_projection [W,E] (transposed)
 *   {vision,text}_model.encoder.layers.i.             -> {visual.,}transformer.resblocks.i.
 *     self_attn.{q,k,v}_proj.{weight,bias}            ->   attn.in_proj_{weight,bias} (rows q;k;v)
 *     self_attn.out_proj / layer_norm1 / layer_norm2  ->   attn.out_proj / ln_1 / ln_2
 *     mlp.fc1 / mlp.fc2                               ->   mlp.c_fc / mlp.c_proj
 * position_ids buffers are dropped; logit_scale is kept (the mapper drops it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/import.h"

typedef struct {
    const char *hf, *ours;
} rename_rule;

/* Prefix rules, the first match wins; layer-internal names are handled by layer_rule. */
static const rename_rule PREFIXES[] = {
    {"vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight"},
    {"vision_model.embeddings.class_embedding", "visual.class_embedding"},
    {"vision_model.embeddings.position_embedding.weight", "visual.positional_embedding"},
    {"vision_model.pre_layrnorm.", "visual.ln_pre."},
    {"vision_model.post_layernorm.", "visual.ln_post."},
    {"text_model.embeddings.token_embedding.weight", "token_embedding.weight"},
    {"text_model.embeddings.position_embedding.weight", "positional_embedding"},
    {"text_model.final_layer_norm.", "ln_final."},
    {"vision_model.encoder.layers.", "visual.transformer.resblocks."},
    {"text_model.encoder.layers.", "transformer.resblocks."},
};

static const rename_rule IN_LAYER[] = {
    {"self_attn.out_proj.", "attn.out_proj."}, {"layer_norm1.", "ln_1."}, {"layer_norm2.", "ln_2."},
    {"mlp.fc1.", "mlp.c_fc."},                 {"mlp.fc2.", "mlp.c_proj."},
};

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Our name for an HF name; "" to drop it; NULL when it is a q/k/v piece (packed separately). */
static const char *hf_to_ours(const char *hf, char *out, size_t cap) {
    if (ends_with(hf, "position_ids")) return "";
    if (!strcmp(hf, "logit_scale")) return "logit_scale";
    for (size_t i = 0; i < sizeof PREFIXES / sizeof PREFIXES[0]; i++) {
        size_t n = strlen(PREFIXES[i].hf);
        if (strncmp(hf, PREFIXES[i].hf, n)) continue;
        const char *rest = hf + n;
        if (!strstr(PREFIXES[i].hf, "layers.")) {
            snprintf(out, cap, "%s%s", PREFIXES[i].ours, rest);
            return out;
        }
        const char *dot = strchr(rest, '.'); /* "<i>.<inner>" */
        if (!dot) return "";
        const char *inner = dot + 1;
        if (!strncmp(inner, "self_attn.q_proj.", 17) || !strncmp(inner, "self_attn.k_proj.", 17) ||
            !strncmp(inner, "self_attn.v_proj.", 17))
            return NULL;
        for (size_t k = 0; k < sizeof IN_LAYER / sizeof IN_LAYER[0]; k++) {
            size_t m = strlen(IN_LAYER[k].hf);
            if (!strncmp(inner, IN_LAYER[k].hf, m)) {
                snprintf(out, cap, "%s%.*s%s%s", PREFIXES[i].ours, (int)(inner - rest), rest, IN_LAYER[k].ours, inner + m);
                return out;
            }
        }
        snprintf(out, cap, "%s%s", PREFIXES[i].ours, rest); /* unknown: keep, the mapper names it */
        return out;
    }
    snprintf(out, cap, "%s", hf);
    return out;
}

static int transpose_2d(vc_imp_tensor *t, vc_error *err) {
    if (t->ndim != 2 || !t->data) return vc_fail(err, "tensor '%s' should be a float matrix", t->name);
    const int64_t r = t->shape[0], c = t->shape[1];
    float *d = malloc(t->numel * sizeof *d);
    if (!d) return vc_fail(err, "out of memory");
    for (int64_t i = 0; i < r; i++)
        for (int64_t j = 0; j < c; j++) d[j * r + i] = t->data[i * c + j];
    free(t->data);
    t->data = d;
    t->shape[0] = c, t->shape[1] = r;
    return 0;
}

/* attn.in_proj_{weight,bias} of one layer from its q, k and v projections (rows q; k; v). */
static int pack_qkv(const vc_imp_set *s, const char *layer_hf, const char *layer_ours, const char *kind,
                    vc_imp_tensor *out, vc_error *err) {
    const vc_imp_tensor *p[3];
    static const char *const which[3] = {"q", "k", "v"};
    char name[1200];
    for (int k = 0; k < 3; k++) {
        snprintf(name, sizeof name, "%sself_attn.%s_proj.%s", layer_hf, which[k], kind);
        if (!(p[k] = vc_imp_find(s, name)) || !p[k]->data) return vc_fail(err, "missing tensor '%s'", name);
        if (p[k]->numel != p[0]->numel || p[k]->ndim != p[0]->ndim)
            return vc_fail(err, "'%s' does not match the shape of the q projection", name);
    }
    memset(out, 0, sizeof *out);
    snprintf(name, sizeof name, "%sattn.in_proj_%s", layer_ours, kind);
    out->name = strdup(name);
    out->data = malloc(3 * p[0]->numel * sizeof *out->data);
    if (!out->name || !out->data) return free(out->name), free(out->data), vc_fail(err, "out of memory");
    out->src_dtype = p[0]->src_dtype;
    out->ndim = p[0]->ndim;
    memcpy(out->shape, p[0]->shape, sizeof out->shape);
    out->shape[0] *= 3;
    out->numel = 3 * p[0]->numel;
    for (int k = 0; k < 3; k++) memcpy(out->data + k * p[0]->numel, p[k]->data, p[0]->numel * sizeof *out->data);
    return 0;
}

int vc_imp_from_hf_clip(vc_imp_set *s, vc_error *err) {
    if (!vc_imp_find(s, "vision_model.embeddings.patch_embedding.weight")) return 0;
    vc_imp_tensor *next = calloc((size_t)s->count + 1, sizeof *next);
    if (!next) return vc_fail(err, "out of memory");
    int n = 0, rc = 0;
    char name[512];
    for (int i = 0; i < s->count && !rc; i++) {
        vc_imp_tensor *t = &s->t[i];
        const char *ours = hf_to_ours(t->name, name, sizeof name);
        if (!ours) { /* a q/k/v piece: the q weight/bias builds the packed tensor */
            const char *q = strstr(t->name, "self_attn.q_proj.");
            if (!q) continue;
            char layer_hf[512], layer_ours[512];
            snprintf(layer_hf, sizeof layer_hf, "%.*s", (int)(q - t->name), t->name);
            snprintf(layer_ours, sizeof layer_ours, "%s", hf_to_ours(layer_hf, name, sizeof name));
            rc = pack_qkv(s, layer_hf, layer_ours, q + 17, &next[n], err);
            if (!rc) n++;
            continue;
        }
        if (!ours[0]) continue;
        next[n] = *t;
        if (!(next[n].name = strdup(ours))) rc = vc_fail(err, "out of memory");
        else {
            t->data = NULL; /* moved */
            n++;
        }
    }
    for (int i = 0; !rc && i < n; i++) { /* HF stores the projections as Linear weights [E, W] */
        const int visual = !strcmp(next[i].name, "visual_projection.weight");
        if (!visual && strcmp(next[i].name, "text_projection.weight")) continue;
        char *renamed = strdup(visual ? "visual.proj" : "text_projection");
        if (!renamed) rc = vc_fail(err, "out of memory");
        else free(next[i].name), next[i].name = renamed;
        if (!rc) rc = transpose_2d(&next[i], err);
    }
    /* the new list takes the old one's place; old names and any data not moved go */
    for (int i = 0; i < s->count; i++) free(s->t[i].name), free(s->t[i].data);
    free(s->t);
    s->t = next, s->count = n;
    return rc;
}
