/* The public API over evaluation: retrieval and zero-shot classification of a model, and a
 * fine-tuned classifier's own head under the test views. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/context.h"
#include "eval/classify_head.h"
#include "eval/evaluate.h"
#include "io/annotations.h"
#include "train/classifier_model.h"

#define pass_error vc_api_pass_error
#define fail vc_api_fail

struct viclip_eval_params viclip_eval_default_params(void) {
    const vc_eval_params d = vc_eval_default_params();
    struct viclip_eval_params p = {.retrieval = 1, .classify = 1, .format = "auto", .video = viclip_video_default_params(),
                                   .seed = d.seed};
    p.video.workers = d.workers;
    return p;
}

static struct viclip_retrieval_metrics retrieval_out(const vc_retrieval_metrics *m) {
    return (struct viclip_retrieval_metrics){m->r1, m->r5, m->r10, m->median_rank};
}

int viclip_evaluate(viclip_context *ctx, const struct viclip_eval_params *p, struct viclip_eval_result *out,
                    viclip_error *err) {
    if (vc_api_need_tokenizer(ctx, err)) return -1;
    vc_error e;
    vc_eval_params t = vc_eval_default_params();
    const struct viclip_video_params *v = &p->video;
    if (v->sampling < VICLIP_SAMPLING_MIDDLE || v->sampling > VICLIP_SAMPLING_DEMO ||
        (v->interp != VICLIP_INTERP_BICUBIC && v->interp != VICLIP_INTERP_BILINEAR))
        return fail(err, "%s", "viclip_eval_params.video: sampling or interp is not one of its enum's values");
    if (vc_annotation_format_parse(p->format, &t.annotation.format, &e)) return pass_error(&e, err), -1;
    t.tasks = (p->retrieval ? VC_EVAL_RETRIEVAL : 0) | (p->classify ? VC_EVAL_CLASSIFY : 0);
    t.annotations = p->annotations, t.labels = p->labels, t.zeroshot_annotations = p->zeroshot_annotations;
    t.templates = p->templates, t.clean_captions = ctx->params.clean_captions;
    t.workers = v->workers;
    t.shuffle_frames = p->shuffle_frames, t.single_frame = p->single_frame, t.seed = p->seed;
    t.annotation.video_root = p->video_root, t.annotation.video_pattern = p->video_pattern;
    t.clip.sampling = (vc_sampling)v->sampling, t.clip.interp = (vc_interp)v->interp;
    t.on_warning = p->on_warning, t.on_progress = p->on_progress, t.user = p->user;
    vc_eval_result r;
    if (vc_evaluate(ctx->model, ctx->tok, &t, &r, &e)) return pass_error(&e, err), -1;
    *out = (struct viclip_eval_result){.has_retrieval = r.has_retrieval, .t2v = retrieval_out(&r.t2v),
                                       .v2t = retrieval_out(&r.v2t), .n_clips = r.n_clips, .n_videos = r.n_videos,
                                       .n_skipped = r.n_skipped, .has_zeroshot = r.has_zeroshot,
                                       .zeroshot_top1 = r.zeroshot.top1, .zeroshot_top5 = r.zeroshot.top5,
                                       .n_classes = r.n_classes, .n_templates = r.n_templates,
                                       .n_zeroshot_clips = r.n_zeroshot_clips};
    return 0;
}

/* ---- a fine-tuned head ---------------------------------------------------------------------- */

struct viclip_head_eval_params viclip_head_eval_default_params(void) {
    const vc_head_eval_params d = vc_head_eval_default_params();
    return (struct viclip_head_eval_params){.clips = d.clips, .crops = d.crops, .workers = d.workers};
}

int viclip_file_has_head(const char *path, viclip_error *err) {
    vc_error e;
    const int head = vc_classifier_file_has_head(path, &e);
    if (head < 0) pass_error(&e, err);
    return head;
}

/* A class list given with a head must be the head's, in its order. */
static int check_labels(const vc_classifier *c, const char *labels, const char *model, vc_error *e) {
    char **names = NULL;
    int n = 0, rc = vc_read_lines(labels, &names, &n, e);
    if (!rc && n != c->n_classes) rc = vc_fail(e, "%s lists %d classes but the head of %s has %d", labels, n, model, c->n_classes);
    for (int i = 0; !rc && i < n; i++)
        if (strcmp(names[i], c->classes[i]))
            rc = vc_fail(e, "%s: class %d is '%s' but the head of %s has '%s' there", labels, i + 1, names[i], model, c->classes[i]);
    if (names) vc_free_lines(names, n);
    return rc;
}

int viclip_evaluate_head(const char *model_path, const struct viclip_head_eval_params *p, struct viclip_head_metrics *out,
                         viclip_error *err) {
    vc_error e;
    vc_classifier c;
    if (vc_classifier_load(&c, model_path, &e)) return pass_error(&e, err), -1;
    int rc = p->labels ? check_labels(&c, p->labels, model_path, &e) : 0;
    vc_head_eval_params hp = vc_head_eval_default_params();
    hp.annotations = p->annotations, hp.clips = p->clips, hp.crops = p->crops, hp.workers = p->workers;
    hp.on_warning = p->on_warning, hp.on_progress = p->on_progress, hp.user = p->user;
    vc_classify_metrics r;
    int skipped = 0;
    if (!rc) rc = vc_eval_classifier(&c, &hp, &r, &skipped, &e);
    if (!rc) *out = (struct viclip_head_metrics){.top1 = r.top1, .top5 = r.top5, .n_clips = r.n, .n_classes = c.n_classes,
                                                 .n_skipped = skipped};
    vc_classifier_free(&c);
    if (rc) pass_error(&e, err);
    return rc ? -1 : 0;
}
