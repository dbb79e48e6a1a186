/* What the CPU can do, read from cpuid (and the OS's xgetbv / AMX permission), never from a
 * table of known models: kernels are chosen from these features. VICLIP_ISA caps the level
 * (generic | avx2 | avx512 | avx512_bf16 | amx), to test a slower path on a faster machine. */
#ifndef VC_CORE_CPU_H
#define VC_CORE_CPU_H

#include <stddef.h>

#include "core/error.h"

typedef enum vc_isa {
    VC_ISA_GENERIC = 0,   /* SSE2 only */
    VC_ISA_AVX2,          /* AVX2 + FMA */
    VC_ISA_AVX512,        /* AVX-512 F/BW/VL/DQ */
    VC_ISA_AVX512_BF16,   /* + AVX512_BF16 (vdpbf16ps) */
    VC_ISA_AMX,           /* + AMX-BF16 tiles */
} vc_isa;

typedef struct vc_cpu_features {
    char vendor[13];
    char brand[49];
    int family, model;
    int avx2, fma, avx512f, avx512bw, avx512vl, avx512dq, avx512_bf16, avx512_vnni, amx_bf16, amx_tile;
    int os_avx, os_avx512, os_amx; /* the OS saves the registers (xgetbv) */
} vc_cpu_features;

void vc_cpu_detect(vc_cpu_features *f);
/* The highest level the features (and the OS) support. */
vc_isa vc_cpu_best_isa(const vc_cpu_features *f);
const char *vc_isa_name(vc_isa isa);
int vc_isa_from_name(const char *name, vc_isa *isa);
/* The level kernels use: the best one, capped by VICLIP_ISA when set. Fails (naming the
 * variable) on an unknown value; a cap above what the CPU has is lowered to what it has. */
int vc_cpu_select_isa(vc_isa *isa, vc_error *err);
/* One line: brand, family/model and the features that matter here. */
void vc_cpu_describe(char *buf, size_t cap);

#endif
