#include "eval/moment_eval.h"

#include <stdlib.h>
#include <string.h>

#include "eval/evaluate.h"
#include "search/moments.h"

double vc_temporal_iou(double s1, double e1, double s2, double e2) {
    const double inter = (e1 < e2 ? e1 : e2) - (s1 > s2 ? s1 : s2), uni = (e1 > e2 ? e1 : e2) - (s1 < s2 ? s1 : s2);
    return inter > 0 && uni > 0 ? inter / uni : 0;
}

int vc_eval_moments(vc_model *m, const vc_tokenizer *tok, const vc_moment_truth *t, const vc_search_index *x,
                    double margin, int clean, vc_moment_eval *out, vc_error *err) {
    memset(out, 0, sizeof *out);
    const int E = x->dim, B = 256;
    float *q = malloc((size_t)B * E * sizeof *q);
    const char **texts = malloc((size_t)B * sizeof *texts);
    int *file = malloc(((size_t)t->n + 1) * sizeof *file);
    if (!q || !texts || !file) return free(q), free(texts), free(file), vc_fail(err, "out of memory");
    for (int i = 0; i < t->n; i++) file[i] = vc_index_find_file(x, t->q[i].video);
    int rc = 0;
    double hit15 = 0, hit17 = 0, hit55 = 0, hit57 = 0, iou_sum = 0;
    for (int b0 = 0; !rc && b0 < t->n; b0 += B) {
        const int nb = t->n - b0 < B ? t->n - b0 : B;
        for (int i = 0; i < nb; i++) texts[i] = t->q[b0 + i].sentence;
        if ((rc = vc_encode_texts_normalized(m, tok, texts, nb, clean, q, err))) break;
        for (int i = 0; i < nb; i++) {
            const vc_moment_query *g = &t->q[b0 + i];
            if (file[b0 + i] < 0) {
                out->n_skipped++;
                continue;
            }
            vc_moment top[5];
            int n = vc_file_moments(x, file[b0 + i], q + (size_t)i * E, 5, margin, top);
            if (n == 0) {
                rc = vc_fail(err, "out of memory");
                break;
            }
            double best5 = 0; /* the best IoU among the five */
            for (int r = 0; r < n; r++) {
                const double iou = vc_temporal_iou(top[r].start, top[r].end, g->start, g->end);
                if (r == 0) iou_sum += iou, hit15 += iou >= 0.5, hit17 += iou >= 0.7;
                if (iou > best5) best5 = iou;
            }
            hit55 += best5 >= 0.5, hit57 += best5 >= 0.7;
            out->n_queries++;
        }
    }
    if (!rc && out->n_queries) {
        const double n = out->n_queries;
        out->r1_iou5 = hit15 / n, out->r1_iou7 = hit17 / n, out->r5_iou5 = hit55 / n, out->r5_iou7 = hit57 / n;
        out->miou = iou_sum / n;
    }
    if (!rc && !out->n_queries) rc = vc_fail(err, "none of the %d sentences' videos is in the index", t->n);
    free(q), free(texts), free(file);
    return rc;
}
