#include "model/vision.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"

void vc_vision_plan(vc_arena *a, vc_vision_acts *acts, const vc_config *c, int B, int K,
                    vc_acts_mode mode, int drop_path, int max_threads) {
    const int training = mode != VC_ACTS_INFERENCE;
    const size_t W = (size_t)c->vision_width, L = (size_t)K + 1, P3 = 3 * (size_t)c->patch_size * c->patch_size;
    vc_block_acts *blocks = acts->blocks; /* allocated by the caller: [vision_layers] */
    int32_t *keep = acts->keep;
    memset(acts, 0, sizeof *acts);
    acts->blocks = blocks;
    acts->keep = keep;
    acts->B = B;
    acts->K = K;
    acts->L = (int)L;
    acts->training = training;
    acts->patches = vc_arena_take(a, (size_t)B * K * P3);
    acts->embed = vc_arena_take(a, B * L * W);
    acts->x = vc_arena_take(a, B * L * W);
    acts->ln_pre_mean = vc_arena_take(a, B * L);
    acts->ln_pre_rstd = vc_arena_take(a, B * L);
    vc_block_dims d = {B, (int)L, (int)W, c->vision_heads, 0};
    vc_blocks_plan(a, blocks, c->vision_layers, d, mode, drop_path, acts->x);
    vc_block_scratch_plan(a, &acts->scratch, d, mode, max_threads);
    acts->cls = vc_arena_take(a, B * W);
    vc_ln_head_plan(a, &acts->head, B, (int)W, c->embed_dim, training);
    if (training) {
        acts->d_stream = vc_arena_take(a, B * L * W);
        acts->d_embed = vc_arena_take(a, B * L * W);
    }
}

void vc_vision_sample_keep(int32_t *keep, int B, int N, int K, unsigned long long seed,
                           unsigned long long step) {
    for (int b = 0; b < B; b++) {
        vc_rng r = vc_rng_at(seed, VC_STREAM_MASK, step, (uint64_t)b);
        /* Selection sampling (Knuth's algorithm S) yields K of N in ascending order directly. */
        int chosen = 0;
        for (int n = 0; n < N && chosen < K; n++)
            if (vc_rng_below(&r, (uint64_t)(N - n)) < (uint64_t)(K - chosen)) keep[(size_t)b * K + chosen++] = n;
    }
}

/* Gathers the pixels of kept patches: patches[b, k, (c, ky, kx)] from video[b, t, c, y, x]
 * with token j = n*T + t, patch n = (py, px) in row-major order. */
void vc_vision_gather_patches(const vc_config *c, vc_real *patches, const vc_real *video,
                           const int32_t *keep, int B, int K) {
    const int T = c->num_frames, p = c->patch_size, S = c->image_size, G = S / p;
    const size_t P3 = 3 * (size_t)p * p, frame = 3 * (size_t)S * S;
#pragma omp parallel for schedule(static)
    for (int bk = 0; bk < B * K; bk++) {
        int b = bk / K, k = bk % K;
        int j = keep ? keep[bk] : k;
        int n = j / T, t = j % T, py = n / G, px = n % G;
        const vc_real *src = video + ((size_t)b * T + t) * frame;
        vc_real *dst = patches + (size_t)bk * P3;
        for (int ch = 0; ch < 3; ch++)
            for (int ky = 0; ky < p; ky++)
                memcpy(dst + ((size_t)ch * p + ky) * p,
                       src + (size_t)ch * S * S + (size_t)(py * p + ky) * S + px * p,
                       (size_t)p * sizeof(vc_real));
    }
}

void vc_vision_forward(const vc_config *c, const vc_vision_view *p, vc_vision_acts *acts,
                       const vc_real *video, int B, const int32_t *keep, const double *drop_rates,
                       unsigned long long seed, unsigned long long step, int row0) {
    const int W = c->vision_width, T = c->num_frames, K = acts->K, L = K + 1;
    const int P3 = 3 * c->patch_size * c->patch_size;
    if (keep && acts->keep != keep) memcpy(acts->keep, keep, (size_t)B * K * sizeof *keep);
    const int32_t *kept = keep ? acts->keep : NULL;
    acts->masked = keep != NULL;
    vc_vision_gather_patches(c, acts->patches, video, kept, B, K);
    for (int b = 0; b < B; b++) /* patch embedding (Conv3d with kernel = stride, no bias) */
        vc_linear_forward(&acts->scratch.mm, acts->embed + ((size_t)b * L + 1) * W, acts->patches + (size_t)b * K * P3,
                          p->conv1, NULL, K, P3, W);
#pragma omp parallel for schedule(static)
    for (int bl = 0; bl < B * L; bl++) {
        int b = bl / L, l = bl % L;
        vc_real *x = acts->embed + (size_t)bl * W;
        if (l == 0) { /* class token: its spatial position only, no temporal embedding */
            for (int i = 0; i < W; i++) x[i] = p->class_emb[i] + p->pos_emb[i];
            continue;
        }
        int j = kept ? kept[(size_t)b * K + l - 1] : l - 1;
        const vc_real *pos = p->pos_emb + (size_t)(1 + j / T) * W;
        const vc_real *tem = p->temporal_emb + (size_t)(j % T) * W;
        for (int i = 0; i < W; i++) x[i] += pos[i] + tem[i];
    }
    vc_layernorm_forward(acts->x, acts->ln_pre_mean, acts->ln_pre_rstd, acts->embed, p->ln_pre_w,
                         p->ln_pre_b, B * L, W);
    vc_block_dims d = {B, L, W, c->vision_heads, 0};
    const vc_real *inp = acts->x;
    size_t cls_stride = (size_t)L * W; /* from one clip's class token to the next's */
    for (int l = 0; l < c->vision_layers; l++) {
        vc_block_acts *a = &acts->blocks[l];
        if (a->drop_scale) vc_drop_path_sample(a->drop_scale, B, row0, drop_rates ? drop_rates[l] : 0, seed, step, l);
        if (acts->pooled_last && l == c->vision_layers - 1) {
            vc_block_forward_pooled(&p->blocks[l], a, &acts->scratch, inp, d, NULL);
            cls_stride = (size_t)W; /* its output: the class tokens alone */
        } else {
            vc_block_forward(&p->blocks[l], a, &acts->scratch, inp, d);
        }
        inp = a->out;
        vc_layer_taps_copy(&acts->taps, l + 1, inp, cls_stride, NULL, B, W);
    }
    for (int b = 0; b < B; b++) memcpy(acts->cls + (size_t)b * W, inp + b * cls_stride, W * sizeof(vc_real));
    const vc_ln_head head = vc_vision_head(p);
    vc_ln_head_forward(&head, &acts->head, acts->cls, B);
}

/* Backward through blocks top-1 .. 0, ln_pre and the embeddings, from acts->d_stream: the
 * gradient w.r.t. block top-1's output. */
static void backward_below(const vc_config *c, const vc_vision_view *p, vc_vision_view *g,
                           vc_vision_acts *acts, int B, const vc_grads_ready *ready, int top);

void vc_vision_backward(const vc_config *c, const vc_vision_view *p, vc_vision_view *g,
                        vc_vision_acts *acts, const vc_real *demb, int B, const vc_grads_ready *ready) {
    vc_vision_backward_with_tokens(c, p, g, acts, demb, NULL, B, ready);
}

void vc_vision_backward_with_tokens(const vc_config *c, const vc_vision_view *p, vc_vision_view *g,
                                    vc_vision_acts *acts, const vc_real *demb, const vc_real *d_out, int B,
                                    const vc_grads_ready *ready) {
    const int W = c->vision_width, L = acts->K + 1;
    const size_t BLW = (size_t)B * L * W;
    /* ln_post reads only the class token: its gradient goes into row 0 of each clip. */
    vc_real *d_cls_in = acts->scratch.d_ln; /* [B, W] fits in [B*L, W] */
    const vc_ln_head head = vc_vision_head(p), head_g = vc_vision_head(g);
    vc_ln_head_backward(&head, &head_g, &acts->head, acts->cls, demb, d_cls_in, B);
    if (acts->pooled_last) { /* d_out is NULL: nothing read the other tokens */
        const int last = c->vision_layers - 1;
        vc_real *d_rows = acts->head.d_ln; /* the head's scratch, free now; the blocks' is not */
        memcpy(d_rows, d_cls_in, (size_t)B * W * sizeof(vc_real));
        vc_layer_taps_add_grads(&acts->taps, last + 1, d_rows, W, NULL, B, W);
        vc_block_dims d = {B, L, W, c->vision_heads, 0};
        vc_block_backward_pooled(&p->blocks[last], &g->blocks[last], &acts->blocks[last], &acts->scratch,
                                 last ? acts->blocks[last - 1].out : acts->x, d_rows, acts->d_stream, d, NULL);
        if (ready) ready->fn(ready->user, g->blocks[last].ln1_w);
        backward_below(c, p, g, acts, B, ready, last);
        return;
    }
    if (d_out) memcpy(acts->d_stream, d_out, BLW * sizeof(vc_real));
    else memset(acts->d_stream, 0, BLW * sizeof(vc_real));
    for (int b = 0; b < B; b++)
        for (int k = 0; k < W; k++) acts->d_stream[(size_t)b * L * W + k] += d_cls_in[(size_t)b * W + k];
    vc_vision_backward_tokens(c, p, g, acts, B, ready);
}

const vc_real *vc_vision_output_tokens(const vc_config *c, const vc_vision_acts *acts) {
    return acts->training ? acts->blocks[c->vision_layers - 1].out : acts->x;
}

void vc_vision_patch_tokens(const vc_config *c, const vc_vision_acts *acts, vc_real *dst, int B) {
    const int W = c->vision_width, K = acts->K, L = K + 1;
    const vc_real *out = vc_vision_output_tokens(c, acts);
    for (int b = 0; b < B; b++)
        memcpy(dst + (size_t)b * K * W, out + ((size_t)b * L + 1) * W, (size_t)K * W * sizeof(vc_real));
}

void vc_vision_backward_patch_tokens(const vc_config *c, const vc_vision_view *p, vc_vision_view *g,
                                     vc_vision_acts *acts, const vc_real *d_tokens, int B) {
    const int W = c->vision_width, K = acts->K, L = K + 1;
    memset(acts->d_stream, 0, (size_t)B * L * W * sizeof(vc_real));
    for (int b = 0; b < B; b++)
        memcpy(acts->d_stream + ((size_t)b * L + 1) * W, d_tokens + (size_t)b * K * W, (size_t)K * W * sizeof(vc_real));
    vc_vision_backward_tokens(c, p, g, acts, B, NULL);
}

void vc_vision_backward_tokens(const vc_config *c, const vc_vision_view *p, vc_vision_view *g,
                               vc_vision_acts *acts, int B, const vc_grads_ready *ready) {
    backward_below(c, p, g, acts, B, ready, c->vision_layers);
}

static void backward_below(const vc_config *c, const vc_vision_view *p, vc_vision_view *g,
                           vc_vision_acts *acts, int B, const vc_grads_ready *ready, int top) {
    const int W = c->vision_width, T = c->num_frames, K = acts->K, L = K + 1;
    const int P3 = 3 * c->patch_size * c->patch_size;
    const size_t BLW = (size_t)B * L * W;
    vc_block_dims d = {B, L, W, c->vision_heads, 0};
    for (int l = top - 1; l >= 0; l--) {
        const vc_real *inp = l ? acts->blocks[l - 1].out : acts->x;
        vc_layer_taps_add_grads(&acts->taps, l + 1, acts->d_stream, (size_t)L * W, NULL, B, W);
        vc_block_backward(&p->blocks[l], &g->blocks[l], &acts->blocks[l], &acts->scratch, inp,
                          acts->d_stream, d);
        if (ready) ready->fn(ready->user, g->blocks[l].ln1_w); /* ln_1.weight opens the block */
    }
    memset(acts->d_embed, 0, BLW * sizeof(vc_real));
    vc_layernorm_backward(acts->d_embed, g->ln_pre_w, g->ln_pre_b, acts->d_stream, acts->embed,
                          p->ln_pre_w, acts->ln_pre_mean, acts->ln_pre_rstd, B * L, W);
    /* Embedding gradients: serial over tokens (vectorised over W) so sums are deterministic. */
    for (int b = 0; b < B; b++) {
        const vc_real *dx = acts->d_embed + (size_t)b * L * W;
        for (int i = 0; i < W; i++) {
            g->class_emb[i] += dx[i];
            g->pos_emb[i] += dx[i];
        }
        for (int l = 1; l < L; l++) {
            int j = acts->masked ? acts->keep[(size_t)b * K + l - 1] : l - 1;
            vc_real *gp = g->pos_emb + (size_t)(1 + j / T) * W, *gt = g->temporal_emb + (size_t)(j % T) * W;
            const vc_real *r = dx + (size_t)l * W;
            for (int i = 0; i < W; i++) {
                gp[i] += r[i];
                gt[i] += r[i];
            }
        }
    }
    for (int b = 0; b < B; b++)
        vc_linear_backward(&acts->scratch.mm, NULL, g->conv1, NULL, acts->d_embed + ((size_t)b * L + 1) * W,
                           acts->patches + (size_t)b * K * P3, p->conv1, K, P3, W);
    if (ready) ready->fn(ready->user, g->conv1); /* the tower's first parameter */
}
