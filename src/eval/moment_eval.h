/* Moment retrieval metrics (ActivityNet Captions' protocol): for each sentence, the moments of
 * its own video ranked by the model; R@n at IoU m is the fraction of sentences with a moment
 * among the n best whose temporal IoU with the ground truth is >= m; mIoU averages the IoU of
 * the best moment. Sentences whose video is not in the index (missing or unreadable) are left
 * out and counted. */
#ifndef VC_EVAL_MOMENT_EVAL_H
#define VC_EVAL_MOMENT_EVAL_H

#include "io/activitynet.h"
#include "model/model.h"
#include "search/index.h"
#include "text/tokenizer.h"

typedef struct vc_moment_eval {
    int n_queries, n_skipped;          /* evaluated, left out (video not indexed) */
    double r1_iou5, r1_iou7, r5_iou5, r5_iou7, miou;
} vc_moment_eval;

/* |intersection| / |union| of [s1, e1] and [s2, e2]; 0 when the union is empty. */
double vc_temporal_iou(double s1, double e1, double s2, double e2);

/* x must hold the truth's videos (by path), e.g. built with vc_index_update. */
int vc_eval_moments(vc_model *m, const vc_tokenizer *tok, const vc_moment_truth *t, const vc_search_index *x,
                    double margin, int clean, vc_moment_eval *out, vc_error *err);

#endif
