#include "train/start_model.h"

#include <string.h>

#include "model/import.h"
#include "model/model_io.h"

int vc_start_text_is_random(const vc_start_model *s) {
    return !s->init_text || !strcmp(s->init_text, "random");
}

/* A tower's source file through the importer: viclip files as they are, image-CLIP checkpoints
 * inflated. Optimizer state (a checkpoint) and classification heads (a fine-tuned model) are
 * not parameters of either tower (nor are layer-level alignment heads: the importer leaves
 * them out). */
static vc_model *import_tower(const char *path, const char *flag, vc_error *err) {
    static const char *const skip[] = {"optimizer.", "head.", NULL};
    vc_import_opts o = {0};
    o.ignore_prefixes = skip;
    vc_model *m = vc_import_file(path, &o, NULL, err);
    if (!m) vc_fail_ctx(err, "%s", flag);
    return m;
}

static void copy_tower(vc_model *dst, const vc_model *src, vc_tower tower) {
    for (int i = 0; i < dst->table.count; i++) {
        const vc_param_info *pi = &dst->table.info[i];
        if (pi->tower != tower) continue;
        const vc_param_info *si = vc_param_find(&src->table, pi->name);
        /* same config fields for this tower, so every tensor exists with the same shape */
        memcpy(dst->params + pi->offset, src->params + si->offset, pi->numel * sizeof(vc_real));
    }
}

vc_model *vc_start_model_build(const vc_start_model *s, int *new_towers, vc_error *err) {
    const int text_random = vc_start_text_is_random(s);
    if (new_towers) *new_towers = 0;
    if (s->init_model) {
        if (s->init_vision || s->init_text) {
            vc_fail(err, "--init loads both towers: give either --init or --init-vision/--init-text");
            return NULL;
        }
        return vc_model_load(s->init_model, NULL, err);
    }
    vc_model *vis = NULL, *txt = NULL, *m = NULL;
    vc_config cfg = s->cfg;
    if (s->init_vision && !(vis = import_tower(s->init_vision, "--init-vision", err))) goto done;
    if (!text_random && !(txt = import_tower(s->init_text, "--init-text", err))) goto done;
    if (vis) {
        const vc_config *v = &vis->cfg;
        cfg.image_size = v->image_size, cfg.patch_size = v->patch_size, cfg.num_frames = v->num_frames;
        cfg.vision_width = v->vision_width, cfg.vision_layers = v->vision_layers, cfg.vision_heads = v->vision_heads;
        cfg.embed_dim = v->embed_dim;
    }
    if (txt) {
        const vc_config *t = &txt->cfg;
        if (vis && t->embed_dim != vis->cfg.embed_dim) {
            vc_fail(err, "--init-vision %s embeds into %d dimensions but --init-text %s into %d: the towers must share embed_dim",
                    s->init_vision, vis->cfg.embed_dim, s->init_text, t->embed_dim);
            goto done;
        }
        cfg.context_length = t->context_length, cfg.vocab_size = t->vocab_size, cfg.text_width = t->text_width;
        cfg.text_layers = t->text_layers, cfg.text_heads = t->text_heads, cfg.embed_dim = t->embed_dim;
    }
    if (!(m = vc_model_new(&cfg, err))) goto done;
    vc_model_init_random(m, s->seed, s->temp_init);
    if (vis) copy_tower(m, vis, VC_TOWER_VISION);
    else if (s->temporal_init_std > 0) vc_model_init_temporal(m, s->seed, s->temporal_init_std);
    if (txt) copy_tower(m, txt, VC_TOWER_TEXT);
    if (new_towers) *new_towers = (vis ? 0 : 1 << VC_TOWER_VISION) | (txt ? 0 : 1 << VC_TOWER_TEXT);
done:
    vc_model_free(vis);
    vc_model_free(txt);
    return m;
}
