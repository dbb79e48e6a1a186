#include "model/model_open.h"

#include <stdio.h>
#include <string.h>

#include "model/model_io.h"

/* not parameters of the model: a training checkpoint's optimizer state, a fine-tuned classifier's head */
static const char *const CHECKPOINT_EXTRAS[] = {"optimizer.", "head.", NULL};

vc_model *vc_model_open(const char *path, const vc_import_opts *o, vc_model_source *src, vc_error *err) {
    vc_model_source local;
    if (!src) src = &local;
    memset(src, 0, sizeof *src);
    vc_error probe;
    vc_safetensors *st = vc_st_open(path, &probe); /* fails cheaply on anything but safetensors */
    if (st && vc_st_meta(st, "config")) {
        vc_model *m = vc_model_from_safetensors(st, CHECKPOINT_EXTRAS, err);
        vc_st_close(st);
        return m;
    }
    if (st) vc_st_close(st);
    vc_import_opts io = o ? *o : (vc_import_opts){0};
    io.ignore_prefixes = CHECKPOINT_EXTRAS;
    vc_model *m = vc_import_file(path, &io, &src->rep, err);
    if (m) src->imported = 1;
    return m;
}

void vc_model_source_describe(const char *path, const vc_model_source *src, char *buf, size_t cap) {
    if (!src->imported) {
        snprintf(buf, cap, "%s: viclip model file", path);
        return;
    }
    snprintf(buf, cap, "%s: imported a %s %s checkpoint in memory (`viclip convert` saves this step)", path,
             src->rep.format, strcmp(src->rep.kind, "clip") ? "ViCLIP" : "image CLIP (inflated to video)");
}
