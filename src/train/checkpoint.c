#include "train/checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked_int.h"
#include "model/model_io.h"

static const char *const MOMENT_PREFIX[2] = {"optimizer.exp_avg.", "optimizer.exp_avg_sq."};

int vc_checkpoint_save(const char *path, const vc_model *m, const vc_adamw *opt, int64_t step,
                       uint64_t seed, const char *train_args_json, vc_error *err) {
    vc_st_writer *w = vc_st_writer_new();
    if (!w) return vc_fail(err, "out of memory creating a checkpoint writer");
    void *owned = NULL;
    char (*names)[128] = calloc(2 * (size_t)m->table.count, sizeof *names);
    int rc = names ? 0 : vc_fail(err, "out of memory");
    if (!rc) rc = vc_model_add_to_writer(m, w, VC_DT_REAL, &owned, err);
    for (int k = 0; k < 2 && !rc; k++)
        rc = vc_params_check_finite(&m->table, k ? opt->v : opt->m, k ? "the optimizer's exp_avg_sq" : "the optimizer's exp_avg", err);
    if (rc) vc_fail_ctx(err, "not writing %s", path);
    for (int k = 0; k < 2 && !rc; k++) {
        const vc_real *moment = k ? opt->v : opt->m;
        for (int i = 0; i < m->table.count && !rc; i++) {
            const vc_param_info *pi = &m->table.info[i];
            char *name = names[k * m->table.count + i];
            snprintf(name, 128, "%s%s", MOMENT_PREFIX[k], pi->name);
            rc = vc_st_writer_add(w, name, VC_DT_REAL, pi->ndim, pi->shape, moment + pi->offset, err);
        }
    }
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, step);
    if (!rc) rc = vc_st_writer_meta(w, "step", num, err);
    snprintf(num, sizeof num, "%" PRIu64, seed);
    if (!rc) rc = vc_st_writer_meta(w, "seed", num, err);
    if (!rc) rc = vc_st_writer_meta(w, "format", "viclip-train", err);
    if (!rc && train_args_json) rc = vc_st_writer_meta(w, "train_args", train_args_json, err);
    if (!rc) rc = vc_st_writer_write(w, path, err);
    vc_st_writer_free(w);
    free(owned);
    free(names);
    return rc;
}

vc_model *vc_checkpoint_load(const char *path, vc_adamw *opt, const vc_adamw_params *opt_params,
                             int64_t *step, uint64_t *seed, vc_error *err) {
    vc_safetensors *st = vc_st_open(path, err);
    if (!st) return NULL;
    vc_model *m = NULL;
    int64_t s = 0;
    uint64_t sd = 0;
    const char *fmt = vc_st_meta(st, "format");
    if (!fmt || strcmp(fmt, "viclip-train")) {
        vc_fail(err, "%s: not a training checkpoint (metadata format is '%s')", path, fmt ? fmt : "missing");
        goto fail;
    }
    if (vc_parse_i64(vc_st_meta(st, "step"), 0, INT64_MAX, &s, "metadata 'step'", err) ||
        vc_parse_u64(vc_st_meta(st, "seed"), UINT64_MAX, &sd, "metadata 'seed'", err)) {
        vc_fail_ctx(err, "%s", path);
        goto fail;
    }
    m = vc_model_from_safetensors(st, (const char *const[]){"optimizer.", NULL}, err);
    if (!m) goto fail;
    if (vc_adamw_init(opt, &m->table, opt_params, err)) goto fail;
    for (int k = 0; k < 2; k++) {
        vc_real *moment = k ? opt->v : opt->m;
        for (int i = 0; i < m->table.count; i++) {
            const vc_param_info *pi = &m->table.info[i];
            char name[160];
            snprintf(name, sizeof name, "%s%s", MOMENT_PREFIX[k], pi->name);
#ifdef VC_DOUBLE
            if (vc_st_read_f64(st, name, moment + pi->offset, pi->ndim, pi->shape, err)) goto fail;
#else
            if (vc_st_read_f32(st, name, moment + pi->offset, pi->ndim, pi->shape, err)) goto fail;
#endif
        }
    }
    for (int k = 0; k < 2; k++) {
        char what[4200];
        snprintf(what, sizeof what, "%s: optimizer %s", path, k ? "exp_avg_sq" : "exp_avg");
        if (vc_params_check_finite(&m->table, k ? opt->v : opt->m, what, err)) goto fail;
    }
    opt->t = (int64_t)s;
    *step = (int64_t)s;
    *seed = sd;
    vc_st_close(st);
    return m;
fail:
    vc_adamw_free(opt);
    vc_model_free(m);
    vc_st_close(st);
    return NULL;
}
