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

#include "core/cpu.h"
#include "core/real.h"

/* One ISA's kernels. forward: as vc_attention_forward in fp32 (lse [B, H, L] filled when
 * non-NULL); backward: as vc_attention_backward after the same kernel's forward, whose score
 * tiles it recomputes bit for bit. Thread t uses scratch[t * per_thread ...]. Both return -1
 * (and do nothing) when the head dimension is not a multiple of 16 or per_thread is too small;
 * both are NULL when the build lacks the ISA. */
typedef struct {
    const char *name; /* "AVX-512", "AVX2" */
    vc_isa level;     /* what the CPU, capped by VICLIP_ISA, must reach to run them */
    int (*forward)(vc_real *out, vc_real *lse, vc_real *scratch, size_t per_thread,
                   const vc_real *qkv, int B, int L, int C, int H, int causal);
    int (*backward)(vc_real *dqkv, vc_real *scratch, size_t per_thread, const vc_real *dout,
                    const vc_real *qkv, const vc_real *out, const vc_real *lse, int B, int L, int C,
                    int H, int causal);
} vc_attention_simd;

extern const vc_attention_simd vc_attention_avx512, vc_attention_avx2;

/* Whether k's kernels are built and this CPU (and VICLIP_ISA) allows them. */
int vc_attention_simd_usable(const vc_attention_simd *k);
/* The first usable of vc_attention_avx512 and vc_attention_avx2, or NULL. */
const vc_attention_simd *vc_attention_simd_pick(void);

/* Scratch floats one thread needs for L tokens of head dimension hd. */
size_t vc_attention_simd_scratch_elems(int L, int hd);

#endif
