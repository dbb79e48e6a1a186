#include "eval/evaluate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/encode_videos.h"
#include "eval/templates.h"
#include "io/annotations.h"
#include "kernels/gemm.h"
#include "text/caption_clean.h"
#include "train/dataset.h"

vc_eval_params vc_eval_default_params(void) {
    vc_eval_params p = {0};
    p.tasks = VC_EVAL_RETRIEVAL | VC_EVAL_CLASSIFY;
    p.clean_captions = 1;
    p.workers = 2;
    p.seed = 1234;
    p.clip = vc_clip_default_opts();
    return p;
}

int vc_tokenize_texts(const vc_tokenizer *tok, const char *const *texts, int n, int ctx, int clean, int32_t *ids,
                      vc_error *err) {
    for (int i = 0; i < n; i++)
        if (vc_tokenize_caption(tok, texts[i], ctx, clean, ids + (size_t)i * ctx, err)) return vc_fail_ctx(err, "text %d", i + 1);
    return 0;
}

int vc_encode_texts_normalized(vc_model *m, const vc_tokenizer *tok, const char *const *texts, int n, int clean,
                               vc_real *out, vc_error *err) {
    const int ctx = m->cfg.context_length;
    int32_t *ids = malloc((size_t)n * ctx * sizeof *ids);
    if (!ids) return vc_fail(err, "out of memory tokenising %d texts", n);
    int rc = vc_tokenize_texts(tok, texts, n, ctx, clean, ids, err);
    if (!rc) rc = vc_model_encode_text(m, ids, n, out, err);
    if (!rc) vc_l2_normalize_rows(out, n, m->cfg.embed_dim);
    free(ids);
    return rc;
}

int vc_encode_class_prompts(vc_model *m, const vc_tokenizer *tok, const char *const *classes, int C,
                            const char *const *templates, int nt, int clean, vc_real *out, vc_error *err) {
    if (!templates) templates = vc_viclip_action_templates, nt = VC_VICLIP_N_TEMPLATES;
    if (vc_check_class_names(classes, C, NULL, err) || vc_check_templates(templates, nt, NULL, err)) return -1;
    char **prompts = calloc((size_t)C * nt, sizeof *prompts);
    int rc = prompts ? 0 : vc_fail(err, "out of memory for %d prompts", C * nt);
    for (int c = 0; c < C && !rc; c++)
        for (int k = 0; k < nt && !rc; k++)
            if (!(prompts[c * nt + k] = vc_fill_template(templates[k], classes[c]))) rc = vc_fail(err, "out of memory");
    if (!rc) rc = vc_encode_texts_normalized(m, tok, (const char *const *)prompts, C * nt, clean, out, err);
    for (int i = 0; prompts && i < C * nt; i++) free(prompts[i]);
    free(prompts);
    return rc;
}

typedef struct {
    const vc_eval_params *p;
    char **why;  /* per clip of the set being encoded */
} failure_sink;

static void remember_failure(int item, const char *msg, void *user) {
    failure_sink *s = user;
    if (!s->why[item]) s->why[item] = strdup(msg);
}

static void forward_progress(int done, int total, void *user) {
    const failure_sink *s = user;
    if (s->p->on_progress) s->p->on_progress(done, total, s->p->user);
}

/* Opens an annotated set and encodes its clips into *v [d->n, E] (normalised); unreadable clips
 * are reported through p->on_warning and left out of both d and *v. */
static int load_and_encode(vc_model *m, const vc_tokenizer *tok, const char *annotations, const vc_eval_params *p,
                           vc_dataset *d, vc_real **v, vc_eval_result *out, vc_error *err) {
    const vc_config *c = &m->cfg;
    const int E = c->embed_dim;
    vc_preprocess pp = vc_preprocess_default(c->num_frames, c->image_size);
    vc_dataset_opts o = {.clean_captions = p->clean_captions, .annotations = p->annotation};
    *v = NULL;
    if (vc_dataset_open(d, annotations, &pp, tok, c->context_length, &o, err)) return -1;
    const int n = d->n;
    failure_sink sink = {p, calloc((size_t)n, sizeof(char *))};
    unsigned char *ok = malloc((size_t)n);
    *v = malloc((size_t)n * E * sizeof **v);
    int rc = sink.why && ok && *v ? 0 : vc_fail(err, "out of memory encoding %d clips", n);
    vc_video_encode_params ep = vc_video_encode_default_params();
    ep.clip = p->clip;
    ep.workers = p->workers, ep.shuffle_frames = p->shuffle_frames, ep.single_frame = p->single_frame, ep.seed = p->seed;
    ep.on_failure = remember_failure, ep.on_progress = forward_progress, ep.user = &sink;
    if (!rc) rc = vc_encode_videos(m, d->items, n, &ep, *v, ok, NULL, err);
    int kept = 0;
    for (int i = 0; !rc && i < n; i++) {
        if (!ok[i] && !sink.why[i]) sink.why[i] = strdup("could not be read");
        if (ok[i]) memmove(*v + (size_t)kept++ * E, *v + (size_t)i * E, E * sizeof **v);
    }
    if (!rc) rc = vc_dataset_drop(d, sink.why, err);
    for (int i = 0; sink.why && i < n; i++) free(sink.why[i]);
    free(sink.why), free(ok);
    out->n_skipped += d->n_skipped;
    for (int i = 0; i < d->n_skipped && p->on_warning; i++) p->on_warning(d->skipped[i], p->user);
    return rc;
}

/* v [n, E]: the normalised embeddings of every clip of d. */
static int retrieval(vc_model *m, const vc_dataset *d, const vc_real *v, vc_eval_result *out, vc_error *err) {
    const int n = d->n, E = m->cfg.embed_dim;
    vc_real *cand = malloc((size_t)n * E * sizeof *cand), *t = malloc((size_t)n * E * sizeof *t);
    vc_real *sim = malloc((size_t)n * n * sizeof *sim);
    int32_t *video_of = malloc((size_t)n * sizeof *video_of);
    int *vid_group = malloc((size_t)n * sizeof *vid_group), *first = malloc((size_t)n * sizeof *first);
    int rc = -1, nv = 0;
    if (!cand || !t || !sim || !video_of || !vid_group || !first) {
        vc_fail(err, "out of memory evaluating %d clips", n);
        goto done;
    }
    /* Lines naming the same video file share one candidate (several captions per video). */
    if (vc_dataset_group_ids(d, VC_POSITIVES_VIDEO, video_of, &nv, err)) goto done;
    for (int k = 0; k < nv; k++) first[k] = -1, vid_group[k] = k;
    for (int i = 0; i < n; i++)
        if (first[video_of[i]] < 0) first[video_of[i]] = i;
    for (int k = 0; k < nv; k++) memcpy(cand + (size_t)k * E, v + (size_t)first[k] * E, E * sizeof *cand);
    if (vc_model_encode_text(m, d->tokens, n, t, err)) goto done;
    vc_l2_normalize_rows(t, n, E);
    vc_gemm(0, 1, n, nv, E, 1, t, E, cand, E, 0, sim, nv); /* [texts, videos] */
    vc_retrieval_metrics_compute(sim, n, nv, video_of, vid_group, &out->t2v);
    vc_gemm(0, 1, nv, n, E, 1, cand, E, t, E, 0, sim, n);  /* [videos, texts] */
    vc_retrieval_metrics_compute(sim, nv, n, vid_group, video_of, &out->v2t);
    out->has_retrieval = 1;
    out->n_clips = n;
    out->n_videos = nv;
    rc = 0;
done:
    free(cand), free(t), free(sim), free(video_of), free(vid_group), free(first);
    return rc;
}

/* v [n, E]: the normalised embeddings of every clip of d. A clip's class is its "label", or its
 * caption when it has none (ViCLIP's Kinetics annotations put the class name in the caption). */
static int zeroshot(vc_model *m, const vc_tokenizer *tok, const vc_dataset *d, const vc_real *v,
                    const vc_eval_params *p, vc_eval_result *out, vc_error *err) {
    char **labels = NULL, **templates = NULL;
    int C = 0, nt = 0, rc = -1;
    vc_real *txt = NULL, *scores = NULL;
    int *y = NULL;
    if (vc_read_class_names(p->labels, &labels, &C, err)) return -1;
    if (p->templates && vc_read_templates(p->templates, &templates, &nt, err)) goto done;
    if (!templates) nt = VC_VICLIP_N_TEMPLATES;
    const int E = m->cfg.embed_dim;
    y = malloc((size_t)d->n * sizeof *y);
    txt = malloc((size_t)C * nt * E * sizeof *txt);
    scores = malloc((size_t)d->n * C * sizeof *scores);
    if (!y || !txt || !scores) {
        vc_fail(err, "out of memory for zero-shot classification");
        goto done;
    }
    for (int i = 0; i < d->n; i++) {
        const char *lab = d->ann.items[i].label ? d->ann.items[i].label : d->ann.items[i].caption;
        y[i] = -1;
        for (int c = 0; c < C; c++)
            if (!strcmp(labels[c], lab)) y[i] = c;
        if (y[i] < 0) {
            vc_fail(err, "%s:%ld: class '%s' is not in %s", d->ann.source, d->ann.items[i].line, lab, p->labels);
            goto done;
        }
    }
    if (vc_encode_class_prompts(m, tok, (const char *const *)labels, C, (const char *const *)templates, nt,
                                p->clean_captions, txt, err))
        goto done;
    vc_zeroshot_scores(v, d->n, txt, C, nt, E, scores);
    vc_classify_metrics_compute(scores, d->n, C, y, &out->zeroshot);
    out->has_zeroshot = 1;
    out->n_classes = C;
    out->n_templates = nt;
    out->n_zeroshot_clips = d->n;
    rc = 0;
done:
    free(y), free(txt), free(scores);
    vc_free_lines(labels, C);
    if (templates) vc_free_lines(templates, nt);
    return rc;
}

int vc_evaluate(vc_model *m, const vc_tokenizer *tok, const vc_eval_params *p, vc_eval_result *out,
                vc_error *err) {
    memset(out, 0, sizeof *out);
    const int classify = (p->tasks & VC_EVAL_CLASSIFY) && p->labels, retrieve = p->tasks & VC_EVAL_RETRIEVAL;
    if (!classify && !retrieve) return vc_fail(err, "nothing to evaluate: classification needs a labels file");
    if (!p->annotations && !p->zeroshot_annotations) return vc_fail(err, "no annotations given");
    vc_dataset d, z;
    memset(&d, 0, sizeof d), memset(&z, 0, sizeof z);
    vc_real *v = NULL, *vz = NULL;
    int rc = 0;
    /* each clip is encoded once and serves retrieval and, on the same set, classification */
    if (retrieve || !p->zeroshot_annotations) rc = load_and_encode(m, tok, p->annotations, p, &d, &v, out, err);
    if (!rc && retrieve) rc = retrieval(m, &d, v, out, err);
    if (!rc && classify) {
        if (p->zeroshot_annotations) rc = load_and_encode(m, tok, p->zeroshot_annotations, p, &z, &vz, out, err);
        if (!rc) rc = zeroshot(m, tok, p->zeroshot_annotations ? &z : &d, p->zeroshot_annotations ? vz : v, p, out, err);
    }
    free(v), free(vz);
    vc_dataset_free(&d); /* safe after a failed load too: it leaves the set zeroed */
    vc_dataset_free(&z);
    return rc;
}
