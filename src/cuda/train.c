/* Training on the CUDA device: the CPU's training step (model/model.c's
 * vc_model_forward_backward, train/optimizer.c's vc_grad_norm and vc_adamw_step) op for op on the
 * device's copies of the parameters, gradients and AdamW moments, all in the CPU's parameter
 * layout. The activations are those the CPU keeps (backend/train_plan.h lays them out); the
 * matrix products run in cuBLAS (fp32 without TF32, or bf16 operands with fp32 accumulation,
 * as vc_gemm_p); attention is the exact fp32 kernel forward and backward, as the CPU's training
 * attention is fp32; the contrastive loss runs on the device too, so the host waits once per
 * step, at its end (VICLIP_CUDA_LOSS=host runs the CPU's own vc_contrastive_loss instead, the
 * embeddings coming back and their gradients going out). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/train_plan.h"
#include "core/rng.h"
#include "cuda/internal.h"
#include "cuda/kernels.h"
#include "cuda/train_kernels.h"
#include "kernels/layernorm.h"
#include "model/model.h"
#include "train/optimizer.h"

typedef struct cuda_train {
    float *grads, *m, *v;            /* device, [n_params] each */
    vc_params_view gv;               /* bound over grads */
    /* the step's workspace (backend/train_plan.h), planned for B clips of K kept tokens */
    void *ws;
    size_t ws_bytes;
    vc_dev_train_plan pl;
    int B, K;
    /* host buffers: the embeddings and their gradients, the loss's scratch, drop-path scales,
     * the embedding scatter lists, the optimizer's tensor table and the reductions' partials */
    float *h_emb, *h_demb, *h_scratch, *h_drop;
    float *h_patches;                /* the kept patches, gathered on the host (pinned when possible) */
    int patches_pinned;
    int32_t *h_csr, *h_eot;
    vc_row_lists lists[5];
    vc_cu_tensor *h_table, *d_table;
    int table_cap;
    double *h_partials;
    float h_temp;
    double *h_row_loss;              /* [2B] each row's loss term, copied back at the end of a step */
    int host_loss;                   /* VICLIP_CUDA_LOSS=host: the loss on the host (the CPU's code) */
    int tc_attention;                /* VICLIP_CUDA_ATTENTION=tc: tensor-core attention in bf16 training */
    int debug_sync;                  /* VICLIP_CUDA_SYNC=1: wait after each stage, naming the one that fails */
} cuda_train;

typedef struct step {
    cuda_device *g;
    cuda_train *t;
    vc_precision prec;
    vc_error *err;
} step;

/* ---- GEMMs ---- */

/* The bf16 operand of a product: a parameter's slice of the bf16 copy, or the fp32 activation
 * [rows x cols] (contiguous) rounded into the scratch `into`. */
static int is_param(const cuda_device *g, const float *x) { return x >= g->params && x < g->params + g->n_params; }

static const uint16_t *operand16(step *s, const float *x, size_t elems, uint16_t *into) {
    cuda_device *g = s->g;
    if (is_param(g, x)) return g->params16 + (x - g->params);
    vc_cu_to_bf16(into, x, elems, g->stream);
    return into;
}

/* vc_gemm_p on the device: C[M,N] = alpha op(A) op(B) + beta C, row-major. In cuBLAS's
 * column-major terms that is C^T = op(B)^T op(A)^T: the operands swap and keep their flags.
 * bf16 needs the activations contiguous (lda, ldb their row lengths), as the linear layers'. */
static int gemm(step *s, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                int ldb, float beta, float *C, int ldc) {
    vc_error *err = s->err;
    cuda_device *g = s->g;
    const cublasOperation_t opA = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opB = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (s->prec != VC_BF16) {
        BLAS(cublasGemmEx(g->blas, opB, opA, N, M, K, &alpha, B, CUDA_R_32F, ldb, A, CUDA_R_32F, lda, &beta, C,
                          CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_GEMM_DEFAULT),
             "fp32 GEMM");
        return 0;
    }
    if (lda != (ta ? M : K) || ldb != (tb ? K : N))
        return vc_fail(err, "CUDA bf16 GEMM: strided operands (lda %d, ldb %d) are not supported", lda, ldb);
    const size_t na = (size_t)M * K, nb = (size_t)K * N, cap = s->t->pl.operand_elems;
    /* Only activations are converted into the planned scratch; a weight is a slice of the bf16
     * copy and may be larger than it (fc_w is 4 W^2, over 4 N W whenever W > B L). */
    if ((!is_param(g, A) && na > cap) || (!is_param(g, B) && nb > cap))
        return vc_fail(err, "CUDA bf16 GEMM: operands of %zu and %zu values exceed the planned %zu", na, nb,
                       s->t->pl.operand_elems);
    const uint16_t *A16 = operand16(s, A, na, s->t->pl.a16), *B16 = operand16(s, B, nb, s->t->pl.b16);
    BLAS(cublasGemmEx(g->blas, opB, opA, N, M, K, &alpha, B16, CUDA_R_16BF, ldb, A16, CUDA_R_16BF, lda, &beta, C,
                      CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
         "bf16 GEMM");
    return 0;
}

/* vc_linear_forward: out[N, OC] = inp[N, IC] @ W[OC, IC]^T (+ b broadcast first, beta 1). */
static int linear_forward(step *s, float *out, const float *inp, const float *W, const float *b, int N, int IC,
                          int OC) {
    if (b) vc_cu_broadcast_rows(out, b, N, OC, s->g->stream);
    return gemm(s, 0, 1, N, OC, IC, 1, inp, IC, W, IC, b ? 1.0f : 0.0f, out, OC);
}

/* vc_linear_backward: dinp += dout @ W, dW += dout^T @ inp, db += colsum(dout) (NULL: skipped). */
static int linear_backward(step *s, float *dinp, float *dW, float *db, const float *dout, const float *inp,
                           const float *W, int N, int IC, int OC) {
    if (dinp && gemm(s, 0, 0, N, IC, OC, 1, dout, OC, W, IC, 1, dinp, IC)) return -1;
    if (dW && gemm(s, 1, 0, OC, IC, N, 1, dout, OC, inp, IC, 1, dW, IC)) return -1;
    if (db) vc_cu_colsum_add(db, dout, N, OC, s->t->pl.partials, s->g->stream);
    return 0;
}

/* vc_project_forward / backward: always fp32, as on the CPU. */
static int project_forward(step *s, float *out, const float *inp, const float *P, int N, int IC, int OC) {
    const vc_precision keep = s->prec;
    s->prec = VC_FP32;
    const int rc = gemm(s, 0, 0, N, OC, IC, 1, inp, IC, P, OC, 0, out, OC);
    s->prec = keep;
    return rc;
}

static int project_backward(step *s, float *dinp, float *dP, const float *dout, const float *inp, const float *P,
                            int N, int IC, int OC) {
    const vc_precision keep = s->prec;
    s->prec = VC_FP32;
    const int rc = gemm(s, 0, 1, N, IC, OC, 1, dout, OC, P, OC, 1, dinp, IC) ||
                   gemm(s, 1, 0, IC, OC, N, 1, inp, IC, dout, OC, 1, dP, OC);
    s->prec = keep;
    return rc ? -1 : 0;
}

static int zero(step *s, void *p, size_t bytes) {
    vc_error *err = s->err;
    CU(cudaMemsetAsync(p, 0, bytes, s->g->stream), "zeroing a gradient buffer");
    return 0;
}

/* VICLIP_CUDA_SYNC=1: the stream is waited for after each stage, so a failing kernel is named by
 * its stage ("video block 3 backward") instead of by the step's end. */
static int stage(const step *s, const char *what, int layer) {
    if (!s->t || !s->t->debug_sync) return 0;
    cudaError_t e = cudaStreamSynchronize(s->g->stream);
    if (e == cudaSuccess) e = cudaGetLastError();
    if (e == cudaSuccess) return 0;
    if (layer >= 0) return vc_fail(s->err, "CUDA %s %d: %s", what, layer, cudaGetErrorString(e));
    return vc_fail(s->err, "CUDA %s: %s", what, cudaGetErrorString(e));
}

/* ---- the contrastive loss (model/contrastive.c, model/model.c's scaling) ---- */

int vc_cuda_contrastive(cuda_device *g, const vc_cuda_loss_bufs *b, const float *v, const float *t, const int32_t *ids,
                        int B, int E, double temp, double wg, double grad_scale, float *dv, float *dt, float *g_temp,
                        vc_error *err) {
    step s = {g, NULL, VC_FP32, err}; /* fp32 products, as vc_gemm */
    cudaStream_t st = g->stream;
    const size_t BB = (size_t)B * B, BE = (size_t)B * E;
    float *Svt = b->S, *Stv = b->S + BB, *dSvt = b->dS, *dStv = b->dS + BB;
    const float inv_t = (float)(1.0 / temp);
    vc_cu_l2norm(b->vn, b->vnorm, v, B, E, st);
    vc_cu_l2norm(b->tn, b->tnorm, t, B, E, st);
    /* vc_logits_forward both ways, each direction's rows with weight 1 / 2B */
    if (gemm(&s, 0, 1, B, B, E, inv_t, b->vn, E, b->tn, E, 0, Svt, B) ||
        gemm(&s, 0, 1, B, B, E, inv_t, b->tn, E, b->vn, E, 0, Stv, B))
        return -1;
    vc_cu_infonce_rows(dSvt, b->row_loss, Svt, B, B, ids, 1.0 / (2.0 * B), st);
    vc_cu_infonce_rows(dStv, b->row_loss + B, Stv, B, B, ids, 1.0 / (2.0 * B), st);
    /* vc_logits_backward(dv, dt, dSvt, ...) then (dt, dv, dStv, ...) */
    if (zero(&s, dv, BE * sizeof(float)) || zero(&s, dt, BE * sizeof(float)) ||
        gemm(&s, 0, 0, B, E, B, inv_t, dSvt, B, b->tn, E, 1, dv, E) ||
        gemm(&s, 1, 0, B, E, B, inv_t, dSvt, B, b->vn, E, 1, dt, E) ||
        gemm(&s, 0, 0, B, E, B, inv_t, dStv, B, b->vn, E, 1, dt, E) ||
        gemm(&s, 1, 0, B, E, B, inv_t, dStv, B, b->tn, E, 1, dv, E))
        return -1;
    vc_cu_dot_sum(b->temp_sums, dSvt, Svt, BB, st);
    vc_cu_dot_sum(b->temp_sums + 1, dStv, Stv, BB, st);
    vc_cu_temp_grad(g_temp, b->temp_sums, temp, wg, grad_scale, st);
    vc_cu_l2norm_backward(dv, dv, b->vn, b->vnorm, B, E, st);
    vc_cu_l2norm_backward(dt, dt, b->tn, b->tnorm, B, E, st);
    if (wg != 1) vc_cu_scale(dv, (float)wg, BE, st), vc_cu_scale(dt, (float)wg, BE, st);
    if ((float)grad_scale != 1) vc_cu_scale(dv, (float)grad_scale, BE, st), vc_cu_scale(dt, (float)grad_scale, BE, st);
    return 0;
}

double vc_cuda_loss_total(const double *row_loss, int B) {
    double vt = 0, tv = 0;
    for (int r = 0; r < B; r++) vt -= row_loss[r];
    for (int r = 0; r < B; r++) tv -= row_loss[B + r];
    return (vt + tv) / (2.0 * B);
}

/* ---- the block (model/transformer.c) ---- */

/* Tensor-core attention both ways (opt-in, VICLIP_CUDA_ATTENTION=tc): bf16, head dim 64, no
 * mask, up to 256 tokens (the masked video towers); else the exact fp32 kernels. */
static int tc_attention(const step *s, int L, int W, int H, int causal) {
    return s->prec == VC_BF16 && s->t->tc_attention && !causal && W % H == 0 && W / H == 64 && L <= 256;
}

static int block_forward(step *s, const vc_block_view *p, vc_dev_block *a, const float *inp, int B, int L, int W,
                         int H, int causal, const float *drop) {
    const vc_dev_train_plan *pl = &s->t->pl;
    cudaStream_t st = s->g->stream;
    const int N = B * L;
    const float *dp1 = drop, *dp2 = drop ? drop + B : NULL;
    vc_cu_layernorm_train(a->ln1, a->ln1_mean, a->ln1_rstd, inp, p->ln1_w, p->ln1_b, N, W, (float)VC_LN_EPS, st);
    if (linear_forward(s, a->qkv, a->ln1, p->qkv_w, p->qkv_b, N, W, 3 * W)) return -1;
    if (tc_attention(s, L, W, H, causal) ? vc_cu_attention_bf16_train(a->attn, a->lse, a->qkv, B, L, W, H, causal, st)
                                         : vc_cu_attention_train(a->attn, a->lse, a->qkv, B, L, W, H, causal, st))
        return vc_fail(s->err, "CUDA attention: head dimension %d is over 128", W / H);
    if (linear_forward(s, pl->branch, a->attn, p->out_w, p->out_b, N, W, W)) return -1;
    /* fused: the residual with its LayerNorm, and the MLP's bias with its QuickGELU */
    vc_cu_residual_layernorm(a->res1, a->ln2, a->ln2_mean, a->ln2_rstd, inp, pl->branch, dp1, p->ln2_w, p->ln2_b, B, L,
                             W, (float)VC_LN_EPS, st);
    if (linear_forward(s, a->fc, a->ln2, p->fc_w, NULL, N, W, 4 * W)) return -1;
    vc_cu_bias_quickgelu(a->fc, a->gelu, p->fc_b, N, 4 * W, st);
    if (linear_forward(s, pl->branch, a->gelu, p->proj_w, p->proj_b, N, 4 * W, W)) return -1;
    vc_cu_residual(a->out, a->res1, pl->branch, dp2, B, (size_t)L * W, st);
    return 0;
}

/* vc_block_backward: dx holds d(out) on entry, d(inp) on return. */
static int block_backward(step *s, const vc_block_view *p, vc_block_view *gr, const vc_dev_block *a,
                          const float *inp, float *dx, int B, int L, int W, int H, int causal, const float *drop) {
    const vc_dev_train_plan *pl = &s->t->pl;
    cudaStream_t st = s->g->stream;
    const int N = B * L;
    const size_t NW = (size_t)N * W;
    const float *dp1 = drop, *dp2 = drop ? drop + B : NULL;
    vc_cu_scale_rows(pl->branch, dx, dp2, B, (size_t)L * W, st);
    if (zero(s, pl->d_hidden, 4 * NW * sizeof(float)) ||
        linear_backward(s, pl->d_hidden, gr->proj_w, gr->proj_b, pl->branch, a->gelu, p->proj_w, N, 4 * W, W) ||
        zero(s, pl->d_fc, 4 * NW * sizeof(float)))
        return -1;
    vc_cu_quickgelu_backward(pl->d_fc, a->fc, pl->d_hidden, 4 * NW, st);
    if (zero(s, pl->d_ln, NW * sizeof(float)) ||
        linear_backward(s, pl->d_ln, gr->fc_w, gr->fc_b, pl->d_fc, a->ln2, p->fc_w, N, W, 4 * W))
        return -1;
    vc_cu_layernorm_backward_input(dx, pl->d_ln, a->res1, p->ln2_w, a->ln2_mean, a->ln2_rstd, N, W, st);
    vc_cu_layernorm_backward_params(gr->ln2_w, gr->ln2_b, pl->d_ln, a->res1, a->ln2_mean, a->ln2_rstd, N, W,
                                    pl->partials, st);
    /* attention branch: dx now holds d(res1) */
    vc_cu_scale_rows(pl->branch, dx, dp1, B, (size_t)L * W, st);
    if (zero(s, pl->d_attn, NW * sizeof(float)) ||
        linear_backward(s, pl->d_attn, gr->out_w, gr->out_b, pl->branch, a->attn, p->out_w, N, W, W) ||
        zero(s, pl->d_qkv, 3 * NW * sizeof(float)))
        return -1;
    if ((tc_attention(s, L, W, H, causal) ? vc_cu_attention_backward_bf16 : vc_cu_attention_backward)(
            pl->d_qkv, pl->attn_D, pl->d_attn, a->qkv, a->attn, a->lse, B, L, W, H, causal, st))
        return vc_fail(s->err, "CUDA attention backward: head dimension %d (%d tokens) is not supported", W / H, L);
    if (zero(s, pl->d_ln, NW * sizeof(float)) ||
        linear_backward(s, pl->d_ln, gr->qkv_w, gr->qkv_b, pl->d_qkv, a->ln1, p->qkv_w, N, W, 3 * W))
        return -1;
    vc_cu_layernorm_backward_input(dx, pl->d_ln, inp, p->ln1_w, a->ln1_mean, a->ln1_rstd, N, W, st);
    vc_cu_layernorm_backward_params(gr->ln1_w, gr->ln1_b, pl->d_ln, inp, a->ln1_mean, a->ln1_rstd, N, W,
                                    pl->partials, st);
    return 0;
}

/* ---- the towers (model/vision.c, model/text.c) ---- */

static int vision_forward(step *s, const vc_model *m, int B, int masked, int dropping) {
    const vc_config *c = &m->cfg;
    const vc_vision_view *p = &s->g->p.v;
    const vc_dev_train_plan *pl = &s->t->pl;
    const vc_dev_tower *tw = &pl->vis;
    cudaStream_t st = s->g->stream;
    const int W = c->vision_width, T = c->num_frames, K = pl->K, L = K + 1;
    const int P3 = 3 * c->patch_size * c->patch_size;
    const int32_t *keep = masked ? pl->keep : NULL;
    if (linear_forward(s, pl->tok, pl->patches, p->conv1, NULL, B * K, P3, W)) return -1;
    vc_cu_vision_embed_keep(tw->embed, pl->tok, p->class_emb, p->pos_emb, p->temporal_emb, keep, B, K, T, W, st);
    vc_cu_layernorm_train(tw->x, tw->x_mean, tw->x_rstd, tw->embed, p->ln_pre_w, p->ln_pre_b, B * L, W,
                          (float)VC_LN_EPS, st);
    const float *inp = tw->x;
    for (int l = 0; l < c->vision_layers; l++) {
        const float *drop = dropping ? tw->drop + (size_t)l * 2 * B : NULL;
        if (block_forward(s, &p->blocks[l], &tw->blocks[l], inp, B, L, W, c->vision_heads, 0, drop) ||
            stage(s, "video block forward", l))
            return -1;
        inp = tw->blocks[l].out;
    }
    vc_cu_gather_rows(tw->pooled, inp, NULL, B, L, W, st);
    vc_cu_layernorm_train(tw->pooled_ln, tw->pooled_mean, tw->pooled_rstd, tw->pooled, p->ln_post_w, p->ln_post_b, B,
                          W, (float)VC_LN_EPS, st);
    return project_forward(s, tw->emb, tw->pooled_ln, p->proj, B, W, c->embed_dim);
}

static int vision_backward(step *s, const vc_model *m, int B, int dropping) {
    const vc_config *c = &m->cfg;
    const vc_vision_view *p = &s->g->p.v;
    vc_vision_view *gr = &s->t->gv.v;
    const vc_dev_train_plan *pl = &s->t->pl;
    const vc_dev_tower *tw = &pl->vis;
    cudaStream_t st = s->g->stream;
    const int W = c->vision_width, K = pl->K, L = K + 1, P3 = 3 * c->patch_size * c->patch_size;
    const size_t BLW = (size_t)B * L * W;
    if (zero(s, tw->d_pooled, (size_t)B * W * sizeof(float)) ||
        project_backward(s, tw->d_pooled, gr->proj, pl->dv, tw->pooled_ln, p->proj, B, W, c->embed_dim) ||
        zero(s, tw->d_stream, BLW * sizeof(float)) || zero(s, tw->d_pooled_in, (size_t)B * W * sizeof(float)))
        return -1;
    vc_cu_layernorm_backward_input(tw->d_pooled_in, tw->d_pooled, tw->pooled, p->ln_post_w, tw->pooled_mean,
                                   tw->pooled_rstd, B, W, st);
    vc_cu_layernorm_backward_params(gr->ln_post_w, gr->ln_post_b, tw->d_pooled, tw->pooled, tw->pooled_mean,
                                    tw->pooled_rstd, B, W, pl->partials, st);
    vc_cu_scatter_rows_add(tw->d_stream, tw->d_pooled_in, NULL, B, L, W, st);
    for (int l = c->vision_layers - 1; l >= 0; l--) {
        const float *inp = l ? tw->blocks[l - 1].out : tw->x;
        const float *drop = dropping ? tw->drop + (size_t)l * 2 * B : NULL;
        if (block_backward(s, &p->blocks[l], &gr->blocks[l], &tw->blocks[l], inp, tw->d_stream, B, L, W,
                           c->vision_heads, 0, drop) ||
            stage(s, "video block backward", l))
            return -1;
    }
    if (zero(s, tw->d_embed, BLW * sizeof(float))) return -1;
    vc_cu_layernorm_backward_input(tw->d_embed, tw->d_stream, tw->embed, p->ln_pre_w, tw->x_mean, tw->x_rstd, B * L, W,
                                   st);
    vc_cu_layernorm_backward_params(gr->ln_pre_w, gr->ln_pre_b, tw->d_stream, tw->embed, tw->x_mean, tw->x_rstd, B * L,
                                    W, pl->partials, st);
    /* the embeddings: class, position and temporal rows from the lists built on the host */
    const vc_row_lists *ls = s->t->lists;
    float *dst[3] = {gr->class_emb, gr->pos_emb, gr->temporal_emb};
    for (int i = 0; i < 3; i++)
        vc_cu_segment_rows_add(dst[i], tw->d_embed, W, ls[i].n_seg, pl->csr + (ls[i].dst_row - s->t->h_csr),
                               pl->csr + (ls[i].start - s->t->h_csr), pl->csr + (ls[i].src - s->t->h_csr), st);
    vc_cu_drop_first_row(pl->d_tok, tw->d_embed, B, L, W, st);
    return linear_backward(s, NULL, gr->conv1, NULL, pl->d_tok, pl->patches, p->conv1, B * K, P3, W);
}

static int text_forward(step *s, const vc_model *m, int B, int L) {
    const vc_config *c = &m->cfg;
    const vc_text_view *p = &s->g->p.t;
    const vc_dev_train_plan *pl = &s->t->pl;
    const vc_dev_tower *tw = &pl->txt;
    cudaStream_t st = s->g->stream;
    const int W = c->text_width;
    vc_cu_text_embed(tw->embed, pl->tokens, p->token_emb, p->pos_emb, B, L, c->context_length, W, st);
    const float *inp = tw->embed;
    for (int l = 0; l < c->text_layers; l++) {
        if (block_forward(s, &p->blocks[l], &tw->blocks[l], inp, B, L, W, c->text_heads, 1, NULL) ||
            stage(s, "text block forward", l))
            return -1;
        inp = tw->blocks[l].out;
    }
    vc_cu_gather_rows(tw->pooled, inp, pl->eot, B, L, W, st);
    vc_cu_layernorm_train(tw->pooled_ln, tw->pooled_mean, tw->pooled_rstd, tw->pooled, p->ln_final_w, p->ln_final_b, B,
                          W, (float)VC_LN_EPS, st);
    return project_forward(s, tw->emb, tw->pooled_ln, p->proj, B, W, c->embed_dim);
}

static int text_backward(step *s, const vc_model *m, int B, int L) {
    const vc_config *c = &m->cfg;
    const vc_text_view *p = &s->g->p.t;
    vc_text_view *gr = &s->t->gv.t;
    const vc_dev_train_plan *pl = &s->t->pl;
    const vc_dev_tower *tw = &pl->txt;
    cudaStream_t st = s->g->stream;
    const int W = c->text_width;
    if (zero(s, tw->d_pooled, (size_t)B * W * sizeof(float)) ||
        project_backward(s, tw->d_pooled, gr->proj, pl->dt, tw->pooled_ln, p->proj, B, W, c->embed_dim) ||
        zero(s, tw->d_pooled_in, (size_t)B * W * sizeof(float)) ||
        zero(s, tw->d_stream, (size_t)B * L * W * sizeof(float)))
        return -1;
    vc_cu_layernorm_backward_input(tw->d_pooled_in, tw->d_pooled, tw->pooled, p->ln_final_w, tw->pooled_mean,
                                   tw->pooled_rstd, B, W, st);
    vc_cu_layernorm_backward_params(gr->ln_final_w, gr->ln_final_b, tw->d_pooled, tw->pooled, tw->pooled_mean,
                                    tw->pooled_rstd, B, W, pl->partials, st);
    vc_cu_scatter_rows_add(tw->d_stream, tw->d_pooled_in, pl->eot, B, L, W, st);
    for (int l = c->text_layers - 1; l >= 0; l--) {
        const float *inp = l ? tw->blocks[l - 1].out : tw->embed;
        if (block_backward(s, &p->blocks[l], &gr->blocks[l], &tw->blocks[l], inp, tw->d_stream, B, L, W, c->text_heads,
                           1, NULL) ||
            stage(s, "text block backward", l))
            return -1;
    }
    const vc_row_lists *ls = s->t->lists;
    float *dst[2] = {gr->token_emb, gr->pos_emb};
    for (int i = 0; i < 2; i++)
        vc_cu_segment_rows_add(dst[i], tw->d_stream, W, ls[3 + i].n_seg, pl->csr + (ls[3 + i].dst_row - s->t->h_csr),
                               pl->csr + (ls[3 + i].start - s->t->h_csr), pl->csr + (ls[3 + i].src - s->t->h_csr), st);
    return 0;
}

/* ---- planning ---- */

static void free_patches(cuda_train *t) {
    if (t->patches_pinned) cudaFreeHost(t->h_patches);
    else free(t->h_patches);
    t->h_patches = NULL, t->patches_pinned = 0;
}

static int plan(cuda_device *g, cuda_train *t, const vc_model *m, int B, int K, vc_error *err) {
    if (t->ws && t->B == B && t->K == K) return 0;
    const vc_config *c = &m->cfg;
    const size_t bytes = vc_dev_train_layout(&t->pl, NULL, c, B, K, m->table.count);
    if (bytes > t->ws_bytes) {
        if (t->ws) {
            CU(cudaStreamSynchronize(g->stream), "finishing before re-planning");
            cudaFree(t->ws);
            vc_cuda_track(g, -(long long)t->ws_bytes);
            t->ws = NULL, t->ws_bytes = 0;
        }
        cudaError_t e = cudaMalloc(&t->ws, bytes);
        if (e != cudaSuccess)
            return vc_fail(err, "CUDA: cannot allocate the %.2f GiB a training step of %d clips (%d tokens) needs on "
                                "%s: %s (use a smaller --batch-size)", bytes / 1073741824.0, B, K + 1, g->name,
                           cudaGetErrorString(e));
        t->ws_bytes = bytes;
        vc_cuda_track(g, (long long)bytes);
    }
    vc_dev_train_layout(&t->pl, t->ws, c, B, K, m->table.count);
    const int E = c->embed_dim;
    free_patches(t);
    const size_t patch_bytes = (size_t)B * K * 3 * c->patch_size * c->patch_size * sizeof(float);
    if (cudaMallocHost((void **)&t->h_patches, patch_bytes) == cudaSuccess) t->patches_pinned = 1;
    else cudaGetLastError(), t->h_patches = malloc(patch_bytes); /* pageable: slower copies, same result */
    free(t->h_emb), free(t->h_demb), free(t->h_scratch), free(t->h_drop), free(t->h_csr), free(t->h_eot);
    free(t->h_row_loss);
    t->h_row_loss = malloc(2 * (size_t)B * sizeof(double));
    t->h_emb = malloc(2 * (size_t)B * E * sizeof(float));
    t->h_demb = malloc(2 * (size_t)B * E * sizeof(float));
    t->h_scratch = malloc(vc_contrastive_scratch_elems(B, B, E) * sizeof(float));
    t->h_drop = malloc((size_t)c->vision_layers * 2 * B * sizeof(float));
    t->h_csr = malloc(t->pl.csr_ints * sizeof(int32_t));
    t->h_eot = malloc((size_t)B * sizeof(int32_t));
    if (!t->h_patches || !t->h_row_loss || !t->h_emb || !t->h_demb || !t->h_scratch || !t->h_drop || !t->h_csr || !t->h_eot) {
        t->B = 0;
        return vc_fail(err, "out of host memory planning a CUDA training step of %d clips", B);
    }
    t->B = B, t->K = K;
    return 0;
}

/* ---- the device ops ---- */

static void train_release(cuda_device *g, cuda_train *t) {
    if (!t) return;
    cudaFree(t->grads), cudaFree(t->m), cudaFree(t->v), cudaFree(t->ws), cudaFree(t->d_table);
    if (t->grads) vc_cuda_track(g, -(long long)(3 * g->n_params * sizeof(float)));
    if (t->ws) vc_cuda_track(g, -(long long)t->ws_bytes);
    free(t->pl.vis.blocks), free(t->pl.txt.blocks);
    free_patches(t);
    free(t->h_emb), free(t->h_demb), free(t->h_scratch), free(t->h_drop), free(t->h_csr), free(t->h_eot);
    free(t->h_table), free(t->h_partials), free(t->h_row_loss);
    vc_params_view_free(&t->gv);
    free(t);
}

void vc_cuda_train_free(cuda_device *g) {
    train_release(g, g->train);
    g->train = NULL;
}

int vc_cuda_train_open(vc_device *d, const vc_model *m, const vc_adamw *opt, vc_error *err) {
    cuda_device *g = (cuda_device *)d;
    if (opt->total != g->n_params || m->table.total != g->n_params)
        return vc_fail(err, "CUDA training: the optimizer has %zu values, the model %zu, the device %zu", opt->total,
                       m->table.total, g->n_params);
    vc_cuda_train_free(g);
    cuda_train *t = calloc(1, sizeof *t);
    if (!t) return vc_fail(err, "out of memory opening CUDA training");
    g->train = t;
    const char *loss_env = getenv("VICLIP_CUDA_LOSS");
    t->host_loss = loss_env && !strcmp(loss_env, "host");
    const char *att_env = getenv("VICLIP_CUDA_ATTENTION");
    t->tc_attention = att_env && !strcmp(att_env, "tc");
    const char *sync_env = getenv("VICLIP_CUDA_SYNC");
    t->debug_sync = sync_env && !strcmp(sync_env, "1");
    const size_t bytes = g->n_params * sizeof(float);
    t->pl.vis.blocks = calloc((size_t)m->cfg.vision_layers, sizeof(vc_dev_block));
    t->pl.txt.blocks = calloc((size_t)m->cfg.text_layers, sizeof(vc_dev_block));
    t->table_cap = m->table.count;
    t->h_table = malloc((size_t)t->table_cap * sizeof *t->h_table);
    t->h_partials = malloc((size_t)t->table_cap * VC_DEV_NORM_BLOCKS * 2 * sizeof(double));
    if (!t->pl.vis.blocks || !t->pl.txt.blocks || !t->h_table || !t->h_partials)
        return vc_fail(err, "out of memory opening CUDA training");
    cudaError_t e = cudaMalloc((void **)&t->grads, bytes);
    if (e == cudaSuccess) e = cudaMalloc((void **)&t->m, bytes);
    if (e == cudaSuccess) e = cudaMalloc((void **)&t->v, bytes);
    if (e != cudaSuccess) {
        cudaFree(t->grads), cudaFree(t->m), cudaFree(t->v);
        t->grads = t->m = t->v = NULL;
        return vc_fail(err, "CUDA: cannot allocate gradients and AdamW moments (%.2f GiB) on %s: %s",
                       3.0 * bytes / 1073741824.0, g->name, cudaGetErrorString(e));
    }
    vc_cuda_track(g, (long long)(3 * bytes));
    CU(cudaMalloc((void **)&t->d_table, (size_t)t->table_cap * sizeof *t->d_table), "allocating the tensor table");
    CU(cudaMemsetAsync(t->grads, 0, bytes, g->stream), "zeroing gradients");
    CU(cudaMemcpyAsync(t->m, opt->m, bytes, cudaMemcpyHostToDevice, g->stream), "uploading the AdamW first moment");
    CU(cudaMemcpyAsync(t->v, opt->v, bytes, cudaMemcpyHostToDevice, g->stream), "uploading the AdamW second moment");
    CU(cudaStreamSynchronize(g->stream), "uploading the optimizer state");
    return vc_params_view_bind(&m->cfg, &m->table, t->grads, &t->gv, err);
}

static int check_inputs(const vc_model *m, const vc_step_inputs *in, vc_error *err) {
    if (in->align && (in->align->frame > 0 || in->align->n_layers > 0))
        return vc_fail(err, "--device cuda trains the global alignment only (not the frame or layer levels)");
    if (in->on_grads_ready) return vc_fail(err, "--device cuda: data-parallel training runs on the CPU");
    return vc_model_check_step(m, in, err);
}

/* VICLIP_CUDA_LOSS=host: the embeddings and the temperature come back, the CPU's own
 * vc_contrastive_loss runs and the gradients go out (a synchronisation inside the step). */
static int host_loss(step *s, vc_model *m, const vc_step_inputs *in, double wg, double *loss_global) {
    vc_error *err = s->err;
    cuda_device *g = s->g;
    cuda_train *t = s->t;
    const vc_dev_train_plan *pl = &t->pl;
    cudaStream_t st = g->stream;
    const int B = in->B, E = m->cfg.embed_dim;
    float *hv = t->h_emb, *ht = hv + (size_t)B * E, *hdv = t->h_demb, *hdt = hdv + (size_t)B * E;
    CU(cudaMemcpyAsync(hv, pl->vis.emb, (size_t)B * E * sizeof(float), cudaMemcpyDeviceToHost, st),
       "copying video embeddings back");
    CU(cudaMemcpyAsync(ht, pl->txt.emb, (size_t)B * E * sizeof(float), cudaMemcpyDeviceToHost, st),
       "copying text embeddings back");
    CU(cudaMemcpyAsync(&t->h_temp, g->p.temp, sizeof(float), cudaMemcpyDeviceToHost, st),
       "copying the temperature back");
    CU(cudaStreamSynchronize(st), "running the training forward");
    if (!(t->h_temp > 0)) return vc_fail(err, "temperature %g must be positive", (double)t->h_temp);
    float dtemp = 0;
    *loss_global = vc_contrastive_loss(hv, ht, in->ids, B, E, t->h_temp, hdv, hdt, &dtemp, t->h_scratch);
    if (wg != 1) {
        for (size_t i = 0; i < (size_t)B * E; i++) hdv[i] *= (float)wg, hdt[i] *= (float)wg;
        dtemp *= (float)wg;
    }
    const float sc = (float)in->grad_scale;
    for (size_t i = 0; i < (size_t)B * E; i++) hdv[i] *= sc, hdt[i] *= sc;
    const float gtemp = sc * dtemp;
    CU(cudaMemcpyAsync(pl->dv, hdv, (size_t)B * E * sizeof(float), cudaMemcpyHostToDevice, st),
       "copying embedding gradients to the GPU");
    CU(cudaMemcpyAsync(pl->dt, hdt, (size_t)B * E * sizeof(float), cudaMemcpyHostToDevice, st),
       "copying embedding gradients to the GPU");
    CU(cudaMemcpyAsync(t->gv.temp, &gtemp, sizeof(float), cudaMemcpyHostToDevice, st),
       "copying the temperature's gradient to the GPU");
    return 0;
}

int vc_cuda_forward_backward(vc_device *d, vc_model *m, const vc_step_inputs *in, double *loss, vc_error *err) {
    cuda_device *g = (cuda_device *)d;
    cuda_train *t = g->train;
    if (!t) return vc_fail(err, "CUDA: forward_backward before train_open");
    if (check_inputs(m, in, err) || plan(g, t, m, in->B, in->K, err)) return -1;
    step s = {g, t, m->precision, err};
    if (s.prec == VC_BF16 && vc_cuda_ensure_params16(g, err)) return -1;
    const vc_config *c = &m->cfg;
    const vc_dev_train_plan *pl = &t->pl;
    cudaStream_t st = g->stream;
    const int B = in->B, K = in->K, ctx = c->context_length, E = c->embed_dim;
    const int P3 = 3 * c->patch_size * c->patch_size;
    /* the text run length (vc_text_forward): positions after the batch's last EOT change nothing */
    int Lt = 1;
    for (int b = 0; b < B; b++) {
        const int32_t *row = in->tokens + (size_t)b * ctx;
        int best = 0;
        for (int i = 1; i < ctx; i++)
            if (row[i] > row[best]) best = i;
        t->h_eot[b] = best;
        if (best + 1 > Lt) Lt = best + 1;
    }
    const int dropping = in->drop_rates != NULL;
    if (dropping)
        for (int l = 0; l < c->vision_layers; l++)
            vc_drop_path_sample(t->h_drop + (size_t)l * 2 * B, B, in->row0, in->drop_rates[l], in->seed, in->step, l);
    const size_t n_csr = vc_dev_row_lists(t->lists, t->h_csr, c, B, K, in->keep, in->tokens, Lt);
    if (!n_csr) return vc_fail(err, "out of host memory building the embedding gradients' lists");
    /* inputs: the kept patches gathered on the host by the CPU's own gather (a tenth of the
     * clips' bytes at 90% masking) into a pinned buffer, the rest small pageable copies (each
     * returns once its source is staged); the previous step's syncs ended any copy from them */
    vc_vision_gather_patches(c, t->h_patches, in->video, in->keep, B, K);
    CU(cudaMemcpyAsync(pl->patches, t->h_patches, (size_t)B * K * P3 * sizeof(float), cudaMemcpyHostToDevice, st),
       "copying the clips' patches to the GPU");
    CU(cudaMemcpyAsync(pl->tokens, in->tokens, (size_t)B * ctx * sizeof(int32_t), cudaMemcpyHostToDevice, st),
       "copying tokens to the GPU");
    CU(cudaMemcpyAsync(pl->eot, t->h_eot, (size_t)B * sizeof(int32_t), cudaMemcpyHostToDevice, st),
       "copying EOT positions to the GPU");
    if (in->keep)
        CU(cudaMemcpyAsync(pl->keep, in->keep, (size_t)B * K * sizeof(int32_t), cudaMemcpyHostToDevice, st),
           "copying the token mask to the GPU");
    if (dropping)
        CU(cudaMemcpyAsync(pl->vis.drop, t->h_drop, (size_t)c->vision_layers * 2 * B * sizeof(float),
                           cudaMemcpyHostToDevice, st),
           "copying drop-path scales to the GPU");
    CU(cudaMemcpyAsync(pl->csr, t->h_csr, n_csr * sizeof(int32_t), cudaMemcpyHostToDevice, st),
       "copying the embedding lists to the GPU");
    if (in->ids && !t->host_loss)
        CU(cudaMemcpyAsync(pl->ids, in->ids, (size_t)B * sizeof(int32_t), cudaMemcpyHostToDevice, st),
           "copying the positive groups to the GPU");
    CU(cudaMemsetAsync(t->grads, 0, g->n_params * sizeof(float), st), "zeroing gradients");
    if (stage(&s, "copying the step's inputs", -1) || vision_forward(&s, m, B, in->keep != NULL, dropping) ||
        stage(&s, "video forward (embedding, head)", -1) || text_forward(&s, m, B, Lt) ||
        stage(&s, "text forward (embedding, head)", -1))
        return -1;
    /* the loss, as step_forward and vc_model_forward_backward compute and scale it */
    const double wg = in->align ? in->align->global : 1;
    double loss_global = 0;
    if (t->host_loss) {
        if (host_loss(&s, m, in, wg, &loss_global)) return -1;
    } else {
        const vc_cuda_loss_bufs lb = {pl->vn, pl->tn, pl->vnorm, pl->tnorm, pl->S, pl->dS, pl->row_loss, pl->temp_sums};
        if (vc_cuda_contrastive(g, &lb, pl->vis.emb, pl->txt.emb, in->ids ? pl->ids : NULL, B, E, m->p.temp[0], wg,
                                in->grad_scale, pl->dv, pl->dt, t->gv.temp, err))
            return -1;
    }
    /* the text tower first, as the CPU */
    if (stage(&s, "contrastive loss", -1) || (in->train_text && text_backward(&s, m, B, Lt)) ||
        stage(&s, "text backward (head, embeddings)", -1) || vision_backward(&s, m, B, dropping) ||
        stage(&s, "video backward (embeddings, patch embedding)", -1))
        return -1;
    CU(cudaGetLastError(), "training step kernels");
    if (!t->host_loss) { /* the rows' loss terms: the one wait of the step, at its end */
        CU(cudaMemcpyAsync(t->h_row_loss, pl->row_loss, 2 * (size_t)B * sizeof(double), cudaMemcpyDeviceToHost, st),
           "copying the loss back");
        CU(cudaStreamSynchronize(st), "running the training step");
        loss_global = vc_cuda_loss_total(t->h_row_loss, B);
    }
    m->train.loss_global = loss_global, m->train.loss_frame = 0;
    *loss = wg * loss_global;
    return 0;
}

/* The optimizer's tensors: those opt does not freeze, in the table's order. */
static int tensor_table(cuda_train *t, const vc_model *m, const vc_adamw *opt, double lr) {
    int n = 0;
    for (int i = 0; i < m->table.count; i++) {
        const vc_param_info *pi = &m->table.info[i];
        if (opt->p.frozen[pi->tower]) continue;
        const double plr = lr * opt->p.lr_mult[pi->tower] * (opt->lr_scale ? opt->lr_scale[i] : 1);
        t->h_table[n++] = (vc_cu_tensor){(int64_t)pi->offset, (int64_t)pi->numel, plr,
                                         pi->decay ? 1 - plr * opt->p.weight_decay : 1};
    }
    return n;
}

int vc_cuda_grad_norm(vc_device *d, const vc_model *m, const vc_adamw *opt, double *norm, vc_error *err) {
    cuda_device *g = (cuda_device *)d;
    cuda_train *t = g->train;
    if (!t || !t->pl.partials) return vc_fail(err, "CUDA: gradient norm before a training step");
    const int n = tensor_table(t, m, opt, 0);
    cudaStream_t st = g->stream;
    CU(cudaMemcpyAsync(t->d_table, t->h_table, (size_t)n * sizeof *t->h_table, cudaMemcpyHostToDevice, st),
       "copying the tensor table");
    vc_cu_sumsq(t->grads, t->d_table, n, t->pl.partials, st);
    CU(cudaMemcpyAsync(t->h_partials, t->pl.partials, (size_t)n * VC_DEV_NORM_BLOCKS * sizeof(double),
                       cudaMemcpyDeviceToHost, st),
       "copying the gradient norm back");
    CU(cudaStreamSynchronize(st), "computing the gradient norm");
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double part = 0;
        for (int k = 0; k < VC_DEV_NORM_BLOCKS; k++) part += t->h_partials[(size_t)i * VC_DEV_NORM_BLOCKS + k];
        sum += part;
    }
    *norm = sqrt(sum);
    return 0;
}

int vc_cuda_adamw_step(vc_device *d, vc_model *m, vc_adamw *opt, double lr, double grad_scale, vc_error *err) {
    cuda_device *g = (cuda_device *)d;
    cuda_train *t = g->train;
    if (!t || !t->pl.partials) return vc_fail(err, "CUDA: AdamW step before a training step");
    opt->t++;
    const double b1 = opt->p.beta1, b2 = opt->p.beta2;
    const double bc1 = 1 - pow(b1, (double)opt->t), bc2 = 1 - pow(b2, (double)opt->t);
    memset(opt->update_sq, 0, sizeof opt->update_sq);
    memset(opt->weight_sq, 0, sizeof opt->weight_sq);
    const int n = tensor_table(t, m, opt, lr);
    cudaStream_t st = g->stream;
    CU(cudaMemcpyAsync(t->d_table, t->h_table, (size_t)n * sizeof *t->h_table, cudaMemcpyHostToDevice, st),
       "copying the tensor table");
    vc_cu_adamw(g->params, t->m, t->v, t->grads, t->d_table, n, grad_scale, b1, b2, bc1, bc2, opt->p.eps,
                t->pl.partials, st);
    vc_cu_floor(g->p.temp, opt->p.temp_min, st);
    CU(cudaMemcpyAsync(t->h_partials, t->pl.partials, (size_t)n * VC_DEV_NORM_BLOCKS * 2 * sizeof(double),
                       cudaMemcpyDeviceToHost, st),
       "copying update sizes back");
    CU(cudaMemcpyAsync(&t->h_temp, g->p.temp, sizeof(float), cudaMemcpyDeviceToHost, st),
       "copying the temperature back");
    CU(cudaStreamSynchronize(st), "running the AdamW step");
    g->params16_fresh = 0;
    m->p.temp[0] = t->h_temp;
    /* the towers' update and weight sums, tensor by tensor as the CPU adds them */
    for (int i = 0, k = 0; i < m->table.count; i++) {
        const vc_param_info *pi = &m->table.info[i];
        if (opt->p.frozen[pi->tower]) continue;
        double u = 0, w = 0;
        for (int b = 0; b < VC_DEV_NORM_BLOCKS; b++) {
            u += t->h_partials[((size_t)k * VC_DEV_NORM_BLOCKS + b) * 2];
            w += t->h_partials[((size_t)k * VC_DEV_NORM_BLOCKS + b) * 2 + 1];
        }
        opt->update_sq[pi->tower] += u;
        opt->weight_sq[pi->tower] += w;
        k++;
    }
    return 0;
}

int vc_cuda_train_pull(vc_device *d, vc_model *m, vc_adamw *opt, int grads, vc_error *err) {
    cuda_device *g = (cuda_device *)d;
    cuda_train *t = g->train;
    cudaStream_t st = g->stream;
    const size_t bytes = g->n_params * sizeof(float);
    if (m->table.total != g->n_params)
        return vc_fail(err, "CUDA: the model has %zu parameters, the device copy %zu", m->table.total, g->n_params);
    CU(cudaMemcpyAsync(m->params, g->params, bytes, cudaMemcpyDeviceToHost, st), "copying parameters back");
    if (opt && t) {
        CU(cudaMemcpyAsync(opt->m, t->m, bytes, cudaMemcpyDeviceToHost, st), "copying the AdamW first moment back");
        CU(cudaMemcpyAsync(opt->v, t->v, bytes, cudaMemcpyDeviceToHost, st), "copying the AdamW second moment back");
    }
    if (grads) {
        if (!t || !m->grads) return vc_fail(err, "CUDA: no gradients to copy back (train_open, vc_model_enable_grads)");
        CU(cudaMemcpyAsync(m->grads, t->grads, bytes, cudaMemcpyDeviceToHost, st), "copying gradients back");
    }
    CU(cudaStreamSynchronize(st), "copying the training state back");
    return 0;
}
