#include "eval/metrics.h"

#include <math.h>
#include <stdlib.h>

#include "kernels/gemm.h"

int vc_retrieval_rank(const vc_real *scores, int Nc, const int *cand_group, int group) {
    int best = -1;
    for (int j = 0; j < Nc; j++)
        if (cand_group[j] == group && (best < 0 || scores[j] > scores[best])) best = j;
    if (best < 0) return Nc + 1; /* no correct candidate: worse than every rank */
    int above = 0;
    for (int j = 0; j < Nc; j++) above += scores[j] > scores[best];
    return above + 1;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

void vc_retrieval_metrics_compute(const vc_real *sim, int Nq, int Nc, const int *query_group,
                                  const int *cand_group, vc_retrieval_metrics *out) {
    int *ranks = malloc((size_t)(Nq > 0 ? Nq : 1) * sizeof *ranks);
    vc_retrieval_metrics m = {0};
    m.n_queries = Nq;
    if (!ranks || Nq <= 0) {
        free(ranks);
        *out = m;
        return;
    }
    double sum = 0;
    for (int q = 0; q < Nq; q++) {
        int r = vc_retrieval_rank(sim + (size_t)q * Nc, Nc, cand_group, query_group[q]);
        ranks[q] = r;
        m.r1 += r <= 1, m.r5 += r <= 5, m.r10 += r <= 10;
        sum += r;
    }
    m.r1 /= Nq, m.r5 /= Nq, m.r10 /= Nq;
    m.mean_rank = sum / Nq;
    qsort(ranks, (size_t)Nq, sizeof *ranks, cmp_int);
    /* numpy.median semantics: mean of the two middle values for even counts */
    m.median_rank = Nq % 2 ? ranks[Nq / 2] : 0.5 * (ranks[Nq / 2 - 1] + ranks[Nq / 2]);
    free(ranks);
    *out = m;
}

void vc_zeroshot_scores(const vc_real *video, int Nv, const vc_real *class_text, int C,
                        int n_templates, int E, vc_real *scores_out) {
    /* every prompt scored by one GEMM, then averaged over each class's templates */
    const int P = C * n_templates;
    vc_real *all = malloc((size_t)Nv * P * sizeof *all);
    if (!all) return;
    vc_gemm(0, 1, Nv, P, E, 1, video, E, class_text, E, 0, all, P);
    for (int v = 0; v < Nv; v++)
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int t = 0; t < n_templates; t++) s += all[(size_t)v * P + c * n_templates + t];
            scores_out[(size_t)v * C + c] = (vc_real)(s / n_templates);
        }
    free(all);
}

void vc_classify_metrics_compute(const vc_real *scores, int Nv, int C, const int *labels,
                                 vc_classify_metrics *out) {
    vc_classify_metrics m = {0};
    m.n = Nv;
    for (int v = 0; v < Nv; v++) {
        const vc_real *s = scores + (size_t)v * C;
        int above = 0;
        for (int c = 0; c < C; c++) above += s[c] > s[labels[v]];
        m.top1 += above < 1;
        m.top5 += above < 5;
    }
    if (Nv > 0) m.top1 /= Nv, m.top5 /= Nv;
    *out = m;
}

void vc_softmax_scaled(const vc_real *scores, int C, double scale, vc_real *prob) {
    double mx = -INFINITY, sum = 0;
    for (int c = 0; c < C; c++) mx = scores[c] > mx ? scores[c] : mx;
    for (int c = 0; c < C; c++) sum += exp(scale * (scores[c] - mx));
    for (int c = 0; c < C; c++) prob[c] = (vc_real)(exp(scale * (scores[c] - mx)) / sum);
}
