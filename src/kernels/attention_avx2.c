/* kernels/attention_simd.h on AVX2 + FMA (CPUs without AVX-512, and VICLIP_ISA=avx2): 8 lanes,
 * 16 registers (6 x 2 accumulators + 2 B vectors + 1 broadcast = 15). */
#include "kernels/attention_simd.h"

#if defined(__AVX2__) && defined(__FMA__) && !defined(VC_DOUBLE)

#include <immintrin.h>

#include "kernels/fastmath.h"


typedef __m256 vf;
enum { VW = 8, MR = 6, NR = 2 };

static inline vf v_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void v_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
static inline vf v_set1(float x) { return _mm256_set1_ps(x); }
static inline vf v_zero(void) { return _mm256_setzero_ps(); }
static inline vf v_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf v_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf v_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf v_max(vf a, vf b) { return _mm256_max_ps(a, b); }
static inline vf v_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline float v_hsum(vf v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
static inline float v_hmax(vf v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}
static inline vf v_first(vf v, int n, vf fill) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_blendv_ps(fill, v, _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane)));
}

/* As vc_exp (kernels/fastmath.h), term for term: the clamp keeps 2^n a normal float built from
 * its exponent bits (and any x, even a masked lane's, well defined). */
static inline vf v_exp(vf x) {
    /* the constant first: max/min return their second operand when one is NaN */
    x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-87.0f), x));
    const vf n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    vf r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860682030941723212e-6f), r);
    const vf p = VC_EXP_POLY(_mm256_fmadd_ps, r, _mm256_set1_ps);
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

#include "kernels/attention_simd_impl.h"

const vc_attention_simd vc_attention_avx2 = {"AVX2", VC_ISA_AVX2, simd_forward, simd_backward};

#else

const vc_attention_simd vc_attention_avx2 = {"AVX2", VC_ISA_AVX2, NULL, NULL};

#endif
