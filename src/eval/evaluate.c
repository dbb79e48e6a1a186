#include "eval/evaluate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "io/annotations.h"
#include "kernels/gemm.h"
#include "train/dataset.h"

vc_eval_params vc_eval_default_params(void) {
    vc_eval_params p = {0};
    p.seed = 1234;
    return p;
}

int vc_encode_texts_normalized(vc_model *m, const vc_tokenizer *tok, const char *const *texts, int n,
                               vc_real *out, vc_error *err) {
    const int ctx = m->cfg.context_length;
    int32_t *ids = malloc((size_t)n * ctx * sizeof *ids);
    if (!ids) return vc_fail(err, "out of memory tokenising %d texts", n);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++)
        if (vc_tokenize(tok, texts[i], ctx, ids + (size_t)i * ctx, err) < 0) rc = -1;
    if (!rc) rc = vc_model_encode_text(m, ids, n, out, err);
    if (!rc) vc_l2_normalize_rows(out, n, m->cfg.embed_dim);
    free(ids);
    return rc;
}

/* Normalised embeddings of every clip in d; frames shuffled per clip, or the middle frame
 * repeated, when the parameters ask for a baseline. */
static int encode_clips(vc_model *m, const vc_dataset *d, const vc_eval_params *p, vc_real *out,
                        vc_error *err) {
    const int shuffle = p->shuffle_frames, single = p->single_frame;
    const vc_config *c = &m->cfg;
    const size_t clip = (size_t)c->num_frames * 3 * c->image_size * c->image_size;
    enum { CHUNK = 32 };
    vc_real *buf = malloc(CHUNK * clip * sizeof *buf);
    int32_t *perm = malloc((size_t)c->num_frames * sizeof *perm);
    int order[4096];
    if (!buf || !perm || c->num_frames > 4096) {
        free(buf), free(perm);
        return vc_fail(err, "out of memory encoding clips");
    }
    int rc = 0;
    for (int i0 = 0; i0 < d->n && !rc; i0 += CHUNK) {
        int n = d->n - i0 < CHUNK ? d->n - i0 : CHUNK;
        for (int k = 0; k < n; k++) {
            if (shuffle) {
                vc_rng r = vc_rng_at(p->seed, VC_STREAM_AUGMENT, (uint64_t)(i0 + k), 7);
                vc_rng_permutation(&r, perm, c->num_frames);
                for (int t = 0; t < c->num_frames; t++) order[t] = perm[t];
            }
            if (single)
                for (int t = 0; t < c->num_frames; t++) order[t] = c->num_frames / 2;
            vc_dataset_clip(d, i0 + k, shuffle || single ? order : NULL, buf + k * clip);
        }
        rc = vc_model_encode_video(m, buf, n, out + (size_t)i0 * c->embed_dim, err);
    }
    if (!rc) vc_l2_normalize_rows(out, d->n, c->embed_dim);
    free(buf), free(perm);
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
    out->n_clips = n;
    out->n_videos = nv;
    rc = 0;
done:
    free(cand), free(t), free(sim), free(video_of), free(vid_group), free(first);
    return rc;
}

/* "{}" in a template is replaced by the class name. */
static char *fill_template(const char *tmpl, const char *name) {
    const char *at = strstr(tmpl, "{}");
    size_t n = strlen(tmpl) + strlen(name) + 1;
    char *s = malloc(n);
    if (!s) return NULL;
    if (at) snprintf(s, n, "%.*s%s%s", (int)(at - tmpl), tmpl, name, at + 2);
    else snprintf(s, n, "%s", tmpl);
    return s;
}

static void report_skipped(const vc_dataset *d, const vc_eval_params *p, vc_eval_result *out) {
    out->n_skipped += d->n_skipped;
    for (int i = 0; i < d->n_skipped && p->on_warning; i++) p->on_warning(d->skipped[i], p->user);
}

/* v [n, E]: the normalised embeddings of every clip of d. */
static int zeroshot(vc_model *m, const vc_tokenizer *tok, const vc_dataset *d, const vc_real *v,
                    const vc_eval_params *p, vc_eval_result *out, vc_error *err) {
    char **labels = NULL, **templates = NULL;
    int C = 0, nt = 0, rc = -1;
    char *default_template[1] = {"{}"};
    vc_real *txt = NULL, *scores = NULL;
    int *y = NULL;
    char **prompts = NULL;
    if (vc_read_lines(p->labels, &labels, &C, err)) return -1;
    if (p->templates) {
        if (vc_read_lines(p->templates, &templates, &nt, err)) goto done;
    }
    char **tmpl = templates ? templates : default_template;
    if (!templates) nt = 1;
    const int E = m->cfg.embed_dim;
    y = malloc((size_t)d->n * sizeof *y);
    prompts = calloc((size_t)C * nt, sizeof *prompts);
    txt = malloc((size_t)C * nt * E * sizeof *txt);
    scores = malloc((size_t)d->n * C * sizeof *scores);
    if (!y || !prompts || !txt || !scores) {
        vc_fail(err, "out of memory for zero-shot classification");
        goto done;
    }
    for (int i = 0; i < d->n; i++) {
        const char *lab = d->ann.items[i].label;
        y[i] = -1;
        for (int c = 0; c < C && lab; c++)
            if (!strcmp(labels[c], lab)) y[i] = c;
        if (y[i] < 0) {
            vc_fail(err, "%s:%ld: label '%s' is not in %s", d->ann.source, d->ann.items[i].line,
                    lab ? lab : "(missing)", p->labels);
            goto done;
        }
    }
    for (int c = 0; c < C; c++)
        for (int k = 0; k < nt; k++)
            if (!(prompts[c * nt + k] = fill_template(tmpl[k], labels[c]))) {
                vc_fail(err, "out of memory");
                goto done;
            }
    if (vc_encode_texts_normalized(m, tok, (const char *const *)prompts, C * nt, txt, err)) goto done;
    vc_zeroshot_scores(v, d->n, txt, C, nt, E, scores);
    vc_classify_metrics_compute(scores, d->n, C, y, &out->zeroshot);
    out->has_zeroshot = 1;
    out->n_classes = C;
    out->n_templates = nt;
    out->n_zeroshot_clips = d->n;
    rc = 0;
done:
    if (prompts)
        for (int i = 0; i < C * nt; i++) free(prompts[i]);
    free(prompts), free(y), free(txt), free(scores);
    vc_free_lines(labels, C);
    if (templates) vc_free_lines(templates, nt);
    return rc;
}

int vc_evaluate(vc_model *m, const vc_tokenizer *tok, const vc_eval_params *p, vc_eval_result *out,
                vc_error *err) {
    memset(out, 0, sizeof *out);
    const vc_config *c = &m->cfg;
    vc_preprocess pp = vc_preprocess_default(c->num_frames, c->image_size);
    vc_dataset d;
    if (vc_dataset_load(&d, p->annotations, &pp, tok, c->context_length, err)) return -1;
    report_skipped(&d, p, out);
    /* each clip is encoded once and serves retrieval and, on the same set, classification */
    vc_real *v = malloc((size_t)d.n * c->embed_dim * sizeof *v);
    int rc = v ? encode_clips(m, &d, p, v, err) : vc_fail(err, "out of memory encoding %d clips", d.n);
    if (!rc) rc = retrieval(m, &d, v, out, err);
    if (!rc && p->labels) {
        if (p->zeroshot_annotations) {
            vc_dataset z;
            vc_real *vz = NULL;
            rc = vc_dataset_load(&z, p->zeroshot_annotations, &pp, tok, c->context_length, err);
            if (!rc) {
                report_skipped(&z, p, out);
                vz = malloc((size_t)z.n * c->embed_dim * sizeof *vz);
                rc = vz ? encode_clips(m, &z, p, vz, err) : vc_fail(err, "out of memory encoding %d clips", z.n);
            }
            if (!rc) rc = zeroshot(m, tok, &z, vz, p, out, err);
            free(vz);
            vc_dataset_free(&z); /* safe after a failed load too: it leaves z zeroed */
        } else {
            rc = zeroshot(m, tok, &d, v, p, out, err);
        }
    }
    free(v);
    vc_dataset_free(&d);
    return rc;
}
