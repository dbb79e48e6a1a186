#include "search/index.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/atomic_file.h"
#include "io/fs.h"
#include "io/json.h"
#include "io/npy.h"
#include "io/strbuf.h"
#include "search/score.h"

static int is_npy_name(const char *out) {
    size_t len = strlen(out);
    return len > 4 && !strcmp(out + len - 4, ".npy");
}

void vc_index_paths(const char *out, char *emb, char *windows, char *meta, size_t cap) {
    size_t len = strlen(out);
    if (is_npy_name(out)) {
        snprintf(emb, cap, "%s", out);
        snprintf(windows, cap, "%.*s.windows.npy", (int)(len - 4), out);
        snprintf(meta, cap, "%.*s.json", (int)(len - 4), out);
    } else {
        snprintf(emb, cap, "%s/embeddings.npy", out);
        snprintf(windows, cap, "%s/windows.npy", out);
        snprintf(meta, cap, "%s/index.json", out);
    }
}

void vc_index_scales_path(const char *out, char *scales, size_t cap) {
    size_t len = strlen(out);
    if (is_npy_name(out)) snprintf(scales, cap, "%.*s.scales.npy", (int)(len - 4), out);
    else snprintf(scales, cap, "%s/scales.npy", out);
}

int vc_index_dtype_parse(const char *name, vc_dtype *dtype, vc_error *err) {
    if (name && !strcmp(name, "fp16")) *dtype = VC_DT_F16;
    else if (name && !strcmp(name, "fp32")) *dtype = VC_DT_F32;
    else if (name && !strcmp(name, "int8")) *dtype = VC_DT_I8;
    else return vc_fail(err, "--index-dtype %s: expected fp16, int8 or fp32", name ? name : "(null)");
    return 0;
}

const char *vc_index_dtype_name(vc_dtype dtype) {
    return dtype == VC_DT_I8 ? "int8" : dtype == VC_DT_F32 ? "fp32" : "fp16";
}

/* The JSON spelling of the row dtype (safetensors names). */
static const char *json_dtype(vc_dtype dtype) { return dtype == VC_DT_I8 ? "I8" : dtype == VC_DT_F32 ? "F32" : "F16"; }

int vc_index_exists(const char *out) {
    char e[4096], w[4096], m[4096];
    struct stat sb;
    vc_index_paths(out, e, w, m, sizeof e);
    return stat(m, &sb) == 0;
}

void vc_index_free(vc_search_index *x) {
    for (int f = 0; f < x->n_files; f++) free(x->files[f].path);
    free(x->files), free(x->rows), free(x->scale), free(x->start), free(x->end), free(x->file), free(x->config_json);
    memset(x, 0, sizeof *x);
}

int vc_index_check_preprocess(const vc_search_index *x, int sampling, int interp, const char *where, vc_error *err) {
    if ((sampling < 0 || sampling == (int)x->sampling) && (interp < 0 || interp == (int)x->interp)) return 0;
    return vc_fail(err, "%s: the index was encoded with --sampling %s --interp %s, asked for --sampling %s --interp %s: "
                        "one index holds one preprocessing (leave the flags out to use the index's, or write a new index)",
                   where, vc_sampling_name(x->sampling), vc_interp_name(x->interp),
                   vc_sampling_name(sampling < 0 ? x->sampling : (vc_sampling)sampling),
                   vc_interp_name(interp < 0 ? x->interp : (vc_interp)interp));
}

void vc_index_row(const vc_search_index *x, int i, float *out) {
    const size_t off = (size_t)i * x->dim;
    if (x->dtype == VC_DT_F16) vc_convert_to_f32(out, (const uint16_t *)x->rows + off, VC_DT_F16, (size_t)x->dim);
    else if (x->dtype == VC_DT_I8)
        for (int e = 0; e < x->dim; e++) out[e] = x->scale[i] * ((const int8_t *)x->rows)[off + e];
    else memcpy(out, (const float *)x->rows + off, (size_t)x->dim * sizeof *out);
}

int vc_index_find_file(const vc_search_index *x, const char *path) {
    for (int f = 0; f < x->n_files; f++)
        if (!strcmp(x->files[f].path, path)) return f;
    return -1;
}

static int load_meta(const char *meta_path, vc_search_index *x, vc_error *err) {
    char *text = NULL;
    size_t len = 0;
    if (vc_read_file(meta_path, &text, &len, err)) return -1;
    vc_json *j = vc_json_parse(text, len, err);
    free(text);
    if (!j) return vc_fail_ctx(err, "%s", meta_path);
    long version = 0, frames = 0, size = 0, dim = 0, n = 0;
    int rc = 0;
    const vc_json *v = vc_json_get(j, "version");
    if (!v) rc = vc_fail(err, "%s: an index of format version 1 (embeddings.npy + inputs.txt): re-encode the videos "
                              "(viclip encode) to make a version %d index", meta_path, VC_INDEX_VERSION);
    if (!rc && (vc_json_get_int(j, "version", &version, err) || (version != VC_INDEX_VERSION && version != VC_INDEX_VERSION_I8)))
        rc = vc_fail(err, "%s: index format version %ld, this viclip reads versions %d and %d", meta_path, version,
                     VC_INDEX_VERSION, VC_INDEX_VERSION_I8);
    const char *sum = rc ? NULL : vc_json_get_str(j, "param_checksum", err);
    const char *dtype = sum ? vc_json_get_str(j, "dtype", err) : NULL;
    const vc_json *pre = vc_json_get(j, "preprocess"), *files = vc_json_get(j, "files"), *cfg = vc_json_get(j, "config");
    if (!rc && (!sum || !dtype)) rc = vc_fail_ctx(err, "%s", meta_path);
    if (!rc && (!pre || !files || vc_json_type(files) != VC_JSON_ARRAY))
        rc = vc_fail(err, "%s: missing \"preprocess\" or \"files\"", meta_path);
    if (!rc && (vc_json_get_int(j, "dim", &dim, err) || vc_json_get_int(j, "n_windows", &n, err) ||
                vc_json_get_int(pre, "frames", &frames, err) || vc_json_get_int(pre, "size", &size, err) ||
                vc_json_get_double(pre, "window", &x->window, err) || vc_json_get_double(pre, "stride", &x->stride, err)))
        rc = vc_fail_ctx(err, "%s", meta_path);
    if (!rc && strlen(sum) != 16) rc = vc_fail(err, "%s: param_checksum \"%s\" is not 16 hex digits", meta_path, sum);
    if (!rc && strcmp(dtype, "F16") && strcmp(dtype, "F32") && strcmp(dtype, "I8"))
        rc = vc_fail(err, "%s: dtype \"%s\" (expected F16, F32 or I8)", meta_path, dtype);
    /* int8 rows need their scales: a version 2 reader must not take them for another dtype */
    if (!rc && (!strcmp(dtype, "I8")) != (version == VC_INDEX_VERSION_I8))
        rc = vc_fail(err, "%s: dtype %s in an index of format version %ld (int8 rows are version %d, others %d)", meta_path,
                     dtype, version, VC_INDEX_VERSION_I8, VC_INDEX_VERSION);
    if (!rc) {
        snprintf(x->checksum, sizeof x->checksum, "%s", sum);
        x->dtype = !strcmp(dtype, "F16") ? VC_DT_F16 : !strcmp(dtype, "I8") ? VC_DT_I8 : VC_DT_F32;
        x->dim = (int)dim, x->n = (int)n, x->frames = (int)frames, x->size = (int)size;
        /* indexes written before these were recorded were all made the evaluation's way */
        const vc_json *sampling = vc_json_get(pre, "sampling"), *resize = vc_json_get(pre, "resize");
        vc_error why;
        if (sampling && (!vc_json_string(sampling) || vc_sampling_parse(vc_json_string(sampling), &x->sampling, &why)))
            rc = vc_fail(err, "%s: preprocess.sampling: %s", meta_path, vc_json_string(sampling) ? why.msg : "not a string");
        if (!rc && resize && (!vc_json_string(resize) || vc_interp_parse(vc_json_string(resize), &x->interp, &why)))
            rc = vc_fail(err, "%s: preprocess.resize: %s", meta_path, vc_json_string(resize) ? why.msg : "not a string");
        if (!sampling) x->sampling = VC_SAMPLE_MIDDLE;
        if (!resize) x->interp = VC_INTERP_BICUBIC;
        (void)cfg; /* the caller writes the model's config back (its checksum must match) */
        x->n_files = (int)vc_json_len(files);
        x->files = calloc((size_t)x->n_files + 1, sizeof *x->files);
        if (!rc && !x->files) rc = vc_fail(err, "out of memory");
    }
    int next = 0;
    for (int f = 0; !rc && f < x->n_files; f++) {
        const vc_json *o = vc_json_at(files, (size_t)f);
        const char *p = vc_json_get_str(o, "path", err);
        long first = 0, count = 0;
        double size_d = 0, mtime_s = 0, mtime_ns = 0;
        if (!p || vc_json_get_int(o, "first", &first, err) || vc_json_get_int(o, "count", &count, err) ||
            vc_json_get_double(o, "size", &size_d, err) || vc_json_get_double(o, "mtime_s", &mtime_s, err) ||
            vc_json_get_double(o, "mtime_nsec", &mtime_ns, err) ||
            vc_json_get_double(o, "duration", &x->files[f].duration, err)) {
            rc = vc_fail_ctx(err, "%s: files[%d]", meta_path, f);
            break;
        }
        if (first != next || count < 1 || first + count > n) {
            rc = vc_fail(err, "%s: files[%d] rows [%ld, %ld) do not follow the previous file's", meta_path, f, first, first + count);
            break;
        }
        next = (int)(first + count);
        x->files[f] = (vc_index_file){strdup(p), (int64_t)size_d, (int64_t)mtime_s * 1000000000 + (int64_t)mtime_ns,
                                      x->files[f].duration,
                                      (int)first, (int)count};
        if (!x->files[f].path) rc = vc_fail(err, "out of memory");
    }
    if (!rc && next != n) rc = vc_fail(err, "%s: the files cover %d of %ld rows", meta_path, next, n);
    vc_json_free(j);
    return rc;
}

int vc_index_load(const char *out, vc_search_index *x, vc_error *err) {
    char emb_path[4096], win_path[4096], meta_path[4096], scale_path[4096];
    memset(x, 0, sizeof *x);
    vc_index_paths(out, emb_path, win_path, meta_path, sizeof emb_path);
    vc_index_scales_path(out, scale_path, sizeof scale_path);
    int rc = load_meta(meta_path, x, err);
    vc_npy e = {0}, w = {0};
    int have_e = 0, have_w = 0;
    if (!rc) rc = vc_npy_read(emb_path, &e, err), have_e = !rc;
    if (!rc && (e.dtype != x->dtype || e.ndim != 2 || e.shape[0] != x->n || e.shape[1] != x->dim))
        rc = vc_fail(err, "%s: expected %s [%d, %d] as %s says", emb_path, vc_dtype_name(x->dtype), x->n, x->dim, meta_path);
    if (!rc) rc = vc_npy_read(win_path, &w, err), have_w = !rc;
    if (!rc && (w.dtype != VC_DT_F64 || w.ndim != 2 || w.shape[0] != x->n || w.shape[1] != 2))
        rc = vc_fail(err, "%s: expected float64 [%d, 2] (start, end)", win_path, x->n);
    if (!rc && x->dtype == VC_DT_I8) {
        vc_npy sc = {0};
        rc = vc_npy_read(scale_path, &sc, err);
        if (!rc && (sc.dtype != VC_DT_F32 || sc.ndim != 1 || sc.shape[0] != x->n))
            rc = vc_fail(err, "%s: expected float32 [%d] (a scale per int8 row) as %s says", scale_path, x->n, meta_path);
        for (int i = 0; !rc && i < x->n; i++)
            if (!(((float *)sc.data)[i] >= 0) || !isfinite(((float *)sc.data)[i]))
                rc = vc_fail(err, "%s: row %d has scale %g (must be finite and >= 0)", scale_path, i, ((float *)sc.data)[i]);
        if (!rc) x->scale = sc.data, sc.data = NULL;
        vc_npy_free(&sc);
    }
    if (!rc) {
        x->start = malloc(((size_t)x->n + 1) * sizeof *x->start);
        x->end = malloc(((size_t)x->n + 1) * sizeof *x->end);
        x->file = malloc(((size_t)x->n + 1) * sizeof *x->file);
        if (!x->start || !x->end || !x->file) rc = vc_fail(err, "out of memory");
    }
    for (int i = 0; !rc && i < x->n; i++) x->start[i] = ((double *)w.data)[2 * i], x->end[i] = ((double *)w.data)[2 * i + 1];
    for (int f = 0; !rc && f < x->n_files; f++)
        for (int i = 0; i < x->files[f].count; i++) x->file[x->files[f].first + i] = f;
    if (!rc) x->rows = e.data, e.data = NULL;
    if (have_e) vc_npy_free(&e);
    if (have_w) vc_npy_free(&w);
    if (rc) vc_index_free(x);
    return rc;
}

static int write_meta(const char *meta_path, const vc_search_index *x, vc_error *err) {
    vc_strbuf sb = {0};
    int rc = vc_sb_appendf(&sb, err,
                           "{\"format\":\"viclip-index\",\"version\":%d,\"dim\":%d,\"n_windows\":%d,\"dtype\":\"%s\","
                           "\"param_checksum\":\"%s\",\"config\":%s,\n\"preprocess\":{\"frames\":%d,\"size\":%d,"
                           "\"sampling\":\"%s\",\"resize\":\"%s\",\"mean\":\"imagenet\",\"window\":%.17g,\"stride\":%.17g},\n"
                           "\"files\":[",
                           x->dtype == VC_DT_I8 ? VC_INDEX_VERSION_I8 : VC_INDEX_VERSION, x->dim, x->n, json_dtype(x->dtype), x->checksum,
                           x->config_json && *x->config_json ? x->config_json : "null", x->frames, x->size,
                           vc_sampling_name(x->sampling), vc_interp_name(x->interp), x->window, x->stride);
    for (int f = 0; !rc && f < x->n_files; f++) {
        const vc_index_file *v = &x->files[f];
        rc = vc_sb_appendf(&sb, err, "%s\n{\"path\":", f ? "," : "");
        if (!rc && vc_sb_append_json_string(&sb, v->path, strlen(v->path), err))
            rc = vc_fail(err, "%s: the file name is not UTF-8 and cannot be written into the index: rename it", v->path);
        if (!rc)
            rc = vc_sb_appendf(&sb, err, ",\"size\":%lld,\"mtime_s\":%lld,\"mtime_nsec\":%lld,\"duration\":%.17g,\"first\":%d,"
                               "\"count\":%d}", (long long)v->size, (long long)(v->mtime_ns / 1000000000),
                               (long long)(v->mtime_ns % 1000000000), v->duration, v->first, v->count);
    }
    if (!rc) rc = vc_sb_puts(&sb, "]}\n", err);
    if (!rc) rc = vc_atomic_write_file(meta_path, sb.data, sb.len, err);
    vc_sb_free(&sb);
    return rc;
}

int vc_index_save(const char *out, const vc_search_index *x, vc_error *err) {
    char emb_path[4096], win_path[4096], meta_path[4096], scale_path[4096];
    vc_index_paths(out, emb_path, win_path, meta_path, sizeof emb_path);
    vc_index_scales_path(out, scale_path, sizeof scale_path);
    if (!is_npy_name(out) && vc_mkdir_p(out, err)) return -1;
    double *w = malloc(((size_t)x->n + 1) * 2 * sizeof *w);
    if (!w) return vc_fail(err, "out of memory");
    for (int i = 0; i < x->n; i++) w[2 * i] = x->start[i], w[2 * i + 1] = x->end[i];
    int64_t es[2] = {x->n, x->dim}, ws[2] = {x->n, 2}, ss[1] = {x->n};
    /* the metadata last: an interrupted update leaves the old index.json, which the row counts
     * of the new arrays then contradict, and loading says so */
    int rc = vc_npy_write(emb_path, x->dtype, 2, es, x->rows ? x->rows : (void *)w, err);
    if (!rc) rc = vc_npy_write(win_path, VC_DT_F64, 2, ws, w, err);
    if (!rc && x->dtype == VC_DT_I8) rc = vc_npy_write(scale_path, VC_DT_F32, 1, ss, x->scale ? (void *)x->scale : (void *)w, err);
    if (!rc) rc = write_meta(meta_path, x, err);
    free(w);
    return rc;
}

int vc_index_append(vc_search_index *x, const char *path, int64_t size, int64_t mtime_ns, double duration,
                    const float *emb, const double *start, const double *end, int count, vc_error *err) {
    const size_t es = vc_dtype_size(x->dtype), n = (size_t)x->n + count;
    void *rows = realloc(x->rows, n * x->dim * es);
    if (rows) x->rows = rows;
    double *s = realloc(x->start, n * sizeof *s);
    if (s) x->start = s;
    double *e = realloc(x->end, n * sizeof *e);
    if (e) x->end = e;
    int *fi = realloc(x->file, n * sizeof *fi);
    if (fi) x->file = fi;
    vc_index_file *files = realloc(x->files, ((size_t)x->n_files + 1) * sizeof *files);
    if (files) x->files = files;
    float *sc = x->dtype == VC_DT_I8 ? realloc(x->scale, n * sizeof *sc) : NULL;
    if (sc) x->scale = sc;
    char *p = strdup(path);
    if (!rows || !s || !e || !fi || !files || !p || (x->dtype == VC_DT_I8 && !sc))
        return free(p), vc_fail(err, "out of memory growing the index");
    if (x->dtype == VC_DT_I8)
        vc_quantize_rows_i8(emb, count, x->dim, (int8_t *)x->rows + (size_t)x->n * x->dim, x->scale + x->n);
    else
        vc_convert_from_f32((char *)x->rows + (size_t)x->n * x->dim * es, x->dtype, emb, (size_t)count * x->dim);
    for (int i = 0; i < count; i++) {
        x->start[x->n + i] = start[i], x->end[x->n + i] = end[i];
        x->file[x->n + i] = x->n_files;
    }
    x->files[x->n_files++] = (vc_index_file){p, size, mtime_ns, duration, x->n, count};
    x->n += count;
    return 0;
}

void vc_index_drop_files(vc_search_index *x, const unsigned char *drop) {
    const size_t row = (size_t)x->dim * vc_dtype_size(x->dtype);
    int nf = 0, n = 0;
    for (int f = 0; f < x->n_files; f++) {
        vc_index_file v = x->files[f];
        if (drop[f]) {
            free(v.path);
            continue;
        }
        memmove((char *)x->rows + (size_t)n * row, (char *)x->rows + (size_t)v.first * row, (size_t)v.count * row);
        memmove(x->start + n, x->start + v.first, (size_t)v.count * sizeof *x->start);
        memmove(x->end + n, x->end + v.first, (size_t)v.count * sizeof *x->end);
        if (x->scale) memmove(x->scale + n, x->scale + v.first, (size_t)v.count * sizeof *x->scale);
        for (int i = 0; i < v.count; i++) x->file[n + i] = nf;
        v.first = n;
        n += v.count;
        x->files[nf++] = v;
    }
    x->n_files = nf, x->n = n;
}
