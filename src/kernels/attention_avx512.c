/* kernels/attention_simd.h on AVX-512: 16 lanes, 32 registers (6 x 4 accumulators + 4 B
 * vectors + 1 broadcast = 29). */
#include "kernels/attention_simd.h"

#if defined(__AVX512F__) && !defined(VC_DOUBLE)

#include <immintrin.h>

#include "core/cpu.h"
#include "kernels/exp_avx512.h"
#include "kernels/gemm.h"

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

int vc_attention_avx512_compiled(void) { return 1; }

int vc_attention_avx512_forward(vc_real *out, vc_real *lse, vc_real *scratch, size_t per_thread,
                                const vc_real *qkv, int B, int L, int C, int H, int causal) {
    if (vc_gemm_isa() < VC_ISA_AVX512) return -1;
    return simd_forward(out, lse, scratch, per_thread, qkv, B, L, C, H, causal);
}

int vc_attention_avx512_backward(vc_real *dqkv, vc_real *scratch, size_t per_thread,
                                 const vc_real *dout, const vc_real *qkv, const vc_real *out,
                                 const vc_real *lse, int B, int L, int C, int H, int causal) {
    if (vc_gemm_isa() < VC_ISA_AVX512) return -1;
    return simd_backward(dqkv, scratch, per_thread, dout, qkv, out, lse, B, L, C, H, causal);
}

#else

int vc_attention_avx512_compiled(void) { return 0; }

int vc_attention_avx512_forward(vc_real *out, vc_real *lse, vc_real *scratch, size_t per_thread,
                                const vc_real *qkv, int B, int L, int C, int H, int causal) {
    (void)out, (void)lse, (void)scratch, (void)per_thread, (void)qkv, (void)B, (void)L, (void)C,
        (void)H, (void)causal;
    return -1;
}

int vc_attention_avx512_backward(vc_real *dqkv, vc_real *scratch, size_t per_thread,
                                 const vc_real *dout, const vc_real *qkv, const vc_real *out,
                                 const vc_real *lse, int B, int L, int C, int H, int causal) {
    (void)dqkv, (void)scratch, (void)per_thread, (void)dout, (void)qkv, (void)out, (void)lse, (void)B,
        (void)L, (void)C, (void)H, (void)causal;
    return -1;
}

#endif
