/* exp for the hot loops (softmax, QuickGELU). In the float build a branch-free polynomial
 * that the compiler vectorises (glibc's expf is not vectorised without -ffast-math):
 * x = n ln2 + r, |r| <= ln2/2, e^r by a degree-6 Taylor/minimax polynomial, 2^n by building
 * the exponent bits. Relative error < 2e-7 over the float range; results flush to 0 below
 * e^-87 and saturate at e^88. The double build (gradient checks) uses libm's exp. */
#ifndef VC_KERNELS_FASTMATH_H
#define VC_KERNELS_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/real.h"

/* e^r for |r| <= ln2/2 (Taylor/minimax, degree 6, Horner's rule), written once for vc_exp and
 * its vector forms (kernels/exp_avx512.h, attention_avx2.c) so they stay the same polynomial:
 * FMA(a, b, c) = a * b + c and C(k) the constant k, both in the caller's type. */
#define VC_EXP_POLY(FMA, r, C)                                                                  \
    FMA(FMA(FMA(FMA(FMA(FMA(C(1.0f / 720.0f), r, C(1.0f / 120.0f)), r, C(1.0f / 24.0f)), r, \
                    C(1.0f / 6.0f)),                                                        \
                r, C(0.5f)),                                                                \
            r, C(1.0f)),                                                                    \
        r, C(1.0f))
#define VC_EXP_SCALAR(k) (k)

#ifdef VC_DOUBLE
static inline vc_real vc_exp(vc_real x) { return exp(x); }
#else
static inline float vc_exp(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    /* round to nearest by the 1.5*2^23 trick: a plain add/sub that vectorises (roundf is a libm
     * call here); exact since |x*log2(e)| < 2^22 after the clamp. t then holds n in its low
     * mantissa bits, which build 2^n with unsigned arithmetic only: no float-to-int conversion
     * or left shift of a negative value, either undefined for NaN (which passes the clamp and
     * reaches the result through r). */
    const float t = x * 1.44269504088896341f + 12582912.0f, n = t - 12582912.0f;
    /* fmaf, not a * b + c: -std=c11 turns off GCC's contraction of the latter into FMAs, and
     * the Horner chain is most of the cost of every softmax and QuickGELU (fmaf compiles to one
     * vectorised instruction with -fno-math-errno and an FMA ISA). */
    float r = fmaf(-n, 0.693145751953125f, x); /* ln2 split in two parts for an exact reduction */
    r = fmaf(-n, 1.42860682030941723212e-6f, r);
    const float p = VC_EXP_POLY(fmaf, r, VC_EXP_SCALAR);
    uint32_t t_bits;
    memcpy(&t_bits, &t, sizeof t_bits);
    const uint32_t bits = (t_bits - 0x4B400000u + 127u) << 23; /* 0x4B400000: the bits of 1.5*2^23 */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}
#endif

/* The first half of a softmax over row[0, n): row[j] = exp(row[j] - max) in place; returns the
 * sum and stores the max in *max_out. Both reductions vectorise (a scalar running max is one
 * long chain of dependent latencies, which dominated the attention softmax). */
static inline vc_real vc_exp_shifted_row(vc_real *row, int n, vc_real *max_out) {
    vc_real mx = row[0];
#pragma omp simd reduction(max : mx)
    for (int j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
    vc_real sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < n; j++) {
        row[j] = vc_exp(row[j] - mx);
        sum += row[j];
    }
    *max_out = mx;
    return sum;
}

#endif
