/* e^x on 16 floats at once for the AVX-512 softmaxes (kernels/attention_avx512.c,
 * attention_bf16.c): x = n ln2 + r with |r| <= ln2/2, e^r by the degree-6 polynomial of
 * vc_exp (kernels/fastmath.h), and 2^n applied by vscalefps, which goes through the denormals
 * to 0 where vc_exp's clamp stops at e^-87. Against vc_exp's
 * branch-free scalar form (clamp, exponent bits built by integer arithmetic) this is about half
 * the instructions, and it stays in registers where the compiler's vectorisation of vc_exp
 * went through the stack. Include only where __AVX512F__ is defined. */
#ifndef VC_KERNELS_EXP_AVX512_H
#define VC_KERNELS_EXP_AVX512_H

#include <immintrin.h>

#include "kernels/fastmath.h"

static inline __m512 vc_exp_avx512(__m512 x) {
    /* The reduction is exact only while |x log2(e)| stays far below 2^23: beyond it r is
     * garbage and the result inf or NaN (scores of ~1e30 from diverging weights). e^-104 is
     * already below the smallest denormal, so clamping there changes no result. The constant
     * goes first: max/min return their second operand when one is NaN, which must survive. */
    x = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860682030941723212e-6f), r);
    return _mm512_scalef_ps(VC_EXP_POLY(_mm512_fmadd_ps, r, _mm512_set1_ps), n);
}

#endif
