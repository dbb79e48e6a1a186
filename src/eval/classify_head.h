/* Classification with a fine-tuned head (train/classifier_model.h) under the Kinetics
 * test protocol: each clip is seen as `clips` temporal views x `crops` spatial crops
 * (video/clip.h), the head's softmax scores are averaged over the views, top-1 / top-5. */
#ifndef VC_EVAL_CLASSIFY_HEAD_H
#define VC_EVAL_CLASSIFY_HEAD_H

#include "eval/metrics.h"
#include "train/classifier_model.h"

typedef struct vc_head_eval_params {
    const char *annotations;  /* clips with a "label" (or the class as caption) */
    int clips;                /* temporal views (1: ViCLIP's middle sampling) */
    int crops;                /* 1: the whole frame; 3: left/top, centre, right/bottom squares */
    int workers;              /* decoding threads */
    void (*on_warning)(const char *msg, void *user); /* one per unreadable clip (left out) */
    void (*on_progress)(int done, int total, void *user);
    void *user;
} vc_head_eval_params;

vc_head_eval_params vc_head_eval_default_params(void);

/* n_skipped (may be NULL): unreadable clips left out. */
int vc_eval_classifier(vc_classifier *c, const vc_head_eval_params *p, vc_classify_metrics *out, int *n_skipped,
                       vc_error *err);

#endif
