/* kernels/attention_simd.h on AVX-512: 16 lanes, 32 registers (6 x 4 accumulators + 4 B
 * vectors + 1 broadcast = 29). */
#include "kernels/attention_simd.h"

#if defined(__AVX512F__) && !defined(VC_DOUBLE)

#include <immintrin.h>

#include "kernels/exp_avx512.h"

typedef __m512 vf;
enum { VW = 16, MR = 6, NR = 4 };

static inline vf v_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void v_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline vf v_set1(float x) { return _mm512_set1_ps(x); }
static inline vf v_zero(void) { return _mm512_setzero_ps(); }
static inline vf v_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf v_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf v_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf v_max(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf v_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline float v_hsum(vf v) { return _mm512_reduce_add_ps(v); }
static inline float v_hmax(vf v) { return _mm512_reduce_max_ps(v); }
static inline vf v_first(vf v, int n, vf fill) {
    return _mm512_mask_blend_ps((__mmask16)((1u << n) - 1), fill, v);
}

static inline vf v_exp(vf x) { return vc_exp_avx512(x); }

#include "kernels/attention_simd_impl.h"

const vc_attention_simd vc_attention_avx512 = {"AVX-512", VC_ISA_AVX512, simd_forward, simd_backward};

#else

const vc_attention_simd vc_attention_avx512 = {"AVX-512", VC_ISA_AVX512, NULL, NULL};

#endif
