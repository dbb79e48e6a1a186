#include "search/build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "eval/encode_videos.h"
#include "model/config.h"
#include "search/windows.h"
#include "video/clip.h"

vc_index_build_opts vc_index_build_default_opts(void) {
    return (vc_index_build_opts){.long_video_s = 60, .default_window = 8, .default_stride = 4, .dtype = VC_DT_F16,
                                 .sampling = -1, .interp = -1, .workers = 2};
}

int vc_index_build_parse_preprocess(const char *sampling, const char *interp, vc_index_build_opts *o, vc_error *err) {
    vc_sampling s;
    vc_interp i;
    if (sampling && vc_sampling_parse(sampling, &s, err)) return vc_fail_ctx(err, "--sampling");
    if (interp && vc_interp_parse(interp, &i, err)) return vc_fail_ctx(err, "--interp");
    o->sampling = sampling ? (int)s : -1, o->interp = interp ? (int)i : -1;
    return 0;
}

uint64_t vc_model_checksum(const vc_model *m) {
    uint64_t h = 1469598103934665603ull;
    const unsigned char *b = (const unsigned char *)m->params;
    for (size_t i = 0; i < m->table.total * sizeof *m->params; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static int set_model(vc_search_index *x, const vc_model *m, vc_error *err) {
    char config[2048];
    vc_config_to_json(&m->cfg, config, sizeof config);
    free(x->config_json);
    if (!(x->config_json = strdup(config))) return vc_fail(err, "out of memory");
    snprintf(x->checksum, sizeof x->checksum, "%016llx", (unsigned long long)vc_model_checksum(m));
    return 0;
}

int vc_index_init(vc_search_index *x, const vc_model *m, const vc_index_build_opts *o, vc_error *err) {
    memset(x, 0, sizeof *x);
    x->dim = m->cfg.embed_dim, x->dtype = o->dtype == VC_DT_F32 || o->dtype == VC_DT_I8 ? o->dtype : VC_DT_F16;
    x->frames = m->cfg.num_frames, x->size = m->cfg.image_size;
    x->window = o->window > 0 ? o->window : 0, x->stride = o->window > 0 ? o->stride : 0;
    x->sampling = o->sampling >= 0 ? (vc_sampling)o->sampling : VC_SAMPLE_MIDDLE;
    x->interp = o->interp >= 0 ? (vc_interp)o->interp : VC_INTERP_BICUBIC;
    return set_model(x, m, err);
}

int vc_index_check_model(vc_search_index *x, const vc_model *m, const char *where, vc_error *err) {
    char mine[17];
    snprintf(mine, sizeof mine, "%016llx", (unsigned long long)vc_model_checksum(m));
    if (strcmp(x->checksum, mine))
        return vc_fail(err, "%s: the index was made by another model (parameter checksum %s, this model's %s): "
                            "re-encode the videos with this model", where, x->checksum, mine);
    if (x->dim != m->cfg.embed_dim || x->frames != m->cfg.num_frames || x->size != m->cfg.image_size)
        return vc_fail(err, "%s: the index holds %d-dim embeddings of %d frames at %d px, the model makes %d-dim of %d at %d",
                       where, x->dim, x->frames, x->size, m->cfg.embed_dim, m->cfg.num_frames, m->cfg.image_size);
    return set_model(x, m, err);
}

int vc_index_load_checked(const char *out, vc_model *m, const vc_index_build_opts *o, vc_search_index *x, vc_error *err) {
    char emb[4096], windows[4096], meta[4096];
    vc_index_paths(out, emb, windows, meta, sizeof emb);
    if (vc_index_load(out, x, err)) return -1;
    if (vc_index_check_model(x, m, meta, err) || (o && vc_index_check_preprocess(x, o->sampling, o->interp, meta, err))) {
        vc_index_free(x);
        return -1;
    }
    return 0;
}

typedef struct file_job {
    const char *path;
    int first_item, n_items; /* its items, contiguous after sorting */
    int whole;               /* one whole-video item (not clips) */
    int64_t size, mtime_ns;
    double duration;
    int windowed;
    float *emb;              /* rows encoded now */
    double *start, *end;
    int n_rows, failed;
} file_job;

static int by_path_then_order(const void *a, const void *b, void *base) {
    const vc_loader_item *items = base;
    const int i = *(const int *)a, j = *(const int *)b;
    int c = strcmp(items[i].path, items[j].path);
    return c ? c : (i > j) - (i < j);
}

static int by_first_item(const void *a, const void *b, void *order) {
    const int *o = order, i = o[((const file_job *)a)->first_item], j = o[((const file_job *)b)->first_item];
    return (i > j) - (i < j);
}

static void report(const vc_index_build_opts *o, const char *path, const char *msg) {
    if (o->on_failure) o->on_failure(path, msg, o->user);
}

typedef struct clip_ctx {
    const vc_index_build_opts *o;
    const vc_loader_item *items;
} clip_ctx;

static void clip_failed(int item, const char *msg, void *user) {
    clip_ctx *c = user;
    report(c->o, c->items[item].path, msg);
}
static void clip_progress(int done, int total, void *user) {
    clip_ctx *c = user;
    if (c->o->on_progress) c->o->on_progress("clips", done, total, c->o->user);
}
static void window_progress(int done, int total, void *user) {
    const vc_index_build_opts *o = user;
    if (o->on_progress) o->on_progress("windows", done, total, o->user);
}

/* Encodes the whole videos and annotated clips of jobs in one batched pass. */
static int encode_clips(vc_model *m, const vc_search_index *x, file_job *jobs, int n_jobs, const vc_loader_item *items,
                        const int *order, const vc_index_build_opts *o, vc_error *err) {
    const int E = m->cfg.embed_dim;
    int n = 0;
    for (int j = 0; j < n_jobs; j++)
        if (!jobs[j].windowed && !jobs[j].failed) n += jobs[j].n_items;
    if (!n) return 0;
    vc_loader_item *list = malloc((size_t)n * sizeof *list);
    float *emb = malloc((size_t)n * E * sizeof *emb);
    unsigned char *ok = malloc((size_t)n);
    int rc = list && emb && ok ? 0 : vc_fail(err, "out of memory"), k = 0;
    for (int j = 0; !rc && j < n_jobs; j++)
        if (!jobs[j].windowed && !jobs[j].failed)
            for (int i = 0; i < jobs[j].n_items; i++) list[k++] = items[order[jobs[j].first_item + i]];
    clip_ctx c = {o, list};
    vc_video_encode_params p = vc_video_encode_default_params();
    p.workers = o->workers > 0 ? o->workers : 2;
    p.clip.sampling = x->sampling, p.clip.interp = x->interp;
    p.on_failure = clip_failed, p.on_progress = clip_progress, p.user = &c;
    int n_ok = 0;
    if (!rc) rc = vc_encode_videos(m, list, n, &p, emb, ok, &n_ok, err);
    k = 0;
    for (int j = 0; !rc && j < n_jobs; j++) {
        file_job *f = &jobs[j];
        if (f->windowed || f->failed) continue;
        f->emb = malloc((size_t)f->n_items * E * sizeof *f->emb);
        f->start = malloc((size_t)f->n_items * sizeof *f->start);
        f->end = malloc((size_t)f->n_items * sizeof *f->end);
        if (!f->emb || !f->start || !f->end) {
            rc = vc_fail(err, "out of memory");
            break;
        }
        for (int i = 0; i < f->n_items; i++, k++) {
            if (!ok[k]) continue;
            memcpy(f->emb + (size_t)f->n_rows * E, emb + (size_t)k * E, E * sizeof *emb);
            f->start[f->n_rows] = list[k].start >= 0 ? list[k].start : 0;
            f->end[f->n_rows] = list[k].end >= 0 ? list[k].end : f->duration;
            f->n_rows++;
        }
        f->failed = f->n_rows == 0;
    }
    free(list), free(emb), free(ok);
    return rc;
}

int vc_index_update(vc_model *m, vc_search_index *x, const vc_loader_item *items, int n,
                    const vc_index_build_opts *o, vc_index_build_stats *st, vc_error *err) {
    memset(st, 0, sizeof *st);
    if (vc_index_check_preprocess(x, o->sampling, o->interp, "the index", err)) return -1;
    const double window = x->window > 0 ? x->window : o->window, stride = x->window > 0 ? x->stride : o->stride;
    if (o->window > 0 && x->n && (o->window != x->window || o->stride != x->stride))
        return vc_fail(err, "the index has windows of %g s every %g s (0: whole videos); asked for %g s every %g s: "
                            "write a new index", x->window, x->stride, o->window, o->stride);
    int *order = malloc(((size_t)n + 1) * sizeof *order);
    file_job *jobs = calloc((size_t)n + 1, sizeof *jobs);
    unsigned char *drop = calloc((size_t)x->n_files + 1, 1);
    if (!order || !jobs || !drop) return free(order), free(jobs), free(drop), vc_fail(err, "out of memory");
    for (int i = 0; i < n; i++) order[i] = i;
    qsort_r(order, (size_t)n, sizeof *order, by_path_then_order, (void *)items);
    /* one job per distinct path, in the order paths first appear; a clip listed twice (several
     * captions) is encoded once */
    int n_jobs = 0, rc = 0, kept = 0;
    for (int i = 0; i < n; i++) {
        const vc_loader_item *it = &items[order[i]];
        if (n_jobs && !strcmp(it->path, jobs[n_jobs - 1].path)) {
            file_job *f = &jobs[n_jobs - 1];
            int repeat = 0;
            for (int k = f->first_item; k < kept && !repeat; k++)
                repeat = items[order[k]].start == it->start && items[order[k]].end == it->end;
            if (!repeat) order[kept++] = order[i], f->n_items++;
            continue;
        }
        jobs[n_jobs++] = (file_job){.path = it->path, .first_item = kept, .n_items = 1};
        order[kept++] = order[i];
    }
    qsort_r(jobs, (size_t)n_jobs, sizeof *jobs, by_first_item, order);
    for (int j = 0; j < n_jobs; j++) { /* whole = the only item asks for the whole video */
        const vc_loader_item *it = &items[order[jobs[j].first_item]];
        jobs[j].whole = jobs[j].n_items == 1 && it->start < 0 && it->end < 0;
    }
    st->n_inputs = n_jobs;
    /* gone from disk: removed */
    for (int f = 0; f < x->n_files; f++) {
        struct stat sb;
        if (stat(x->files[f].path, &sb)) drop[f] = 1, st->n_removed++;
    }
    const double t0 = vc_now_s(), c0 = vc_cpu_s();
    for (int j = 0; j < n_jobs; j++) {
        file_job *f = &jobs[j];
        struct stat sb;
        if (stat(f->path, &sb)) {
            char msg[4200];
            snprintf(msg, sizeof msg, "%s: cannot open: no such file", f->path);
            report(o, f->path, msg);
            f->failed = 1;
            continue;
        }
        f->size = sb.st_size, f->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        int old = vc_index_find_file(x, f->path);
        if (old >= 0 && !drop[old]) {
            if (x->files[old].size == f->size && x->files[old].mtime_ns == f->mtime_ns) {
                f->failed = -1; /* unchanged: kept */
                st->n_kept++;
                continue;
            }
            drop[old] = 1, st->n_removed++;
        }
        if (S_ISREG(sb.st_mode) && !vc_clip_is_npy(f->path)) {
            vc_error e2;
            if (vc_video_duration(f->path, &f->duration, &e2)) f->duration = 0; /* the decoder will say why */
        }
        f->windowed = f->whole && f->duration > 0 && (window > 0 || f->duration > o->long_video_s);
    }
    if (!x->n && x->window == 0) { /* a new index records its windows */
        for (int j = 0; j < n_jobs; j++)
            if (jobs[j].windowed) x->window = window > 0 ? window : o->default_window,
                                  x->stride = window > 0 ? stride : o->default_stride;
    }
    rc = encode_clips(m, x, jobs, n_jobs, items, order, o, err);
    for (int j = 0; !rc && j < n_jobs; j++) {
        file_job *f = &jobs[j];
        if (!f->windowed || f->failed) continue;
        vc_window_opts wo = vc_window_default_opts(x->window > 0 ? x->window : o->default_window,
                                                   x->window > 0 ? x->stride : o->default_stride);
        wo.clip.sampling = x->sampling, wo.clip.interp = x->interp;
        vc_window_set ws;
        vc_error e2;
        if (vc_encode_windows(m, f->path, &wo, &ws, window_progress, (void *)o, &e2)) {
            report(o, f->path, e2.msg);
            f->failed = 1;
            continue;
        }
        f->emb = ws.emb, f->start = ws.start, f->end = ws.end, f->n_rows = ws.n;
        st->n_approx += ws.n_approx;
    }
    st->encode_s = vc_now_s() - t0, st->encode_cpu_s = vc_cpu_s() - c0;
    if (!rc) vc_index_drop_files(x, drop);
    for (int j = 0; !rc && j < n_jobs; j++) {
        file_job *f = &jobs[j];
        if (f->failed > 0) st->n_failed++;
        if (f->failed) continue;
        rc = vc_index_append(x, f->path, f->size, f->mtime_ns, f->duration, f->emb, f->start, f->end, f->n_rows, err);
        st->n_encoded++, st->n_windows_new += f->n_rows;
    }
    for (int j = 0; j < n_jobs; j++) free(jobs[j].emb), free(jobs[j].start), free(jobs[j].end);
    free(order), free(jobs), free(drop);
    return rc;
}
