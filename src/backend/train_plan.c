#include "backend/train_plan.h"

#include <stdlib.h>
#include <string.h>

typedef struct carver {
    char *base;
    size_t off;
} carver;

static void *take(carver *cv, size_t bytes) {
    void *p = cv->base ? cv->base + cv->off : NULL;
    cv->off += (bytes + 255) / 256 * 256;
    return p;
}

#define TAKE_F(cv, n) ((float *)take(cv, (size_t)(n) * sizeof(float)))

static size_t max2(size_t a, size_t b) { return a > b ? a : b; }

static void tower(carver *cv, vc_dev_tower *t, int B, int L, int W, int H, int layers, int E, int video) {
    vc_dev_block *blocks = t->blocks;
    memset(t, 0, sizeof *t);
    t->blocks = blocks;
    t->B = B, t->L = L, t->W = W, t->H = H, t->layers = layers;
    const size_t N = (size_t)B * L;
    t->embed = TAKE_F(cv, N * W);
    t->x = video ? TAKE_F(cv, N * W) : t->embed;
    t->x_mean = video ? TAKE_F(cv, N) : NULL;
    t->x_rstd = video ? TAKE_F(cv, N) : NULL;
    for (int l = 0; l < layers; l++) {
        vc_dev_block *b = &blocks[l];
        b->ln1 = TAKE_F(cv, N * W);
        b->ln1_mean = TAKE_F(cv, N);
        b->ln1_rstd = TAKE_F(cv, N);
        b->qkv = TAKE_F(cv, N * 3 * W);
        b->lse = TAKE_F(cv, (size_t)B * H * L);
        b->attn = TAKE_F(cv, N * W);
        b->res1 = TAKE_F(cv, N * W);
        b->ln2 = TAKE_F(cv, N * W);
        b->ln2_mean = TAKE_F(cv, N);
        b->ln2_rstd = TAKE_F(cv, N);
        b->fc = TAKE_F(cv, N * 4 * W);
        b->gelu = TAKE_F(cv, N * 4 * W);
        b->out = TAKE_F(cv, N * W);
    }
    t->pooled = TAKE_F(cv, (size_t)B * W);
    t->pooled_ln = TAKE_F(cv, (size_t)B * W);
    t->pooled_mean = TAKE_F(cv, B);
    t->pooled_rstd = TAKE_F(cv, B);
    t->emb = TAKE_F(cv, (size_t)B * E);
    t->d_stream = TAKE_F(cv, N * W);
    t->d_embed = video ? TAKE_F(cv, N * W) : NULL;
    t->d_pooled = TAKE_F(cv, (size_t)B * W);
    t->d_pooled_in = TAKE_F(cv, (size_t)B * W);
    t->drop = video ? TAKE_F(cv, (size_t)layers * 2 * B) : NULL;
}

size_t vc_dev_train_layout(vc_dev_train_plan *pl, char *base, const vc_config *c, int B, int K, int n_tensors) {
    carver cv = {base, 0};
    const int Lv = K + 1, ctx = c->context_length, E = c->embed_dim, Wv = c->vision_width, Wt = c->text_width;
    const size_t P3 = 3 * (size_t)c->patch_size * c->patch_size;
    pl->B = B, pl->K = K, pl->ctx = ctx, pl->E = E;
    tower(&cv, &pl->vis, B, Lv, Wv, c->vision_heads, c->vision_layers, E, 1);
    tower(&cv, &pl->txt, B, ctx, Wt, c->text_heads, c->text_layers, E, 0);
    const size_t Nv = (size_t)B * Lv, Nt = (size_t)B * ctx;
    const size_t NW = max2(Nv * Wv, Nt * Wt);
    pl->patches = TAKE_F(&cv, (size_t)B * K * P3);
    pl->tok = TAKE_F(&cv, (size_t)B * K * Wv);
    pl->d_tok = TAKE_F(&cv, (size_t)B * K * Wv);
    pl->branch = TAKE_F(&cv, NW);
    pl->d_ln = TAKE_F(&cv, NW);
    pl->d_attn = TAKE_F(&cv, NW);
    pl->d_qkv = TAKE_F(&cv, 3 * NW);
    pl->d_hidden = TAKE_F(&cv, 4 * NW);
    pl->d_fc = TAKE_F(&cv, 4 * NW);
    pl->attn_D = TAKE_F(&cv, max2((size_t)B * c->vision_heads * Lv, (size_t)B * c->text_heads * ctx));
    pl->operand_elems = max2(4 * NW, (size_t)B * K * max2(P3, (size_t)Wv));
    pl->a16 = take(&cv, pl->operand_elems * sizeof(uint16_t));
    pl->b16 = take(&cv, pl->operand_elems * sizeof(uint16_t));
    pl->dv = TAKE_F(&cv, (size_t)B * E);
    pl->dt = TAKE_F(&cv, (size_t)B * E);
    pl->vn = TAKE_F(&cv, (size_t)B * E);
    pl->tn = TAKE_F(&cv, (size_t)B * E);
    pl->vnorm = TAKE_F(&cv, B);
    pl->tnorm = TAKE_F(&cv, B);
    pl->S = TAKE_F(&cv, 2 * (size_t)B * B);
    pl->dS = TAKE_F(&cv, 2 * (size_t)B * B);
    pl->row_loss = take(&cv, 2 * (size_t)B * sizeof(double));
    pl->temp_sums = take(&cv, 2 * sizeof(double));
    pl->ids = take(&cv, (size_t)B * sizeof(int32_t));
    const size_t widest = 4 * (size_t)(Wv > Wt ? Wv : Wt);
    pl->partial_elems = max2(2 * VC_DEV_COLSUM_CHUNKS * max2(widest, P3), 2 * (size_t)VC_DEV_NORM_BLOCKS * n_tensors);
    pl->partials = take(&cv, pl->partial_elems * sizeof(double));
    pl->keep = take(&cv, (size_t)B * K * sizeof(int32_t));
    pl->tokens = take(&cv, (size_t)B * ctx * sizeof(int32_t));
    pl->eot = take(&cv, (size_t)B * sizeof(int32_t));
    /* five lists: at most one segment and one entry per source row, plus the starts */
    const size_t rows = 1 + (size_t)vc_config_patches(c) + c->num_frames + 2 * (size_t)ctx + Nt;
    pl->csr_ints = 2 * (Nv + (size_t)B * K + (size_t)B + 2 * Nt) + 2 * rows + 5;
    pl->csr = take(&cv, pl->csr_ints * sizeof(int32_t));
    return cv.off;
}

/* A list of R segments (destination rows 0..R-1) from n sources visited in order, source i going
 * to row key(i): a stable counting sort, so each row adds its sources in the visiting order. */
typedef struct visit {
    const vc_config *c;
    int B, K, L;
    const int32_t *keep;
    int what; /* 0: position embedding (class token, then patch n -> row 1 + n); 1: temporal */
} visit;

/* The step's sources of a video list in the CPU's order: clip by clip, the class token, then
 * the kept tokens; key -1: the source does not add to this list. */
static int video_key(const visit *v, int b, int l) {
    if (l == 0) return v->what == 0 ? 0 : -1;
    const int T = v->c->num_frames, k = l - 1;
    const int j = v->keep ? v->keep[(size_t)b * v->K + k] : k;
    return v->what == 0 ? 1 + j / T : j % T;
}

static vc_row_lists video_list(int32_t *ints, size_t *used, const visit *v, int R) {
    vc_row_lists l = {R, ints + *used, NULL, NULL};
    l.start = l.dst_row + R;
    l.src = l.start + R + 1;
    memset(l.start, 0, (size_t)(R + 1) * sizeof(int32_t));
    for (int b = 0; b < v->B; b++)
        for (int i = 0; i < v->L; i++) {
            const int r = video_key(v, b, i);
            if (r >= 0) l.start[r + 1]++;
        }
    for (int r = 0; r < R; r++) l.start[r + 1] += l.start[r], l.dst_row[r] = l.start[r]; /* dst_row: cursor */
    for (int b = 0; b < v->B; b++)
        for (int i = 0; i < v->L; i++) {
            const int r = video_key(v, b, i);
            if (r >= 0) l.src[l.dst_row[r]++] = b * v->L + i;
        }
    for (int r = 0; r < R; r++) l.dst_row[r] = r;
    *used += (size_t)(2 * R + 1) + (size_t)l.start[R];
    return l;
}

static int cmp_i64(const void *a, const void *b) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

size_t vc_dev_row_lists(vc_row_lists lists[5], int32_t *ints, const vc_config *c, int B, int K, const int32_t *keep,
                        const int32_t *tokens, int Lt) {
    size_t used = 0;
    const int L = K + 1, ctx = c->context_length, Nt = B * Lt;
    /* class embedding: row 0 of every clip */
    vc_row_lists *l = &lists[0];
    *l = (vc_row_lists){1, ints, ints + 1, ints + 3};
    l->dst_row[0] = 0, l->start[0] = 0, l->start[1] = B;
    for (int b = 0; b < B; b++) l->src[b] = b * L;
    used = 3 + (size_t)B;
    const visit pos = {c, B, K, L, keep, 0}, tem = {c, B, K, L, keep, 1};
    lists[1] = video_list(ints, &used, &pos, 1 + vc_config_patches(c));
    lists[2] = video_list(ints, &used, &tem, c->num_frames);
    /* text token embedding: one segment per distinct id, its positions in order (sorted pairs) */
    l = &lists[3];
    int64_t *pairs = malloc((size_t)(Nt ? Nt : 1) * sizeof *pairs);
    if (!pairs) return 0;
    for (int i = 0; i < Nt; i++) pairs[i] = (int64_t)tokens[(size_t)(i / Lt) * ctx + i % Lt] << 32 | i;
    qsort(pairs, (size_t)Nt, sizeof *pairs, cmp_i64);
    int n_seg = 0;
    for (int i = 0; i < Nt; i++) n_seg += !i || pairs[i] >> 32 != pairs[i - 1] >> 32;
    *l = (vc_row_lists){n_seg, ints + used, NULL, NULL};
    l->start = l->dst_row + n_seg;
    l->src = l->start + n_seg + 1;
    for (int i = 0, s = -1; i < Nt; i++) {
        if (!i || pairs[i] >> 32 != pairs[i - 1] >> 32) l->dst_row[++s] = (int32_t)(pairs[i] >> 32), l->start[s] = i;
        l->src[i] = (int32_t)(pairs[i] & 0xffffffff);
    }
    l->start[n_seg] = Nt;
    free(pairs);
    used += (size_t)(2 * n_seg + 1) + (size_t)Nt;
    /* text position embedding: row i from position i of every caption */
    l = &lists[4];
    *l = (vc_row_lists){Lt, ints + used, NULL, NULL};
    l->start = l->dst_row + Lt;
    l->src = l->start + Lt + 1;
    for (int i = 0; i < Lt; i++) {
        l->dst_row[i] = i, l->start[i] = i * B;
        for (int b = 0; b < B; b++) l->src[i * B + b] = b * Lt + i;
    }
    l->start[Lt] = Nt;
    used += (size_t)(2 * Lt + 1) + (size_t)Nt;
    return used;
}
