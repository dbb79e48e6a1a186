/* Finite-difference checks of every op's backward against its forward (double precision). */
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "model/contrastive.h"
#include "testutil.h"

#define TOL 1e-6

/* Each op's scalar loss is sum(out * R) for a fixed random R, so d loss / d out = R. */
typedef struct {
    int N, IC, OC, C, B, L, H, causal;
    vc_real *x, *w, *b, *out, *R, *mean, *rstd, *lse, *scratch;
} op_ctx;

static double dot(const vc_real *a, const vc_real *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static double linear_loss(void *p) {
    op_ctx *c = p;
    vc_linear_forward(&vc_matmul_fp32, c->out, c->x, c->w, c->b, c->N, c->IC, c->OC);
    return dot(c->out, c->R, (size_t)c->N * c->OC);
}

TEST(linear_backward_matches_finite_differences) {
    op_ctx c = {.N = 5, .IC = 7, .OC = 6};
    vc_real x[35], w[42], b[6], out[30], R[30], dx[35] = {0}, dw[42] = {0}, db[6] = {0};
    c.x = x, c.w = w, c.b = b, c.out = out, c.R = R;
    vc_fill_random(x, 35, 1, 1), vc_fill_random(w, 42, 1, 2), vc_fill_random(b, 6, 1, 3), vc_fill_random(R, 30, 1, 4);
    vc_linear_backward(&vc_matmul_fp32, dx, dw, db, R, x, w, 5, 7, 6);
    CHECK(vc_gradcheck(x, 35, dx, linear_loss, &c, 100, 1, NULL, NULL) < TOL, "dx");
    CHECK(vc_gradcheck(w, 42, dw, linear_loss, &c, 100, 2, NULL, NULL) < TOL, "dw");
    CHECK(vc_gradcheck(b, 6, db, linear_loss, &c, 100, 3, NULL, NULL) < TOL, "db");
}

static double project_loss(void *p) {
    op_ctx *c = p;
    vc_project_forward(c->out, c->x, c->w, c->N, c->IC, c->OC);
    return dot(c->out, c->R, (size_t)c->N * c->OC);
}

TEST(projection_backward_matches_finite_differences) {
    op_ctx c = {.N = 4, .IC = 6, .OC = 3};
    vc_real x[24], w[18], out[12], R[12], dx[24] = {0}, dw[18] = {0};
    c.x = x, c.w = w, c.out = out, c.R = R;
    vc_fill_random(x, 24, 1, 5), vc_fill_random(w, 18, 1, 6), vc_fill_random(R, 12, 1, 7);
    vc_project_backward(dx, dw, R, x, w, 4, 6, 3);
    CHECK(vc_gradcheck(x, 24, dx, project_loss, &c, 100, 1, NULL, NULL) < TOL, "dx");
    CHECK(vc_gradcheck(w, 18, dw, project_loss, &c, 100, 2, NULL, NULL) < TOL, "dw");
}

static double ln_loss(void *p) {
    op_ctx *c = p;
    vc_layernorm_forward(c->out, c->mean, c->rstd, c->x, c->w, c->b, c->N, c->C);
    return dot(c->out, c->R, (size_t)c->N * c->C);
}

TEST(layernorm_backward_matches_finite_differences) {
    enum { N = 6, C = 37 }; /* C not a multiple of the 32-column reduction block */
    op_ctx c = {.N = N, .C = C};
    static vc_real x[N * C], w[C], b[C], out[N * C], R[N * C], mean[N], rstd[N];
    static vc_real dx[N * C], dw[C], db[C];
    c.x = x, c.w = w, c.b = b, c.out = out, c.R = R, c.mean = mean, c.rstd = rstd;
    vc_fill_random(x, N * C, 2, 8), vc_fill_random(w, C, 1, 9), vc_fill_random(b, C, 1, 10), vc_fill_random(R, N * C, 1, 11);
    for (int i = 0; i < N * C; i++) x[i] += 3; /* non-zero mean */
    ln_loss(&c);
    vc_layernorm_backward(dx, dw, db, R, x, w, mean, rstd, N, C);
    /* dx has entries ~1e-3 of its largest against a loss of ~10: eps 1e-5 keeps the loss's
     * roundoff (which depends on how LayerNorm orders its sums) well under TOL */
    CHECK(vc_gradcheck_eps(x, N * C, dx, ln_loss, &c, 300, 1, 1e-5, NULL, NULL) < TOL, "dx");
    CHECK(vc_gradcheck(w, C, dw, ln_loss, &c, 100, 2, NULL, NULL) < TOL, "dw");
    CHECK(vc_gradcheck(b, C, db, ln_loss, &c, 100, 3, NULL, NULL) < TOL, "db");
}

TEST(layernorm_forward_normalises_rows) {
    vc_real x[8] = {1, 2, 3, 4, 10, 10, 10, 14}, w[4] = {1, 1, 1, 1}, b[4] = {0}, out[8];
    vc_layernorm_forward(out, NULL, NULL, x, w, b, 2, 4);
    /* row 0: mean 2.5, var 1.25 -> (1-2.5)/sqrt(1.25+1e-5) */
    CHECK_CLOSE(out[0], -1.5 / sqrt(1.25 + 1e-5), 1e-12, 0);
    CHECK_CLOSE(out[7], 3.0 / sqrt(3.0 + 1e-5), 1e-12, 0);
}

static double gelu_loss(void *p) {
    op_ctx *c = p;
    vc_quickgelu_forward(c->out, c->x, (size_t)c->N);
    return dot(c->out, c->R, (size_t)c->N);
}

TEST(quickgelu_matches_definition_and_gradient) {
    op_ctx c = {.N = 50};
    vc_real x[50], out[50], R[50], dx[50] = {0};
    c.x = x, c.out = out, c.R = R;
    vc_fill_random(x, 50, 3, 12), vc_fill_random(R, 50, 1, 13);
    gelu_loss(&c);
    CHECK_CLOSE(out[3], x[3] / (1 + exp(-1.702 * x[3])), 1e-14, 0);
    vc_quickgelu_backward(dx, x, R, 50);
    CHECK(vc_gradcheck(x, 50, dx, gelu_loss, &c, 100, 1, NULL, NULL) < TOL, "dx");
}

static double attn_loss(void *p) {
    op_ctx *c = p;
    vc_attention_forward(VC_FP32, c->out, c->lse, c->scratch, c->x, c->B, c->L, c->C, c->H, c->causal);
    return dot(c->out, c->R, (size_t)c->B * c->L * c->C);
}

/* L above VC_ATTN_QBLOCK makes the forward and backward cross query blocks. */
static void attention_case(int L, int causal, int *vc_t_failed, char *vc_t_why, size_t vc_t_whylen) {
    enum { B = 2, C = 8, H = 2, LMAX = VC_ATTN_QBLOCK + 6 };
    op_ctx c = {.B = B, .L = L, .C = C, .H = H, .causal = causal};
    static vc_real qkv[B * LMAX * 3 * C], out[B * LMAX * C], R[B * LMAX * C], lse[B * H * LMAX];
    static vc_real scratch[2 * 64 * VC_ATTN_QBLOCK * LMAX], dqkv[B * LMAX * 3 * C];
    memset(dqkv, 0, sizeof dqkv);
    c.x = qkv, c.out = out, c.R = R, c.lse = lse, c.scratch = scratch;
    vc_fill_random(qkv, B * L * 3 * C, 1, 14 + causal), vc_fill_random(R, B * L * C, 1, 15);
    attn_loss(&c);
    /* a direct evaluation of outputs of sample 1, head 1: query 2 and the last query */
    for (int qi = 0; qi < 2; qi++) {
        int b = 1, h = 1, i = qi ? L - 1 : 2, hd = C / H;
        double s[LMAX], mx = -1e300, z = 0;
        for (int j = 0; j < L; j++) {
            double d = 0;
            for (int k = 0; k < hd; k++)
                d += qkv[(b * L + i) * 3 * C + h * hd + k] * qkv[(b * L + j) * 3 * C + C + h * hd + k];
            s[j] = (causal && j > i) ? -INFINITY : d / sqrt((double)hd);
            mx = fmax(mx, s[j]);
        }
        for (int j = 0; j < L; j++) z += exp(s[j] - mx);
        double o = 0;
        for (int j = 0; j < L; j++) o += exp(s[j] - mx) / z * qkv[(b * L + j) * 3 * C + 2 * C + h * hd + 1];
        CHECK_CLOSE(out[(b * L + i) * C + h * hd + 1], o, 1e-12, 0);
        CHECK_CLOSE(lse[(b * H + h) * L + i], mx + log(z), 1e-12, 0);
    }
    vc_attention_backward(dqkv, scratch, R, qkv, out, lse, B, L, C, H, causal);
    double num = 0, ana = 0;
    double e = vc_gradcheck(qkv, B * L * 3 * C, dqkv, attn_loss, &c, 1000, 1, &num, &ana);
    /* The blocked cases' loss sums 1,120 outputs: central differences then carry ~1e-9 of
     * round-off, a few 1e-6 of the 1e-3 * max|grad| floor; an indexing slip would give O(1). */
    const double tol = L > VC_ATTN_QBLOCK ? 2e-5 : TOL;
    CHECK(e < tol, "dqkv error %g (numeric %.12g, analytic %.12g)", e, num, ana);
}

/* The pooled attention (one query per sequence at rows[b], keys and values packed [B, L, 2C]):
 * against the full kernel's output at that row, and its backward against finite differences. */
typedef struct {
    int B, L, C, H, causal;
    const int32_t *rows;
    vc_real *q, *kv, *out, *lse, *R, *scratch;
} pooled_ctx;

static double pooled_loss(void *p) {
    pooled_ctx *c = p;
    vc_attention_pooled_forward(c->out, c->lse, c->scratch, c->q, c->kv, c->rows, c->B, c->L, c->C, c->H, c->causal);
    return dot(c->out, c->R, (size_t)c->B * c->C);
}

static void pooled_attention_case(int causal, int *vc_t_failed, char *vc_t_why, size_t vc_t_whylen) {
    enum { B = 3, L = 7, C = 8, H = 2 };
    const int32_t rows[B] = {0, 4, 6};
    static vc_real qkv[B * L * 3 * C], full[B * L * C], full_lse[B * H * L], q[B * C], kv[B * L * 2 * C];
    static vc_real out[B * C], lse[B * H], R[B * C], dq[B * C], dkv[B * L * 2 * C];
    static vc_real scratch[4 * 2 * VC_ATTN_QBLOCK * L];
    vc_fill_random(qkv, sizeof qkv / sizeof *qkv, 1, 40 + causal), vc_fill_random(R, B * C, 1, 42);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < L; j++) {
            const vc_real *src = qkv + ((size_t)b * L + j) * 3 * C;
            memcpy(kv + ((size_t)b * L + j) * 2 * C, src + C, 2 * C * sizeof(vc_real));
            if (j == rows[b]) memcpy(q + (size_t)b * C, src, C * sizeof(vc_real));
        }
    vc_attention_forward(VC_FP32, full, full_lse, scratch, qkv, B, L, C, H, causal);
    pooled_ctx c = {B, L, C, H, causal, rows, q, kv, out, lse, R, scratch};
    pooled_loss(&c);
    for (int b = 0; b < B; b++) {
        for (int k = 0; k < C; k++) CHECK_CLOSE(out[b * C + k], full[((size_t)b * L + rows[b]) * C + k], 1e-12, 0);
        for (int h = 0; h < H; h++) CHECK_CLOSE(lse[b * H + h], full_lse[((size_t)b * H + h) * L + rows[b]], 1e-12, 0);
    }
    memset(dq, 0, sizeof dq), memset(dkv, 0, sizeof dkv);
    vc_attention_pooled_backward(dq, dkv, scratch, R, q, kv, out, lse, rows, B, L, C, H, causal);
    double num = 0, ana = 0;
    double e = vc_gradcheck(q, B * C, dq, pooled_loss, &c, 100, 1, &num, &ana);
    CHECK(e < TOL, "dq error %g (numeric %.12g, analytic %.12g)", e, num, ana);
    e = vc_gradcheck(kv, B * L * 2 * C, dkv, pooled_loss, &c, 400, 2, &num, &ana);
    CHECK(e < TOL, "dkv error %g (numeric %.12g, analytic %.12g)", e, num, ana);
    if (causal) /* keys after the query get no gradient */
        CHECK(dkv[((size_t)1 * L + 5) * 2 * C] == 0 && dkv[((size_t)1 * L + 6) * 2 * C + C] == 0, "causal leak");
}

TEST(pooled_attention_backward_matches_finite_differences) {
    pooled_attention_case(0, vc_t_failed, vc_t_why, vc_t_whylen);
}
TEST(causal_pooled_attention_backward_matches_finite_differences) {
    pooled_attention_case(1, vc_t_failed, vc_t_why, vc_t_whylen);
}

TEST(attention_backward_matches_finite_differences) { attention_case(5, 0, vc_t_failed, vc_t_why, vc_t_whylen); }
TEST(causal_attention_backward_matches_finite_differences) { attention_case(5, 1, vc_t_failed, vc_t_why, vc_t_whylen); }
TEST(blocked_attention_backward_matches_finite_differences) {
    attention_case(VC_ATTN_QBLOCK + 6, 0, vc_t_failed, vc_t_why, vc_t_whylen);
}
TEST(blocked_causal_attention_backward_matches_finite_differences) {
    attention_case(VC_ATTN_QBLOCK + 6, 1, vc_t_failed, vc_t_why, vc_t_whylen);
}

typedef struct {
    int B, E;
    vc_real *v, *t, temp;
    const int32_t *ids;
    vc_real *scratch;
} loss_ctx;

static double contrastive(void *p) {
    loss_ctx *c = p;
    return vc_contrastive_loss(c->v, c->t, c->ids, c->B, c->E, c->temp, NULL, NULL, NULL, c->scratch);
}

static double temp_loss(void *p) { return contrastive(p); }

static void contrastive_case(const int32_t *ids, int *vc_t_failed, char *vc_t_why, size_t vc_t_whylen) {
    enum { B = 4, E = 5 };
    vc_real v[B * E], t[B * E], dv[B * E], dt[B * E], dtemp, scratch[200];
    vc_fill_random(v, B * E, 1, 20), vc_fill_random(t, B * E, 1, 21);
    loss_ctx c = {B, E, v, t, 0.3, ids, scratch};
    double loss = vc_contrastive_loss(v, t, ids, B, E, c.temp, dv, dt, &dtemp, scratch);
    CHECK(loss > 0, "loss %g", loss);
    CHECK(vc_gradcheck(v, B * E, dv, contrastive, &c, 100, 1, NULL, NULL) < TOL, "dv");
    CHECK(vc_gradcheck(t, B * E, dt, contrastive, &c, 100, 2, NULL, NULL) < TOL, "dt");
    CHECK(vc_gradcheck(&c.temp, 1, &dtemp, temp_loss, &c, 1, 3, NULL, NULL) < TOL, "dtemp");
}

TEST(contrastive_loss_gradients_diagonal_targets) { contrastive_case(NULL, vc_t_failed, vc_t_why, vc_t_whylen); }
TEST(contrastive_loss_gradients_shared_ids) {
    static const int32_t ids[4] = {7, 3, 7, 1};
    contrastive_case(ids, vc_t_failed, vc_t_why, vc_t_whylen);
}

TEST(contrastive_loss_known_value) {
    /* Two orthogonal pairs perfectly aligned: S = I / temp, loss = log(1 + e^{-1/temp}). */
    vc_real v[4] = {1, 0, 0, 2}, t[4] = {3, 0, 0, 1}, scratch[64];
    double loss = vc_contrastive_loss(v, t, NULL, 2, 2, 0.5, NULL, NULL, NULL, scratch);
    CHECK_CLOSE(loss, log(1 + exp(-2.0)), 1e-12, 0);
}

/* One rank's share of the loss in open_clip's local-loss mode: its R rows (global rows
 * offset..offset+R-1) of video against all N texts and of text against all N videos. */
typedef struct {
    int R, N, E, offset;
    vc_real *vn, *tn, temp;     /* all N normalised rows */
    const int32_t *ids;
    vc_real S[64], P[64];
} block_ctx;

static double block_loss(void *p) {
    block_ctx *c = p;
    const int32_t *row_ids = c->ids ? c->ids + c->offset : NULL;
    double loss = 0;
    for (int side = 0; side < 2; side++) {
        const vc_real *rows = (side ? c->tn : c->vn) + (size_t)c->offset * c->E, *cols = side ? c->vn : c->tn;
        vc_logits_forward(c->S, rows, cols, c->R, c->N, c->E, c->temp);
        loss += vc_infonce_rows_forward(c->P, c->S, c->R, c->N, row_ids, c->ids, c->offset);
    }
    return loss / (2.0 * c->N);
}

/* Gradients of block_loss w.r.t. vn, tn (all rows) and temp. */
static void block_grads(block_ctx *c, vc_real *dvn, vc_real *dtn, vc_real *dtemp) {
    const int32_t *row_ids = c->ids ? c->ids + c->offset : NULL;
    memset(dvn, 0, sizeof(vc_real) * c->N * c->E), memset(dtn, 0, sizeof(vc_real) * c->N * c->E);
    double dt = 0;
    for (int side = 0; side < 2; side++) {
        const size_t off = (size_t)c->offset * c->E;
        vc_real *rows = side ? c->tn : c->vn, *cols = side ? c->vn : c->tn;
        vc_real *drows = side ? dtn : dvn, *dcols = side ? dvn : dtn;
        vc_logits_forward(c->S, rows + off, cols, c->R, c->N, c->E, c->temp);
        vc_infonce_rows_forward(c->P, c->S, c->R, c->N, row_ids, c->ids, c->offset);
        vc_infonce_rows_backward(c->P, c->P, c->R, c->N, row_ids, c->ids, c->offset, 1.0 / (2.0 * c->N));
        dt += vc_logits_backward(drows + off, dcols, c->P, c->S, rows + off, cols, c->R, c->N, c->E, c->temp);
    }
    *dtemp = (vc_real)dt;
}

static double block_temp_loss(void *p) { return block_loss(p); }

static void local_loss_case(const int32_t *ids, int *vc_t_failed, char *vc_t_why, size_t vc_t_whylen) {
    enum { N = 4, E = 5, R = 2 };
    vc_real v[N * E], t[N * E], vnorm[N], tnorm[N], scratch[200];
    vc_fill_random(v, N * E, 1, 30), vc_fill_random(t, N * E, 1, 31);
    const double full = vc_contrastive_loss(v, t, ids, N, E, 0.3, NULL, NULL, NULL, scratch);
    vc_l2norm_forward(v, vnorm, v, N, E), vc_l2norm_forward(t, tnorm, t, N, E);
    double sum = 0;
    for (int rank = 0; rank < N / R; rank++) {
        block_ctx c = {.R = R, .N = N, .E = E, .offset = rank * R, .vn = v, .tn = t, .temp = 0.3, .ids = ids};
        sum += block_loss(&c);
        vc_real dvn[N * E], dtn[N * E], dtemp;
        block_grads(&c, dvn, dtn, &dtemp);
        CHECK(vc_gradcheck(v, N * E, dvn, block_loss, &c, 100, 4, NULL, NULL) < TOL, "rank %d dvn", rank);
        CHECK(vc_gradcheck(t, N * E, dtn, block_loss, &c, 100, 5, NULL, NULL) < TOL, "rank %d dtn", rank);
        CHECK(vc_gradcheck(&c.temp, 1, &dtemp, block_temp_loss, &c, 1, 6, NULL, NULL) < TOL, "rank %d dtemp", rank);
    }
    CHECK_CLOSE(sum, full, 1e-12, 0);
}

TEST(local_loss_blocks_sum_to_the_full_loss_with_correct_gradients) { local_loss_case(NULL, vc_t_failed, vc_t_why, vc_t_whylen); }
TEST(local_loss_blocks_with_shared_ids) {
    static const int32_t ids[4] = {7, 3, 7, 1};
    local_loss_case(ids, vc_t_failed, vc_t_why, vc_t_whylen);
}

TEST_MAIN("grad_ops", T(linear_backward_matches_finite_differences),
          T(projection_backward_matches_finite_differences),
          T(layernorm_backward_matches_finite_differences), T(layernorm_forward_normalises_rows),
          T(quickgelu_matches_definition_and_gradient),
          T(attention_backward_matches_finite_differences),
          T(pooled_attention_backward_matches_finite_differences),
          T(causal_pooled_attention_backward_matches_finite_differences),
          T(causal_attention_backward_matches_finite_differences),
          T(blocked_attention_backward_matches_finite_differences),
          T(blocked_causal_attention_backward_matches_finite_differences),
          T(contrastive_loss_gradients_diagonal_targets), T(contrastive_loss_gradients_shared_ids),
          T(contrastive_loss_known_value),
          T(local_loss_blocks_sum_to_the_full_loss_with_correct_gradients), T(local_loss_blocks_with_shared_ids))
