/* Moments: the best-scoring windows of a query, with neighbouring windows that match as well
 * merged into one span. Candidates are taken best first; a window that overlaps or touches a
 * moment of the same file joins it when its score is within `margin` of that moment's best
 * (and a window touching two moments joins them into one); a window that overlaps a moment
 * but scores lower than that is covered by it and dropped; any other window starts a moment. */
#ifndef VC_SEARCH_MOMENTS_H
#define VC_SEARCH_MOMENTS_H

#include "io/strbuf.h"

#include "search/rank.h"

typedef struct vc_moment {
    int file;
    double start, end; /* seconds: the union of its windows */
    float score;       /* its best window's */
    int best_row;      /* that window */
    int n_windows;
} vc_moment;

/* hits: one query's candidates, best first. Writes at most k moments, best first; returns how many. */
int vc_merge_moments(const vc_search_index *x, const vc_hit *hits, int n_hits, double margin, vc_moment *out, int k);


/* The k best moments of each query (float32 [nq, dim], normalised) into out[q * k ...], their
 * count into n_out[q]: exact search for the best candidate windows, then merging. */
int vc_search_moments(const vc_search_index *x, const float *q, int nq, int k, double margin, vc_moment *out,
                      int *n_out, vc_error *err);


/* {"query":..., "results":[{"rank","score","input","start","end","n_windows"}...]} */
int vc_moments_json(vc_strbuf *sb, const vc_search_index *x, const char *query, const vc_moment *m, int n,
                    vc_error *err);

/* The k best moments of one query (float32 [dim], normalised) within one file of the index
 * (moment retrieval in a given video). Returns how many (0 on out of memory). */
int vc_file_moments(const vc_search_index *x, int file, const float *q, int k, double margin, vc_moment *out);

#endif
