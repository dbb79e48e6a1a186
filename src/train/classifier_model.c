#include "train/classifier_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "eval/evaluate.h"
#include "eval/templates.h"
#include "io/annotations.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "io/strbuf.h"
#include "model/model_io.h"

static int set_classes(vc_classifier *c, const char *const *classes, int n, vc_error *err) {
    c->classes = calloc((size_t)n, sizeof *c->classes);
    if (!c->classes) return vc_fail(err, "out of memory for %d class names", n);
    c->n_classes = n;
    for (int i = 0; i < n; i++)
        if (!(c->classes[i] = strdup(classes[i]))) return vc_fail(err, "out of memory for class names");
    return 0;
}

int vc_classifier_init(vc_classifier *c, vc_model *model, const char *const *classes, int n, vc_error *err) {
    memset(c, 0, sizeof *c);
    c->model = model;
    if (n < 2) {
        vc_classifier_free(c);
        return vc_fail(err, "a classifier needs at least 2 classes, got %d", n);
    }
    const int E = model->cfg.embed_dim;
    if (set_classes(c, classes, n, err)) goto fail;
    c->head = calloc((size_t)n * (E + 1), sizeof *c->head);
    if (!c->head) {
        vc_fail(err, "out of memory for a head of %d classes", n);
        goto fail;
    }
    c->w = c->head;
    c->b = c->head + (size_t)n * E;
    return 0;
fail:
    vc_classifier_free(c);
    return -1;
}

void vc_classifier_free(vc_classifier *c) {
    vc_model_free(c->model);
    for (int i = 0; c->classes && i < c->n_classes; i++) free(c->classes[i]);
    free(c->classes);
    free(c->head);
    memset(c, 0, sizeof *c);
}

size_t vc_classifier_head_elems(const vc_classifier *c) { return (size_t)c->n_classes * (c->model->cfg.embed_dim + 1); }

int vc_classifier_init_zeroshot(vc_classifier *c, const vc_tokenizer *tok, const char *const *templates, int nt,
                                int clean, vc_error *err) {
    const int E = c->model->cfg.embed_dim, C = c->n_classes;
    if (!templates) nt = VC_VICLIP_N_TEMPLATES;
    vc_real *prompts = malloc((size_t)C * nt * E * sizeof *prompts);
    if (!prompts) return vc_fail(err, "out of memory encoding %d class prompts", C * nt);
    int rc = vc_encode_class_prompts(c->model, tok, (const char *const *)c->classes, C, templates, nt, clean, prompts, err);
    const double scale = 1 / (c->model->p.temp[0] * sqrt((double)E) * nt);
    for (int k = 0; !rc && k < C; k++) {
        for (int e = 0; e < E; e++) {
            double s = 0;
            for (int t = 0; t < nt; t++) s += prompts[((size_t)k * nt + t) * E + e];
            c->w[(size_t)k * E + e] = (vc_real)(s * scale);
        }
        c->b[k] = 0;
    }
    free(prompts);
    return rc;
}

void vc_classifier_init_random(vc_classifier *c, uint64_t seed, double std) {
    vc_rng r = vc_rng_at(seed, VC_STREAM_INIT, 2, 0);
    const size_t n = (size_t)c->n_classes * c->model->cfg.embed_dim;
    for (size_t i = 0; i < n; i++) c->w[i] = (vc_real)(std * vc_rng_normal(&r));
    memset(c->b, 0, (size_t)c->n_classes * sizeof *c->b);
}

int vc_classifier_file_has_head(const char *path, vc_error *err) {
    vc_safetensors *st = vc_st_open(path, err);
    if (!st) return -1;
    int has = vc_st_find(st, "head.weight") != NULL;
    vc_st_close(st);
    return has;
}

int vc_classifier_save(const vc_classifier *c, const char *path, vc_error *err) {
    vc_st_writer *w = vc_st_writer_new();
    if (!w) return vc_fail(err, "out of memory creating a safetensors writer");
    vc_strbuf names = {0};
    void *owned = NULL;
    const int C = c->n_classes, E = c->model->cfg.embed_dim;
    int rc = vc_sb_putc(&names, '[', err);
    for (int i = 0; !rc && i < C; i++) {
        if (i) rc = vc_sb_putc(&names, ',', err);
        if (!rc) rc = vc_sb_append_json_string(&names, c->classes[i], strlen(c->classes[i]), err);
    }
    if (!rc) rc = vc_sb_putc(&names, ']', err);
    if (!rc) rc = vc_st_writer_meta(w, "format", "viclip", err);
    if (!rc) rc = vc_st_writer_meta(w, "classes", names.data, err);
    if (!rc) rc = vc_model_add_to_writer(c->model, w, VC_DT_F32, &owned, err);
    if (!rc) rc = vc_st_writer_add(w, "head.weight", VC_DT_F32, 2, (const int64_t[]){C, E}, c->w, err);
    if (!rc) rc = vc_st_writer_add(w, "head.bias", VC_DT_F32, 1, (const int64_t[]){C}, c->b, err);
    if (!rc) rc = vc_st_writer_write(w, path, err);
    vc_st_writer_free(w);
    vc_sb_free(&names);
    free(owned);
    return rc;
}

int vc_classifier_load(vc_classifier *c, const char *path, vc_error *err) {
    memset(c, 0, sizeof *c);
    vc_safetensors *st = vc_st_open(path, err);
    if (!st) return -1;
    int rc = -1;
    vc_json *js = NULL;
    char **names = NULL;
    int n = 0;
    const char *meta = vc_st_meta(st, "classes");
    const vc_st_tensor *hw = vc_st_find(st, "head.weight");
    if (!meta || !hw) {
        vc_fail(err, "%s: no classification head (\"head.weight\" and the \"classes\" metadata); "
                "fine-tune one with `viclip finetune`", path);
        goto done;
    }
    if (!(js = vc_json_parse(meta, strlen(meta), err))) {
        vc_fail_ctx(err, "%s: metadata \"classes\"", path);
        goto done;
    }
    n = vc_json_type(js) == VC_JSON_ARRAY ? (int)vc_json_len(js) : 0;
    names = calloc(n ? (size_t)n : 1, sizeof *names);
    for (int i = 0; names && i < n; i++) {
        const vc_json *v = vc_json_at(js, (size_t)i);
        names[i] = vc_json_type(v) == VC_JSON_STRING ? (char *)vc_json_string(v) : NULL;
        if (!names[i]) {
            vc_fail(err, "%s: metadata \"classes\" must be an array of strings (item %d is not)", path, i + 1);
            goto done;
        }
    }
    if (!names || n < 2) {
        vc_fail(err, "%s: metadata \"classes\" must list at least 2 class names", path);
        goto done;
    }
    vc_model *m = vc_model_from_safetensors(st, (const char *const[]){"head.", "optimizer.", NULL}, err);
    if (!m || vc_classifier_init(c, m, (const char *const *)names, n, err)) goto done;
    const int E = m->cfg.embed_dim;
#ifdef VC_DOUBLE
    if (vc_st_read_f64(st, "head.weight", c->w, 2, (const int64_t[]){n, E}, err) ||
        vc_st_read_f64(st, "head.bias", c->b, 1, (const int64_t[]){n}, err))
#else
    if (vc_st_read_f32(st, "head.weight", c->w, 2, (const int64_t[]){n, E}, err) ||
        vc_st_read_f32(st, "head.bias", c->b, 1, (const int64_t[]){n}, err))
#endif
    {
        vc_fail_ctx(err, "%s lists %d classes", path, n);
        vc_classifier_free(c);
        goto done;
    }
    rc = 0;
done:
    free(names);
    vc_json_free(js);
    vc_st_close(st);
    return rc;
}

int vc_classifier_label_ids(const vc_classifier *c, const vc_annotation_set *ann, int32_t *y, vc_error *err) {
    for (int i = 0; i < ann->n; i++) {
        const char *lab = ann->items[i].label ? ann->items[i].label : ann->items[i].caption;
        y[i] = -1;
        for (int k = 0; k < c->n_classes && y[i] < 0; k++)
            if (!strcmp(c->classes[k], lab)) y[i] = k;
        if (y[i] < 0)
            return vc_fail(err, "%s:%ld: class '%s' is not one of the classifier's %d classes", ann->source,
                           ann->items[i].line, lab, c->n_classes);
    }
    return 0;
}
