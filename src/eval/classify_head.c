#include "eval/classify_head.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/encode_videos.h"
#include "io/annotations.h"
#include "model/classifier.h"

vc_head_eval_params vc_head_eval_default_params(void) {
    return (vc_head_eval_params){.clips = 1, .crops = 1, .workers = 2};
}

typedef struct {
    const vc_head_eval_params *p;
    const vc_annotation_set *ann;
    unsigned char *reported;
    int done_before, total;
} view_sink;

static void view_failure(int item, const char *msg, void *user) {
    view_sink *s = user;
    if (s->reported[item]) return; /* once per clip, not once per view */
    s->reported[item] = 1;
    char line[2048];
    snprintf(line, sizeof line, "%s:%ld: %s (left out)", s->ann->source, s->ann->items[item].line, msg);
    if (s->p->on_warning) s->p->on_warning(line, s->p->user);
}

static void view_progress(int done, int total, void *user) {
    const view_sink *s = user;
    (void)total;
    if (s->p->on_progress) s->p->on_progress(s->done_before + done, s->total, s->p->user);
}

/* scores [n, C] += softmax(head(emb)) row by row. */
static void add_softmax_scores(const vc_classifier *c, const vc_real *emb, int n, vc_real *x, vc_real *logits,
                               vc_real *scores) {
    const int C = c->n_classes, E = c->model->cfg.embed_dim;
    vc_head_forward(c->w, c->b, emb, n, E, C, x, logits);
    for (int i = 0; i < n; i++) {
        const vc_real *z = logits + (size_t)i * C;
        double mx = z[0], s = 0;
        for (int k = 1; k < C; k++) mx = fmax(mx, z[k]);
        for (int k = 0; k < C; k++) s += exp(z[k] - mx);
        for (int k = 0; k < C; k++) scores[(size_t)i * C + k] += (vc_real)(exp(z[k] - mx) / s);
    }
}

int vc_eval_classifier(vc_classifier *c, const vc_head_eval_params *p, vc_classify_metrics *out, int *n_skipped,
                       vc_error *err) {
    memset(out, 0, sizeof *out);
    if (n_skipped) *n_skipped = 0;
    if (p->clips < 1) return vc_fail(err, "--test-clips %d must be at least 1", p->clips);
    if (p->crops != 1 && p->crops != 3) return vc_fail(err, "--test-crops %d must be 1 or 3", p->crops);
    vc_annotation_set ann;
    if (vc_annotations_load(p->annotations, &ann, err)) return -1;
    const int n = ann.n, C = c->n_classes, E = c->model->cfg.embed_dim, V = p->clips * p->crops;
    vc_loader_item *items = malloc((size_t)(n ? n : 1) * sizeof *items);
    int32_t *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    unsigned char *ok = malloc((size_t)(n ? n : 1)), *ok_all = malloc((size_t)(n ? n : 1));
    unsigned char *reported = calloc((size_t)(n ? n : 1), 1);
    vc_real *emb = malloc((size_t)(n ? n : 1) * E * sizeof *emb), *x = malloc((size_t)(n ? n : 1) * E * sizeof *x);
    vc_real *logits = malloc((size_t)(n ? n : 1) * C * sizeof *logits);
    vc_real *scores = calloc((size_t)(n ? n : 1) * C, sizeof *scores);
    int rc = items && y && ok && ok_all && reported && emb && x && logits && scores
                 ? 0
                 : vc_fail(err, "out of memory classifying %d clips", n);
    if (!rc && n == 0) rc = vc_fail(err, "%s: no clips", p->annotations);
    if (!rc) rc = vc_classifier_label_ids(c, &ann, y, err);
    for (int i = 0; !rc && i < n; i++) {
        items[i] = (vc_loader_item){ann.items[i].video, ann.items[i].start, ann.items[i].end};
        ok_all[i] = 1;
    }
    view_sink sink = {p, &ann, reported, 0, n * V};
    for (int v = 0; !rc && v < V; v++) {
        vc_video_encode_params ep = vc_video_encode_default_params();
        ep.workers = p->workers;
        ep.clip.views = p->clips, ep.clip.view = v / p->crops;
        ep.clip.crop = p->crops == 3 ? 1 + v % 3 : 0;
        ep.on_failure = view_failure, ep.on_progress = view_progress, ep.user = &sink;
        sink.done_before = v * n;
        rc = vc_encode_videos(c->model, items, n, &ep, emb, ok, NULL, err);
        if (!rc) add_softmax_scores(c, emb, n, x, logits, scores);
        for (int i = 0; !rc && i < n; i++) ok_all[i] &= ok[i];
    }
    int kept = 0;
    for (int i = 0; !rc && i < n; i++) {
        if (!ok_all[i]) continue;
        memmove(scores + (size_t)kept * C, scores + (size_t)i * C, (size_t)C * sizeof *scores);
        y[kept++] = y[i];
    }
    if (!rc && !kept) rc = vc_fail(err, "%s: none of the %d clips could be read", p->annotations, n);
    if (!rc) {
        int *labels = (int *)y; /* int32_t is int here; metrics take int */
        vc_classify_metrics_compute(scores, kept, C, labels, out);
        if (n_skipped) *n_skipped = n - kept;
    }
    free(items), free(y), free(ok), free(ok_all), free(reported), free(emb), free(x), free(logits), free(scores);
    vc_annotations_free(&ann);
    return rc;
}
