/* Attention forward and backward in fp32 on register-blocked SIMD micro-kernels: the fast
 * paths of vc_attention_forward and vc_attention_backward, one per vector ISA (AVX-512: 16 lanes, 32 registers; AVX2 + FMA: 8
 * lanes, 16 registers), written once in kernels/attention_simd_impl.h. Same blocking as
 * kernels/attention.h: one QBLOCK x L score tile per thread, never L x L. K (transposed) and V
 * of one (sample, head) are packed once and reused by every query block the thread takes: a
 * library sgemm per block repacks them each time, and with K = head dimension = 64 that
 * repacking and its short inner loop held attention to ~70% of the GEMM rate. */
#ifndef VC_KERNELS_ATTENTION_SIMD_H
#define VC_KERNELS_ATTENTION_SIMD_H

#include <stddef.h>

#include "core/real.h"

/* Whether this build has the kernel (compiled with the ISA enabled, float build). */
int vc_attention_avx512_compiled(void);
int vc_attention_avx2_compiled(void);

/* Scratch floats one thread needs for L tokens of head dimension hd (0 when not compiled). */
size_t vc_attention_simd_scratch_elems(int L, int hd);

/* As vc_attention_forward in fp32 (lse [B, H, L] filled when non-NULL); thread t uses
 * scratch[t * per_thread ...]. Each returns -1 (and does nothing) when its kernel is absent,
 * the CPU or VICLIP_ISA lacks the ISA, the head dimension is not a multiple of 16 or
 * per_thread is too small: the caller then tries the next one, and last the portable kernel. */
int vc_attention_avx512_forward(vc_real *out, vc_real *lse, vc_real *scratch, size_t per_thread,
                                const vc_real *qkv, int B, int L, int C, int H, int causal);
int vc_attention_avx2_forward(vc_real *out, vc_real *lse, vc_real *scratch, size_t per_thread,
                              const vc_real *qkv, int B, int L, int C, int H, int causal);

/* As vc_attention_backward, after the same ISA's forward (whose score tiles it recomputes bit
 * for bit); the same conditions for returning -1. */
int vc_attention_avx512_backward(vc_real *dqkv, vc_real *scratch, size_t per_thread,
                                 const vc_real *dout, const vc_real *qkv, const vc_real *out,
                                 const vc_real *lse, int B, int L, int C, int H, int causal);
int vc_attention_avx2_backward(vc_real *dqkv, vc_real *scratch, size_t per_thread,
                               const vc_real *dout, const vc_real *qkv, const vc_real *out,
                               const vc_real *lse, int B, int L, int C, int H, int causal);

#endif
