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
#include "serve/server.h"

#define pass_error vc_api_pass_error
#define fail vc_api_fail

int viclip_encode_video_files_cb(viclip_context *ctx, const char *const *paths, int n, const struct viclip_video_params *p,
                                 const struct viclip_callbacks *cb, float *out, unsigned char *ok, int *n_ok,
                                 viclip_error *err) {
    const struct viclip_video_params d = viclip_video_default_params();
    if (!p) p = &d;
    if (p->sampling < VICLIP_SAMPLING_MIDDLE || p->sampling > VICLIP_SAMPLING_DEMO)
        return fail(err, "%s", "viclip_video_params.sampling is not a viclip_sampling value");
    if (p->interp != VICLIP_INTERP_BICUBIC && p->interp != VICLIP_INTERP_BILINEAR)
        return fail(err, "%s", "viclip_video_params.interp is not a viclip_interp value");
    if (n < 0 || (n > 0 && (!paths || !out || !ok))) return fail(err, "%s", "viclip_encode_video_files: bad paths, n, out or ok");
    vc_video_encode_params ep = vc_video_encode_default_params();
    vc_clip_opts *o = &ep.clip;
    o->sampling = (vc_sampling)p->sampling, o->interp = (vc_interp)p->interp;
    o->start = p->start_s, o->end = p->end_s, o->augment = p->augment, o->seed = p->seed, o->key = p->key;
    o->threads = p->decode_threads > 0 ? p->decode_threads : 1;
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
    if (vc_index_load(path, &h->x, &e) || (ctx && vc_index_check_model(&h->x, ctx->model, path, &e))) {
        pass_error(&e, err);
        viclip_index_free(h);
        return NULL;
    }
    return h;
}

void viclip_index_free(viclip_index *x) {
    if (!x) return;
    vc_index_free(&x->x);
    free(x);
}

int viclip_index_n_files(const viclip_index *x) { return x->x.n_files; }
int viclip_index_n_windows(const viclip_index *x) { return x->x.n; }

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
