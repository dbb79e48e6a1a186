#include "model/text.h"

#include <string.h>

void vc_text_plan(vc_arena *a, vc_text_acts *acts, const vc_config *c, int B, vc_acts_mode mode,
                  int max_threads) {
    const int training = mode != VC_ACTS_INFERENCE;
    const size_t W = (size_t)c->text_width, L = (size_t)c->context_length;
    vc_block_acts *blocks = acts->blocks;
    int32_t *tokens = acts->tokens, *eot = acts->eot;
    memset(acts, 0, sizeof *acts);
    acts->blocks = blocks;
    acts->tokens = tokens;
    acts->eot = eot;
    acts->B = B;
    acts->L = (int)L;
    acts->training = training;
    acts->embed = vc_arena_take(a, B * L * W);
    vc_block_dims d = {B, (int)L, (int)W, c->text_heads, 1};
    vc_blocks_plan(a, blocks, c->text_layers, d, mode, 0, acts->embed);
    vc_block_scratch_plan(a, &acts->scratch, d, mode, max_threads);
    acts->pooled = vc_arena_take(a, B * W);
    vc_ln_head_plan(a, &acts->head, B, (int)W, c->embed_dim, training);
    if (training) acts->d_stream = vc_arena_take(a, B * L * W);
}

int vc_text_check_tokens(const vc_config *c, const int32_t *tokens, int B, vc_error *err) {
    for (int b = 0; b < B; b++)
        for (int i = 0; i < c->context_length; i++) {
            int32_t id = tokens[(size_t)b * c->context_length + i];
            if (id < 0 || id >= c->vocab_size)
                return vc_fail(err, "text row %d position %d: token id %d outside the vocabulary [0, %d)",
                               b, i, id, c->vocab_size);
        }
    return 0;
}

/* Where sequence b's EOT row is in a block output of L positions per sequence (sequences L*W
 * apart, the EOT eot[b] rows in), or of the EOT rows alone (pooled: W apart), in the layer taps'
 * terms (stride, rows). */
static size_t eot_stride(int L, int W, int pooled) { return pooled ? (size_t)W : (size_t)L * W; }
static const int32_t *eot_rows(const vc_text_acts *acts, int pooled) { return pooled ? NULL : acts->eot; }
static size_t eot_offset(const vc_text_acts *acts, int b, int L, int W, int pooled) {
    return vc_layer_tap_offset(eot_stride(L, W, pooled), eot_rows(acts, pooled), b, W);
}

void vc_text_forward(const vc_config *c, const vc_text_view *p, vc_text_acts *acts,
                     const int32_t *tokens, int B) {
    const int W = c->text_width, ctx = c->context_length;
    memcpy(acts->tokens, tokens, (size_t)B * ctx * sizeof *tokens);
    int L = 1;
    for (int b = 0; b < B; b++) {
        const int32_t *row = tokens + (size_t)b * ctx;
        int best = 0; /* first position of the largest id, as torch.argmax */
        for (int i = 1; i < ctx; i++)
            if (row[i] > row[best]) best = i;
        acts->eot[b] = best;
        if (best + 1 > L) L = best + 1;
    }
    /* With the causal mask the pooled (EOT) position sees only the tokens before it, so the
     * positions after the batch's last EOT cannot change any output: run only the first L. */
    acts->L = L;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const int32_t *row = tokens + (size_t)b * ctx;
        for (int i = 0; i < L; i++) {
            vc_real *x = acts->embed + ((size_t)b * L + i) * W;
            const vc_real *te = p->token_emb + (size_t)row[i] * W, *pe = p->pos_emb + (size_t)i * W;
            for (int k = 0; k < W; k++) x[k] = te[k] + pe[k];
        }
    }
    vc_block_dims d = {B, L, W, c->text_heads, 1};
    const vc_real *inp = acts->embed;
    int pooled = 0; /* whether inp holds the EOT rows alone ([B, W]) */
    for (int l = 0; l < c->text_layers; l++) {
        if (acts->pooled_last && l == c->text_layers - 1) {
            vc_block_forward_pooled(&p->blocks[l], &acts->blocks[l], &acts->scratch, inp, d, acts->eot);
            pooled = 1;
        } else {
            vc_block_forward(&p->blocks[l], &acts->blocks[l], &acts->scratch, inp, d);
        }
        inp = acts->blocks[l].out;
        vc_layer_taps_copy(&acts->taps, l + 1, inp, eot_stride(L, W, pooled), eot_rows(acts, pooled), B, W);
    }
    for (int b = 0; b < B; b++)
        memcpy(acts->pooled + (size_t)b * W, inp + eot_offset(acts, b, L, W, pooled), W * sizeof(vc_real));
    const vc_ln_head head = vc_text_head(p);
    vc_ln_head_forward(&head, &acts->head, acts->pooled, B);
}

void vc_text_backward(const vc_config *c, const vc_text_view *p, vc_text_view *g,
                      vc_text_acts *acts, const vc_real *demb, int B) {
    vc_text_backward_with_tokens(c, p, g, acts, demb, NULL, B);
}

void vc_text_backward_with_tokens(const vc_config *c, const vc_text_view *p, vc_text_view *g,
                                  vc_text_acts *acts, const vc_real *demb, const vc_real *d_out, int B) {
    const int W = c->text_width, L = acts->L, ctx = c->context_length; /* L: positions run */
    vc_real *d_in = acts->scratch.d_ln; /* [B, W] */
    const vc_ln_head head = vc_text_head(p), head_g = vc_text_head(g);
    vc_ln_head_backward(&head, &head_g, &acts->head, acts->pooled, demb, d_in, B);
    vc_block_dims d = {B, L, W, c->text_heads, 1};
    int top = c->text_layers;
    if (acts->pooled_last) { /* d_out is NULL: nothing read the other positions */
        vc_real *d_rows = acts->head.d_ln; /* the head's scratch, free now; the blocks' is not */
        memcpy(d_rows, d_in, (size_t)B * W * sizeof(vc_real));
        vc_layer_taps_add_grads(&acts->taps, top, d_rows, eot_stride(L, W, 1), eot_rows(acts, 1), B, W);
        top--;
        vc_block_backward_pooled(&p->blocks[top], &g->blocks[top], &acts->blocks[top], &acts->scratch,
                                 top ? acts->blocks[top - 1].out : acts->embed, d_rows, acts->d_stream, d,
                                 acts->eot);
    } else {
        if (d_out) memcpy(acts->d_stream, d_out, (size_t)B * L * W * sizeof(vc_real));
        else memset(acts->d_stream, 0, (size_t)B * L * W * sizeof(vc_real));
        for (int b = 0; b < B; b++) {
            vc_real *row = acts->d_stream + eot_offset(acts, b, L, W, 0);
            for (int k = 0; k < W; k++) row[k] += d_in[(size_t)b * W + k];
        }
    }
    for (int l = top - 1; l >= 0; l--) {
        const vc_real *inp = l ? acts->blocks[l - 1].out : acts->embed;
        vc_layer_taps_add_grads(&acts->taps, l + 1, acts->d_stream, eot_stride(L, W, 0), eot_rows(acts, 0), B, W);
        vc_block_backward(&p->blocks[l], &g->blocks[l], &acts->blocks[l], &acts->scratch, inp,
                          acts->d_stream, d);
    }
    for (int b = 0; b < B; b++) /* serial scatter-add: deterministic */
        for (int i = 0; i < L; i++) {
            const vc_real *dx = acts->d_stream + ((size_t)b * L + i) * W;
            vc_real *gt = g->token_emb + (size_t)acts->tokens[(size_t)b * ctx + i] * W;
            vc_real *gp = g->pos_emb + (size_t)i * W;
            for (int k = 0; k < W; k++) {
                gt[k] += dx[k];
                gp[k] += dx[k];
            }
        }
}
