/* Attention forward with bf16 score and weighted-sum products (fp32 accumulation; softmax,
 * its statistics and the output stay fp32), for --precision bf16 on CPUs with AVX512-BF16.
 * Same blocking as kernels/attention.h: one QBLOCK x L score tile per thread, never L x L.
 * K and V of one (sample, head) are packed once in the pair-interleaved order vdpbf16ps wants
 * and reused by every query block; the products run in a register-blocked micro-kernel. */
#ifndef VC_KERNELS_ATTENTION_BF16_H
#define VC_KERNELS_ATTENTION_BF16_H

#include <stddef.h>

#include "core/real.h"
#include "kernels/attention.h"

/* Whether this build has the kernel (compiled with AVX512-BF16 enabled, float build). */
int vc_attention_bf16_compiled(void);

/* Scratch floats one thread needs for L tokens of head dimension hd (0 when not compiled). */
size_t vc_attention_bf16_scratch_elems(int L, int hd);

/* As vc_attention_forward; thread t uses scratch[t * per_thread ...]. Returns -1 (and does
 * nothing) when the kernel is absent, the CPU or VICLIP_ISA has no bf16, the head dimension is
 * not a multiple of 16 or per_thread is too small: the caller then runs the fp32 kernel. */
int vc_attention_bf16_forward(vc_real *out, vc_real *lse, vc_real *scratch, size_t per_thread,
                              const vc_real *qkv, int B, int L, int C, int H, int causal);

#endif
