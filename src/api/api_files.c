/* The public API over model files: describing one (`viclip info`), converting any checkpoint
 * to a viclip model file and WiSE-FT merging. Reports are text the caller prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/context.h"
#include "core/finite.h"
#include "io/dtype.h"
#include "io/safetensors.h"
#include "io/strbuf.h"
#include "model/import.h"
#include "model/model_io.h"
#include "model/params.h"

#define pass_error vc_api_pass_error
#define fail vc_api_fail

/* Appending to a report: out of memory is rare enough to be reported once, at the end. */
#define OUT(...) (void)vc_sb_appendf(sb, &sink, __VA_ARGS__)

static void import_report(vc_strbuf *sb, const char *path, const vc_model *m, const vc_import_report *rep) {
    vc_error sink;
    char cfg[1024];
    vc_config_to_json(&m->cfg, cfg, sizeof cfg);
    OUT("input:      %s (%s, %s checkpoint)\n", path, rep->format, rep->kind);
    OUT("config:     %s\n", cfg);
    OUT("parameters: %zu\n", m->table.total);
    if (rep->converted_half || rep->converted_f64)
        OUT("dtype:      converted to float32 on load (%zu F16/BF16, %zu F64 elements)\n", rep->converted_half, rep->converted_f64);
    else
        OUT("dtype:      float32 in the file\n");
    if (rep->ignored) OUT("ignored:    %d non-parameter tensors\n", rep->ignored);
    const char *p = rep->notes;
    while (*p) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        if (n && strncmp(p, "converted to float32", 20)) OUT("  - %.*s\n", n, p);
        p += n + (nl ? 1 : 0);
    }
}

/* The "finite:" line: every float tensor (parameters and optimizer moments) scanned for NaN
 * and Inf. Returns 1 when one is found (or the scan could not run). */
static int finiteness(vc_strbuf *sb, const vc_safetensors *st) {
    vc_error sink;
    size_t bad_tensors = 0, nan = 0, inf = 0;
    char first[512] = "";
    double *buf = NULL;
    size_t cap = 0;
    for (int i = 0; i < vc_st_count(st); i++) {
        const vc_st_tensor *t = vc_st_at(st, i);
        if (!vc_dtype_is_float(t->dtype)) continue;
        const size_t n = t->nbytes / vc_dtype_size(t->dtype);
        if (n > cap) {
            double *nb = realloc(buf, n * sizeof *buf);
            if (!nb) {
                OUT("finite:     not checked (out of memory)\n");
                free(buf);
                return 1;
            }
            buf = nb, cap = n;
        }
        vc_convert_to_f64(buf, t->data, t->dtype, n); /* exact for every float dtype */
        const vc_nonfinite c = vc_count_nonfinite_f64(buf, n);
        if (c.nan + c.inf == 0) continue;
        if (!bad_tensors++)
            snprintf(first, sizeof first, "tensor '%s' has %zu NaN and %zu Inf values (first at element %zu)", t->name,
                     c.nan, c.inf, c.first);
        nan += c.nan, inf += c.inf;
    }
    free(buf);
    if (!bad_tensors) {
        OUT("finite:     yes (no NaN or Inf)\n");
        return 0;
    }
    OUT("finite:     NO: %zu NaN and %zu Inf values in %zu tensors; %s\n", nan, inf, bad_tensors, first);
    return 1;
}

/* The caller gets the text, or an error when it could not be built. */
static int finish_report(vc_strbuf *sb, char **report, viclip_error *err) {
    if (!sb->data || vc_sb_putc(sb, 0, &(vc_error){{0}})) {
        vc_sb_free(sb);
        return fail(err, "%s", "out of memory for the report");
    }
    if (report) *report = sb->data;
    else vc_sb_free(sb);
    return 0;
}

int viclip_describe_file(const char *path, char **report, int *problems, viclip_error *err) {
    if (report) *report = NULL;
    if (problems) *problems = 0;
    if (!path) return fail(err, "%s", "no file given");
    vc_error e, sink;
    vc_strbuf sbuf = {0}, *sb = &sbuf;
    int bad = 0;
    vc_safetensors *st = vc_st_open(path, &e);
    const int st_failed = !st;
    if (st && !vc_st_meta(st, "config")) { /* a safetensors file without our config: an -hf or OpenCLIP one */
        vc_st_close(st);
        st = NULL;
    }
    if (!st) {
        const size_t len = strlen(path);
        const int is_st = len > 12 && !strcmp(path + len - 12, ".safetensors");
        vc_error imp_err;
        vc_import_report rep;
        vc_model *m = vc_import_file(path, NULL, &rep, &imp_err);
        if (!m) return pass_error(is_st && st_failed ? &e : &imp_err, err), -1;
        import_report(sb, path, m, &rep);
        vc_model_free(m);
        return finish_report(sb, report, err);
    }
    size_t counts[16] = {0}, total = 0;
    for (int i = 0; i < vc_st_count(st); i++) {
        const vc_st_tensor *t = vc_st_at(st, i);
        size_t n = 1;
        for (int k = 0; k < t->ndim; k++) n *= (size_t)t->shape[k];
        if ((int)t->dtype < 16) counts[t->dtype] += n;
        total += n;
    }
    const char *cfg = vc_st_meta(st, "config"), *fmt = vc_st_meta(st, "format"), *step = vc_st_meta(st, "step");
    OUT("file:       %s\n", path);
    OUT("format:     %s\n", fmt ? fmt : "(none)");
    OUT("config:     %s\n", cfg ? cfg : "(none)");
    if (step) OUT("step:       %s\n", step);
    OUT("tensors:    %d\n", vc_st_count(st));
    OUT("elements:   %zu (%.2f M)\n", total, total / 1e6);
    for (int d = 0; d < 16; d++)
        if (counts[d]) OUT("  %-8s  %zu elements\n", vc_dtype_name((vc_dtype)d), counts[d]);
    if (finiteness(sb, st)) bad = 1;
    vc_model *m = cfg ? vc_model_from_safetensors(st, (const char *const[]){"optimizer.", NULL}, &e) : NULL;
    if (m) {
        size_t vis = 0, txt = 0, heads = 0;
        for (int i = 0; i < m->table.count; i++) {
            const vc_param_info *pi = &m->table.info[i];
            *(vc_param_head_layer(pi->name) ? &heads : pi->tower == VC_TOWER_VISION ? &vis : &txt) += pi->numel;
        }
        OUT("parameters: %zu (video tower %.2f M, text tower + temperature %.2f M)\n", m->table.total, vis / 1e6, txt / 1e6);
        if (m->p.n_heads) {
            char layers[128];
            vc_model_heads_format(m, layers, sizeof layers);
            OUT("alignment heads (training only; encoding ignores them): layers %s, %.3f M parameters\n", layers, heads / 1e6);
        }
        vc_model_free(m);
    } else if (cfg) {
        OUT("not loadable as a model: %s\n", e.msg);
        bad = 1;
    }
    vc_st_close(st);
    if (problems) *problems = bad;
    return finish_report(sb, report, err);
}

/* ---- convert and merge ---------------------------------------------------------------------- */

struct viclip_convert_params viclip_convert_default_params(void) {
    return (struct viclip_convert_params){.dtype = VICLIP_F32, .temporal = VICLIP_TEMPORAL_OFFICIAL};
}

static int convert_opts(const struct viclip_convert_params *p, vc_import_opts *o, vc_dtype *dt, viclip_error *err) {
    static const vc_dtype DT[] = {VC_DT_F32, VC_DT_F16, VC_DT_BF16};
    if ((int)p->dtype < 0 || (int)p->dtype > 2) return fail(err, "%s", "viclip_convert_params.dtype must be F32, F16 or BF16");
    if (p->temporal != VICLIP_TEMPORAL_OFFICIAL && p->temporal != VICLIP_TEMPORAL_INTERPOLATE)
        return fail(err, "%s", "viclip_convert_params.temporal is not a viclip_temporal_resize value");
    *dt = DT[p->dtype];
    *o = (vc_import_opts){.frames = p->frames, .image_size = p->image_size, .context = p->context,
                          .vision_heads = p->vision_heads, .text_heads = p->text_heads,
                          .temporal = p->temporal == VICLIP_TEMPORAL_OFFICIAL ? VC_TEMPORAL_OFFICIAL : VC_TEMPORAL_INTERPOLATE};
    return 0;
}

int viclip_convert(const char *in, const char *out, const struct viclip_convert_params *p, char **report, viclip_error *err) {
    const struct viclip_convert_params d = viclip_convert_default_params();
    if (report) *report = NULL;
    vc_import_opts o;
    vc_dtype dt = VC_DT_F32;
    if (convert_opts(p ? p : &d, &o, &dt, err)) return -1;
    if (!in) return fail(err, "%s", "no input checkpoint given");
    vc_error e, sink;
    vc_import_report rep;
    vc_model *m = vc_import_file(in, &o, &rep, &e);
    if (!m) return pass_error(&e, err), -1;
    vc_strbuf sbuf = {0}, *sb = &sbuf;
    import_report(sb, in, m, &rep);
    int rc = 0;
    if (out) {
        if (vc_model_save(m, out, dt, &e)) rc = -1, pass_error(&e, err);
        else OUT("wrote %s (%s)\n", out, vc_dtype_name(dt));
    }
    vc_model_free(m);
    if (rc) { /* the report of what was read still goes to the caller */
        viclip_error ignored;
        finish_report(sb, report, &ignored);
        return -1;
    }
    return finish_report(sb, report, err);
}

int viclip_merge(const char *a_path, const char *b_path, double alpha, const char *out,
                 const struct viclip_convert_params *p, char **summary, viclip_error *err) {
    const struct viclip_convert_params d = viclip_convert_default_params();
    if (summary) *summary = NULL;
    vc_import_opts oa;
    vc_dtype dt = VC_DT_F32;
    if (convert_opts(p ? p : &d, &oa, &dt, err)) return -1;
    if (!a_path || !b_path || !out) return fail(err, "%s", "merge needs A, B and an output file");
    if (!(alpha >= 0 && alpha <= 1)) return fail(err, "%s", "merge: alpha must be in [0, 1]");
    oa.frames = oa.image_size = oa.context = 0; /* A as it is */
    oa.temporal = VC_TEMPORAL_OFFICIAL;
    vc_error e, sink;
    vc_import_report ra, rb;
    vc_model *a = vc_import_file(a_path, &oa, &ra, &e), *b = NULL;
    if (a && strcmp(ra.kind, "viclip")) {
        vc_fail(&e, "%s: A must be a ViCLIP model (it is an image CLIP)", a_path);
        vc_model_free(a);
        a = NULL;
    }
    if (a) {
        vc_import_opts ob = oa;
        ob.frames = a->cfg.num_frames, ob.image_size = a->cfg.image_size, ob.context = a->cfg.context_length;
        ob.vision_heads = a->cfg.vision_heads, ob.text_heads = a->cfg.text_heads;
        b = vc_import_file(b_path, &ob, &rb, &e);
    }
    int rc = -1;
    vc_strbuf sbuf = {0}, *sb = &sbuf;
    if (a && b) {
        const int b_clip = !strcmp(rb.kind, "clip"), keep_temporal = b_clip || rb.src_frames != a->cfg.num_frames;
        if (!vc_merge_models(a, b, alpha, keep_temporal, b_clip, &e) && !vc_model_save(a, out, dt, &e)) {
            OUT("merged %s (1-alpha) and %s (alpha = %g, %s)%s%s -> %s\n", a_path, b_path, alpha, rb.kind,
                keep_temporal ? "; temporal embedding from A" : "", b_clip ? "; temp from A" : "", out);
            rc = 0;
        }
    }
    vc_model_free(a), vc_model_free(b);
    if (rc) {
        vc_sb_free(sb);
        return pass_error(&e, err), -1;
    }
    return finish_report(sb, summary, err);
}
