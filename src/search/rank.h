/* Exact search: every row of an index scored against the queries (cosine of normalised
 * vectors), in blocks of rows converted from float16 to float32 and multiplied with one
 * matrix product per block, blocks shared out over the OpenMP threads, each keeping a heap of
 * its best rows per query. Memory beyond the index: one block per thread. */
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
