#include "core/cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}
static unsigned long long xgetbv0(void) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif

void vc_cpu_detect(vc_cpu_features *f) {
    memset(f, 0, sizeof *f);
#if defined(__x86_64__) || defined(__i386__)
    unsigned r[4];
    cpuid(0, 0, r);
    const unsigned max_leaf = r[0];
    memcpy(f->vendor, &r[1], 4), memcpy(f->vendor + 4, &r[3], 4), memcpy(f->vendor + 8, &r[2], 4);
    cpuid(1, 0, r);
    f->family = (int)((r[0] >> 8) & 0xf) + ((((r[0] >> 8) & 0xf) == 0xf) ? (int)((r[0] >> 20) & 0xff) : 0);
    f->model = (int)(((r[0] >> 4) & 0xf) | ((r[0] >> 12) & 0xf0));
    f->fma = (r[2] >> 12) & 1;
    const int osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
    if (osxsave) {
        unsigned long long xcr0 = xgetbv0();
        f->os_avx = avx && (xcr0 & 0x6) == 0x6;               /* XMM and YMM state */
        f->os_avx512 = f->os_avx && (xcr0 & 0xe0) == 0xe0;    /* opmask, ZMM_Hi256, Hi16_ZMM */
        f->os_amx = (xcr0 & 0x60000) == 0x60000;              /* XTILECFG, XTILEDATA */
    }
    if (max_leaf >= 7) {
        cpuid(7, 0, r);
        f->avx2 = (r[1] >> 5) & 1;
        f->avx512f = (r[1] >> 16) & 1;
        f->avx512dq = (r[1] >> 17) & 1;
        f->avx512bw = (r[1] >> 30) & 1;
        f->avx512vl = (r[1] >> 31) & 1;
        f->avx512_vnni = (r[2] >> 11) & 1;
        f->amx_bf16 = (r[3] >> 22) & 1;
        f->amx_tile = (r[3] >> 24) & 1;
        cpuid(7, 1, r);
        f->avx512_bf16 = (r[0] >> 5) & 1;
    }
    cpuid(0x80000000u, 0, r);
    if (r[0] >= 0x80000004u) {
        for (unsigned i = 0; i < 3; i++) {
            cpuid(0x80000002u + i, 0, r);
            memcpy(f->brand + 16 * i, r, 16);
        }
        f->brand[48] = 0;
    }
#endif
}

vc_isa vc_cpu_best_isa(const vc_cpu_features *f) {
    if (!(f->os_avx && f->avx2 && f->fma)) return VC_ISA_GENERIC;
    if (!(f->os_avx512 && f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq)) return VC_ISA_AVX2;
    if (!f->avx512_bf16) return VC_ISA_AVX512;
    /* The kernel grants AMX tile data on request (oneDNN asks); xcr0 says the OS supports it. */
    if (!(f->amx_bf16 && f->amx_tile && f->os_amx)) return VC_ISA_AVX512_BF16;
    return VC_ISA_AMX;
}

static const char *const isa_names[] = {"generic", "avx2", "avx512", "avx512_bf16", "amx"};

const char *vc_isa_name(vc_isa isa) {
    return (unsigned)isa < sizeof isa_names / sizeof *isa_names ? isa_names[isa] : "?";
}

int vc_isa_from_name(const char *name, vc_isa *isa) {
    for (int i = 0; i < (int)(sizeof isa_names / sizeof *isa_names); i++)
        if (!strcmp(name, isa_names[i])) {
            *isa = (vc_isa)i;
            return 0;
        }
    return -1;
}

int vc_cpu_select_isa(vc_isa *isa, vc_error *err) {
    vc_cpu_features f;
    vc_cpu_detect(&f);
    vc_isa best = vc_cpu_best_isa(&f), cap = best;
    const char *env = getenv("VICLIP_ISA");
    if (env && *env && vc_isa_from_name(env, &cap))
        return vc_fail(err, "VICLIP_ISA=%s: expected generic, avx2, avx512, avx512_bf16 or amx", env);
    *isa = cap < best ? cap : best;
    return 0;
}

void vc_cpu_describe(char *buf, size_t cap) {
    vc_cpu_features f;
    vc_cpu_detect(&f);
    const char *brand = f.brand;
    while (*brand == ' ') brand++;
    snprintf(buf, cap, "%s (%s family %d model %d):%s%s%s%s%s%s%s%s%s; best level %s", *brand ? brand : "unknown CPU",
             f.vendor, f.family, f.model, f.avx2 ? " avx2" : "", f.fma ? " fma" : "",
             f.avx512f ? " avx512f" : "", f.avx512bw ? " avx512bw" : "", f.avx512vl ? " avx512vl" : "",
             f.avx512dq ? " avx512dq" : "", f.avx512_bf16 ? " avx512_bf16" : "",
             f.amx_bf16 ? " amx_bf16" : "", f.amx_tile ? " amx_tile" : "", vc_isa_name(vc_cpu_best_isa(&f)));
}
