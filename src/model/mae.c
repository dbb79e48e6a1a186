#include "model/mae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/rng.h"

void vc_tube_mask(int32_t *keep, int32_t *masked, int B, int P, int T, int keep_patches,
                  uint64_t seed, uint64_t step) {
    const int K = keep_patches * T, M = (P - keep_patches) * T;
    for (int b = 0; b < B; b++) {
        vc_rng r = vc_rng_at(seed, VC_STREAM_MASK, step, (uint64_t)b);
        int chosen = 0, nk = 0, nm = 0;
        for (int n = 0; n < P; n++) {
            /* selection sampling: patch n is kept with the probability that leaves a uniform set */
            const int kept = chosen < keep_patches &&
                             vc_rng_below(&r, (uint64_t)(P - n)) < (uint64_t)(keep_patches - chosen);
            chosen += kept;
            for (int t = 0; t < T; t++) { /* token n*T + t: ascending as n and t ascend */
                if (kept) keep[(size_t)b * K + nk++] = n * T + t;
                else masked[(size_t)b * M + nm++] = n * T + t;
            }
        }
    }
}

void vc_patch_normalize(vc_real *patches, size_t N, int pp) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < 3 * N; i++) {
        vc_real *x = patches + i * (size_t)pp;
        double mean = 0, var = 0;
        for (int k = 0; k < pp; k++) mean += x[k];
        mean /= pp;
        for (int k = 0; k < pp; k++) var += (x[k] - mean) * (x[k] - mean);
        var /= pp > 1 ? pp - 1 : 1; /* unbiased, as torch.var in VideoMAE */
        const double rstd = 1.0 / sqrt(var + 1e-6);
        for (int k = 0; k < pp; k++) x[k] = (vc_real)((x[k] - mean) * rstd);
    }
}

double vc_mse_loss(const vc_real *pred, const vc_real *target, size_t n, vc_real *dpred) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        const double e = (double)pred[i] - target[i];
        s += e * e;
        if (dpred) dpred[i] = (vc_real)(2 * e / (double)n);
    }
    return s / (double)n;
}

/* ---- decoder parameters ---- */

static void mae_table(vc_table_builder *b, const vc_config *c, int D, int depth) {
    const int W = c->vision_width, P3 = 3 * c->patch_size * c->patch_size, N = vc_config_video_tokens(c);
    const vc_tower V = VC_TOWER_VISION;
    vc_table_add(b, V, 0, 1, (const int64_t[]){W}, "mae_decoder.enc_norm.weight");
    vc_table_add(b, V, 0, 1, (const int64_t[]){W}, "mae_decoder.enc_norm.bias");
    vc_table_add(b, V, 1, 2, (const int64_t[]){D, W}, "mae_decoder.embed.weight");
    vc_table_add(b, V, 0, 1, (const int64_t[]){D}, "mae_decoder.embed.bias");
    vc_table_add(b, V, 0, 1, (const int64_t[]){D}, "mae_decoder.mask_token");
    vc_table_add(b, V, 0, 2, (const int64_t[]){N, D}, "mae_decoder.positional_embedding");
    vc_table_add_blocks(b, V, "mae_decoder", depth, D);
    vc_table_add(b, V, 0, 1, (const int64_t[]){D}, "mae_decoder.norm.weight");
    vc_table_add(b, V, 0, 1, (const int64_t[]){D}, "mae_decoder.norm.bias");
    vc_table_add(b, V, 1, 2, (const int64_t[]){P3, D}, "mae_decoder.head.weight");
    vc_table_add(b, V, 0, 1, (const int64_t[]){P3}, "mae_decoder.head.bias");
}

static void mae_bind(const vc_param_table *t, vc_real *base, int depth, vc_mae_view *v) {
    int k = 0;
#define NEXT (base + t->info[k++].offset)
    v->embed.ln_w = NEXT;
    v->embed.ln_b = NEXT;
    v->embed.lin_w = NEXT;
    v->embed.lin_b = NEXT;
    v->mask_token = NEXT;
    v->pos_emb = NEXT;
    for (int l = 0; l < depth; l++) vc_block_view_bind(t, base, &k, &v->blocks[l]);
    v->head.ln_w = NEXT;
    v->head.ln_b = NEXT;
    v->head.lin_w = NEXT;
    v->head.lin_b = NEXT;
#undef NEXT
}

void vc_mae_decoder_free(vc_mae_decoder *d) {
    if (!d) return;
    vc_param_table_free(&d->table);
    free(d->params), free(d->grads), free(d->p.blocks), free(d->g.blocks);
    free(d);
}

vc_mae_decoder *vc_mae_decoder_new(const vc_config *enc, int width, int depth, int heads, vc_error *err) {
    if (width < 1 || depth < 1 || heads < 1 || width % heads) {
        vc_fail(err, "MAE decoder width %d, depth %d, heads %d: all must be positive and the width divisible by the heads",
                width, depth, heads);
        return NULL;
    }
    vc_mae_decoder *d = calloc(1, sizeof *d);
    if (!d) goto oom;
    d->enc = *enc, d->width = width, d->depth = depth, d->heads = heads;
    vc_table_builder b = {&d->table, 0, 0};
    mae_table(&b, enc, width, depth);
    if (b.failed) goto oom;
    d->params = calloc(d->table.total, sizeof(vc_real));
    d->grads = calloc(d->table.total, sizeof(vc_real));
    d->p.blocks = calloc((size_t)depth, sizeof(vc_block_view));
    d->g.blocks = calloc((size_t)depth, sizeof(vc_block_view));
    if (!d->params || !d->grads || !d->p.blocks || !d->g.blocks) goto oom;
    mae_bind(&d->table, d->params, depth, &d->p);
    mae_bind(&d->table, d->grads, depth, &d->g);
    return d;
oom:
    vc_mae_decoder_free(d);
    vc_fail(err, "out of memory allocating an MAE decoder of width %d and depth %d", width, depth);
    return NULL;
}

void vc_mae_decoder_init(vc_mae_decoder *d, uint64_t seed) {
    const vc_config *c = &d->enc;
    const size_t W = (size_t)c->vision_width, D = (size_t)d->width, P3 = 3 * (size_t)c->patch_size * c->patch_size;
    vc_rng r = vc_rng_at(seed, VC_STREAM_INIT, 2, 0);
    vc_fill_const(d->p.embed.ln_w, W, 1);
    vc_fill_const(d->p.embed.ln_b, W, 0);
    vc_fill_normal(d->p.embed.lin_w, D * W, pow((double)W, -0.5), &r);
    vc_fill_const(d->p.embed.lin_b, D, 0);
    vc_fill_normal(d->p.mask_token, D, 0.02, &r);
    vc_fill_normal(d->p.pos_emb, (size_t)vc_config_video_tokens(c) * D, 0.02, &r);
    vc_blocks_init(d->p.blocks, d->depth, d->width, &r);
    vc_fill_const(d->p.head.ln_w, D, 1);
    vc_fill_const(d->p.head.ln_b, D, 0);
    vc_fill_normal(d->p.head.lin_w, P3 * D, pow((double)D, -0.5), &r);
    vc_fill_const(d->p.head.lin_b, P3, 0);
}

/* ---- one step ---- */

void vc_mae_work_free(vc_mae_work *w) {
    free(w->mem), free(w->ints), free(w->vis.blocks), free(w->blocks);
    memset(w, 0, sizeof *w);
}

static void work_layout(vc_mae_work *w, const vc_config *c, const vc_mae_decoder *d, vc_arena *a, int threads) {
    const size_t B = (size_t)w->B, K = (size_t)w->K, M = (size_t)w->M, N = K + M;
    const size_t W = (size_t)c->vision_width, D = (size_t)d->width, P3 = 3 * (size_t)c->patch_size * c->patch_size;
    vc_vision_plan(a, &w->vis, c, w->B, w->K, w->mode, 0, threads);
    w->enc_tok = vc_arena_take(a, B * K * W);
    vc_ln_head_plan(a, &w->embed, (int)(B * K), (int)W, (int)D, 1);
    w->dec_in = vc_arena_take(a, B * N * D);
    vc_block_dims dd = {w->B, (int)N, d->width, d->heads, 0};
    vc_blocks_plan(a, w->blocks, d->depth, dd, w->mode, 0, w->dec_in);
    vc_block_scratch_plan(a, &w->scratch, dd, w->mode, threads);
    w->hid = vc_arena_take(a, B * M * D);
    vc_ln_head_plan(a, &w->head, (int)(B * M), (int)D, (int)P3, 1);
    w->target = vc_arena_take(a, B * M * P3);
    w->d_pred = vc_arena_take(a, B * M * P3);
    w->d_hid = vc_arena_take(a, B * M * D);
    w->d_stream = vc_arena_take(a, B * N * D);
    w->d_vis_emb = vc_arena_take(a, B * K * D);
    w->d_enc_tok = vc_arena_take(a, B * K * W);
}

static int work_plan(vc_mae_work *w, const vc_config *c, const vc_mae_decoder *d, int B, int K, vc_acts_mode mode,
                     vc_error *err) {
    const int M = vc_config_video_tokens(c) - K;
    if (w->planned && w->B == B && w->K == K && w->mode == mode) return 0;
    vc_mae_work_free(w);
    w->B = B, w->K = K, w->M = M, w->mode = mode;
    w->vis.blocks = calloc((size_t)c->vision_layers, sizeof(vc_block_acts));
    w->blocks = calloc((size_t)d->depth, sizeof(vc_block_acts));
    w->ints = calloc((size_t)B * (2 * K + M), sizeof(int32_t));
    if (!w->vis.blocks || !w->blocks || !w->ints) goto oom;
    w->vis.keep = w->ints;
    w->keep = w->ints + (size_t)B * K;
    w->masked = w->keep + (size_t)B * K;
    const int threads = omp_get_max_threads();
    vc_arena count = {NULL, 0};
    work_layout(w, c, d, &count, threads);
    w->mem = vc_arena_alloc(&count);
    if (!w->mem) goto oom;
    vc_arena real = {w->mem, 0};
    work_layout(w, c, d, &real, threads);
    w->planned = 1;
    return 0;
oom:
    vc_mae_work_free(w);
    return vc_fail(err, "out of memory planning an MAE step (%d clips, %d visible tokens)", B, K);
}

static int check_masks(const vc_config *c, const int32_t *keep, const int32_t *masked, int B, int K, vc_error *err) {
    const int N = vc_config_video_tokens(c), M = N - K;
    if (K < 1 || M < 1) return vc_fail(err, "MAE: %d visible of %d tokens; both parts must be non-empty", K, N);
    for (int b = 0; b < B; b++) {
        /* a partition of 0..N-1: merging the two ascending lists must count 0, 1, 2, ... */
        int ik = 0, im = 0;
        for (int j = 0; j < N; j++) {
            if (ik < K && keep[(size_t)b * K + ik] == j) ik++;
            else if (im < M && masked[(size_t)b * M + im] == j) im++;
            else return vc_fail(err, "MAE mask of clip %d: token %d is neither visible nor hidden exactly once (the two lists must be ascending and partition 0..%d)", b, j, N - 1);
        }
    }
    return 0;
}

int vc_mae_step(vc_mae_work *w, vc_model *m, vc_mae_decoder *d, const vc_real *video,
                const int32_t *keep, const int32_t *masked, int B, int K, int backward,
                double grad_scale, double *loss, vc_error *err) {
    const vc_config *c = &m->cfg;
    if (d->enc.vision_width != c->vision_width || vc_config_video_tokens(&d->enc) != vc_config_video_tokens(c) ||
        d->enc.patch_size != c->patch_size)
        return vc_fail(err, "the MAE decoder was made for another video tower (width %d, %d tokens, patch %d)",
                       d->enc.vision_width, vc_config_video_tokens(&d->enc), d->enc.patch_size);
    if (check_masks(c, keep, masked, B, K, err) || work_plan(w, c, d, B, K, vc_model_training_acts(m), err)) return -1;
    if (backward && !m->grads) return vc_fail(err, "MAE backward: the model's gradients are not enabled");
    const int M = w->M, N = K + M, D = d->width;
    const int pp = c->patch_size * c->patch_size, P3 = 3 * pp;
    const size_t BK = (size_t)B * K, BM = (size_t)B * M;
    memcpy(w->keep, keep, BK * sizeof *keep);
    memcpy(w->masked, masked, BM * sizeof *masked);

    /* encoder on the visible tokens; its patch tokens (not the class token) go to the decoder */
    vc_vision_forward(c, &m->p.v, &w->vis, video, B, keep, NULL, 0, 0, 0);
    vc_vision_patch_tokens(c, &w->vis, w->enc_tok, B);
    vc_ln_head_forward(&d->p.embed, &w->embed, w->enc_tok, (int)BK);
    /* decoder input in token order: visible tokens' embeddings, the mask token elsewhere */
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        vc_real *x = w->dec_in + (size_t)b * N * D;
        for (int k = 0; k < K; k++)
            memcpy(x + (size_t)keep[(size_t)b * K + k] * D, w->embed.out + ((size_t)b * K + k) * D, (size_t)D * sizeof(vc_real));
        for (int i = 0; i < M; i++)
            memcpy(x + (size_t)masked[(size_t)b * M + i] * D, d->p.mask_token, (size_t)D * sizeof(vc_real));
        for (size_t i = 0; i < (size_t)N * D; i++) x[i] += d->p.pos_emb[i];
    }
    vc_block_dims dd = {B, N, D, d->heads, 0};
    const vc_real *inp = w->dec_in;
    for (int l = 0; l < d->depth; l++) {
        vc_block_forward(&d->p.blocks[l], &w->blocks[l], &w->scratch, inp, dd);
        inp = w->blocks[l].out;
    }
    for (int b = 0; b < B; b++)
        for (int i = 0; i < M; i++)
            memcpy(w->hid + ((size_t)b * M + i) * D, inp + ((size_t)b * N + masked[(size_t)b * M + i]) * D,
                   (size_t)D * sizeof(vc_real));
    vc_ln_head_forward(&d->p.head, &w->head, w->hid, (int)BM);
    vc_vision_gather_patches(c, w->target, video, masked, B, M);
    vc_patch_normalize(w->target, BM, pp);
    *loss = vc_mse_loss(w->head.out, w->target, BM * P3, backward ? w->d_pred : NULL);
    if (!backward) return 0;

    const vc_real s = (vc_real)grad_scale;
    for (size_t i = 0; i < BM * P3; i++) w->d_pred[i] *= s;
    vc_ln_head_backward(&d->p.head, &d->g.head, &w->head, w->hid, w->d_pred, w->d_hid, (int)BM);
    memset(w->d_stream, 0, (size_t)B * N * D * sizeof(vc_real));
    for (int b = 0; b < B; b++)
        for (int i = 0; i < M; i++)
            memcpy(w->d_stream + ((size_t)b * N + masked[(size_t)b * M + i]) * D, w->d_hid + ((size_t)b * M + i) * D,
                   (size_t)D * sizeof(vc_real));
    for (int l = d->depth - 1; l >= 0; l--)
        vc_block_backward(&d->p.blocks[l], &d->g.blocks[l], &w->blocks[l], &w->scratch,
                          l ? w->blocks[l - 1].out : w->dec_in, w->d_stream, dd);
    /* serial over clips so the sums into shared parameters are deterministic */
    for (int b = 0; b < B; b++) {
        const vc_real *dx = w->d_stream + (size_t)b * N * D;
        for (size_t i = 0; i < (size_t)N * D; i++) d->g.pos_emb[i] += dx[i];
        for (int i = 0; i < M; i++) {
            const vc_real *r = dx + (size_t)masked[(size_t)b * M + i] * D;
            for (int k = 0; k < D; k++) d->g.mask_token[k] += r[k];
        }
        for (int k = 0; k < K; k++)
            memcpy(w->d_vis_emb + ((size_t)b * K + k) * D, dx + (size_t)keep[(size_t)b * K + k] * D, (size_t)D * sizeof(vc_real));
    }
    vc_ln_head_backward(&d->p.embed, &d->g.embed, &w->embed, w->enc_tok, w->d_vis_emb, w->d_enc_tok, (int)BK);
    vc_vision_backward_patch_tokens(c, &m->p.v, &m->g.v, &w->vis, w->d_enc_tok, B);
    return 0;
}
