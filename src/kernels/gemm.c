#include "kernels/gemm.h"

#include <pthread.h>
#ifdef __AVX512BF16__
#include <immintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(VC_DOUBLE) && defined(VC_HAVE_OPENBLAS)
#include <cblas.h>
#define USE_CBLAS 1
void openblas_set_num_threads(int n);
#elif !defined(VC_DOUBLE) && defined(VC_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.h>
#define USE_DNNL 1
#else
#define USE_PLAIN 1
#endif
#if defined(VC_HAVE_OPENBLAS) && !defined(USE_CBLAS)
void openblas_set_num_threads(int n);
#endif

const char *vc_precision_name(vc_precision p) { return p == VC_BF16 ? "bf16" : "fp32"; }

int vc_precision_from_name(const char *name, vc_precision *p) {
    if (!strcmp(name, "fp32")) *p = VC_FP32;
    else if (!strcmp(name, "bf16")) *p = VC_BF16;
    else return -1;
    return 0;
}

/* The backend is chosen once per process, before oneDNN's first use (its ISA cap can only be
 * set then), and never changes afterwards: a set-once constant, not mutable state. */
static pthread_once_t backend_once = PTHREAD_ONCE_INIT;
static vc_isa backend_isa;
#ifdef USE_DNNL
static dnnl_engine_t engine;
static int bf16_ok;
#endif

static void backend_init(void) {
    vc_error err;
    if (vc_cpu_select_isa(&backend_isa, &err)) { /* bad VICLIP_ISA: the CLI reports it */
        vc_cpu_features f;
        vc_cpu_detect(&f);
        backend_isa = vc_cpu_best_isa(&f);
    }
#ifdef USE_DNNL
    static const dnnl_cpu_isa_t dnnl_isa[] = {dnnl_cpu_isa_sse41, dnnl_cpu_isa_avx2,
                                              dnnl_cpu_isa_avx512_core, dnnl_cpu_isa_avx512_core_bf16,
                                              dnnl_cpu_isa_all};
    dnnl_set_max_cpu_isa(dnnl_isa[backend_isa]);
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) engine = NULL;
    /* oneDNN 2.6 has bf16 matmul kernels from AVX512-BF16 up; below that it would emulate. */
    bf16_ok = engine && backend_isa >= VC_ISA_AVX512_BF16;
#endif
}

vc_isa vc_gemm_isa(void) {
    pthread_once(&backend_once, backend_init);
    return backend_isa;
}

int vc_gemm_has_bf16(void) {
    pthread_once(&backend_once, backend_init);
#ifdef USE_DNNL
    return bf16_ok;
#else
    return 0;
#endif
}

/* bf16 where it runs as bf16: on the B/16 parity fixture its embeddings keep cosine >= 0.99997
 * to the float64 reference and the demo's retrieval and zero-shot metrics are unchanged. */
vc_precision vc_default_precision(void) { return vc_gemm_has_bf16() ? VC_BF16 : VC_FP32; }

void vc_gemm_describe(char *buf, size_t cap) {
    pthread_once(&backend_once, backend_init);
#if defined(USE_CBLAS)
    snprintf(buf, cap, "BLAS dgemm (double-precision reference build)");
#elif defined(USE_PLAIN)
    snprintf(buf, cap, "plain OpenMP %s GEMM (built without %s), ISA cap %s",
             sizeof(vc_real) == 8 ? "double" : "float", sizeof(vc_real) == 8 ? "OpenBLAS" : "oneDNN",
             vc_isa_name(backend_isa));
#else
    const dnnl_version_t *v = dnnl_version();
    static const char *const eff[] = {[dnnl_cpu_isa_sse41] = "sse41", [dnnl_cpu_isa_avx] = "avx",
                                      [dnnl_cpu_isa_avx2] = "avx2",
                                      [dnnl_cpu_isa_avx512_core] = "avx512_core",
                                      [dnnl_cpu_isa_avx512_core_vnni] = "avx512_core_vnni",
                                      [dnnl_cpu_isa_avx512_core_bf16] = "avx512_core_bf16",
                                      [dnnl_cpu_isa_avx512_core_amx] = "avx512_core_amx"};
    unsigned e = (unsigned)dnnl_get_effective_cpu_isa();
    const char *ename = e < sizeof eff / sizeof *eff && eff[e] ? eff[e] : "other";
    snprintf(buf, cap, "oneDNN %d.%d.%d sgemm%s, ISA cap %s (oneDNN effective %s)", v->major,
             v->minor, v->patch, bf16_ok ? " + bf16 matmul" : "", vc_isa_name(backend_isa), ename);
#endif
}

void vc_gemm(int trans_a, int trans_b, int M, int N, int K, vc_real alpha, const vc_real *A,
             int lda, const vc_real *B, int ldb, vc_real beta, vc_real *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    pthread_once(&backend_once, backend_init);
#if defined(USE_CBLAS)
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#elif defined(USE_DNNL)
    dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    vc_gemm_plain(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

void vc_gemm_set_threads(int n) {
#ifdef VC_HAVE_OPENBLAS
    openblas_set_num_threads(n);
#else
    (void)n;
#endif
}

#ifdef USE_DNNL
/* Dense bf16 copy of a rows x cols block stored with leading dimension ld. */
static void to_bf16(uint16_t *dst, const float *src, int rows, int cols, int ld) {
#pragma omp parallel for schedule(static) if ((size_t)rows * cols > 65536)
    for (int r = 0; r < rows; r++) vc_bf16_row(dst + (size_t)r * cols, src + (size_t)r * ld, cols);
}

/* bf16 x bf16 -> fp32 through a oneDNN matmul primitive (its primitive cache makes repeated
 * shapes cheap). The operands' bf16 copies go to mm's planned space when it is large enough.
 * Returns 0 on success, -1 when oneDNN declines (the caller then runs fp32). */
static int gemm_bf16(const vc_matmul *mm, int ta, int tb, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    const int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    const size_t a_span = ((size_t)ar * ac + 31) / 32 * 32, need = vc_matmul_bf16_elems(M, N, K);
    const int planned = mm->bf16 && mm->bf16_elems >= need;
    uint16_t *own = planned ? NULL : malloc(need * 2);
    uint16_t *a16 = planned ? mm->bf16 : own, *b16 = a16 ? a16 + a_span : NULL;
    int rc = -1;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL;
    if (!a16) goto done;
    to_bf16(a16, A, ar, ac, lda);
    to_bf16(b16, B, br, bc, ldb);
    dnnl_memory_desc_t ad, bd, cd;
    dnnl_dims_t adims = {M, K}, bdims = {K, N}, cdims = {M, N};
    dnnl_dims_t as = {ta ? 1 : K, ta ? M : 1}, bs = {tb ? 1 : N, tb ? K : 1}, cs = {ldc, 1};
    if (dnnl_memory_desc_init_by_strides(&ad, 2, adims, dnnl_bf16, as) ||
        dnnl_memory_desc_init_by_strides(&bd, 2, bdims, dnnl_bf16, bs) ||
        dnnl_memory_desc_init_by_strides(&cd, 2, cdims, dnnl_f32, cs))
        goto done;
    dnnl_matmul_desc_t md;
    if (dnnl_matmul_desc_init(&md, &ad, &bd, NULL, &cd) || dnnl_primitive_attr_create(&attr)) goto done;
    if (alpha != 1 && dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha)) goto done;
    if (beta != 0) {
        if (dnnl_post_ops_create(&ops) || dnnl_post_ops_append_sum(ops, beta) ||
            dnnl_primitive_attr_set_post_ops(attr, ops))
            goto done;
    }
    if (dnnl_primitive_desc_create(&pd, &md, attr, engine, NULL) || dnnl_primitive_create(&prim, pd) ||
        dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) ||
        dnnl_memory_create(&ma, &ad, engine, a16) || dnnl_memory_create(&mb, &bd, engine, b16) ||
        dnnl_memory_create(&mc, &cd, engine, C))
        goto done;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
    if (dnnl_primitive_execute(prim, stream, 3, args) || dnnl_stream_wait(stream)) goto done;
    rc = 0;
done:
    if (ma) dnnl_memory_destroy(ma);
    if (mb) dnnl_memory_destroy(mb);
    if (mc) dnnl_memory_destroy(mc);
    if (stream) dnnl_stream_destroy(stream);
    if (prim) dnnl_primitive_destroy(prim);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    free(own);
    return rc;
}
#endif

void vc_bf16_row(uint16_t *dst, const float *src, int n) {
    int c = 0;
#ifdef __AVX512BF16__
    /* the CPU's own rounding: a third of the instructions of the portable form */
    for (; c + 16 <= n; c += 16)
        _mm256_storeu_si256((__m256i *)(dst + c), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + c)));
#endif
#pragma omp simd
    for (int t = c; t < n; t++) dst[t] = vc_bf16_from_f32(src[t]);
}

const vc_matmul vc_matmul_fp32 = {VC_FP32, NULL, 0};

size_t vc_matmul_bf16_elems(int M, int N, int K) {
    /* each operand padded to a whole 64-byte line, so B's copy starts aligned */
    return ((size_t)M * K + 31) / 32 * 32 + (size_t)K * N;
}

void vc_gemm_p(const vc_matmul *mm, int trans_a, int trans_b, int M, int N, int K, vc_real alpha,
               const vc_real *A, int lda, const vc_real *B, int ldb, vc_real beta, vc_real *C,
               int ldc) {
    if (M <= 0 || N <= 0) return;
#ifdef USE_DNNL
    /* K == 0 leaves C = beta*C, which the fp32 path does; oneDNN's matmul wants K >= 1. */
    if (mm->precision == VC_BF16 && K > 0 && vc_gemm_has_bf16() &&
        !gemm_bf16(mm, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc))
        return;
#endif
    vc_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
