#include "search/windows.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/contrastive.h"
#include "video/sampling.h"

#define EPS 1e-6 /* the decoder's tolerance on range boundaries */

vc_window_opts vc_window_default_opts(double window, double stride) {
    return (vc_window_opts){.window = window, .stride = stride, .batch = 16, .clip = vc_clip_default_opts(),
                            .decode_threads = 2, .timeout_s = 0};
}

int vc_plan_windows(double duration, double window, double stride, double *start, double *end, int cap) {
    if (!(duration > 0) || !(window > 0) || !(stride > 0)) return 0;
    int n = 0;
    double s = 0;
    for (long k = 0;; k++) {
        s = k * stride;
        if (s + window >= duration - EPS) break;
        if (n < cap) start[n] = s, end[n] = s + window;
        n++;
    }
    if (n < cap) start[n] = duration > window ? duration - window : 0, end[n] = duration;
    return n + 1;
}

void vc_window_set_free(vc_window_set *s) {
    free(s->emb), free(s->start), free(s->end);
    memset(s, 0, sizeof *s);
}

typedef struct need {
    int ord, window, slot;
} need;

static int by_ord(const void *a, const void *b) {
    const need *x = a, *y = b;
    if (x->ord != y->ord) return (x->ord > y->ord) - (x->ord < y->ord);
    if (x->window != y->window) return (x->window > y->window) - (x->window < y->window);
    return (x->slot > y->slot) - (x->slot < y->slot);
}

typedef struct win_state {
    int pred_first, pred_n;  /* predicted frame range */
    int real_first, real_n;  /* observed */
    uint64_t filled;         /* bit mask of slots delivered (T <= 64) */
    uint8_t *frames;         /* [T, S, S, 3], allocated on first delivery */
} win_state;

typedef struct streamer {
    vc_model *m;
    const vc_window_opts *o;
    vc_preprocess pp;
    int T, S, E, n_win, lo, next_need, n_need, batch_n;
    double *ws, *we;
    win_state *st;
    need *needs;
    uint8_t *resized;        /* one frame [S, S, 3] */
    vc_real *batch_in, *batch_out;
    double *batch_s, *batch_e;
    int batch_approx;
    vc_window_set *out;
    int done;
    void (*on_progress)(int, int, void *);
    void *user;
} streamer;

static int grow(vc_window_set *s, int E, vc_error *err) {
    if (s->n < s->cap) return 0;
    int cap = s->cap ? s->cap * 2 : 64;
    float *emb = realloc(s->emb, (size_t)cap * E * sizeof *emb);
    if (emb) s->emb = emb;
    double *a = realloc(s->start, (size_t)cap * sizeof *a);
    if (a) s->start = a;
    double *b = realloc(s->end, (size_t)cap * sizeof *b);
    if (b) s->end = b;
    if (!emb || !a || !b) return vc_fail(err, "out of memory for %d window embeddings", cap);
    s->cap = cap;
    return 0;
}

static int flush(streamer *z, vc_error *err) {
    if (!z->batch_n) return 0;
    if (vc_model_encode_video(z->m, z->batch_in, z->batch_n, z->batch_out, err)) return -1;
    vc_l2_normalize_rows(z->batch_out, z->batch_n, z->E);
    for (int k = 0; k < z->batch_n; k++) {
        if (grow(z->out, z->E, err)) return -1;
        vc_window_set *s = z->out;
        for (int e = 0; e < z->E; e++) s->emb[(size_t)s->n * z->E + e] = (float)z->batch_out[(size_t)k * z->E + e];
        s->start[s->n] = z->batch_s[k], s->end[s->n] = z->batch_e[k];
        s->n++;
    }
    z->batch_n = 0;
    if (z->on_progress) z->on_progress(z->done, z->n_win, z->user);
    return 0;
}

/* Window w has seen all its frames: fill any slot the video ended before, queue it. */
static int finish(streamer *z, int w, vc_error *err) {
    win_state *s = &z->st[w];
    const size_t frame = (size_t)z->S * z->S * 3;
    z->done++;
    if (s->real_n == 0 || !s->frames || !s->filled) { /* the video ended before this window */
        free(s->frames), s->frames = NULL;
        return 0;
    }
    int approx = s->real_first != s->pred_first || s->real_n != s->pred_n, first = 0;
    while (!(s->filled >> first & 1)) first++; /* frames exist, so some slot was filled */
    for (int t = 0; t < z->T; t++) /* slots the video ended before take the nearest earlier frame */
        if (!(s->filled >> t & 1)) {
            memcpy(s->frames + t * frame, s->frames + (t < first ? first : t - 1) * frame, frame);
            approx = 1;
        }
    vc_clip_normalize(&z->pp, s->frames, NULL, z->batch_in + (size_t)z->batch_n * z->T * 3 * z->S * z->S);
    z->batch_s[z->batch_n] = z->ws[w], z->batch_e[z->batch_n] = z->we[w];
    z->batch_n++;
    z->out->n_approx += approx;
    free(s->frames), s->frames = NULL;
    return z->batch_n == z->o->batch ? flush(z, err) : 0;
}

static int on_open(void *user, const vc_video_info *info, vc_error *err) {
    streamer *z = user;
    double fps = info->fps, duration = info->duration;
    if (!(duration > 0) && info->frames > 0 && fps > 0) duration = info->frames / fps;
    if (!(duration > 0)) return vc_fail(err, "the container states no duration: cannot plan windows");
    if (!(fps > 0)) return vc_fail(err, "the container states no frame rate: cannot plan windows");
    z->out->duration = duration;
    z->n_win = vc_plan_windows(duration, z->o->window, z->o->stride, NULL, NULL, 0);
    z->ws = malloc((size_t)z->n_win * sizeof *z->ws);
    z->we = malloc((size_t)z->n_win * sizeof *z->we);
    z->st = calloc((size_t)z->n_win, sizeof *z->st);
    z->needs = malloc((size_t)z->n_win * z->T * sizeof *z->needs);
    int *idx = malloc((size_t)z->T * sizeof *idx);
    if (!z->ws || !z->we || !z->st || !z->needs || !idx) return free(idx), vc_fail(err, "out of memory planning %d windows", z->n_win);
    vc_plan_windows(duration, z->o->window, z->o->stride, z->ws, z->we, z->n_win);
    for (int w = 0; w < z->n_win; w++) {
        /* frames with i / fps in [start, end), as the decoder's range test keeps them */
        int first = (int)ceil(z->ws[w] * fps - EPS), last = (int)ceil(z->we[w] * fps - EPS);
        int n = last - first > 0 ? last - first : 1;
        z->st[w] = (win_state){first, n, -1, 0, 0, NULL};
        if (vc_clip_sample_frames(&z->o->clip, n, z->T, idx, err)) return free(idx), -1;
        for (int t = 0; t < z->T; t++) z->needs[(size_t)w * z->T + t] = (need){first + idx[t], w, t};
    }
    free(idx);
    z->n_need = z->n_win * z->T;
    qsort(z->needs, (size_t)z->n_need, sizeof *z->needs, by_ord);
    return 0;
}

static int want(void *user, int ord, double t, vc_error *err) {
    streamer *z = user;
    while (z->lo < z->n_win && t >= z->we[z->lo] - EPS)
        if (finish(z, z->lo++, err)) return -1;
    if (z->lo == z->n_win) return 2;
    for (int w = z->lo; w < z->n_win && z->ws[w] - EPS <= t; w++) {
        win_state *s = &z->st[w];
        if (t < z->we[w] - EPS) {
            if (s->real_first < 0) s->real_first = ord;
            s->real_n++;
        }
    }
    while (z->next_need < z->n_need && z->needs[z->next_need].ord < ord) z->next_need++;
    return z->next_need < z->n_need && z->needs[z->next_need].ord == ord;
}

static int on_frame(void *user, int slot, const vc_rgb_frame *f, vc_error *err) {
    streamer *z = user;
    (void)slot;
    if (vc_resize_rgb_u8(f->data, f->width, f->height, f->stride, z->resized, z->S, z->S, z->o->clip.interp, err)) return -1;
    const size_t frame = (size_t)z->S * z->S * 3;
    for (; z->next_need < z->n_need && z->needs[z->next_need].ord == f->index; z->next_need++) {
        const need *q = &z->needs[z->next_need];
        win_state *s = &z->st[q->window];
        if (q->window < z->lo) continue; /* already finished (its frames ran past the prediction) */
        if (!s->frames && !(s->frames = malloc(frame * z->T))) return vc_fail(err, "out of memory");
        memcpy(s->frames + q->slot * frame, z->resized, frame);
        s->filled |= 1ull << q->slot;
    }
    return 0;
}

int vc_encode_windows(vc_model *m, const char *path, const vc_window_opts *o, vc_window_set *out,
                      void (*on_progress)(int, int, void *), void *user, vc_error *err) {
    const vc_config *c = &m->cfg;
    memset(out, 0, sizeof *out);
    if (!(o->window > 0) || !(o->stride > 0)) return vc_fail(err, "window %g s and stride %g s must be > 0", o->window, o->stride);
    if (o->clip.augment || o->clip.crop || o->clip.views > 1)
        return vc_fail(err, "%s: windows take the whole frame without augmentation (no crops or views)", path);
    if (c->num_frames > 64) return vc_fail(err, "windows support models of up to 64 frames, not %d", c->num_frames);
    streamer z = {.m = m, .o = o, .pp = vc_preprocess_default(c->num_frames, c->image_size), .T = c->num_frames,
                  .S = c->image_size, .E = c->embed_dim, .out = out, .on_progress = on_progress, .user = user};
    const int B = o->batch > 0 ? o->batch : 16;
    vc_window_opts local = *o;
    local.batch = B;
    z.o = &local;
    const size_t clip = (size_t)z.T * 3 * z.S * z.S;
    z.resized = malloc((size_t)z.S * z.S * 3);
    z.batch_in = malloc((size_t)B * clip * sizeof *z.batch_in);
    z.batch_out = malloc((size_t)B * z.E * sizeof *z.batch_out);
    z.batch_s = malloc((size_t)B * sizeof *z.batch_s);
    z.batch_e = malloc((size_t)B * sizeof *z.batch_e);
    int rc = z.resized && z.batch_in && z.batch_out && z.batch_s && z.batch_e ? 0 : vc_fail(err, "out of memory");
    vc_decode_opts d = vc_decode_default_opts();
    d.threads = o->decode_threads > 0 ? o->decode_threads : 2;
    d.timeout_s = o->timeout_s;
    if (!rc) rc = vc_video_stream(path, &d, on_open, want, on_frame, &z, err);
    if (rc && !strstr(err->msg, path)) vc_fail_ctx(err, "%s", path);
    while (!rc && z.lo < z.n_win) rc = finish(&z, z.lo++, err);
    if (!rc) rc = flush(&z, err);
    if (!rc && out->n == 0) rc = vc_fail(err, "%s: no frames in any window", path);
    for (int w = 0; z.st && w < z.n_win; w++) free(z.st[w].frames);
    free(z.ws), free(z.we), free(z.st), free(z.needs), free(z.resized), free(z.batch_in), free(z.batch_out);
    free(z.batch_s), free(z.batch_e);
    if (rc) vc_window_set_free(out);
    return rc;
}

static int stop_at_open(void *user, const vc_video_info *info, vc_error *err) {
    double *d = user;
    *d = info->duration > 0 ? info->duration : info->frames > 0 && info->fps > 0 ? info->frames / info->fps : 0;
    return 1;
}
static int never(void *user, int ord, double t, vc_error *err) { return 2; }
static int no_frame(void *user, int slot, const vc_rgb_frame *f, vc_error *err) { return 0; }

int vc_video_duration(const char *path, double *duration, vc_error *err) {
    *duration = 0;
    return vc_video_stream(path, NULL, stop_at_open, never, no_frame, duration, err);
}
