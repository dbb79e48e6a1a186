/* Retrieval and zero-shot metrics on hand-computed cases. */
#include "eval/metrics.h"
#include "testutil.h"

TEST(retrieval_ranks_and_recalls_match_hand_computed_values) {
    /* 4 text queries x 4 videos; the correct video of query q is q. */
    const vc_real sim[16] = {
        0.9f, 0.1f, 0.2f, 0.0f, /* q0: rank 1 */
        0.8f, 0.5f, 0.7f, 0.1f, /* q1: 0.5 beaten by 0.8, 0.7 -> rank 3 */
        0.3f, 0.2f, 0.0f, 0.1f, /* q2: last -> rank 4 */
        0.0f, 0.0f, 0.9f, 0.2f, /* q3: beaten by 0.9 -> rank 2 */
    };
    const int groups[4] = {0, 1, 2, 3};
    vc_retrieval_metrics m;
    vc_retrieval_metrics_compute(sim, 4, 4, groups, groups, &m);
    CHECK_CLOSE(m.r1, 0.25, 1e-12, 0);
    CHECK_CLOSE(m.r5, 1.0, 1e-12, 0);
    CHECK_CLOSE(m.median_rank, 2.5, 1e-12, 0); /* ranks 1,2,3,4 */
    CHECK_CLOSE(m.mean_rank, 2.5, 1e-12, 0);
    CHECK(m.n_queries == 4, "n %d", m.n_queries);
}

TEST(retrieval_uses_the_best_of_several_correct_candidates) {
    /* one video query, 3 captions: captions 1 and 2 belong to it */
    const vc_real sim[3] = {0.9f, 0.2f, 0.5f};
    const int cand[3] = {7, 3, 3};
    CHECK(vc_retrieval_rank(sim, 3, cand, 3) == 2, "rank %d", vc_retrieval_rank(sim, 3, cand, 3));
    CHECK(vc_retrieval_rank(sim, 3, cand, 5) == 4, "a query without a correct candidate ranks last");
}

TEST(zeroshot_averages_template_similarities) {
    /* E = 2; 2 classes x 2 templates; video 0 = (1,0), video 1 = (0,1) */
    const vc_real video[4] = {1, 0, 0, 1};
    const vc_real text[8] = {1, 0, 0, 1,   /* class 0: templates point both ways: mean (0.5, 0.5) */
                             0.6f, 0.8f, 0.6f, 0.8f}; /* class 1: (0.6, 0.8) */
    vc_real scores[4];
    vc_zeroshot_scores(video, 2, text, 2, 2, 2, scores);
    CHECK_CLOSE(scores[0], 0.5, 1e-6, 0);
    CHECK_CLOSE(scores[1], 0.6, 1e-6, 0);
    CHECK_CLOSE(scores[2], 0.5, 1e-6, 0);
    CHECK_CLOSE(scores[3], 0.8, 1e-6, 0);
    const int labels[2] = {0, 1};
    vc_classify_metrics m;
    vc_classify_metrics_compute(scores, 2, 2, labels, &m);
    CHECK_CLOSE(m.top1, 0.5, 1e-12, 0); /* video 0 prefers class 1 (0.6 > 0.5) */
    CHECK_CLOSE(m.top5, 1.0, 1e-12, 0);
}

TEST_MAIN("metrics", T(retrieval_ranks_and_recalls_match_hand_computed_values),
          T(retrieval_uses_the_best_of_several_correct_candidates), T(zeroshot_averages_template_similarities))
