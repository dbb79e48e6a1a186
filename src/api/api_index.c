/* The public API over many videos: encoding with progress, moment indexes, the HTTP server and
 * moment-retrieval evaluation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/context.h"
#include "eval/encode_videos.h"
#include "eval/moment_eval.h"
#include "io/activitynet.h"
#include "search/build.h"
#include "search/index.h"
#include "search/moments.h"
#include "search/rank.h"
#include "io/annotations.h"
#include "io/strbuf.h"
#include "serve/server.h"

#define pass_error vc_api_pass_error
#define fail vc_api_fail

int viclip_encode_video_files_cb(viclip_context *ctx, const char *const *paths, int n, const struct viclip_video_params *p,
                                 const struct viclip_callbacks *cb, float *out, unsigned char *ok, int *n_ok,
                                 viclip_error *err) {
    const struct viclip_video_params d = viclip_video_default_params();
    if (!p) p = &d;
    vc_video_encode_params ep = vc_video_encode_default_params();
    if (vc_api_clip_opts(p, &ep.clip, err)) return -1;
    if (n < 0 || (n > 0 && (!paths || !out || !ok))) return fail(err, "%s", "viclip_encode_video_files: bad paths, n, out or ok");
    const vc_clip_opts *o = &ep.clip;
    if (p->workers > 0) ep.workers = p->workers;
    if (cb) ep.on_progress = cb->on_progress, ep.on_failure = cb->on_skip, ep.user = cb->user;
    vc_loader_item *items = malloc(((size_t)n + 1) * sizeof *items);
    if (!items) return fail(err, "%s", "out of memory");
    for (int i = 0; i < n; i++) items[i] = (vc_loader_item){paths[i], o->start, o->end};
    vc_error e;
    const int rc = vc_encode_videos(ctx->model, items, n, &ep, out, ok, n_ok, &e);
    free(items);
    if (rc) pass_error(&e, err);
    return rc ? -1 : 0;
}

/* ---- index ---------------------------------------------------------------------------------- */

struct viclip_index {
    vc_search_index x;
};

viclip_index *viclip_index_open(const char *path, viclip_context *ctx, viclip_error *err) {
    viclip_index *h = calloc(1, sizeof *h);
    if (!h) return fail(err, "%s", "out of memory"), NULL;
    vc_error e;
    if (vc_index_load(path, &h->x, &e)) {
        pass_error(&e, err);
        viclip_index_free(h);
        return NULL;
    }
    if (ctx && viclip_index_check_model(h, ctx, path, err)) {
        viclip_index_free(h);
        return NULL;
    }
    return h;
}

int viclip_index_check_model(viclip_index *x, viclip_context *ctx, const char *where, viclip_error *err) {
    vc_error e;
    if (vc_index_check_model(&x->x, ctx->model, where, &e)) return pass_error(&e, err), -1;
    return 0;
}

void viclip_index_free(viclip_index *x) {
    if (!x) return;
    vc_index_free(&x->x);
    free(x);
}

int viclip_index_n_files(const viclip_index *x) { return x->x.n_files; }
int viclip_index_n_windows(const viclip_index *x) { return x->x.n; }
int viclip_index_dim(const viclip_index *x) { return x->x.dim; }
/* The row dtypes an index stores, public <-> internal. */
static enum viclip_dtype public_row_dtype(vc_dtype d) {
    return d == VC_DT_F32 ? VICLIP_F32 : d == VC_DT_I8 ? VICLIP_I8 : VICLIP_F16;
}
static int row_dtype_valid(enum viclip_dtype d) { return d == VICLIP_F16 || d == VICLIP_F32 || d == VICLIP_I8; }
static vc_dtype internal_row_dtype(enum viclip_dtype d) {
    return d == VICLIP_F32 ? VC_DT_F32 : d == VICLIP_I8 ? VC_DT_I8 : VC_DT_F16;
}

enum viclip_dtype viclip_index_dtype(const viclip_index *x) { return public_row_dtype(x->x.dtype); }
enum viclip_sampling viclip_index_sampling(const viclip_index *x) { return (enum viclip_sampling)x->x.sampling; }
enum viclip_interp viclip_index_interp(const viclip_index *x) { return (enum viclip_interp)x->x.interp; }
double viclip_index_window(const viclip_index *x) { return x->x.window; }
double viclip_index_stride(const viclip_index *x) { return x->x.stride; }
const char *viclip_index_file_path(const viclip_index *x, int file) {
    return file >= 0 && file < x->x.n_files ? x->x.files[file].path : NULL;
}
int viclip_index_exists(const char *path) { return vc_index_exists(path); }
void viclip_index_paths(const char *path, char *embeddings, char *windows, char *meta, size_t cap) {
    vc_index_paths(path, embeddings, windows, meta, cap);
}

struct viclip_index_params viclip_index_default_params(void) {
    const vc_index_build_opts o = vc_index_build_default_opts();
    return (struct viclip_index_params){.window = o.window, .stride = o.stride, .long_video_s = o.long_video_s,
                                        .dtype = public_row_dtype(o.dtype), .workers = o.workers};
}

int viclip_index_dtype_from_name(const char *name, enum viclip_dtype *out, viclip_error *err) {
    vc_dtype d;
    vc_error e;
    if (vc_index_dtype_parse(name, &d, &e)) return pass_error(&e, err), -1;
    *out = public_row_dtype(d);
    return 0;
}

const char *viclip_index_dtype_name(enum viclip_dtype dtype) {
    return row_dtype_valid(dtype) ? vc_index_dtype_name(internal_row_dtype(dtype)) : "?";
}

typedef struct {
    const struct viclip_index_params *p;
} build_user;

static void build_failure(const char *path, const char *msg, void *user) {
    const build_user *u = user;
    if (u->p->on_skip) u->p->on_skip(msg, u->p->user);
}

static void build_progress(const char *what, int done, int total, void *user) {
    const build_user *u = user;
    if (u->p->on_progress) u->p->on_progress(what, done, total, u->p->user);
}

static int build_opts(const struct viclip_index_params *p, build_user *u, vc_index_build_opts *o, viclip_error *err) {
    if (!row_dtype_valid(p->dtype)) return fail(err, "%s", "viclip_index_params.dtype must be F16, I8 or F32");
    *o = vc_index_build_default_opts();
    vc_error e;
    if (vc_index_build_parse_preprocess(p->sampling, p->interp, o, &e)) return pass_error(&e, err), -1;
    o->window = p->window, o->stride = p->stride, o->long_video_s = p->long_video_s;
    o->dtype = internal_row_dtype(p->dtype), o->workers = p->workers;
    u->p = p;
    o->on_failure = build_failure, o->on_progress = build_progress, o->user = u;
    return 0;
}

viclip_index *viclip_index_open_checked(const char *path, viclip_context *ctx, const struct viclip_index_params *p,
                                        viclip_error *err) {
    vc_index_build_opts o;
    build_user u;
    if (p && build_opts(p, &u, &o, err)) return NULL;
    viclip_index *h = calloc(1, sizeof *h);
    if (!h) return fail(err, "%s", "out of memory"), NULL;
    vc_error e;
    if (vc_index_load_checked(path, ctx->model, p ? &o : NULL, &h->x, &e)) {
        free(h); /* vc_index_load_checked frees what it loaded */
        return pass_error(&e, err), NULL;
    }
    return h;
}

viclip_index *viclip_index_create(viclip_context *ctx, const struct viclip_index_params *p, viclip_error *err) {
    const struct viclip_index_params d = viclip_index_default_params();
    vc_index_build_opts o;
    build_user u;
    if (build_opts(p ? p : &d, &u, &o, err)) return NULL;
    viclip_index *h = calloc(1, sizeof *h);
    if (!h) return fail(err, "%s", "out of memory"), NULL;
    vc_error e;
    if (vc_index_init(&h->x, ctx->model, &o, &e)) {
        pass_error(&e, err);
        free(h);
        return NULL;
    }
    return h;
}

int viclip_index_update(viclip_context *ctx, viclip_index *x, const struct viclip_index_input *inputs, int n,
                        const struct viclip_index_params *p, struct viclip_index_stats *stats, viclip_error *err) {
    const struct viclip_index_params d = viclip_index_default_params();
    vc_index_build_opts o;
    build_user u;
    if (build_opts(p ? p : &d, &u, &o, err)) return -1;
    if (n < 0 || (n > 0 && !inputs)) return fail(err, "%s", "viclip_index_update: bad inputs or n");
    vc_loader_item *items = malloc(((size_t)n + 1) * sizeof *items);
    if (!items) return fail(err, "%s", "out of memory");
    for (int i = 0; i < n; i++) items[i] = (vc_loader_item){inputs[i].path, inputs[i].start_s, inputs[i].end_s};
    vc_error e;
    vc_index_build_stats st = {0};
    const int rc = vc_index_update(ctx->model, &x->x, items, n, &o, &st, &e);
    free(items);
    if (stats)
        *stats = (struct viclip_index_stats){.n_inputs = st.n_inputs, .n_encoded = st.n_encoded, .n_failed = st.n_failed,
                                             .n_kept = st.n_kept, .n_removed = st.n_removed,
                                             .n_windows_new = st.n_windows_new, .n_approx = st.n_approx,
                                             .encode_s = st.encode_s, .encode_cpu_s = st.encode_cpu_s};
    if (rc) pass_error(&e, err);
    return rc ? -1 : 0;
}

int viclip_index_save(const viclip_index *x, const char *path, viclip_error *err) {
    vc_error e;
    if (vc_index_save(path, &x->x, &e)) return pass_error(&e, err), -1;
    return 0;
}

viclip_index *viclip_index_new(int dim, enum viclip_dtype dtype, viclip_error *err) {
    if (dim < 1 || !row_dtype_valid(dtype)) return fail(err, "%s", "viclip_index_new: dim >= 1 and dtype F16, I8 or F32"), NULL;
    viclip_index *h = calloc(1, sizeof *h);
    if (!h) return fail(err, "%s", "out of memory"), NULL;
    h->x.dim = dim, h->x.dtype = internal_row_dtype(dtype);
    return h;
}

int viclip_index_append(viclip_index *x, const char *path, int64_t size, int64_t mtime_ns, double duration, const float *emb,
                        const double *start, const double *end, int count, viclip_error *err) {
    vc_error e;
    if (vc_index_append(&x->x, path, size, mtime_ns, duration, emb, start, end, count, &e)) return pass_error(&e, err), -1;
    return 0;
}

int viclip_index_rank(const viclip_index *x, const float *queries, int nq, int m, struct viclip_hit *hits, int *got,
                      viclip_error *err) {
    _Static_assert(sizeof(struct viclip_hit) == sizeof(vc_hit), "a hit is a row and a score");
    vc_error e;
    if (vc_index_search(&x->x, queries, nq, m, (vc_hit *)(void *)hits, got, &e)) return pass_error(&e, err), -1;
    return 0;
}

/* The public moment is the internal one, field by field. */
static struct viclip_moment moment_out(const vc_moment *m) {
    return (struct viclip_moment){.file = m->file, .start_s = m->start, .end_s = m->end, .score = m->score,
                                  .best_row = m->best_row, .n_windows = m->n_windows};
}

static vc_moment moment_in(const struct viclip_moment *m) {
    return (vc_moment){.file = m->file, .start = m->start_s, .end = m->end_s, .score = m->score, .best_row = m->best_row,
                       .n_windows = m->n_windows};
}

int viclip_index_search(const viclip_index *x, const float *queries, int nq, int k, double margin,
                        struct viclip_moment *out, int *n_out, viclip_error *err) {
    if (nq < 0 || k < 1 || (nq > 0 && (!queries || !out || !n_out))) return fail(err, "%s", "viclip_index_search: bad queries, k or out");
    vc_moment *m = malloc(((size_t)nq * k + 1) * sizeof *m);
    if (!m) return fail(err, "%s", "out of memory");
    vc_error e;
    const int rc = vc_search_moments(&x->x, queries, nq, k, margin, m, n_out, &e);
    for (int q = 0; !rc && q < nq; q++)
        for (int r = 0; r < n_out[q]; r++) out[(size_t)q * k + r] = moment_out(&m[(size_t)q * k + r]);
    free(m);
    if (rc) pass_error(&e, err);
    return rc ? -1 : 0;
}

char *viclip_moments_json(const viclip_index *x, const char *query, const struct viclip_moment *m, int n, viclip_error *err) {
    vc_moment *in = malloc(((size_t)n + 1) * sizeof *in);
    if (!in) return fail(err, "%s", "out of memory"), NULL;
    for (int i = 0; i < n; i++) in[i] = moment_in(&m[i]);
    vc_strbuf sb = {0};
    vc_error e;
    const int rc = vc_moments_json(&sb, &x->x, query, in, n, &e) || vc_sb_putc(&sb, 0, &e);
    free(in);
    if (rc) {
        vc_sb_free(&sb);
        return pass_error(&e, err), NULL;
    }
    return sb.data;
}

/* ---- annotations ---------------------------------------------------------------------------- */

struct viclip_annotations {
    vc_annotation_set set;
};

viclip_annotations *viclip_annotations_load(const char *path, const char *format, const char *video_root,
                                            const char *video_pattern, viclip_error *err) {
    vc_error e;
    vc_annotation_opts o = {.video_root = video_root, .video_pattern = video_pattern};
    if (vc_annotation_format_parse(format ? format : "auto", &o.format, &e)) return pass_error(&e, err), NULL;
    viclip_annotations *a = calloc(1, sizeof *a);
    if (!a) return fail(err, "%s", "out of memory"), NULL;
    if (vc_annotations_load_opts(path, &o, &a->set, &e)) {
        free(a);
        return pass_error(&e, err), NULL;
    }
    return a;
}

int viclip_annotations_count(const viclip_annotations *a) { return a->set.n; }

struct viclip_index_input viclip_annotations_clip(const viclip_annotations *a, int i) {
    const vc_annotation *c = &a->set.items[i];
    return (struct viclip_index_input){c->video, c->start, c->end};
}

void viclip_annotations_free(viclip_annotations *a) {
    if (!a) return;
    vc_annotations_free(&a->set);
    free(a);
}

/* ---- server --------------------------------------------------------------------------------- */

struct viclip_server_params viclip_server_default_params(void) {
    const vc_server_opts o = vc_server_default_opts();
    return (struct viclip_server_params){.host = o.host, .port = o.port, .threads = o.threads, .timeout_s = o.timeout_s,
                                         .max_body = o.max_body, .max_k = o.max_k};
}

viclip_server *viclip_server_start(viclip_context *ctx, const viclip_index *x, const struct viclip_server_params *p,
                                   viclip_error *err) {
    const struct viclip_server_params d = viclip_server_default_params();
    if (!p) p = &d;
    if (vc_api_need_tokenizer(ctx, err)) return NULL;
    if (p->threads < 1 || p->timeout_s < 1 || p->max_body < 1 || p->max_k < 1)
        return fail(err, "%s", "viclip_server_params: threads, timeout_s, max_body and max_k must be >= 1"), NULL;
    vc_server_opts o = vc_server_default_opts();
    o.host = p->host, o.port = p->port, o.threads = p->threads, o.timeout_s = p->timeout_s, o.max_body = p->max_body;
    o.max_k = p->max_k;
    vc_error e;
    vc_server *s = vc_server_start(ctx->model, ctx->tok, &x->x, &o, &e);
    if (!s) pass_error(&e, err);
    return (viclip_server *)s;
}

int viclip_server_port(const viclip_server *s) { return vc_server_port((const vc_server *)s); }
void viclip_server_stop(viclip_server *s) { vc_server_stop((vc_server *)s); }

/* ---- moment evaluation ---------------------------------------------------------------------- */

struct viclip_moment_eval_params viclip_moment_eval_default_params(void) {
    return (struct viclip_moment_eval_params){.pattern = "{id}.mp4", .window = 8, .stride = 4, .merge_margin = 0.02,
                                              .workers = 2};
}

typedef struct {
    const struct viclip_moment_eval_params *p;
} moment_user;

static void moment_failure(const char *path, const char *msg, void *user) {
    const moment_user *u = user;
    if (u->p->on_skip) u->p->on_skip(msg, u->p->user);
}

int viclip_eval_moments(viclip_context *ctx, const struct viclip_moment_eval_params *p, struct viclip_moment_metrics *out,
                        viclip_error *err) {
    if (vc_api_need_tokenizer(ctx, err)) return -1;
    if (!p || !p->annotations) return fail(err, "%s", "viclip_eval_moments: no annotations file given");
    if (!(p->window > 0) || !(p->stride > 0) || !(p->merge_margin >= 0))
        return fail(err, "%s", "viclip_moment_eval_params: window and stride must be > 0, merge_margin >= 0");
    vc_error e;
    vc_moment_truth t;
    if (vc_activitynet_load(p->annotations, p->video_root, p->pattern, &t, &e)) return pass_error(&e, err), -1;
    vc_model *m = ctx->model;
    vc_search_index x = {0};
    vc_loader_item *items = calloc((size_t)t.n_videos + 1, sizeof *items);
    int rc = items ? 0 : vc_fail(&e, "out of memory for %d videos", t.n_videos);
    for (int v = 0; !rc && v < t.n_videos; v++) items[v] = (vc_loader_item){t.paths[v], -1, -1};
    moment_user u = {p};
    vc_index_build_opts o = vc_index_build_default_opts();
    if (!rc) rc = vc_index_build_parse_preprocess(p->sampling, p->interp, &o, &e);
    o.window = p->window, o.stride = p->stride, o.workers = p->workers, o.on_failure = moment_failure, o.user = &u;
    vc_index_build_stats st;
    if (!rc && p->index_path && vc_index_exists(p->index_path)) rc = vc_index_load_checked(p->index_path, m, &o, &x, &e);
    else if (!rc) rc = vc_index_init(&x, m, &o, &e);
    if (!rc) rc = vc_index_update(m, &x, items, t.n_videos, &o, &st, &e);
    if (!rc && p->index_path) rc = vc_index_save(p->index_path, &x, &e);
    vc_moment_eval r;
    if (!rc) rc = vc_eval_moments(m, ctx->tok, &t, &x, p->merge_margin, ctx->params.clean_captions, &r, &e);
    if (!rc)
        *out = (struct viclip_moment_metrics){.n_queries = r.n_queries, .n_skipped = r.n_skipped, .n_videos = x.n_files,
                                              .n_windows = x.n, .window = x.window, .stride = x.stride, .r1_iou5 = r.r1_iou5,
                                              .r1_iou7 = r.r1_iou7, .r5_iou5 = r.r5_iou5, .r5_iou7 = r.r5_iou7, .miou = r.miou};
    free(items);
    vc_index_free(&x);
    vc_moment_truth_free(&t);
    if (rc) pass_error(&e, err);
    return rc ? -1 : 0;
}
