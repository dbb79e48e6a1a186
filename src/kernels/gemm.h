/* Row-major GEMM: C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C.
 * The one place the model's matrix products are computed, so the backend can change without
 * touching the model. The float build calls oneDNN, which picks its kernels (AVX2, AVX-512,
 * AVX512-BF16, AMX) from the CPU's features at run time, capped by VICLIP_ISA (core/cpu.h);
 * the double build (gradient checks) calls the BLAS's dgemm as a plain reference. */
#ifndef VC_KERNELS_GEMM_H
#define VC_KERNELS_GEMM_H

#include <stdint.h>

#include "core/cpu.h"
#include "core/real.h"

/* Arithmetic of the model's large matrix products. BF16 rounds both operands to bfloat16 and
 * accumulates in fp32 (the result, LayerNorm/softmax statistics and master weights stay fp32). */
typedef enum vc_precision { VC_FP32 = 0, VC_BF16 = 1 } vc_precision;

const char *vc_precision_name(vc_precision p);
int vc_precision_from_name(const char *name, vc_precision *p);

void vc_gemm(int trans_a, int trans_b, int M, int N, int K, vc_real alpha, const vc_real *A,
             int lda, const vc_real *B, int ldb, vc_real beta, vc_real *C, int ldc);

/* The same product computed by plain OpenMP loops: the GEMM of builds without oneDNN (float) or
 * OpenBLAS (double), and a reference for the others. */
void vc_gemm_plain(int trans_a, int trans_b, int M, int N, int K, vc_real alpha, const vc_real *A,
                   int lda, const vc_real *B, int ldb, vc_real beta, vc_real *C, int ldc);

/* Threads the BLAS uses for its own calls (OpenBLAS; the others follow OpenMP's setting). */
void vc_gemm_set_threads(int n);

/* How a layer's matrix products run: the precision, and for bf16 a planned space for the bf16
 * copies of both operands. Without it (NULL, or too small) each product allocates its own,
 * and the page faults of those fresh allocations cost a few % of a bf16 encode. */
typedef struct vc_matmul {
    vc_precision precision;
    uint16_t *bf16;    /* planned operand space, or NULL */
    size_t bf16_elems; /* its size in bf16 elements */
} vc_matmul;

/* fp32 products, no planned space (layers that always run in fp32). */
extern const vc_matmul vc_matmul_fp32;

/* bf16 elements vc_gemm_p needs for one product of these shapes (op(A) M x K, op(B) K x N). */
size_t vc_matmul_bf16_elems(int M, int N, int K);

/* vc_gemm in mm's precision. BF16 falls back to FP32 where the CPU (or VICLIP_ISA) has no bf16
 * GEMM and in the double build. */
void vc_gemm_p(const vc_matmul *mm, int trans_a, int trans_b, int M, int N, int K, vc_real alpha,
               const vc_real *A, int lda, const vc_real *B, int ldb, vc_real beta, vc_real *C,
               int ldc);

/* The kernel level the GEMM uses (VICLIP_ISA applied) and a one-line description of the
 * backend, e.g. "oneDNN 2.6.3, max ISA avx512_bf16 (effective avx512_core_bf16)". */
vc_isa vc_gemm_isa(void);
void vc_gemm_describe(char *buf, size_t cap);
/* Whether BF16 runs as bf16 here (an AVX512-BF16 or AMX GEMM), not as the FP32 fallback. */
int vc_gemm_has_bf16(void);
/* The precision commands use without --precision: the fastest one whose accuracy holds here. */
vc_precision vc_default_precision(void);

/* fp32 -> bf16, round to nearest even (NaN stays NaN). */
static inline uint16_t vc_bf16_from_f32(float x) {
    union { float f; uint32_t u; } v = {x};
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40);
    return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1)) >> 16);
}

/* src[0..n) as bf16 into dst, rounded as vc_bf16_from_f32 (by vcvtneps2bf16 where the build has
 * AVX512-BF16, which differs only in flushing denormals). */
void vc_bf16_row(uint16_t *dst, const float *src, int n);

#endif
