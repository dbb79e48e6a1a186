#include "model/transformer.h"

#include <string.h>

#include "core/rng.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"

void vc_blocks_plan(vc_arena *a, vc_block_acts *acts, int layers, vc_block_dims d, vc_acts_mode mode,
                    int drop_path, vc_real *stream) {
    const size_t N = (size_t)d.B * d.L, W = (size_t)d.W;
    const int training = mode != VC_ACTS_INFERENCE;
    for (int l = 0; l < layers; l++) {
        vc_block_acts *b = &acts[l];
        if (mode != VC_ACTS_TRAINING && l > 0) {
            *b = acts[0]; /* every block reuses the same buffers ... */
            if (mode == VC_ACTS_RECOMPUTE) { /* ... but its output, the next block's input, and drop-path scales */
                b->out = vc_arena_take(a, N * W);
                b->drop_scale = drop_path ? vc_arena_take(a, 2 * (size_t)d.B) : NULL;
            }
            continue;
        }
        memset(b, 0, sizeof *b);
        b->ln1 = vc_arena_take(a, N * W);
        b->ln1_mean = vc_arena_take(a, N);
        b->ln1_rstd = vc_arena_take(a, N);
        b->qkv = vc_arena_take(a, N * 3 * W);
        b->lse = training ? vc_arena_take(a, (size_t)d.B * d.H * d.L) : NULL;
        b->attn = vc_arena_take(a, N * W);
        b->ln2 = training ? vc_arena_take(a, N * W) : b->ln1;
        b->ln2_mean = vc_arena_take(a, N);
        b->ln2_rstd = vc_arena_take(a, N);
        b->fc = vc_arena_take(a, N * 4 * W);
        b->gelu = training ? vc_arena_take(a, N * 4 * W) : b->fc; /* in place at inference */
        if (training) {
            b->res1 = vc_arena_take(a, N * W);
            b->out = vc_arena_take(a, N * W);
        } else {
            b->res1 = b->out = stream;
        }
        b->drop_scale = (training && drop_path) ? vc_arena_take(a, 2 * (size_t)d.B) : NULL;
    }
}

void vc_block_scratch_plan(vc_arena *a, vc_block_scratch *s, vc_block_dims d, vc_acts_mode mode,
                           int max_threads) {
    const size_t N = (size_t)d.B * d.L, W = (size_t)d.W;
    const int training = mode != VC_ACTS_INFERENCE;
    memset(s, 0, sizeof *s);
    s->recompute = mode == VC_ACTS_RECOMPUTE;
    s->branch = vc_arena_take(a, N * W);
    s->attn_tile = vc_arena_take(a, vc_attention_scratch_elems(d.L, d.W, d.H, max_threads));
    /* Where bf16 products run, the bf16 copies of their operands (see vc_matmul): for the
     * largest of the blocks' products, forward and backward. Pages nobody touches (fp32 runs)
     * cost address space, not memory. */
    if (vc_gemm_has_bf16()) {
        const int n = (int)N, w = (int)W;
        size_t most = vc_linear_bf16_elems(n, w, 3 * w);
        const size_t fc = vc_linear_bf16_elems(n, w, 4 * w), proj = vc_linear_bf16_elems(n, 4 * w, w);
        most = fc > most ? fc : most;
        most = proj > most ? proj : most;
        s->mm.bf16 = (uint16_t *)vc_arena_take(a, (most * sizeof(uint16_t) + sizeof(vc_real) - 1) / sizeof(vc_real));
        s->mm.bf16_elems = most;
    }
    if (training) {
        s->d_ln = vc_arena_take(a, N * W);
        s->d_attn = vc_arena_take(a, N * W);
        s->d_qkv = vc_arena_take(a, N * 3 * W);
        s->d_hidden = vc_arena_take(a, N * 4 * W);
        s->d_fc = vc_arena_take(a, N * 4 * W);
    }
}

/* out = x + scale[b] * branch, per sample b of L rows (scale NULL means 1). */
static void residual_add(vc_real *out, const vc_real *x, const vc_real *branch,
                         const vc_real *scale, int B, int L, int W) {
    const size_t per = (size_t)L * W;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        vc_real s = scale ? scale[b] : 1;
        const vc_real *xb = x + b * per, *rb = branch + b * per;
        vc_real *ob = out + b * per;
        for (size_t i = 0; i < per; i++) ob[i] = xb[i] + s * rb[i];
    }
}

/* dst = scale[b] * src per sample (the gradient flowing into a drop-path branch). */
static void scale_rows(vc_real *dst, const vc_real *src, const vc_real *scale, int B, int L, int W) {
    const size_t per = (size_t)L * W;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        vc_real s = scale ? scale[b] : 1;
        for (size_t i = 0; i < per; i++) dst[b * per + i] = s * src[b * per + i];
    }
}

/* The block after attention, on `rows` rows per sample (all L, or the pooled one): the output
 * projection, the residual onto x, and the MLP branch. */
static void block_tail_forward(const vc_block_view *p, vc_block_acts *a, vc_block_scratch *s,
                               const vc_real *x, int B, int rows, int W) {
    const int N = B * rows;
    const vc_real *dp1 = a->drop_scale, *dp2 = a->drop_scale ? a->drop_scale + B : NULL;
    vc_linear_forward(&s->mm, s->branch, a->attn, p->out_w, p->out_b, N, W, W);
    residual_add(a->res1, x, s->branch, dp1, B, rows, W);
    vc_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res1, p->ln2_w, p->ln2_b, N, W);
    vc_linear_forward(&s->mm, a->fc, a->ln2, p->fc_w, p->fc_b, N, W, 4 * W);
    vc_quickgelu_forward(a->gelu, a->fc, (size_t)N * 4 * W);
    vc_linear_forward(&s->mm, s->branch, a->gelu, p->proj_w, p->proj_b, N, 4 * W, W);
    residual_add(a->out, a->res1, s->branch, dp2, B, rows, W);
}

/* Backward of block_tail_forward: dx [B*rows, W] holds d(out) on entry and d(x) (the skip
 * path's share only) on return; d_attn [B*rows, W] is overwritten with d(attn). */
static void block_tail_backward(const vc_block_view *p, vc_block_view *g, const vc_block_acts *a,
                                vc_block_scratch *s, vc_real *dx, vc_real *d_attn, int B, int rows, int W) {
    const int N = B * rows;
    const size_t NW = (size_t)N * W, N4W = 4 * NW;
    const vc_real *dp1 = a->drop_scale, *dp2 = a->drop_scale ? a->drop_scale + B : NULL;
    /* MLP branch: dx holds d(out) = d(res1) from the skip path plus what flows through the MLP. */
    scale_rows(s->branch, dx, dp2, B, rows, W);
    memset(s->d_hidden, 0, N4W * sizeof(vc_real));
    vc_linear_backward(&s->mm, s->d_hidden, g->proj_w, g->proj_b, s->branch, a->gelu, p->proj_w, N, 4 * W, W);
    memset(s->d_fc, 0, N4W * sizeof(vc_real));
    vc_quickgelu_backward(s->d_fc, a->fc, s->d_hidden, N4W);
    memset(s->d_ln, 0, NW * sizeof(vc_real));
    vc_linear_backward(&s->mm, s->d_ln, g->fc_w, g->fc_b, s->d_fc, a->ln2, p->fc_w, N, W, 4 * W);
    vc_layernorm_backward(dx, g->ln2_w, g->ln2_b, s->d_ln, a->res1, p->ln2_w, a->ln2_mean,
                          a->ln2_rstd, N, W);
    /* Attention branch: dx now holds d(res1). */
    scale_rows(s->branch, dx, dp1, B, rows, W);
    memset(d_attn, 0, NW * sizeof(vc_real));
    vc_linear_backward(&s->mm, d_attn, g->out_w, g->out_b, s->branch, a->attn, p->out_w, N, W, W);
}

void vc_block_forward(const vc_block_view *p, vc_block_acts *a, vc_block_scratch *s,
                      const vc_real *inp, vc_block_dims d) {
    const int N = d.B * d.L, W = d.W;
    vc_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, inp, p->ln1_w, p->ln1_b, N, W);
    vc_linear_forward(&s->mm, a->qkv, a->ln1, p->qkv_w, p->qkv_b, N, W, 3 * W);
    vc_attention_forward(s->mm.precision, a->attn, a->lse, s->attn_tile, a->qkv, d.B, d.L, W, d.H, d.causal);
    block_tail_forward(p, a, s, inp, d.B, d.L, W);
    s->resident = a;
}

void vc_block_backward(const vc_block_view *p, vc_block_view *g, vc_block_acts *a,
                       vc_block_scratch *s, const vc_real *inp, vc_real *dx, vc_block_dims d) {
    /* After the forward the shared set holds the last block's activations: every other block
     * recomputes its own (rewriting its kept output with the same values). */
    if (s->recompute && s->resident != a) vc_block_forward(p, a, s, inp, d);
    const int N = d.B * d.L, W = d.W;
    const size_t NW = (size_t)N * W;
    block_tail_backward(p, g, a, s, dx, s->d_attn, d.B, d.L, W);
    memset(s->d_qkv, 0, 3 * NW * sizeof(vc_real));
    vc_attention_backward(s->d_qkv, s->attn_tile, s->d_attn, a->qkv, a->attn, a->lse, d.B, d.L, W,
                          d.H, d.causal);
    memset(s->d_ln, 0, NW * sizeof(vc_real));
    vc_linear_backward(&s->mm, s->d_ln, g->qkv_w, g->qkv_b, s->d_qkv, a->ln1, p->qkv_w, N, W, 3 * W);
    vc_layernorm_backward(dx, g->ln1_w, g->ln1_b, s->d_ln, inp, p->ln1_w, a->ln1_mean,
                          a->ln1_rstd, N, W);
}

/* The pooled row of sample b: rows[b], or the first (the class token) when rows is NULL. */
static int pooled_row(const int32_t *rows, int b) { return rows ? rows[b] : 0; }

/* Row pooled_row(rows, b) of sample b of src [B, L, W] into dst [B, W], in sample order. dst may
 * be src itself (the inference stream): row b of dst never lies after that row of src. */
static void gather_rows(vc_real *dst, const vc_real *src, const int32_t *rows, int B, int L, int W) {
    for (int b = 0; b < B; b++)
        memmove(dst + (size_t)b * W, src + ((size_t)b * L + pooled_row(rows, b)) * W, (size_t)W * sizeof(vc_real));
}

/* The pooled block's buffers inside the planned ones (each at least as large): kv [N, 2W] and
 * q [B, W] share qkv's [N, 3W]; the rest keep their names with B rows instead of N. */
static vc_real *pooled_q(vc_real *qkv, int N, int W) { return qkv + (size_t)N * 2 * W; }

void vc_block_forward_pooled(const vc_block_view *p, vc_block_acts *a, vc_block_scratch *s,
                             const vc_real *inp, vc_block_dims d, const int32_t *rows) {
    const int N = d.B * d.L, W = d.W;
    vc_real *kv = a->qkv, *q = pooled_q(a->qkv, N, W), *ln1_rows = s->branch;
    vc_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, inp, p->ln1_w, p->ln1_b, N, W);
    /* keys and values of every position (rows W..3W-1 of the packed q/k/v weight), the query of
     * the pooled rows only */
    vc_linear_forward(&s->mm, kv, a->ln1, p->qkv_w + (size_t)W * W, p->qkv_b + W, N, W, 2 * W);
    gather_rows(ln1_rows, a->ln1, rows, d.B, d.L, W);
    vc_linear_forward(&s->mm, q, ln1_rows, p->qkv_w, p->qkv_b, d.B, W, W);
    vc_attention_pooled_forward(a->attn, a->lse, s->attn_tile, q, kv, rows, d.B, d.L, W, d.H, d.causal);
    /* the residual base: the input's pooled rows (in place when res1 is the inference stream) */
    gather_rows(a->res1, inp, rows, d.B, d.L, W);
    block_tail_forward(p, a, s, a->res1, d.B, 1, W);
    s->resident = a;
}

void vc_block_backward_pooled(const vc_block_view *p, vc_block_view *g, vc_block_acts *a,
                              vc_block_scratch *s, const vc_real *inp, vc_real *dout, vc_real *dx,
                              vc_block_dims d, const int32_t *rows) {
    if (s->recompute && s->resident != a) vc_block_forward_pooled(p, a, s, inp, d, rows); /* as vc_block_backward */
    const int N = d.B * d.L, W = d.W;
    const size_t NW = (size_t)N * W, BW = (size_t)d.B * W;
    const vc_real *kv = a->qkv, *q = pooled_q(a->qkv, N, W);
    vc_real *d_kv = s->d_qkv, *d_q = pooled_q(s->d_qkv, N, W);
    block_tail_backward(p, g, a, s, dout, s->d_attn, d.B, 1, W);
    memset(d_kv, 0, 2 * NW * sizeof(vc_real));
    memset(d_q, 0, BW * sizeof(vc_real));
    vc_attention_pooled_backward(d_q, d_kv, s->attn_tile, s->d_attn, q, kv, a->attn, a->lse, rows, d.B,
                                 d.L, W, d.H, d.causal);
    memset(s->d_ln, 0, NW * sizeof(vc_real));
    vc_linear_backward(&s->mm, s->d_ln, g->qkv_w + (size_t)W * W, g->qkv_b + W, d_kv, a->ln1,
                       p->qkv_w + (size_t)W * W, N, W, 2 * W);
    /* the query's share: through the pooled rows of ln_1 (d_attn and branch are free again) */
    vc_real *ln1_rows = s->d_attn, *d_ln1_rows = s->branch;
    gather_rows(ln1_rows, a->ln1, rows, d.B, d.L, W);
    memset(d_ln1_rows, 0, BW * sizeof(vc_real));
    vc_linear_backward(&s->mm, d_ln1_rows, g->qkv_w, g->qkv_b, d_q, ln1_rows, p->qkv_w, d.B, W, W);
    memset(dx, 0, NW * sizeof(vc_real));
    for (int b = 0; b < d.B; b++) {
        const size_t r = ((size_t)b * d.L + pooled_row(rows, b)) * W;
        for (int k = 0; k < W; k++) {
            s->d_ln[r + k] += d_ln1_rows[(size_t)b * W + k];
            dx[r + k] = dout[(size_t)b * W + k]; /* the skip path reaches the pooled rows only */
        }
    }
    vc_layernorm_backward(dx, g->ln1_w, g->ln1_b, s->d_ln, inp, p->ln1_w, a->ln1_mean,
                          a->ln1_rstd, N, W);
}

void vc_drop_path_sample(vc_real *scale, int B, int row0, double rate, unsigned long long seed,
                         unsigned long long step, int block_id) {
    double keep = 1.0 - rate;
    for (int branch = 0; branch < 2; branch++) {
        vc_rng r = vc_rng_at(seed, VC_STREAM_DROP_PATH, step, (uint64_t)(block_id * 2 + branch));
        for (int b = 0; b < row0; b++) vc_rng_uniform(&r); /* the rows of the ranks before this one */
        for (int b = 0; b < B; b++)
            scale[branch * B + b] =
                (rate <= 0) ? 1 : (vc_rng_uniform(&r) < keep ? (vc_real)(1.0 / keep) : 0);
    }
}

void vc_layer_taps_copy(const vc_layer_taps *t, int layer, const vc_real *out, size_t stride, const int32_t *rows,
                        int B, int W) {
    for (int i = 0; i < t->n; i++)
        if (t->layers[i] == layer)
            for (int b = 0; b < B; b++)
                memcpy(t->out + ((size_t)i * B + b) * W, out + vc_layer_tap_offset(stride, rows, b, W), W * sizeof(vc_real));
}

void vc_layer_taps_add_grads(const vc_layer_taps *t, int layer, vc_real *d, size_t stride, const int32_t *rows,
                             int B, int W) {
    for (int i = 0; t->grad && i < t->n; i++)
        if (t->layers[i] == layer)
            for (int b = 0; b < B; b++) {
                const vc_real *src = t->grad + ((size_t)i * B + b) * W;
                vc_real *dst = d + vc_layer_tap_offset(stride, rows, b, W);
                for (int k = 0; k < W; k++) dst[k] += src[k];
            }
}
