/* Scoring a block of index rows against several queries at once: scores[j * nr + i] = the
 * dot product of query j and row i, as a blocked matrix product (tiles of rows x queries held
 * in registers), so each row is read from memory once for all queries.
 *
 * Rows are float16, or int8 with a float32 scale per row (symmetric: row = scale * int8).
 * Queries are prepared once per search: float32 for float16 rows; for int8 rows, int16 with a
 * scale per query, so the products are integer dot products (int8 x int16 summed in int32,
 * AVX-512 VNNI vpdpwssd or AVX2 vpmaddwd), scaled once per score. The int16 query keeps its
 * rounding error (relative 1/16000 at E = 768) far below the rows' int8 rounding.
 *
 * The kernel is picked once per search from the CPU's level (src/core/cpu.h, capped by
 * VICLIP_ISA): AVX-512 (with VNNI when present), AVX2 + F16C + FMA, or portable C. */
#ifndef VC_SEARCH_SCORE_H
#define VC_SEARCH_SCORE_H

#include <stdint.h>

#include "core/error.h"

typedef struct vc_score_queries {
    int nq, dim;
    const float *f32;    /* [nq, dim] as given */
    int16_t *i16;        /* [nq, dim]: round(q / scale) (int8 rows only) */
    float *scale;        /* [nq] */
    int level;           /* the kernel: 0 portable, 1 AVX2, 2 AVX-512, 3 AVX-512 VNNI */
} vc_score_queries;

/* Prepares nq queries [nq, dim] for rows of int8 (for_int8) or float16. */
int vc_score_queries_init(vc_score_queries *p, const float *q, int nq, int dim, int for_int8, vc_error *err);
void vc_score_queries_free(vc_score_queries *p);

void vc_score_f16(const vc_score_queries *p, const uint16_t *rows, int nr, float *scores);
void vc_score_i8(const vc_score_queries *p, const int8_t *rows, const float *row_scale, int nr, float *scores);

/* Quantises n rows of dim float32 values to int8 with one symmetric scale per row
 * (max |x| / 127; a zero row gets scale 0). */
void vc_quantize_rows_i8(const float *x, int n, int dim, int8_t *q, float *scale);

/* The largest query magnitude for int16 queries against int8 rows of dim values: the int32
 * sum of dim products of 127 x qmax cannot overflow. */
int vc_score_i16_max(int dim);

#endif
