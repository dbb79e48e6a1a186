/* The CUDA device: the model's parameter buffer copied to the GPU as it is (same layout, so
 * the parameter views bind onto it unchanged), a bf16 copy of it for --precision bf16, one
 * planned workspace, and the towers' inference forward queued on one stream with no host
 * synchronisation until the embeddings are copied back. Each step mirrors the CPU forward
 * (model/vision.c, model/text.c, model/transformer.c) op for op; the matrix products run in
 * cuBLAS: fp32 (no TF32) or bf16 x bf16 with fp32 accumulation, as the CPU's vc_gemm_p. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "cuda/cuda.h"
#include "cuda/internal.h"
#include "cuda/kernels.h"
#include "kernels/layernorm.h"
#include "model/model.h"

int vc_cuda_probe(char *desc, size_t cap) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        if (desc && cap)
            snprintf(desc, cap, "no CUDA device (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "none found");
        return 0;
    }
    struct cudaDeviceProp p;
    int dev = 0;
    cudaGetDevice(&dev);
    if (cudaGetDeviceProperties(&p, dev) != cudaSuccess) {
        if (desc && cap) snprintf(desc, cap, "CUDA device %d: properties unavailable", dev);
        return 0;
    }
    int rt = 0, drv = 0;
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv);
    if (desc && cap)
        snprintf(desc, cap, "%s (sm_%d%d, %.1f GiB, %d SMs; CUDA runtime %d.%d, driver %d.%d)", p.name, p.major,
                 p.minor, p.totalGlobalMem / 1073741824.0, p.multiProcessorCount, rt / 1000, rt % 1000 / 10,
                 drv / 1000, drv % 1000 / 10);
    return 1;
}

/* ---- the workspace ---- */

typedef struct plan {
    float *video, *video2, *patches, *tok, *x, *ln, *qkv, *attn, *branch, *fc, *pooled, *pooled_ln, *emb;
    uint16_t *a16;                /* the bf16 copy of a GEMM's activation operand */
    int32_t *tokens, *rows;
} plan;

/* Carves the workspace for B inputs of L tokens of width W (and the video/text extras); with
 * base NULL only counts the bytes. */
static size_t carve(plan *pl, char *base, const vc_config *c, int B, int L, int W, int video) {
    size_t off = 0;
#define TAKE(field, type, count)                                                 \
    do {                                                                         \
        pl->field = base ? (type *)(base + off) : NULL;                          \
        off += (((size_t)(count) * sizeof(type)) + 255) / 256 * 256;             \
    } while (0)
    const size_t N = (size_t)B * L, P3 = 3 * (size_t)c->patch_size * c->patch_size;
    const int K = L - 1;
    TAKE(video, float, video ? (size_t)B * c->num_frames * 3 * c->image_size * c->image_size : 0);
    TAKE(video2, float, video ? (size_t)B * c->num_frames * 3 * c->image_size * c->image_size : 0);
    TAKE(patches, float, video ? (size_t)B * K * P3 : 0);
    TAKE(tok, float, video ? (size_t)B * K * W : 0);
    TAKE(x, float, N * W);
    TAKE(ln, float, N * W);
    TAKE(qkv, float, N * 3 * W);
    TAKE(attn, float, N * W);
    TAKE(branch, float, N * W);
    TAKE(fc, float, N * 4 * W);
    TAKE(pooled, float, (size_t)B * W);
    TAKE(pooled_ln, float, (size_t)B * W);
    TAKE(emb, float, (size_t)B * c->embed_dim);
    TAKE(a16, uint16_t, (N * 4 * W > (size_t)B * K * P3 ? N * 4 * W : (size_t)B * K * P3));
    TAKE(tokens, int32_t, video ? 0 : (size_t)B * c->context_length);
    TAKE(rows, int32_t, (size_t)B);
#undef TAKE
    return off;
}

static int reserve(cuda_device *g, size_t bytes, vc_error *err) {
    if (bytes <= g->ws_bytes) return 0;
    if (g->ws) {
        cudaFree(g->ws);
        vc_cuda_track(g, -(long long)g->ws_bytes);
        g->ws = NULL, g->ws_bytes = 0;
    }
    cudaError_t e = cudaMalloc(&g->ws, bytes);
    if (e != cudaSuccess)
        return vc_fail(err, "CUDA: cannot allocate a %.2f GiB workspace on %s: %s (use smaller batches)",
                       bytes / 1073741824.0, g->name, cudaGetErrorString(e));
    g->ws_bytes = bytes;
    vc_cuda_track(g, (long long)bytes);
    return 0;
}

/* ---- the ops ---- */

typedef struct run {
    cuda_device *g;
    plan pl;
    int bf16;
    vc_error *err;
} run;

/* bf16 copy of parameter pointer w (same offset in the bf16 buffer). */
static const uint16_t *weights16(const run *r, const float *w) { return r->g->params16 + (w - r->g->params); }

/* The largest power of two up to 256 dividing p's address. cuBLASLt's heuristic assumes 256-byte
 * aligned matrices unless told otherwise, and a weight inside the parameter buffer is only
 * aligned to its offset (16 bytes in bf16 at the models' multiple-of-8 offsets). */
static uint32_t alignment_of(const void *p) {
    uint32_t a = 256;
    while (a > 1 && (uintptr_t)p % a) a /= 2;
    return a;
}

/* out[N, OC] = x16[N, IC] @ w16[OC, IC]^T + b in bf16 x bf16 -> fp32 through cuBLASLt, the bias
 * added in the GEMM's epilogue. Returns 0 when done, 1 when cuBLASLt declined (no algorithm for
 * this shape or alignment): the caller then takes the cuBLAS path. */
static int lt_linear(run *r, float *out, const uint16_t *x16, const uint16_t *w16, const float *b, int N, int IC,
                     int OC) {
    cuda_device *g = r->g;
    /* the heuristic never sees the bias pointer, and the epilogue is reported to fail off 16 bytes */
    if (!g->lt || (b && alignment_of(b) < 16)) return 1;
    cublasLtMatmulDesc_t op = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
    cublasLtMatmulPreference_t pref = NULL;
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    const cublasLtEpilogue_t epi = b ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    const uint64_t ws = g->lt_ws_bytes;
    const uint32_t align_a = alignment_of(w16), align_b = alignment_of(x16), align_d = alignment_of(out);
    const float one = 1.0f, zero = 0.0f;
    cublasLtMatmulHeuristicResult_t best;
    int found = 0, done = 1;
    if (cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F) == CUBLAS_STATUS_SUCCESS &&
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta) == CUBLAS_STATUS_SUCCESS &&
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb) == CUBLAS_STATUS_SUCCESS &&
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi) == CUBLAS_STATUS_SUCCESS &&
        (!b || cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &b, sizeof b) ==
                   CUBLAS_STATUS_SUCCESS) &&
        /* column-major views: W^T is IC x OC (then transposed), x^T is IC x N, out^T is OC x N */
        cublasLtMatrixLayoutCreate(&la, CUDA_R_16BF, IC, OC, IC) == CUBLAS_STATUS_SUCCESS &&
        cublasLtMatrixLayoutCreate(&lb, CUDA_R_16BF, IC, N, IC) == CUBLAS_STATUS_SUCCESS &&
        cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, OC, N, OC) == CUBLAS_STATUS_SUCCESS &&
        cublasLtMatmulPreferenceCreate(&pref) == CUBLAS_STATUS_SUCCESS &&
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws) ==
            CUBLAS_STATUS_SUCCESS &&
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a,
                                             sizeof align_a) == CUBLAS_STATUS_SUCCESS &&
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b,
                                             sizeof align_b) == CUBLAS_STATUS_SUCCESS &&
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_d,
                                             sizeof align_d) == CUBLAS_STATUS_SUCCESS &&
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_d,
                                             sizeof align_d) == CUBLAS_STATUS_SUCCESS &&
        cublasLtMatmulAlgoGetHeuristic(g->lt, op, la, lb, lc, lc, pref, 1, &best, &found) == CUBLAS_STATUS_SUCCESS &&
        found > 0)
        done = cublasLtMatmul(g->lt, op, &one, w16, la, x16, lb, &zero, out, lc, out, lc, &best.algo, g->lt_ws,
                              g->lt_ws_bytes, g->stream) == CUBLAS_STATUS_SUCCESS ? 0 : 1;
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (op) cublasLtMatmulDescDestroy(op);
    return done;
}

/* out[N, OC] = x16[N, IC] @ W[OC, IC]^T (+ b) for an operand already in bf16 (r->pl.a16 or
 * another bf16 buffer): cuBLASLt, else cuBLAS. */
static int linear16(run *r, float *out, const uint16_t *x16, const float *w, const float *b, int N, int IC, int OC) {
    vc_error *err = r->err;
    cuda_device *g = r->g;
    if (!lt_linear(r, out, x16, weights16(r, w), b, N, IC, OC)) return 0;
    const float one = 1.0f, beta = b ? 1.0f : 0.0f;
    if (b) vc_cu_broadcast_rows(out, b, N, OC, g->stream);
    BLAS(cublasGemmEx(g->blas, CUBLAS_OP_T, CUBLAS_OP_N, OC, N, IC, &one, weights16(r, w), CUDA_R_16BF, IC, x16,
                      CUDA_R_16BF, IC, &beta, out, CUDA_R_32F, OC, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
         "bf16 linear");
    return 0;
}

/* out[N, OC] = inp[N, IC] @ W[OC, IC]^T (+ b): vc_linear_forward. Row-major C = A B^T is, in
 * cuBLAS's column-major terms, C^T = W^T(op T) x inp^T. */
static int linear(run *r, float *out, const float *inp, const float *w, const float *b, int N, int IC, int OC) {
    vc_error *err = r->err;
    cuda_device *g = r->g;
    if (r->bf16) {
        vc_cu_to_bf16(r->pl.a16, inp, (size_t)N * IC, g->stream);
        return linear16(r, out, r->pl.a16, w, b, N, IC, OC);
    }
    const float one = 1.0f, beta = b ? 1.0f : 0.0f;
    if (b) vc_cu_broadcast_rows(out, b, N, OC, g->stream);
    BLAS(cublasGemmEx(g->blas, CUBLAS_OP_T, CUBLAS_OP_N, OC, N, IC, &one, w, CUDA_R_32F, IC, inp, CUDA_R_32F, IC, &beta,
                      out, CUDA_R_32F, OC, CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_GEMM_DEFAULT),
         "fp32 linear");
    return 0;
}

/* LayerNorm of the stream, then the linear layer it feeds: in bf16 the LayerNorm writes the
 * GEMM's bf16 operand directly (the same rounding as converting its fp32 output). */
static int ln_linear(run *r, const float *lnw, const float *lnb, float *out, const float *w, const float *b, int N,
                     int W, int OC) {
    const plan *pl = &r->pl;
    if (r->bf16) {
        vc_cu_layernorm_bf16(pl->a16, pl->x, lnw, lnb, N, W, (float)VC_LN_EPS, r->g->stream);
        return linear16(r, out, pl->a16, w, b, N, W, OC);
    }
    vc_cu_layernorm(pl->ln, pl->x, lnw, lnb, N, W, (float)VC_LN_EPS, r->g->stream);
    return linear(r, out, pl->ln, w, b, N, W, OC);
}

/* out[N, OC] = inp[N, IC] @ P[IC, OC]: vc_project_forward (always fp32, as on the CPU). */
static int project(run *r, float *out, const float *inp, const float *P, int N, int IC, int OC) {
    vc_error *err = r->err;
    const float one = 1.0f, zero = 0.0f;
    BLAS(cublasGemmEx(r->g->blas, CUBLAS_OP_N, CUBLAS_OP_N, OC, N, IC, &one, P, CUDA_R_32F, OC, inp, CUDA_R_32F, IC,
                      &zero, out, CUDA_R_32F, OC, CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_GEMM_DEFAULT),
         "projection");
    return 0;
}

/* vc_block_forward at inference: the stream x [B*L, W] updated in place. */
static int block(run *r, const vc_block_view *p, int B, int L, int W, int H, int causal) {
    const plan *pl = &r->pl;
    cudaStream_t s = r->g->stream;
    const int N = B * L;
    if (ln_linear(r, p->ln1_w, p->ln1_b, pl->qkv, p->qkv_w, p->qkv_b, N, W, 3 * W)) return -1;
    if ((r->bf16 && !r->g->exact_attention ? vc_cu_attention_bf16 : vc_cu_attention)(pl->attn, pl->qkv, B, L, W, H,
                                                                                     causal, s))
        return vc_fail(r->err, "CUDA attention: head dimension %d is over 128", W / H);
    if (linear(r, pl->branch, pl->attn, p->out_w, p->out_b, N, W, W)) return -1;
    vc_cu_add(pl->x, pl->branch, (size_t)N * W, s);
    if (ln_linear(r, p->ln2_w, p->ln2_b, pl->fc, p->fc_w, p->fc_b, N, W, 4 * W)) return -1;
    if (r->bf16) { /* QuickGELU writes the next GEMM's bf16 operand */
        vc_cu_quickgelu_bf16(pl->a16, pl->fc, (size_t)N * 4 * W, s);
        if (linear16(r, pl->branch, pl->a16, p->proj_w, p->proj_b, N, 4 * W, W)) return -1;
    } else {
        vc_cu_quickgelu(pl->fc, pl->fc, (size_t)N * 4 * W, s);
        if (linear(r, pl->branch, pl->fc, p->proj_w, p->proj_b, N, 4 * W, W)) return -1;
    }
    vc_cu_add(pl->x, pl->branch, (size_t)N * W, s);
    return 0;
}

int vc_cuda_ensure_params16(cuda_device *g, vc_error *err) {
    if (g->params16 && g->params16_fresh) return 0;
    if (!g->params16) {
        CU(cudaMalloc((void **)&g->params16, g->n_params * sizeof(uint16_t)), "allocating the bf16 parameters");
        vc_cuda_track(g, (long long)(g->n_params * sizeof(uint16_t)));
    }
    vc_cu_to_bf16(g->params16, g->params, g->n_params, g->stream);
    CU(cudaGetLastError(), "converting the parameters to bf16");
    g->params16_fresh = 1;
    return 0;
}

/* Inputs per pass: bounded so the workspace stays a few GiB at B/16 and L/14 sizes. */
enum { VIDEO_CHUNK = 32, TEXT_CHUNK = 1024 };

/* Pinned host buffers for `elems` floats each (kept for the next call); 0 when they could not be
 * had, then the copies go from the caller's memory directly (correct, only not overlapped). */
static int have_pinned(cuda_device *g, size_t elems) {
    if (g->pinned_elems >= elems) return 1;
    for (int i = 0; i < 2; i++) {
        cudaFreeHost(g->pinned[i]);
        g->pinned[i] = NULL;
    }
    g->pinned_elems = 0;
    if (cudaMallocHost((void **)&g->pinned[0], elems * sizeof(float)) != cudaSuccess ||
        cudaMallocHost((void **)&g->pinned[1], elems * sizeof(float)) != cudaSuccess) {
        cudaGetLastError();
        cudaFreeHost(g->pinned[0]);
        g->pinned[0] = NULL;
        return 0;
    }
    g->pinned_elems = elems;
    return 1;
}

/* Queues the copy of `elems` floats of clips into device slot `slot` on the copy stream: through
 * the slot's pinned buffer (filled by all threads once its previous copy is done), after the
 * compute stream has finished reading the slot. */
static int stage_clips(cuda_device *g, float *dst, int slot, const float *src, size_t elems, int pinned,
                       vc_error *err) {
    const float *from = src;
    if (pinned) {
        CU(cudaEventSynchronize(g->copied[slot]), "waiting for an input copy");
        float *pin = g->pinned[slot];
        const size_t step = (size_t)1 << 18;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < elems; i += step)
            memcpy(pin + i, src + i, (elems - i < step ? elems - i : step) * sizeof(float));
        from = pin;
    }
    CU(cudaStreamWaitEvent(g->copy_stream, g->consumed[slot], 0), "ordering an input copy");
    CU(cudaMemcpyAsync(dst, from, elems * sizeof(float), cudaMemcpyHostToDevice, g->copy_stream),
       "copying clips to the GPU");
    CU(cudaEventRecord(g->copied[slot], g->copy_stream), "recording an input copy");
    return 0;
}

static int start_run(run *r, cuda_device *g, const vc_model *m, vc_error *err) {
    memset(r, 0, sizeof *r);
    r->g = g;
    r->err = err;
    r->bf16 = m->precision == VC_BF16;
    if (r->bf16 && vc_cuda_ensure_params16(g, err)) return -1;
    return 0;
}

static int finish(run *r, float *out, int B, int E) {
    vc_error *err = r->err;
    cuda_device *g = r->g;
    CU(cudaGetLastError(), "kernel launch");
    CU(cudaMemcpyAsync(out, r->pl.emb, (size_t)B * E * sizeof(float), cudaMemcpyDeviceToHost, g->stream),
       "copying embeddings back");
    CU(cudaStreamSynchronize(g->stream), "running the forward pass");
    return 0;
}

static int cuda_encode_video(vc_device *d, const vc_model *m, const vc_real *video, int N, vc_real *out,
                             vc_error *err) {
    cuda_device *g = (cuda_device *)d;
    const vc_config *c = &m->cfg;
    const vc_vision_view *p = &g->p.v;
    const int W = c->vision_width, T = c->num_frames, S = c->image_size, ps = c->patch_size;
    const int K = vc_config_video_tokens(c), L = K + 1, P3 = 3 * ps * ps, E = c->embed_dim;
    const size_t clip = (size_t)T * 3 * S * S;
    run r;
    if (start_run(&r, g, m, err)) return -1;
    const int chunk = N < VIDEO_CHUNK ? N : VIDEO_CHUNK;
    if (reserve(g, carve(&r.pl, NULL, c, chunk, L, W, 1), err)) return -1;
    carve(&r.pl, g->ws, c, chunk, L, W, 1);
    const plan *pl = &r.pl;
    cudaStream_t s = g->stream;
    float *slot_of[2] = {pl->video, pl->video2};
    const int pinned = have_pinned(g, (size_t)chunk * clip);
    if (stage_clips(g, slot_of[0], 0, video, (size_t)(N < chunk ? N : chunk) * clip, pinned, err)) return -1;
    for (int n0 = 0, k = 0; n0 < N; n0 += chunk, k++) {
        const int B = N - n0 < chunk ? N - n0 : chunk, slot = k & 1;
        CU(cudaStreamWaitEvent(s, g->copied[slot], 0), "waiting for the clips");
        vc_cu_gather_patches(pl->patches, slot_of[slot], B, T, S, ps, s);
        CU(cudaEventRecord(g->consumed[slot], s), "recording the use of the clips");
        if (linear(&r, pl->tok, pl->patches, p->conv1, NULL, B * K, P3, W)) return -1;
        vc_cu_vision_embed(pl->ln, pl->tok, p->class_emb, p->pos_emb, p->temporal_emb, B, K, T, W, s);
        vc_cu_layernorm(pl->x, pl->ln, p->ln_pre_w, p->ln_pre_b, B * L, W, (float)VC_LN_EPS, s);
        for (int l = 0; l < c->vision_layers; l++)
            if (block(&r, &p->blocks[l], B, L, W, c->vision_heads, 0)) return -1;
        vc_cu_gather_rows(pl->pooled, pl->x, NULL, B, L, W, s);
        vc_cu_layernorm(pl->pooled_ln, pl->pooled, p->ln_post_w, p->ln_post_b, B, W, (float)VC_LN_EPS, s);
        if (project(&r, pl->emb, pl->pooled_ln, p->proj, B, W, E)) return -1;
        /* the next chunk's clips travel while this one computes (all of it queued above) */
        if (n0 + chunk < N) {
            const int next = N - n0 - chunk < chunk ? N - n0 - chunk : chunk;
            if (stage_clips(g, slot_of[!slot], !slot, video + (size_t)(n0 + chunk) * clip, (size_t)next * clip,
                            pinned, err))
                return -1;
        }
        if (finish(&r, out + (size_t)n0 * E, B, E)) return -1;
    }
    return 0;
}

static int cuda_encode_text(vc_device *d, const vc_model *m, const int32_t *tokens, int N, vc_real *out,
                            vc_error *err) {
    cuda_device *g = (cuda_device *)d;
    const vc_config *c = &m->cfg;
    const vc_text_view *p = &g->p.t;
    const int W = c->text_width, ctx = c->context_length, E = c->embed_dim;
    run r;
    if (start_run(&r, g, m, err)) return -1;
    const int chunk = N < TEXT_CHUNK ? N : TEXT_CHUNK;
    if (reserve(g, carve(&r.pl, NULL, c, chunk, ctx, W, 0), err)) return -1;
    carve(&r.pl, g->ws, c, chunk, ctx, W, 0);
    int32_t *eot = malloc((size_t)chunk * sizeof *eot);
    if (!eot) return vc_fail(err, "out of memory (%d text rows)", chunk);
    const plan *pl = &r.pl;
    cudaStream_t s = g->stream;
    int rc = 0;
    for (int n0 = 0; n0 < N && !rc; n0 += chunk) {
        const int B = N - n0 < chunk ? N - n0 : chunk;
        const int32_t *rows = tokens + (size_t)n0 * ctx;
        /* The EOT position (first largest id, as torch.argmax) and the positions to run, as
         * vc_text_forward: none after the batch's last EOT can change an output. */
        int L = 1;
        for (int b = 0; b < B; b++) {
            const int32_t *row = rows + (size_t)b * ctx;
            int best = 0;
            for (int i = 1; i < ctx; i++)
                if (row[i] > row[best]) best = i;
            eot[b] = best;
            if (best + 1 > L) L = best + 1;
        }
        cudaError_t e = cudaMemcpyAsync(pl->tokens, rows, (size_t)B * ctx * sizeof(int32_t), cudaMemcpyHostToDevice, s);
        if (e == cudaSuccess) e = cudaMemcpyAsync(pl->rows, eot, (size_t)B * sizeof(int32_t), cudaMemcpyHostToDevice, s);
        /* eot is reused by the next chunk: the copy must have read it first. */
        if (e == cudaSuccess) e = cudaStreamSynchronize(s);
        if (e != cudaSuccess) {
            rc = vc_fail(err, "CUDA copying tokens to the GPU: %s", cudaGetErrorString(e));
            break;
        }
        vc_cu_text_embed(pl->x, pl->tokens, p->token_emb, p->pos_emb, B, L, ctx, W, s);
        for (int l = 0; l < c->text_layers && !rc; l++) rc = block(&r, &p->blocks[l], B, L, W, c->text_heads, 1);
        if (rc) break;
        vc_cu_gather_rows(pl->pooled, pl->x, pl->rows, B, L, W, s);
        vc_cu_layernorm(pl->pooled_ln, pl->pooled, p->ln_final_w, p->ln_final_b, B, W, (float)VC_LN_EPS, s);
        rc = project(&r, pl->emb, pl->pooled_ln, p->proj, B, W, E) || finish(&r, out + (size_t)n0 * E, B, E);
    }
    free(eot);
    return rc ? -1 : 0;
}

static int cuda_sync(vc_device *d, const vc_model *m, vc_error *err) {
    cuda_device *g = (cuda_device *)d;
    if (m->table.total != g->n_params)
        return vc_fail(err, "CUDA: the model has %zu parameters, the device copy %zu", m->table.total, g->n_params);
    /* On g->stream, then waited for: a plain cudaMemcpy from pageable memory may return before
     * the data reaches the device, and g->stream (non-blocking) does not wait for the legacy
     * stream that cudaMemcpy uses, so the next kernels could read the old parameters. */
    CU(cudaMemcpyAsync(g->params, m->params, g->n_params * sizeof(float), cudaMemcpyHostToDevice, g->stream),
       "uploading parameters");
    CU(cudaStreamSynchronize(g->stream), "uploading parameters");
    g->params16_fresh = 0;
    return 0;
}

static void cuda_describe(const vc_device *d, char *buf, size_t cap) {
    const cuda_device *g = (const cuda_device *)d;
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    snprintf(buf, cap, "cuda:%d %s; viclip holds %.1f MiB (peak %.1f MiB); device memory in use %.1f of %.1f GiB",
             g->ordinal, g->name, g->held_bytes / 1048576.0, g->peak_bytes / 1048576.0,
             (total_b - free_b) / 1073741824.0, total_b / 1073741824.0);
}

static void cuda_free(vc_device *d) {
    cuda_device *g = (cuda_device *)d;
    if (!g) return;
    if (g->stream) cudaStreamSynchronize(g->stream);
    vc_cuda_train_free(g);
    if (g->copy_stream) cudaStreamSynchronize(g->copy_stream);
    for (int i = 0; i < 2; i++) {
        if (g->copied[i]) cudaEventDestroy(g->copied[i]);
        if (g->consumed[i]) cudaEventDestroy(g->consumed[i]);
        cudaFreeHost(g->pinned[i]);
    }
    if (g->copy_stream) cudaStreamDestroy(g->copy_stream);
    cudaFree(g->ws);
    cudaFree(g->lt_ws);
    if (g->lt) cublasLtDestroy(g->lt);
    cudaFree(g->params16);
    cudaFree(g->params);
    if (g->blas) cublasDestroy(g->blas);
    if (g->stream) cudaStreamDestroy(g->stream);
    vc_params_view_free(&g->p);
    free(g);
}

static const vc_device_ops cuda_ops = {cuda_encode_video,  cuda_encode_text,         cuda_sync,
                                       cuda_describe,      cuda_free,                vc_cuda_train_open,
                                       vc_cuda_forward_backward, vc_cuda_grad_norm, vc_cuda_adamw_step,
                                       vc_cuda_train_pull};

static int open_into(cuda_device *g, const vc_model *m, vc_error *err) {
    if (sizeof(vc_real) != sizeof(float)) return vc_fail(err, "CUDA: the double-precision build has no GPU path");
    char why[512];
    if (!vc_cuda_probe(why, sizeof why)) return vc_fail(err, "--device cuda: %s", why);
    snprintf(g->name, sizeof g->name, "%s", why);
    const char *att = getenv("VICLIP_CUDA_ATTENTION");
    g->exact_attention = att && !strcmp(att, "exact");
    CU(cudaGetDevice(&g->ordinal), "selecting the device");
    CU(cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking), "creating a stream");
    CU(cudaStreamCreateWithFlags(&g->copy_stream, cudaStreamNonBlocking), "creating the copy stream");
    for (int i = 0; i < 2; i++) {
        CU(cudaEventCreateWithFlags(&g->copied[i], cudaEventDisableTiming), "creating an event");
        CU(cudaEventCreateWithFlags(&g->consumed[i], cudaEventDisableTiming), "creating an event");
    }
    BLAS(cublasCreate(&g->blas), "creating a handle");
    BLAS(cublasSetStream(g->blas, g->stream), "setting the stream");
    /* cuBLASLt is an optimisation: without its handle or workspace the bf16 GEMMs use cuBLAS. */
    enum { LT_WORKSPACE = 32 << 20 };
    if (cublasLtCreate(&g->lt) != CUBLAS_STATUS_SUCCESS) g->lt = NULL;
    else if (cudaMalloc(&g->lt_ws, LT_WORKSPACE) != cudaSuccess) {
        cudaGetLastError();
        cublasLtDestroy(g->lt);
        g->lt = NULL, g->lt_ws = NULL;
    } else {
        g->lt_ws_bytes = LT_WORKSPACE;
        vc_cuda_track(g, LT_WORKSPACE);
    }
    g->n_params = m->table.total;
    CU(cudaMalloc((void **)&g->params, g->n_params * sizeof(float)), "allocating the parameters");
    vc_cuda_track(g, (long long)(g->n_params * sizeof(float)));
    if (cuda_sync(&g->base, m, err)) return -1;
    return vc_params_view_bind(&m->cfg, &m->table, g->params, &g->p, err);
}

vc_device *vc_cuda_open(const struct vc_model *m, vc_error *err) {
    cuda_device *g = calloc(1, sizeof *g);
    if (!g) {
        vc_fail(err, "out of memory opening the CUDA device");
        return NULL;
    }
    g->base.ops = &cuda_ops;
    g->base.kind = VC_DEVICE_CUDA;
    if (open_into(g, m, err)) {
        cuda_free(&g->base);
        return NULL;
    }
    return &g->base;
}
