/* Every training kernel of the CUDA backend against its CPU pair on random data, one line per
 * op, so that a wrong result names its kernel before any whole-model comparison runs. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "backend/train_plan.h"
#include "core/rng.h"
#include "cuda/cuda.h"
#include "cuda/internal.h"
#include "cuda/kernels.h"
#include "cuda/train_kernels.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/layernorm.h"
#include "kernels/reduce.h"
#include "model/model.h"
#include "model/contrastive.h"
#include "model/vision.h"
#include "train/optimizer.h"

typedef struct checker {
    char *report;
    size_t cap, used;
    int failed;
    vc_rng rng;
    cudaStream_t s;
    void *blocks[64]; /* device allocations, freed at the end */
    int n_blocks;
} checker;

static void say(checker *k, const char *fmt, ...) {
    if (k->used >= k->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(k->report + k->used, k->cap - k->used, fmt, ap);
    va_end(ap);
    if (n > 0) k->used += (size_t)n < k->cap - k->used ? (size_t)n : k->cap - k->used - 1;
}

static double rel_err(const float *g, const float *c, size_t n) {
    double d2 = 0, c2 = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = (double)g[i] - c[i];
        d2 += d * d, c2 += (double)c[i] * c[i];
        if (!isfinite(g[i])) return INFINITY;
    }
    return c2 > 0 ? sqrt(d2 / c2) : sqrt(d2);
}

static void verdict(checker *k, const char *op, double rel, double bound) {
    const int ok = rel <= bound;
    k->failed += !ok;
    say(k, "  %-34s rel %.3g (bound %.0e) %s\n", op, rel, bound, ok ? "ok" : "FAIL");
}

static float *host_random(checker *k, size_t n, double scale) {
    float *h = malloc(n * sizeof *h);
    if (h)
        for (size_t i = 0; i < n; i++) h[i] = (float)(scale * vc_rng_normal(&k->rng));
    return h;
}

/* Host to device, finished before returning: cudaMemcpy from pageable memory may return before
 * the data lands, and the kernels run on k->s (non-blocking), which does not wait for the legacy
 * stream that cudaMemcpy and cudaMemset use. */
static void up(void *dst, const void *src, size_t bytes) {
    if (src) cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice);
    else cudaMemset(dst, 0, bytes);
    cudaDeviceSynchronize();
}

/* A device copy of n floats (NULL src: zeros); freed with the checker. */
static void *dev(checker *k, const void *src, size_t bytes) {
    void *d = NULL;
    if (k->n_blocks >= 64 || cudaMalloc(&d, bytes ? bytes : 4) != cudaSuccess) return NULL;
    k->blocks[k->n_blocks++] = d;
    up(d, src, bytes);
    return d;
}

static void back(checker *k, void *dst, const void *src, size_t bytes) {
    cudaStreamSynchronize(k->s);
    cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost);
}

static void release(checker *k) {
    cudaDeviceSynchronize();
    for (int i = 0; i < k->n_blocks; i++) cudaFree(k->blocks[i]);
    k->n_blocks = 0;
}

static void check_layernorm(checker *k) {
    const int N = 37, C = 200;
    float *x = host_random(k, (size_t)N * C, 2), *w = host_random(k, C, 1), *b = host_random(k, C, 1);
    float *dy = host_random(k, (size_t)N * C, 1), *y = calloc((size_t)N * C, 4), *mean = calloc(N, 4), *rstd = calloc(N, 4);
    float *dx = host_random(k, (size_t)N * C, 1), *dw = host_random(k, C, 1), *db = host_random(k, C, 1);
    float *gy = calloc((size_t)N * C, 4), *gm = calloc(N, 4), *gr = calloc(N, 4), *gdx = calloc((size_t)N * C, 4);
    float *gdw = calloc(C, 4), *gdb = calloc(C, 4);
    float *d_x = dev(k, x, (size_t)N * C * 4), *d_w = dev(k, w, C * 4), *d_b = dev(k, b, C * 4);
    float *d_y = dev(k, NULL, (size_t)N * C * 4), *d_m = dev(k, NULL, N * 4), *d_r = dev(k, NULL, N * 4);
    float *d_dy = dev(k, dy, (size_t)N * C * 4), *d_dx = dev(k, dx, (size_t)N * C * 4);
    float *d_dw = dev(k, dw, C * 4), *d_db = dev(k, db, C * 4);
    double *part = dev(k, NULL, 2 * VC_DEV_COLSUM_CHUNKS * C * sizeof(double));
    if (!gdb || !part) {
        say(k, "  layernorm: out of memory\n");
        k->failed++;
    } else {
        vc_layernorm_forward(y, mean, rstd, x, w, b, N, C);
        vc_cu_layernorm_train(d_y, d_m, d_r, d_x, d_w, d_b, N, C, (float)VC_LN_EPS, k->s);
        back(k, gy, d_y, (size_t)N * C * 4), back(k, gm, d_m, N * 4), back(k, gr, d_r, N * 4);
        verdict(k, "layernorm forward (output)", rel_err(gy, y, (size_t)N * C), 1e-6);
        verdict(k, "layernorm forward (mean, rstd)", fmax(rel_err(gm, mean, N), rel_err(gr, rstd, N)), 1e-6);
        vc_layernorm_backward(dx, dw, db, dy, x, w, mean, rstd, N, C);
        vc_cu_layernorm_backward_input(d_dx, d_dy, d_x, d_w, d_m, d_r, N, C, k->s);
        vc_cu_layernorm_backward_params(d_dw, d_db, d_dy, d_x, d_m, d_r, N, C, part, k->s);
        back(k, gdx, d_dx, (size_t)N * C * 4), back(k, gdw, d_dw, C * 4), back(k, gdb, d_db, C * 4);
        verdict(k, "layernorm backward (input)", rel_err(gdx, dx, (size_t)N * C), 1e-5);
        verdict(k, "layernorm backward (weight, bias)", fmax(rel_err(gdw, dw, C), rel_err(gdb, db, C)), 1e-5);
    }
    free(x), free(w), free(b), free(dy), free(y), free(mean), free(rstd), free(dx), free(dw), free(db);
    free(gy), free(gm), free(gr), free(gdx), free(gdw), free(gdb);
    release(k);
}

static void check_elementwise(checker *k) {
    const int B = 3, L = 5, W = 300, N = 300; /* N rows > the chunk count: chunks of several rows */
    const size_t n = (size_t)B * L * W;
    float *x = host_random(k, n, 3), *dy = host_random(k, n, 1), *acc = host_random(k, n, 1), *g = calloc(n, 4);
    float *br = host_random(k, n, 1), *sc = host_random(k, B, 1), *ref = calloc(n, 4), *col = host_random(k, W, 1);
    float *src = host_random(k, (size_t)N * W, 1), *gcol = calloc(W, 4), *rows = host_random(k, (size_t)B * W, 1);
    float *d_x = dev(k, x, n * 4), *d_dy = dev(k, dy, n * 4), *d_acc = dev(k, acc, n * 4), *d_br = dev(k, br, n * 4);
    float *d_sc = dev(k, sc, B * 4), *d_out = dev(k, NULL, n * 4), *d_col = dev(k, col, W * 4);
    float *d_src = dev(k, src, (size_t)N * W * 4), *d_rows = dev(k, rows, (size_t)B * W * 4);
    int32_t row_of[3] = {4, 0, 2};
    int32_t *d_row = dev(k, row_of, sizeof row_of);
    double *part = dev(k, NULL, VC_DEV_COLSUM_CHUNKS * W * sizeof(double));
    if (!gcol || !part || !ref) {
        say(k, "  elementwise: out of memory\n");
        k->failed++;
        goto done;
    }
    /* QuickGELU backward accumulates into dinp */
    vc_quickgelu_backward(acc, x, dy, n);
    vc_cu_quickgelu_backward(d_acc, d_x, d_dy, n, k->s);
    back(k, g, d_acc, n * 4);
    verdict(k, "quickgelu backward", rel_err(g, acc, n), 1e-5);
    /* residual with drop-path scales, and the scaled rows of its backward */
    for (size_t i = 0; i < n; i++) ref[i] = x[i] + sc[i / ((size_t)L * W)] * br[i];
    vc_cu_residual(d_out, d_x, d_br, d_sc, B, (size_t)L * W, k->s);
    back(k, g, d_out, n * 4);
    verdict(k, "residual (drop-path scales)", rel_err(g, ref, n), 0);
    for (size_t i = 0; i < n; i++) ref[i] = sc[i / ((size_t)L * W)] * dy[i];
    vc_cu_scale_rows(d_out, d_dy, d_sc, B, (size_t)L * W, k->s);
    back(k, g, d_out, n * 4);
    verdict(k, "scale rows (drop-path backward)", rel_err(g, ref, n), 0);
    /* fused forward pairs: residual + LayerNorm, bias + QuickGELU */
    {
        float *lw = host_random(k, W, 1), *lb = host_random(k, W, 1), *ln = calloc(n, 4), *mean = calloc((size_t)B * L, 4);
        float *rstd = calloc((size_t)B * L, 4), *gres = calloc(n, 4), *gln = calloc(n, 4), *gm = calloc((size_t)B * L, 4);
        float *gr = calloc((size_t)B * L, 4), *d_lw = dev(k, lw, W * 4), *d_lb = dev(k, lb, W * 4);
        float *d_ln = dev(k, NULL, n * 4), *d_m = dev(k, NULL, (size_t)B * L * 4), *d_r = dev(k, NULL, (size_t)B * L * 4);
        float *d_res = dev(k, NULL, n * 4);
        if (lw && lb && ln && mean && rstd && gres && gln && gm && gr && d_r && d_res) {
            for (size_t i = 0; i < n; i++) ref[i] = x[i] + sc[i / ((size_t)L * W)] * br[i];
            vc_layernorm_forward(ln, mean, rstd, ref, lw, lb, B * L, W);
            vc_cu_residual_layernorm(d_res, d_ln, d_m, d_r, d_x, d_br, d_sc, d_lw, d_lb, B, L, W, (float)VC_LN_EPS, k->s);
            back(k, gres, d_res, n * 4), back(k, gln, d_ln, n * 4), back(k, gm, d_m, (size_t)B * L * 4);
            back(k, gr, d_r, (size_t)B * L * 4);
            verdict(k, "residual + layernorm (fused)", fmax(rel_err(gres, ref, n), rel_err(gln, ln, n)), 1e-6);
            verdict(k, "residual + layernorm (mean, rstd)", fmax(rel_err(gm, mean, (size_t)B * L), rel_err(gr, rstd, (size_t)B * L)),
                    1e-6);
            /* bias + QuickGELU over rows of W */
            for (size_t i = 0; i < n; i++) ref[i] = x[i] + lb[i % W];
            vc_quickgelu_forward(ln, ref, n);
            up(d_res, x, n * 4);
            vc_cu_bias_quickgelu(d_res, d_ln, d_lb, B * L, W, k->s);
            back(k, gres, d_res, n * 4), back(k, gln, d_ln, n * 4);
            verdict(k, "bias + quickgelu (fused)", fmax(rel_err(gres, ref, n), rel_err(gln, ln, n)), 1e-6);
        } else {
            say(k, "  fused forward pairs: out of memory\n");
            k->failed++;
        }
        free(lw), free(lb), free(ln), free(mean), free(rstd), free(gres), free(gln), free(gm), free(gr);
    }
    /* the bias gradient */
    vc_colsum_accumulate(col, src, N, W);
    vc_cu_colsum_add(d_col, d_src, N, W, part, k->s);
    back(k, gcol, d_col, W * 4);
    verdict(k, "bias gradient (column sums)", rel_err(gcol, col, W), 1e-6);
    /* the pooled token's gradient into the stream, and the patch rows without the class token */
    memcpy(ref, x, n * 4);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < W; c++) ref[((size_t)b * L + row_of[b]) * W + c] += rows[(size_t)b * W + c];
    up(d_out, x, n * 4);
    vc_cu_scatter_rows_add(d_out, d_rows, d_row, B, L, W, k->s);
    back(k, g, d_out, n * 4);
    verdict(k, "scatter rows (pooled token backward)", rel_err(g, ref, n), 0);
    for (int b = 0; b < B; b++)
        memcpy(ref + (size_t)b * (L - 1) * W, x + ((size_t)b * L + 1) * W, (size_t)(L - 1) * W * 4);
    vc_cu_drop_first_row(d_out, d_x, B, L, W, k->s);
    back(k, g, d_out, (size_t)B * (L - 1) * W * 4);
    verdict(k, "patch rows without the class token", rel_err(g, ref, (size_t)B * (L - 1) * W), 0);
done:
    free(x), free(dy), free(acc), free(g), free(br), free(sc), free(ref), free(col), free(src), free(gcol), free(rows);
    release(k);
}

/* The masked gather and embedding forward, and the embeddings' backward through the lists. */
static void check_embeddings(checker *k) {
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    c.num_frames = 4, c.image_size = 32, c.patch_size = 8, c.context_length = 16, c.vocab_size = 50;
    const int B = 3, T = c.num_frames, S = c.image_size, P = vc_config_patches(&c), N = P * T, K = N / 3, L = K + 1;
    const int W = 24, P3 = 3 * c.patch_size * c.patch_size, ctx = c.context_length, Lt = 11;
    const size_t clip = (size_t)T * 3 * S * S;
    int32_t *keep = malloc((size_t)B * K * 4), *tokens = malloc((size_t)B * ctx * 4);
    float *video = host_random(k, B * clip, 1), *patches = calloc((size_t)B * K * P3, 4), *gp = calloc((size_t)B * K * P3, 4);
    float *tok = host_random(k, (size_t)B * K * W, 1), *cls = host_random(k, W, 1), *pos = host_random(k, (size_t)(1 + P) * W, 1);
    float *tem = host_random(k, (size_t)T * W, 1), *x = calloc((size_t)B * L * W, 4), *gx = calloc((size_t)B * L * W, 4);
    float *dx = host_random(k, (size_t)B * L * W, 1), *dtx = host_random(k, (size_t)B * Lt * W, 1);
    float *g5[5], *r5[5];
    const size_t rows5[5] = {1, (size_t)1 + P, (size_t)T, (size_t)c.vocab_size, (size_t)ctx};
    for (int i = 0; i < 5; i++) g5[i] = host_random(k, rows5[i] * W, 1), r5[i] = malloc(rows5[i] * W * 4);
    vc_dev_train_plan pl;
    vc_dev_block vb[8], tb[8];
    pl.vis.blocks = vb, pl.txt.blocks = tb;
    vc_dev_train_layout(&pl, NULL, &c, B, K, 1);
    int32_t *ints = malloc(pl.csr_ints * 4);
    if (!keep || !tokens || !gx || !ints || !r5[4] || !g5[4]) {
        say(k, "  embeddings: out of memory\n");
        k->failed++;
        goto done;
    }
    vc_vision_sample_keep(keep, B, N, K, 7, 3);
    for (int i = 0; i < B * ctx; i++) tokens[i] = (int32_t)(vc_rng_uniform(&k->rng) * 7); /* repeated ids */
    float *d_video = dev(k, video, B * clip * 4), *d_p = dev(k, NULL, (size_t)B * K * P3 * 4);
    int32_t *d_keep = dev(k, keep, (size_t)B * K * 4);
    vc_vision_gather_patches(&c, patches, video, keep, B, K);
    vc_cu_gather_patches_keep(d_p, d_video, d_keep, B, K, T, S, c.patch_size, k->s);
    back(k, gp, d_p, (size_t)B * K * P3 * 4);
    verdict(k, "masked patch gather", rel_err(gp, patches, (size_t)B * K * P3), 0);
    for (int b = 0; b < B; b++) /* vc_vision_forward's embedding rows */
        for (int l = 0; l < L; l++)
            for (int i = 0; i < W; i++) {
                float *o = x + ((size_t)b * L + l) * W;
                if (l == 0) {
                    o[i] = cls[i] + pos[i];
                    continue;
                }
                const int j = keep[(size_t)b * K + l - 1];
                o[i] = tok[((size_t)b * K + l - 1) * W + i] + (pos[(size_t)(1 + j / T) * W + i] + tem[(size_t)(j % T) * W + i]);
            }
    float *d_tok = dev(k, tok, (size_t)B * K * W * 4), *d_cls = dev(k, cls, W * 4), *d_pos = dev(k, pos, (size_t)(1 + P) * W * 4);
    float *d_tem = dev(k, tem, (size_t)T * W * 4), *d_x = dev(k, NULL, (size_t)B * L * W * 4);
    vc_cu_vision_embed_keep(d_x, d_tok, d_cls, d_pos, d_tem, d_keep, B, K, T, W, k->s);
    back(k, gx, d_x, (size_t)B * L * W * 4);
    verdict(k, "masked video embedding", rel_err(gx, x, (size_t)B * L * W), 0);
    /* backward: the CPU's loops of vc_vision_backward_tokens and vc_text_backward_with_tokens */
    for (int i = 0; i < 5; i++) memcpy(r5[i], g5[i], rows5[i] * W * 4);
    for (int b = 0; b < B; b++) {
        const float *d = dx + (size_t)b * L * W;
        for (int i = 0; i < W; i++) r5[0][i] += d[i], r5[1][i] += d[i];
        for (int l = 1; l < L; l++) {
            const int j = keep[(size_t)b * K + l - 1];
            for (int i = 0; i < W; i++)
                r5[1][(size_t)(1 + j / T) * W + i] += d[(size_t)l * W + i], r5[2][(size_t)(j % T) * W + i] += d[(size_t)l * W + i];
        }
    }
    for (int b = 0; b < B; b++)
        for (int i = 0; i < Lt; i++)
            for (int e = 0; e < W; e++) {
                const float v = dtx[((size_t)b * Lt + i) * W + e];
                r5[3][(size_t)tokens[(size_t)b * ctx + i] * W + e] += v;
                r5[4][(size_t)i * W + e] += v;
            }
    vc_row_lists lists[5];
    const size_t used = vc_dev_row_lists(lists, ints, &c, B, K, keep, tokens, Lt);
    int32_t *d_ints = dev(k, ints, used * 4);
    float *d_dx = dev(k, dx, (size_t)B * L * W * 4), *d_dtx = dev(k, dtx, (size_t)B * Lt * W * 4);
    const char *names[5] = {"class embedding backward", "position embedding backward", "temporal embedding backward",
                            "token embedding backward", "text position embedding backward"};
    for (int i = 0; i < 5; i++) {
        float *d_g = dev(k, g5[i], rows5[i] * W * 4);
        vc_cu_segment_rows_add(d_g, i < 3 ? d_dx : d_dtx, W, lists[i].n_seg, d_ints + (lists[i].dst_row - ints),
                               d_ints + (lists[i].start - ints), d_ints + (lists[i].src - ints), k->s);
        back(k, g5[i], d_g, rows5[i] * W * 4);
        verdict(k, names[i], rel_err(g5[i], r5[i], rows5[i] * W), 0); /* the CPU's order: the same bits */
    }
    say(k, "  (lists: %zu of %zu planned ints)\n", used, pl.csr_ints);
    if (used > pl.csr_ints) k->failed++;
done:
    free(keep), free(tokens), free(video), free(patches), free(gp), free(tok), free(cls), free(pos), free(tem);
    free(x), free(gx), free(dx), free(dtx), free(ints);
    for (int i = 0; i < 5; i++) free(g5[i]), free(r5[i]);
    release(k);
}

static void check_attention(checker *k, int B, int L, int C, int H, int causal) {
    const size_t n = (size_t)B * L * C;
    float *qkv = host_random(k, 3 * n, 1), *dout = host_random(k, n, 1), *out = calloc(n, 4), *lse = calloc((size_t)B * H * L, 4);
    float *dqkv = host_random(k, 3 * n, 1), *g = calloc(3 * n, 4), *glse = calloc((size_t)B * H * L, 4);
    float *scratch = malloc(vc_attention_scratch_elems(L, C, H, omp_get_max_threads()) * 4);
    float *d_qkv = dev(k, qkv, 3 * n * 4), *d_out = dev(k, NULL, n * 4), *d_lse = dev(k, NULL, (size_t)B * H * L * 4);
    float *d_dout = dev(k, dout, n * 4), *d_dqkv = dev(k, dqkv, 3 * n * 4), *d_D = dev(k, NULL, (size_t)B * H * L * 4);
    char name[96];
    if (!scratch || !glse || !d_D) {
        say(k, "  attention: out of memory\n");
        k->failed++;
        goto done;
    }
    vc_attention_forward(VC_FP32, out, lse, scratch, qkv, B, L, C, H, causal);
    vc_cu_attention_train(d_out, d_lse, d_qkv, B, L, C, H, causal, k->s);
    back(k, g, d_out, n * 4), back(k, glse, d_lse, (size_t)B * H * L * 4);
    snprintf(name, sizeof name, "attention forward L%d hd%d%s", L, C / H, causal ? " causal" : "");
    verdict(k, name, rel_err(g, out, n), 1e-5);
    snprintf(name, sizeof name, "attention lse L%d hd%d%s", L, C / H, causal ? " causal" : "");
    verdict(k, name, rel_err(glse, lse, (size_t)B * H * L), 1e-5);
    vc_attention_backward(dqkv, scratch, dout, qkv, out, lse, B, L, C, H, causal);
    /* the GPU's backward from the CPU's forward values, so only the backward is compared */
    up(d_out, out, n * 4);
    up(d_lse, lse, (size_t)B * H * L * 4);
    vc_cu_attention_backward(d_dqkv, d_D, d_dout, d_qkv, d_out, d_lse, B, L, C, H, causal, k->s);
    back(k, g, d_dqkv, 3 * n * 4);
    snprintf(name, sizeof name, "attention backward L%d hd%d%s", L, C / H, causal ? " causal" : "");
    verdict(k, name, rel_err(g, dqkv, 3 * n), 1e-5);
done:
    free(qkv), free(dout), free(out), free(lse), free(dqkv), free(g), free(glse), free(scratch);
    release(k);
}

/* The tensor-core pair (bf16): forward with lse, then the backward from its own forward, against
 * the CPU's fp32 (bf16 bounds: the operands and probabilities are rounded to 8 bits). */
static void check_attention_tc(checker *k, int B, int L) {
    const int C = 128, H = 2;
    const size_t n = (size_t)B * L * C;
    float *qkv = host_random(k, 3 * n, 1), *dout = host_random(k, n, 1), *out = calloc(n, 4), *lse = calloc((size_t)B * H * L, 4);
    float *dqkv = calloc(3 * n, 4), *g = calloc(3 * n, 4);
    float *scratch = malloc(vc_attention_scratch_elems(L, C, H, omp_get_max_threads()) * 4);
    float *d_qkv = dev(k, qkv, 3 * n * 4), *d_out = dev(k, NULL, n * 4), *d_lse = dev(k, NULL, (size_t)B * H * L * 4);
    float *d_dout = dev(k, dout, n * 4), *d_dqkv = dev(k, NULL, 3 * n * 4), *d_D = dev(k, NULL, (size_t)B * H * L * 4);
    char name[96];
    if (!scratch || !g || !d_D) {
        say(k, "  tensor-core attention: out of memory\n");
        k->failed++;
        goto done;
    }
    vc_attention_forward(VC_FP32, out, lse, scratch, qkv, B, L, C, H, 0);
    vc_attention_backward(dqkv, scratch, dout, qkv, out, lse, B, L, C, H, 0);
    if (vc_cu_attention_bf16_train(d_out, d_lse, d_qkv, B, L, C, H, 0, k->s) ||
        vc_cu_attention_backward_bf16(d_dqkv, d_D, d_dout, d_qkv, d_out, d_lse, B, L, C, H, 0, k->s)) {
        say(k, "  tensor-core attention L%d: not launched FAIL\n", L);
        k->failed++;
        goto done;
    }
    back(k, g, d_out, n * 4);
    snprintf(name, sizeof name, "attention bf16 forward L%d hd64", L);
    verdict(k, name, rel_err(g, out, n), 2e-2);
    back(k, g, d_dqkv, 3 * n * 4);
    snprintf(name, sizeof name, "attention bf16 backward L%d hd64", L);
    verdict(k, name, rel_err(g, dqkv, 3 * n), 3e-2);
done:
    free(qkv), free(dout), free(out), free(lse), free(dqkv), free(g), free(scratch);
    release(k);
}

/* AdamW bit for bit, and the gradient norm, over the tiny model's table. */
static void check_optimizer(checker *k) {
    vc_error err;
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    vc_param_table table;
    if (vc_param_table_build(&c, &table, &err)) {
        say(k, "  optimizer: %s\n", err.msg);
        k->failed++;
        return;
    }
    const size_t n = table.total;
    float *p = host_random(k, n, 0.1), *gr = host_random(k, n, 0.01), *gp = malloc(n * 4), *gm = malloc(n * 4), *gv = malloc(n * 4);
    vc_adamw opt;
    vc_adamw_params ap = vc_adamw_default_params();
    ap.frozen[VC_TOWER_TEXT] = 1, ap.lr_mult[VC_TOWER_VISION] = 0.7;
    vc_cu_tensor *tab = malloc((size_t)table.count * sizeof *tab);
    if (!gv || !tab || vc_adamw_init(&opt, &table, &ap, &err)) {
        say(k, "  optimizer: out of memory\n");
        k->failed++;
        free(p), free(gr), free(gp), free(gm), free(gv), free(tab);
        vc_param_table_free(&table);
        return;
    }
    for (size_t i = 0; i < n; i++) opt.m[i] = (float)(1e-3 * vc_rng_normal(&k->rng)), opt.v[i] = (float)(1e-5 * vc_rng_uniform(&k->rng));
    opt.t = 4;
    float *d_p = dev(k, p, n * 4), *d_g = dev(k, gr, n * 4), *d_m = dev(k, opt.m, n * 4), *d_v = dev(k, opt.v, n * 4);
    const double lr = 3e-4, scale = 0.8;
    int nt = 0;
    for (int i = 0; i < table.count; i++) {
        const vc_param_info *pi = &table.info[i];
        if (ap.frozen[pi->tower]) continue;
        const double plr = lr * ap.lr_mult[pi->tower];
        tab[nt++] = (vc_cu_tensor){(int64_t)pi->offset, (int64_t)pi->numel, plr, pi->decay ? 1 - plr * ap.weight_decay : 1};
    }
    vc_cu_tensor *d_tab = dev(k, tab, (size_t)nt * sizeof *tab);
    double *part = dev(k, NULL, (size_t)nt * VC_DEV_NORM_BLOCKS * 2 * sizeof(double));
    double *hpart = malloc((size_t)nt * VC_DEV_NORM_BLOCKS * 2 * sizeof(double));
    if (!part || !hpart) {
        say(k, "  optimizer: out of memory\n");
        k->failed++;
        goto done;
    }
    /* the norm first (of the trainable tensors) */
    vc_cu_sumsq(d_g, d_tab, nt, part, k->s);
    back(k, hpart, part, (size_t)nt * VC_DEV_NORM_BLOCKS * sizeof(double));
    double s = 0;
    for (int i = 0; i < nt * VC_DEV_NORM_BLOCKS; i++) s += hpart[i];
    const double cpu_norm = vc_grad_norm(&opt, &table, gr);
    verdict(k, "gradient norm", fabs(sqrt(s) - cpu_norm) / cpu_norm, 1e-12);
    const int64_t t1 = opt.t + 1;
    const double bc1 = 1 - pow(ap.beta1, (double)t1), bc2 = 1 - pow(ap.beta2, (double)t1);
    vc_cu_adamw(d_p, d_m, d_v, d_g, d_tab, nt, scale, ap.beta1, ap.beta2, bc1, bc2, ap.eps, part, k->s);
    vc_adamw_step(&opt, &table, p, gr, lr, scale, NULL);
    back(k, gp, d_p, n * 4), back(k, gm, d_m, n * 4), back(k, gv, d_v, n * 4);
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) differ += memcmp(&gp[i], &p[i], 4) || memcmp(&gm[i], &opt.m[i], 4) || memcmp(&gv[i], &opt.v[i], 4);
    say(k, "  %-34s %zu of %zu values differ from the CPU's bits %s\n", "adamw (parameters, moments)", differ, n,
        differ ? "FAIL" : "ok");
    k->failed += differ != 0;
done:
    free(p), free(gr), free(gp), free(gm), free(gv), free(tab), free(hpart);
    vc_adamw_free(&opt);
    vc_param_table_free(&table);
    release(k);
}

/* The contrastive loss (its loss, both embeddings' gradients and the temperature's, with the
 * global weight and gradient scale of a step) against vc_contrastive_loss, with shared groups. */
static void check_contrastive(checker *k) {
    const int B = 7, E = 24;
    const double temp = 0.07, wg = 0.75, scale = 0.5;
    float *v = host_random(k, (size_t)B * E, 1), *t = host_random(k, (size_t)B * E, 1);
    float *dv = calloc((size_t)B * E, 4), *dt = calloc((size_t)B * E, 4), *gdv = calloc((size_t)B * E, 4);
    float *gdt = calloc((size_t)B * E, 4), *scratch = malloc(vc_contrastive_scratch_elems(B, B, E) * 4);
    const int32_t ids[7] = {0, 1, 1, 2, 3, 3, 3};
    double row_loss[14];
    cuda_device g;
    memset(&g, 0, sizeof g);
    g.stream = k->s;
    vc_error err;
    float *d_v = dev(k, v, (size_t)B * E * 4), *d_t = dev(k, t, (size_t)B * E * 4);
    float *d_dv = dev(k, NULL, (size_t)B * E * 4), *d_dt = dev(k, NULL, (size_t)B * E * 4), *d_g = dev(k, NULL, 4);
    int32_t *d_ids = dev(k, ids, sizeof ids);
    vc_cuda_loss_bufs lb = {dev(k, NULL, (size_t)B * E * 4), dev(k, NULL, (size_t)B * E * 4), dev(k, NULL, B * 4),
                            dev(k, NULL, B * 4), dev(k, NULL, 2 * B * B * 4), dev(k, NULL, 2 * B * B * 4),
                            dev(k, NULL, 2 * B * 8), dev(k, NULL, 2 * 8)};
    if (!scratch || !gdt || !lb.temp_sums || cublasCreate(&g.blas) != CUBLAS_STATUS_SUCCESS) {
        say(k, "  contrastive loss: setup failed\n");
        k->failed++;
        goto done;
    }
    cublasSetStream(g.blas, k->s);
    float dtemp;
    const double loss = vc_contrastive_loss(v, t, ids, B, E, (float)temp, dv, dt, &dtemp, scratch);
    for (int i = 0; i < B * E; i++) dv[i] *= (float)wg, dt[i] *= (float)wg, dv[i] *= (float)scale, dt[i] *= (float)scale;
    const float gtemp_cpu = (float)scale * (dtemp * (float)wg);
    float gtemp = 0;
    if (vc_cuda_contrastive(&g, &lb, d_v, d_t, d_ids, B, E, (float)temp, wg, scale, d_dv, d_dt, d_g, &err)) {
        say(k, "  contrastive loss: %s FAIL\n", err.msg);
        k->failed++;
    } else {
        back(k, row_loss, lb.row_loss, sizeof row_loss), back(k, gdv, d_dv, (size_t)B * E * 4);
        back(k, gdt, d_dt, (size_t)B * E * 4), back(k, &gtemp, d_g, 4);
        const float l32 = (float)vc_cuda_loss_total(row_loss, B), c32 = (float)loss;
        verdict(k, "contrastive loss (value)", rel_err(&l32, &c32, 1), 1e-6);
        verdict(k, "contrastive loss (embedding gradients)", fmax(rel_err(gdv, dv, (size_t)B * E), rel_err(gdt, dt, (size_t)B * E)),
                1e-5);
        verdict(k, "contrastive loss (temperature gradient)", rel_err(&gtemp, &gtemp_cpu, 1), 1e-5);
    }
    cublasDestroy(g.blas);
done:
    free(v), free(t), free(dv), free(dt), free(gdv), free(gdt), free(scratch);
    release(k);
}

int vc_cuda_check_ops(char *report, size_t cap, vc_error *err) {
    if (sizeof(vc_real) != sizeof(float)) return vc_fail(err, "CUDA: the double-precision build has no GPU path");
    char why[512];
    if (!vc_cuda_probe(why, sizeof why)) return vc_fail(err, "--device cuda: %s", why);
    checker k = {report, cap, 0, 0, vc_rng_at(42, 9, 0, 0), NULL, {0}, 0};
    if (cap) report[0] = 0;
    CU(cudaStreamCreateWithFlags(&k.s, cudaStreamNonBlocking), "creating a stream");
    check_layernorm(&k);
    check_elementwise(&k);
    check_embeddings(&k);
    check_attention(&k, 2, 77, 128, 2, 1);   /* text: causal, head dim 64 */
    check_attention(&k, 2, 158, 128, 4, 0);  /* B/16 masked length, head dim 32 */
    check_attention(&k, 1, 206, 256, 2, 0);  /* L/14 masked length, head dim 128 */
    check_attention_tc(&k, 2, 158);          /* B/16 masked length */
    check_attention_tc(&k, 1, 256);          /* the longest it takes */
    check_optimizer(&k);
    check_contrastive(&k);
    cudaError_t e = cudaDeviceSynchronize();
    cudaStreamDestroy(k.s);
    if (e != cudaSuccess) return vc_fail(err, "CUDA checking the training kernels: %s", cudaGetErrorString(e));
    return k.failed;
}
