/* Evaluation metrics, defined as open_clip defines them:
 *  - retrieval: for each query, the rank (1-based) of its best-ranked correct candidate among
 *    all candidates sorted by similarity; R@K = share of queries with rank <= K; median rank.
 *  - zero-shot classification: class score = mean over prompt templates of the cosine
 *    similarity between the clip and the template's text; top-K accuracy. */
#ifndef VC_EVAL_METRICS_H
#define VC_EVAL_METRICS_H

#include "core/real.h"

typedef struct vc_retrieval_metrics {
    double r1, r5, r10;
    double median_rank, mean_rank;
    int n_queries;
} vc_retrieval_metrics;

/* sim [Nq, Nc]; candidate j is correct for query q iff cand_group[j] == query_group[q]. */
void vc_retrieval_metrics_compute(const vc_real *sim, int Nq, int Nc, const int *query_group,
                                  const int *cand_group, vc_retrieval_metrics *out);

/* Rank (1-based) of the best correct candidate of one query: 1 + the number of candidates
 * scoring strictly higher than it. */
int vc_retrieval_rank(const vc_real *scores, int Nc, const int *cand_group, int group);

typedef struct vc_classify_metrics {
    double top1, top5;
    int n;
} vc_classify_metrics;

/* video [Nv, E] and class_text [C * n_templates, E] (class-major) must be L2-normalised.
 * scores_out [Nv, C] (may be NULL) receives the template-averaged similarities. */
void vc_zeroshot_scores(const vc_real *video, int Nv, const vc_real *class_text, int C,
                        int n_templates, int E, vc_real *scores_out);
/* prob[0..C) = softmax(scale * scores) (in double, max subtracted): class probabilities. */
void vc_softmax_scaled(const vc_real *scores, int C, double scale, vc_real *prob);
void vc_classify_metrics_compute(const vc_real *scores, int Nv, int C, const int *labels,
                                 vc_classify_metrics *out);

#endif
