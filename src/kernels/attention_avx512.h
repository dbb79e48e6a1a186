/* Attention forward in fp32 with AVX-512 micro-kernels, the fast path of vc_attention_forward
 * on CPUs (and VICLIP_ISA caps) with AVX-512. Same blocking as kernels/attention.h: one
 * QBLOCK x L score tile per thread, never L x L. K (transposed) and V of one (sample, head)
 * are packed once and reused by every query block the thread takes: a library sgemm per block
 * repacks them each time, and with K = head dimension = 64 that repacking and its short inner
 * loop held attention to ~70% of the GEMM rate. */
#ifndef VC_KERNELS_ATTENTION_AVX512_H
#define VC_KERNELS_ATTENTION_AVX512_H

#include <stddef.h>

#include "core/real.h"

/* Whether this build has the kernel (compiled with AVX-512F enabled, float build). */
int vc_attention_avx512_compiled(void);

/* Scratch floats one thread needs for L tokens of head dimension hd (0 when not compiled). */
size_t vc_attention_avx512_scratch_elems(int L, int hd);

/* As vc_attention_forward in fp32 (lse [B, H, L] filled when non-NULL); thread t uses
 * scratch[t * per_thread ...]. Returns -1 (and does nothing) when the kernel is absent, the
 * CPU or VICLIP_ISA has no AVX-512, the head dimension is not a multiple of 16 or per_thread is
 * too small: the caller then runs the portable kernel. */
int vc_attention_avx512_forward(vc_real *out, vc_real *lse, vc_real *scratch, size_t per_thread,
                                const vc_real *qkv, int B, int L, int C, int H, int causal);

#endif
