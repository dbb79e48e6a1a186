/* Exact search: every row of an index scored against the queries (cosine of normalised
 * vectors), in blocks of rows multiplied with all the queries at once (src/search/score.h:
 * float16 or int8 rows read once for every query; float32 rows with one GEMM per block),
 * blocks shared out over the OpenMP threads, each keeping a heap of its best rows per query.
 * Memory beyond the index: one block of scores per thread. int8 scores carry the rows'
 * rounding (about 5e-4 at E = 768), so near-ties may swap against float32. */
#ifndef VC_SEARCH_RANK_H
#define VC_SEARCH_RANK_H

#include "search/index.h"

typedef struct vc_hit {
    int row;
    float score;
} vc_hit;

/* For each of nq queries (float32 [nq, dim], normalised) the min(m, n) best rows, best first
 * (ties: lower row first), into hits[q * m ...]; *got receives min(m, n). */
int vc_index_search(const vc_search_index *x, const float *q, int nq, int m, vc_hit *hits, int *got, vc_error *err);

#endif
