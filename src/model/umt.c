#include "model/umt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/rng.h"
#include "kernels/attention.h"

double vc_umt_align_loss(vc_umt_loss kind, const vc_real *s, const vc_real *t, int n, int E, vc_real *ds) {
    double total = 0;
    if (kind == VC_UMT_MSE) {
        const double count = (double)n * E;
        for (size_t i = 0; i < (size_t)n * E; i++) {
            const double e = (double)s[i] - t[i];
            total += e * e;
            if (ds) ds[i] = (vc_real)(2 * e / count);
        }
        return total / count;
    }
    for (int i = 0; i < n; i++) {
        const vc_real *a = s + (size_t)i * E, *b = t + (size_t)i * E;
        double ab = 0, aa = 0, bb = 0;
        for (int k = 0; k < E; k++) ab += (double)a[k] * b[k], aa += (double)a[k] * a[k], bb += (double)b[k] * b[k];
        /* eps as F.cosine_similarity: each norm clamped at 1e-8 */
        const double na = fmax(sqrt(aa), 1e-8), nb = fmax(sqrt(bb), 1e-8), cos = ab / (na * nb);
        total += 1 - cos;
        if (ds)
            for (int k = 0; k < E; k++) /* d(1 - cos)/da = -(b/(|a||b|) - cos a/|a|^2), over n rows */
                ds[(size_t)i * E + k] = (vc_real)(-(b[k] / (na * nb) - cos * a[k] / (na * na)) / n);
    }
    return total / n;
}

/* ---- teacher ---- */

void vc_umt_teacher_free(vc_umt_teacher *t) {
    if (!t) return;
    vc_model_free(t->frame_model);
    free(t->mem), free(t->acts.blocks);
    free(t);
}

vc_umt_teacher *vc_umt_teacher_new(const vc_model *teacher, int frames, vc_error *err) {
    vc_config fc = teacher->cfg;
    fc.num_frames = 1;
    vc_umt_teacher *t = calloc(1, sizeof *t);
    if (!t) {
        vc_fail(err, "out of memory for the UMT teacher");
        return NULL;
    }
    t->T = frames;
    if (!(t->frame_model = vc_model_new(&fc, err))) goto fail;
    const vc_param_table *ft = &t->frame_model->table;
    for (int i = 0; i < ft->count; i++) {
        const vc_param_info *dst = &ft->info[i], *src = vc_param_find(&teacher->table, dst->name);
        vc_real *out = t->frame_model->params + dst->offset;
        const vc_real *in = teacher->params + src->offset;
        if (src->numel == dst->numel) {
            memcpy(out, in, dst->numel * sizeof *out);
        } else { /* the temporal embedding [1, T, W] -> its mean over frames */
            const int W = teacher->cfg.vision_width, T = teacher->cfg.num_frames;
            for (int k = 0; k < W; k++) {
                double s = 0;
                for (int f = 0; f < T; f++) s += in[(size_t)f * W + k];
                out[k] = (vc_real)(s / T);
            }
        }
    }
    return t;
fail:
    vc_umt_teacher_free(t);
    return NULL;
}

static void teacher_layout(vc_umt_teacher *t, vc_arena *a, int B) {
    const vc_config *c = &t->frame_model->cfg;
    const size_t F = (size_t)B * t->T, P = (size_t)vc_config_patches(c), W = (size_t)c->vision_width;
    /* The last block's q/k and log-sum-exp give the class token's attention: the recompute plan
     * keeps them (its shared set holds the last block after the forward) at the memory of one
     * block plus each block's output, where a training plan would keep every block's. */
    vc_vision_plan(a, &t->acts, c, (int)F, (int)P, VC_ACTS_RECOMPUTE, 0, omp_get_max_threads());
    t->tokens = vc_arena_take(a, F * P * W);
    vc_ln_head_plan(a, &t->head, (int)(F * P), (int)W, c->embed_dim, 0);
    t->attention = vc_arena_take(a, F * P);
}

int vc_umt_teacher_forward(vc_umt_teacher *t, const vc_real *video, int B, vc_error *err) {
    const vc_config *c = &t->frame_model->cfg;
    if (t->planned_B != B) {
        free(t->mem), free(t->acts.blocks);
        t->mem = NULL, t->planned_B = 0;
        t->acts.blocks = calloc((size_t)c->vision_layers, sizeof(vc_block_acts));
        vc_arena count = {NULL, 0};
        teacher_layout(t, &count, B);
        t->mem = t->acts.blocks ? vc_arena_alloc(&count) : NULL;
        if (!t->mem) return vc_fail(err, "out of memory for the UMT teacher on %d clips of %d frames", B, t->T);
        vc_arena real = {t->mem, 0};
        teacher_layout(t, &real, B);
        t->planned_B = B;
    }
    const int F = B * t->T, P = vc_config_patches(c), W = c->vision_width, L = P + 1, H = c->vision_heads;
    /* [B, T, 3, H, W] is [B*T, 1, 3, H, W]: every frame a one-frame clip */
    vc_vision_forward(c, &t->frame_model->p.v, &t->acts, video, F, NULL, NULL, 0, 0, 0);
    vc_vision_patch_tokens(c, &t->acts, t->tokens, F);
    const vc_ln_head head = vc_vision_head(&t->frame_model->p.v);
    vc_ln_head_forward(&head, &t->head, t->tokens, F * P);
    /* the class token's attention in the last block, recomputed from its q/k and log-sum-exp */
    const vc_block_acts *last = &t->acts.blocks[c->vision_layers - 1];
    vc_real *probs = malloc((size_t)F * H * L * sizeof *probs); /* [F, H, L] */
    if (!probs) return vc_fail(err, "out of memory for the UMT teacher's attention on %d frames", F);
    vc_attention_query_probs(probs, last->qkv, last->lse, F, L, W, H, 0, 0);
    for (int f = 0; f < F; f++)
        for (int n = 0; n < P; n++) {
            double s = 0;
            for (int h = 0; h < H; h++) s += probs[((size_t)f * H + h) * L + 1 + n];
            t->attention[(size_t)f * P + n] = (vc_real)(s / H);
        }
    free(probs);
    return 0;
}

void vc_umt_select(int32_t *keep, const vc_real *attention, vc_umt_masking how, int B, int T, int P,
                   int keep_per_frame, uint64_t seed, uint64_t step) {
    const int K = keep_per_frame * T;
    for (int b = 0; b < B; b++) {
        vc_rng r = vc_rng_at(seed, VC_STREAM_MASK, step, (uint64_t)b);
        int32_t *kb = keep + (size_t)b * K;
        int nk = 0;
        for (int n = 0; n < P; n++)
            for (int t = 0; t < T; t++) {
                int kept;
                if (how == VC_UMT_RANDOM) {
                    kept = 0; /* decided below per frame */
                } else { /* rank of patch n in frame t: kept if fewer than keep_per_frame beat it */
                    const vc_real *a = attention + ((size_t)b * T + t) * P;
                    int better = 0;
                    for (int o = 0; o < P; o++) better += a[o] > a[n] || (a[o] == a[n] && o < n);
                    kept = better < keep_per_frame;
                }
                if (kept) kb[nk++] = n * T + t;
            }
        if (how == VC_UMT_RANDOM) {
            /* a uniform draw of keep_per_frame patches per frame, then sorted into token order */
            int total = 0;
            for (int t = 0; t < T; t++) {
                int got = 0;
                for (int n = 0; n < P && got < keep_per_frame; n++)
                    if (vc_rng_below(&r, (uint64_t)(P - n)) < (uint64_t)(keep_per_frame - got)) kb[total++] = n * T + t, got++;
            }
            for (int i = 1; i < total; i++) /* insertion sort: each frame's run is already ascending */
                for (int j = i; j > 0 && kb[j - 1] > kb[j]; j--) {
                    int32_t x = kb[j];
                    kb[j] = kb[j - 1], kb[j - 1] = x;
                }
        }
    }
}

/* ---- head ---- */

void vc_umt_head_free(vc_umt_head *h) {
    if (!h) return;
    vc_param_table_free(&h->table);
    free(h->params), free(h->grads);
    free(h);
}

vc_umt_head *vc_umt_head_new(int W, int E, vc_error *err) {
    vc_umt_head *h = calloc(1, sizeof *h);
    if (!h) goto oom;
    h->W = W, h->E = E;
    vc_table_builder b = {&h->table, 0, 0};
    vc_table_add(&b, VC_TOWER_VISION, 0, 1, (const int64_t[]){W}, "umt_head.norm.weight");
    vc_table_add(&b, VC_TOWER_VISION, 0, 1, (const int64_t[]){W}, "umt_head.norm.bias");
    vc_table_add(&b, VC_TOWER_VISION, 1, 2, (const int64_t[]){E, W}, "umt_head.proj.weight");
    vc_table_add(&b, VC_TOWER_VISION, 0, 1, (const int64_t[]){E}, "umt_head.proj.bias");
    if (b.failed) goto oom;
    h->params = calloc(h->table.total, sizeof(vc_real));
    h->grads = calloc(h->table.total, sizeof(vc_real));
    if (!h->params || !h->grads) goto oom;
    vc_real *v[4], *g[4];
    for (int i = 0; i < 4; i++) v[i] = h->params + h->table.info[i].offset, g[i] = h->grads + h->table.info[i].offset;
    h->p = (vc_ln_head){v[0], v[1], NULL, v[2], v[3]};
    h->g = (vc_ln_head){g[0], g[1], NULL, g[2], g[3]};
    return h;
oom:
    vc_umt_head_free(h);
    vc_fail(err, "out of memory allocating a UMT head %d -> %d", W, E);
    return NULL;
}

void vc_umt_head_init(vc_umt_head *h, uint64_t seed) {
    vc_rng r = vc_rng_at(seed, VC_STREAM_INIT, 3, 0);
    vc_fill_const(h->p.ln_w, (size_t)h->W, 1);
    vc_fill_const(h->p.ln_b, (size_t)h->W, 0);
    vc_fill_normal(h->p.lin_w, (size_t)h->E * h->W, pow((double)h->W, -0.5), &r);
    vc_fill_const(h->p.lin_b, (size_t)h->E, 0);
}

/* ---- one step ---- */

void vc_umt_work_free(vc_umt_work *w) {
    free(w->mem), free(w->keep), free(w->vis.blocks);
    memset(w, 0, sizeof *w);
}

static void work_layout(vc_umt_work *w, const vc_config *c, int E, vc_arena *a) {
    const size_t n = (size_t)w->B * w->K, W = (size_t)c->vision_width;
    vc_vision_plan(a, &w->vis, c, w->B, w->K, w->mode, 0, omp_get_max_threads());
    w->tok = vc_arena_take(a, n * W);
    vc_ln_head_plan(a, &w->head, (int)n, (int)W, E, 1);
    w->target = vc_arena_take(a, n * E);
    w->d_out = vc_arena_take(a, n * E);
    w->d_tok = vc_arena_take(a, n * W);
}

int vc_umt_step(vc_umt_work *w, vc_model *m, vc_umt_head *h, const vc_umt_teacher *t, const vc_real *video,
                const int32_t *keep, int B, int K, vc_umt_loss kind, int backward, double grad_scale,
                double *loss, vc_error *err) {
    const vc_config *c = &m->cfg, *tc = &t->frame_model->cfg;
    const int T = c->num_frames, P = vc_config_patches(c), W = c->vision_width, E = h->E;
    if (h->W != W || E != tc->embed_dim || t->T != T || vc_config_patches(tc) != P)
        return vc_fail(err, "UMT: the student (width %d, %d frames of %d patches), head (%d -> %d) and teacher (%d frames of %d patches, features %d) do not fit",
                       W, T, P, h->W, E, t->T, vc_config_patches(tc), tc->embed_dim);
    if (t->planned_B != B) return vc_fail(err, "UMT: the teacher ran on %d clips, the step has %d", t->planned_B, B);
    if (backward && !m->grads) return vc_fail(err, "UMT backward: the model's gradients are not enabled");
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++) {
            int32_t j = keep[(size_t)b * K + k];
            if (j < 0 || j >= P * T || (k && j <= keep[(size_t)b * K + k - 1]))
                return vc_fail(err, "UMT mask of clip %d: token %d at %d is out of range or not ascending", b, j, k);
        }
    if (!w->planned || w->B != B || w->K != K || w->mode != vc_model_training_acts(m)) {
        vc_umt_work_free(w);
        w->B = B, w->K = K, w->mode = vc_model_training_acts(m);
        w->keep = malloc((size_t)B * K * sizeof *w->keep);
        w->vis.blocks = calloc((size_t)c->vision_layers, sizeof(vc_block_acts));
        vc_arena count = {NULL, 0};
        work_layout(w, c, E, &count);
        w->mem = w->keep && w->vis.blocks ? vc_arena_alloc(&count) : NULL;
        if (!w->mem) {
            vc_umt_work_free(w);
            return vc_fail(err, "out of memory planning a UMT step (%d clips, %d visible tokens)", B, K);
        }
        w->vis.keep = w->keep;
        vc_arena real = {w->mem, 0};
        work_layout(w, c, E, &real);
        w->planned = 1;
    }
    const size_t n = (size_t)B * K;
    vc_vision_forward(c, &m->p.v, &w->vis, video, B, keep, NULL, 0, 0, 0);
    vc_vision_patch_tokens(c, &w->vis, w->tok, B);
    for (int b = 0; b < B; b++) {
        for (int k = 0; k < K; k++) { /* token n*T + f <-> the teacher's frame f, patch n */
            const int j = keep[(size_t)b * K + k], f = j % T, p = j / T;
            memcpy(w->target + ((size_t)b * K + k) * E, t->head.out + (((size_t)b * T + f) * P + p) * E, (size_t)E * sizeof(vc_real));
        }
    }
    vc_ln_head_forward(&h->p, &w->head, w->tok, (int)n);
    *loss = vc_umt_align_loss(kind, w->head.out, w->target, (int)n, E, backward ? w->d_out : NULL);
    if (!backward) return 0;
    const vc_real s = (vc_real)grad_scale;
    for (size_t i = 0; i < n * E; i++) w->d_out[i] *= s;
    vc_ln_head_backward(&h->p, &h->g, &w->head, w->tok, w->d_out, w->d_tok, (int)n);
    vc_vision_backward_patch_tokens(c, &m->p.v, &m->g.v, &w->vis, w->d_tok, B);
    return 0;
}
