#include "model/model_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has_prefix(const char *name, const char *const *prefixes) {
    for (; prefixes && *prefixes; prefixes++)
        if (!strncmp(name, *prefixes, strlen(*prefixes))) return 1;
    return 0;
}

vc_model *vc_model_from_safetensors(const vc_safetensors *st, const char *const *extra_prefixes,
                                    vc_error *err) {
    const char *cfg_json = vc_st_meta(st, "config");
    if (!cfg_json) {
        vc_fail(err, "%s: no 'config' metadata (not a viclip model file; convert it with `viclip convert`)",
                vc_st_path(st));
        return NULL;
    }
    vc_config cfg;
    if (vc_config_from_json(cfg_json, &cfg, err)) {
        vc_fail_ctx(err, "%s", vc_st_path(st));
        return NULL;
    }
    vc_model *m = vc_model_new(&cfg, err);
    if (!m) return NULL;
    /* layer-level alignment heads (model/align_layers.h) are named by their tensors */
    int layers[VC_ALIGN_MAX_LAYERS], n = 0;
    for (int i = 0; i < vc_st_count(st); i++) {
        const int l = vc_param_head_layer(vc_st_at(st, i)->name);
        int seen = !l;
        for (int k = 0; k < n && !seen; k++) seen = layers[k] == l;
        if (seen) continue;
        if (n == VC_ALIGN_MAX_LAYERS) {
            vc_fail(err, "%s: alignment heads at more than %d layers", vc_st_path(st), VC_ALIGN_MAX_LAYERS);
            vc_model_free(m);
            return NULL;
        }
        int k = n++;
        for (; k > 0 && layers[k - 1] > l; k--) layers[k] = layers[k - 1];
        layers[k] = l;
    }
    if (n && vc_model_set_align_heads(m, layers, n, err)) {
        vc_fail_ctx(err, "%s", vc_st_path(st));
        vc_model_free(m);
        return NULL;
    }
    for (int i = 0; i < vc_st_count(st); i++) {
        const char *name = vc_st_at(st, i)->name;
        if (!vc_param_find(&m->table, name) && !has_prefix(name, extra_prefixes)) {
            vc_fail(err, "%s: unexpected tensor '%s' (not a parameter of this model config)",
                    vc_st_path(st), name);
            vc_model_free(m);
            return NULL;
        }
    }
    if (vc_model_read_params(m, st, err)) {
        vc_model_free(m);
        return NULL;
    }
    return m;
}

int vc_model_read_params(vc_model *m, const vc_safetensors *st, vc_error *err) {
    for (int i = 0; i < m->table.count; i++) {
        const vc_param_info *pi = &m->table.info[i];
#ifdef VC_DOUBLE
        if (vc_st_read_f64(st, pi->name, m->params + pi->offset, pi->ndim, pi->shape, err)) return -1;
#else
        if (vc_st_read_f32(st, pi->name, m->params + pi->offset, pi->ndim, pi->shape, err)) return -1;
#endif
    }
    char what[4200];
    snprintf(what, sizeof what, "%s:", vc_st_path(st));
    return vc_params_check_finite(&m->table, m->params, what, err);
}

vc_model *vc_model_load(const char *path, const char *const *extra_prefixes, vc_error *err) {
    vc_safetensors *st = vc_st_open(path, err);
    if (!st) return NULL;
    vc_model *m = vc_model_from_safetensors(st, extra_prefixes, err);
    vc_st_close(st);
    return m;
}

int vc_model_add_to_writer(const vc_model *m, vc_st_writer *w, vc_dtype dtype, void **owned,
                           vc_error *err) {
    *owned = NULL;
    /* a non-finite model is never written, so it cannot replace the last good file */
    if (vc_params_check_finite(&m->table, m->params, "the model's", err)) return -1;
    char cfg[1024];
    vc_config_to_json(&m->cfg, cfg, sizeof cfg);
    if (vc_st_writer_meta(w, "config", cfg, err)) return -1;
#ifdef VC_DOUBLE
    if (dtype != VC_DT_F64) return vc_fail(err, "the double-precision build writes F64 only");
    const void *data = m->params;
#else
    const void *data = m->params;
    if (dtype != VC_DT_F32) {
        if (dtype != VC_DT_F16 && dtype != VC_DT_BF16)
            return vc_fail(err, "model files are written as F32, F16 or BF16, not %s", vc_dtype_name(dtype));
        *owned = malloc(m->table.total * 2);
        if (!*owned) return vc_fail(err, "out of memory converting the model to %s", vc_dtype_name(dtype));
        vc_convert_from_f32(*owned, dtype, m->params, m->table.total);
        data = *owned;
    }
#endif
    const size_t esz = vc_dtype_size(dtype);
    for (int i = 0; i < m->table.count; i++) {
        const vc_param_info *pi = &m->table.info[i];
        if (vc_st_writer_add(w, pi->name, dtype, pi->ndim, pi->shape, (const char *)data + pi->offset * esz, err))
            return -1;
    }
    return 0;
}

int vc_model_save(const vc_model *m, const char *path, vc_dtype dtype, vc_error *err) {
    vc_st_writer *w = vc_st_writer_new();
    if (!w) return vc_fail(err, "out of memory creating a safetensors writer");
    void *owned = NULL;
    int rc = vc_st_writer_meta(w, "format", "viclip", err);
    if (!rc && (rc = vc_model_add_to_writer(m, w, dtype, &owned, err))) vc_fail_ctx(err, "not writing %s", path);
    if (!rc) rc = vc_st_writer_write(w, path, err);
    vc_st_writer_free(w);
    free(owned);
    return rc;
}
