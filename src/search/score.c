#include "search/score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "io/dtype.h"
#include "kernels/gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define VC_X86 1
#else
#define VC_X86 0
#endif

enum { LEVEL_C = 0, LEVEL_AVX2 = 1, LEVEL_AVX512 = 2, LEVEL_VNNI = 3 };
enum { RT = 4, QT = 4 }; /* a tile: RT rows x QT queries of accumulators in registers */

int vc_score_i16_max(int dim) {
    const long long lim = 2147483647LL / (127LL * (dim > 0 ? dim : 1));
    return lim < 32767 ? (int)lim : 32767;
}

void vc_quantize_rows_i8(const float *x, int n, int dim, int8_t *q, float *scale) {
    for (int i = 0; i < n; i++) {
        const float *r = x + (size_t)i * dim;
        float m = 0;
        for (int e = 0; e < dim; e++) m = fmaxf(m, fabsf(r[e]));
        scale[i] = m / 127;
        const float inv = m > 0 ? 127 / m : 0;
        for (int e = 0; e < dim; e++) {
            long v = lrintf(r[e] * inv);
            q[(size_t)i * dim + e] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
    }
}

static int pick_level(void) {
#if VC_X86
    vc_cpu_features f;
    vc_cpu_detect(&f);
    const vc_isa isa = vc_gemm_isa(); /* the process's level, VICLIP_ISA applied */
    if (isa >= VC_ISA_AVX512) return f.avx512_vnni ? LEVEL_VNNI : LEVEL_AVX512;
    if (isa >= VC_ISA_AVX2) return LEVEL_AVX2;
#endif
    return LEVEL_C;
}

int vc_score_queries_init(vc_score_queries *p, const float *q, int nq, int dim, int for_int8, vc_error *err) {
    memset(p, 0, sizeof *p);
    p->nq = nq, p->dim = dim, p->f32 = q, p->level = pick_level();
    if (!for_int8) return 0;
    p->i16 = malloc(((size_t)nq * dim + 1) * sizeof *p->i16);
    p->scale = malloc(((size_t)nq + 1) * sizeof *p->scale);
    if (!p->i16 || !p->scale) return vc_score_queries_free(p), vc_fail(err, "out of memory preparing %d queries", nq);
    const int qmax = vc_score_i16_max(dim);
    for (int j = 0; j < nq; j++) {
        const float *r = q + (size_t)j * dim;
        float m = 0;
        for (int e = 0; e < dim; e++) m = fmaxf(m, fabsf(r[e]));
        p->scale[j] = m / qmax;
        const float inv = m > 0 ? qmax / m : 0;
        for (int e = 0; e < dim; e++) p->i16[(size_t)j * dim + e] = (int16_t)lrintf(r[e] * inv);
    }
    return 0;
}

void vc_score_queries_free(vc_score_queries *p) {
    free(p->i16), free(p->scale);
    p->i16 = NULL, p->scale = NULL;
}

/* ---- portable C ------------------------------------------------------------------------- */

static void f16_c(const vc_score_queries *p, const uint16_t *rows, int nr, float *scores) {
    enum { CHUNK = 256 };
    const int E = p->dim;
    float x[CHUNK];
    for (int i = 0; i < nr; i++) {
        for (int j = 0; j < p->nq; j++) scores[(size_t)j * nr + i] = 0;
        for (int e0 = 0; e0 < E; e0 += CHUNK) { /* each value converted once for all queries */
            const int len = E - e0 < CHUNK ? E - e0 : CHUNK;
            vc_convert_to_f32(x, rows + (size_t)i * E + e0, VC_DT_F16, (size_t)len);
            for (int j = 0; j < p->nq; j++) {
                const float *q = p->f32 + (size_t)j * E + e0;
                float s = 0;
                for (int e = 0; e < len; e++) s += x[e] * q[e];
                scores[(size_t)j * nr + i] += s;
            }
        }
    }
}

static int32_t dot_i8_i16(const int8_t *r, const int16_t *q, int from, int to) {
    int32_t s = 0;
    for (int e = from; e < to; e++) s += (int32_t)r[e] * q[e];
    return s;
}

static void i8_c(const vc_score_queries *p, const int8_t *rows, const float *rs, int nr, float *scores) {
    const int E = p->dim;
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < p->nq; j++)
            scores[(size_t)j * nr + i] = (float)dot_i8_i16(rows + (size_t)i * E, p->i16 + (size_t)j * E, 0, E) * rs[i] * p->scale[j];
}

#if VC_X86
/* The kernels are written once over the vector width: a tile of NR_T <= RT rows x NQ_T <= QT
 * queries, accumulators in registers (constant bounds after inlining), then the leftover
 * E % W values in C. V: the accumulator type, W: values per step, ROW(p): W row values
 * widened, Q(p): W query values, MAC(acc, x, y), SUM(acc): the horizontal sum. */
#define TILE(NAME, TARGET, V, W, ZERO, ROW, Q, MAC, SUM, TR, TQ, TOUT, TAIL)                                         \
    TARGET static inline __attribute__((always_inline)) void NAME(const TR *r, const TQ *q, int E, int nr_t, int nq_t, \
                                                                 TOUT *d, int nd) {                                  \
        V acc[RT][QT];                                                                                                \
        for (int a = 0; a < nr_t; a++)                                                                                \
            for (int b = 0; b < nq_t; b++) acc[a][b] = ZERO;                                                          \
        const int EW = E - E % (W);                                                                                   \
        for (int e = 0; e < EW; e += (W)) {                                                                           \
            V x[RT];                                                                                                  \
            for (int a = 0; a < nr_t; a++) x[a] = ROW(r + (size_t)a * E + e);                                         \
            for (int b = 0; b < nq_t; b++) {                                                                          \
                const V y = Q(q + (size_t)b * E + e);                                                                 \
                for (int a = 0; a < nr_t; a++) acc[a][b] = MAC(acc[a][b], x[a], y);                                   \
            }                                                                                                         \
        }                                                                                                             \
        for (int a = 0; a < nr_t; a++)                                                                                \
            for (int b = 0; b < nq_t; b++) d[(size_t)b * nd + a] = SUM(acc[a][b]) + TAIL(r + (size_t)a * E, q + (size_t)b * E, EW, E); \
    }

/* All queries against nr rows: tiles of RTV rows x QT queries, then the 1-3 queries left over
 * (and a lone query) one row at a time: one stream through memory, twice as fast for one
 * query as four. */
#define BLOCK(NAME, TARGET, TILE_FN, RTV, TR, TQ, TOUT, QFIELD)                                                      \
    TARGET static void NAME(const vc_score_queries *p, const TR *rows, int nr, TOUT *out) {                           \
        const int E = p->dim, nq = p->nq;                                                                             \
        int j = 0;                                                                                                    \
        for (; j + QT <= nq; j += QT) {                                                                               \
            const TQ *q = p->QFIELD + (size_t)j * E;                                                                  \
            TOUT *d = out + (size_t)j * nr;                                                                           \
            int i = 0;                                                                                                \
            for (; i + (RTV) <= nr; i += (RTV)) TILE_FN(rows + (size_t)i * E, q, E, (RTV), QT, d + i, nr);            \
            for (; i < nr; i++) TILE_FN(rows + (size_t)i * E, q, E, 1, QT, d + i, nr);                                \
        }                                                                                                             \
        for (; j < nq; j++)                                                                                           \
            for (int i = 0; i < nr; i++)                                                                              \
                TILE_FN(rows + (size_t)i * E, p->QFIELD + (size_t)j * E, E, 1, 1, out + (size_t)j * nr + i, nr);      \
    }

static inline float tail_f16(const uint16_t *r, const float *q, int from, int to) {
    float s = 0;
    for (int e = from; e < to; e++) s += vc_f16_to_f32(r[e]) * q[e];
    return s;
}

/* ---- AVX2 + F16C + FMA ------------------------------------------------------------------ */
#define T_AVX2 __attribute__((target("avx2,fma,f16c")))

T_AVX2 static inline float hsum256(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_add_ss(a, _mm_movehdup_ps(a)));
}
T_AVX2 static inline int32_t hsum256i(__m256i v) {
    __m128i a = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0x4e));
    a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0xb1));
    return _mm_cvtsi128_si32(a);
}

#define F16_ROW_256(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define F32_Q_256(p) _mm256_loadu_ps(p)
#define FMA_256(acc, x, y) _mm256_fmadd_ps((x), (y), (acc))
#define I8_ROW_256(p) _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p)))
#define I16_Q_256(p) _mm256_loadu_si256((const __m256i *)(p))
#define MADD_256(acc, x, y) _mm256_add_epi32((acc), _mm256_madd_epi16((x), (y)))
TILE(f16_tile_avx2, T_AVX2, __m256, 8, _mm256_setzero_ps(), F16_ROW_256, F32_Q_256, FMA_256, hsum256, uint16_t, float,
     float, tail_f16)
TILE(i8_tile_avx2, T_AVX2, __m256i, 16, _mm256_setzero_si256(), I8_ROW_256, I16_Q_256, MADD_256, hsum256i, int8_t,
     int16_t, int32_t, dot_i8_i16)
BLOCK(f16_avx2, T_AVX2, f16_tile_avx2, 2, uint16_t, float, float, f32) /* 2 x 4 tiles: 16 ymm registers */
BLOCK(i8_avx2, T_AVX2, i8_tile_avx2, 2, int8_t, int16_t, int32_t, i16)

/* ---- AVX-512 (F, BW, VL; VNNI when present) --------------------------------------------- */
#define T_512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define T_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

#define F16_ROW_512(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define F32_Q_512(p) _mm512_loadu_ps(p)
#define FMA_512(acc, x, y) _mm512_fmadd_ps((x), (y), (acc))
#define I8_ROW_512(p) _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(p)))
#define I16_Q_512(p) _mm512_loadu_si512((const void *)(p))
/* int8 rows widened to int16, times the int16 queries, pairs summed into int32 */
#define MADD_512(acc, x, y) _mm512_add_epi32((acc), _mm512_madd_epi16((x), (y)))
#define VNNI_512(acc, x, y) _mm512_dpwssd_epi32((acc), (x), (y))
TILE(f16_tile_512, T_512, __m512, 16, _mm512_setzero_ps(), F16_ROW_512, F32_Q_512, FMA_512, _mm512_reduce_add_ps,
     uint16_t, float, float, tail_f16)
TILE(i8_tile_512, T_512, __m512i, 32, _mm512_setzero_si512(), I8_ROW_512, I16_Q_512, MADD_512, _mm512_reduce_add_epi32,
     int8_t, int16_t, int32_t, dot_i8_i16)
TILE(i8_tile_vnni, T_VNNI, __m512i, 32, _mm512_setzero_si512(), I8_ROW_512, I16_Q_512, VNNI_512,
     _mm512_reduce_add_epi32, int8_t, int16_t, int32_t, dot_i8_i16)
BLOCK(f16_512, T_512, f16_tile_512, RT, uint16_t, float, float, f32)
BLOCK(i8_512, T_512, i8_tile_512, RT, int8_t, int16_t, int32_t, i16)
BLOCK(i8_vnni, T_VNNI, i8_tile_vnni, RT, int8_t, int16_t, int32_t, i16)
#endif

void vc_score_f16(const vc_score_queries *p, const uint16_t *rows, int nr, float *scores) {
#if VC_X86
    if (p->level >= LEVEL_AVX512) return f16_512(p, rows, nr, scores);
    if (p->level == LEVEL_AVX2) return f16_avx2(p, rows, nr, scores);
#endif
    f16_c(p, rows, nr, scores);
}

void vc_score_i8(const vc_score_queries *p, const int8_t *rows, const float *rs, int nr, float *scores) {
#if VC_X86
    if (p->level >= LEVEL_AVX2) {
        int32_t *dots = (int32_t *)scores; /* same size: the int32 sums, then scaled in place */
        if (p->level == LEVEL_VNNI) i8_vnni(p, rows, nr, dots);
        else if (p->level == LEVEL_AVX512) i8_512(p, rows, nr, dots);
        else i8_avx2(p, rows, nr, dots);
        for (int j = 0; j < p->nq; j++)
            for (int i = 0; i < nr; i++) {
                const size_t k = (size_t)j * nr + i;
                scores[k] = (float)dots[k] * rs[i] * p->scale[j];
            }
        return;
    }
#endif
    i8_c(p, rows, rs, nr, scores);
}
