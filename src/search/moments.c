#include "search/moments.h"

#include <stdlib.h>
#include <string.h>

#define TOUCH 1e-6 /* seconds: windows that meet end to start are adjacent */

static int overlaps(const vc_moment *m, int file, double s, double e) {
    return m->file == file && s <= m->end + TOUCH && e >= m->start - TOUCH;
}

int vc_merge_moments(const vc_search_index *x, const vc_hit *hits, int n_hits, double margin, vc_moment *out, int k) {
    vc_moment *all = malloc(((size_t)n_hits + 1) * sizeof *all);
    if (!all) return 0;
    int n = 0;
    for (int h = 0; h < n_hits; h++) {
        const int row = hits[h].row, file = x->file[row];
        const double s = x->start[row], e = x->end[row];
        int joined = -1, covered = 0;
        for (int i = 0; i < n; i++) {
            if (!overlaps(&all[i], file, s, e)) continue;
            if (hits[h].score < all[i].score - margin) {
                covered = 1;
                continue;
            }
            if (joined < 0) { /* extend moment i */
                joined = i;
                if (s < all[i].start) all[i].start = s;
                if (e > all[i].end) all[i].end = e;
                all[i].n_windows++;
            } else { /* the window bridges two moments: fold i into the earlier (better) one */
                vc_moment *a = &all[joined];
                if (all[i].start < a->start) a->start = all[i].start;
                if (all[i].end > a->end) a->end = all[i].end;
                a->n_windows += all[i].n_windows;
                all[i] = all[--n];
                i--;
            }
        }
        if (joined < 0 && !covered) all[n++] = (vc_moment){file, s, e, hits[h].score, row, 1};
    }
    /* moments were opened best first, but folding moved some: order by score again */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && all[j].score > all[j - 1].score; j--) {
            vc_moment t = all[j];
            all[j] = all[j - 1], all[j - 1] = t;
        }
    int kept = n < k ? n : k;
    for (int i = 0; i < kept; i++) out[i] = all[i];
    free(all);
    return kept;
}

int vc_search_moments(const vc_search_index *x, const float *q, int nq, int k, double margin, vc_moment *out,
                      int *n_out, vc_error *err) {
    /* enough candidates that merging k moments of several windows each still leaves k */
    const int m = k * 20 > 200 ? k * 20 : 200;
    vc_hit *hits = malloc((size_t)nq * m * sizeof *hits);
    if (!hits) return vc_fail(err, "out of memory");
    int got = 0;
    if (vc_index_search(x, q, nq, m, hits, &got, err)) return free(hits), -1;
    for (int j = 0; j < nq; j++) n_out[j] = vc_merge_moments(x, hits + (size_t)j * m, got, margin, out + (size_t)j * k, k);
    free(hits);
    return 0;
}

int vc_moments_json(vc_strbuf *sb, const vc_search_index *x, const char *query, const vc_moment *m, int n,
                    vc_error *err) {
    int rc = vc_sb_puts(sb, "{\"query\":", err);
    if (!rc) rc = vc_sb_append_json_string(sb, query, strlen(query), err);
    if (!rc) rc = vc_sb_puts(sb, ",\"results\":[", err);
    for (int r = 0; !rc && r < n; r++) {
        const char *path = x->files[m[r].file].path;
        rc = vc_sb_appendf(sb, err, "%s{\"rank\":%d,\"score\":%.6f,\"input\":", r ? "," : "", r + 1, m[r].score);
        if (!rc) rc = vc_sb_append_json_string(sb, path, strlen(path), err);
        if (!rc)
            rc = vc_sb_appendf(sb, err, ",\"file\":%d,\"start\":%.3f,\"end\":%.3f,\"n_windows\":%d}", m[r].file, m[r].start,
                               m[r].end, m[r].n_windows);
    }
    if (!rc) rc = vc_sb_puts(sb, "]}", err);
    return rc;
}

static int by_score_desc(const void *a, const void *b) {
    const vc_hit *x = a, *y = b;
    return x->score < y->score ? 1 : x->score > y->score ? -1 : (x->row > y->row) - (x->row < y->row);
}

int vc_file_moments(const vc_search_index *x, int file, const float *q, int k, double margin, vc_moment *out) {
    const vc_index_file *f = &x->files[file];
    vc_hit *hits = malloc(((size_t)f->count + 1) * sizeof *hits);
    float *row = malloc((size_t)x->dim * sizeof *row);
    int n = 0;
    if (hits && row) {
        for (int i = 0; i < f->count; i++) {
            vc_index_row(x, f->first + i, row);
            double s = 0;
            for (int e = 0; e < x->dim; e++) s += (double)row[e] * q[e];
            hits[i] = (vc_hit){f->first + i, (float)s};
        }
        qsort(hits, (size_t)f->count, sizeof *hits, by_score_desc);
        n = vc_merge_moments(x, hits, f->count, margin, out, k);
    }
    free(hits), free(row);
    return n;
}
