/* The memory of one training step on an accelerator, planned on the host: the same activations
 * the CPU keeps (model/transformer.h, model/vision.h, model/text.h) laid out in one block, so the
 * arithmetic (how many bytes a batch needs, where each tensor starts) is plain C that the tests
 * check without a GPU, and the CUDA backend only hands it the device address. */
#ifndef VC_BACKEND_TRAIN_PLAN_H
#define VC_BACKEND_TRAIN_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "model/config.h"

/* One block's saved activations (vc_block_acts). */
typedef struct vc_dev_block {
    float *ln1, *ln1_mean, *ln1_rstd, *qkv, *lse, *attn, *res1, *ln2, *ln2_mean, *ln2_rstd, *fc, *gelu, *out;
} vc_dev_block;

/* One tower: L is the planned (largest) sequence length; a text step may run fewer positions. */
typedef struct vc_dev_tower {
    int B, L, W, H, layers;
    float *embed;                 /* [B*L, W]: video tokens before ln_pre; text token + position */
    float *x, *x_mean, *x_rstd;   /* video: ln_pre's output (block 0's input) and statistics */
    vc_dev_block *blocks;         /* [layers], the caller's array */
    float *pooled, *pooled_ln, *pooled_mean, *pooled_rstd, *emb; /* class / EOT token, [B, E] */
    float *d_stream, *d_embed, *d_pooled, *d_pooled_in;
    float *drop;                  /* [layers][2][B] drop-path scales (video) */
} vc_dev_tower;

typedef struct vc_dev_train_plan {
    int B, K, ctx, E;
    vc_dev_tower vis, txt;
    float *patches, *tok, *d_tok;  /* the kept patches (gathered on the host), their embeddings */
    /* scratch shared by the blocks' backward (vc_block_scratch) */
    float *branch, *d_ln, *d_attn, *d_qkv, *d_hidden, *d_fc, *attn_D;
    uint16_t *a16, *b16;          /* bf16 operands of one GEMM */
    float *dv, *dt;               /* the loss's gradients w.r.t. the raw embeddings */
    /* the contrastive loss (vc_contrastive_loss's scratch): normalised embeddings and norms, the
     * logits of both directions [2, B, B] and their gradients, each row's loss, two sums */
    float *vn, *tn, *vnorm, *tnorm, *S, *dS;
    double *row_loss, *temp_sums;
    int32_t *ids;
    double *partials;             /* deterministic reductions: column sums, norms */
    int32_t *keep, *tokens, *eot, *csr;
    size_t partial_elems, csr_ints, operand_elems;
} vc_dev_train_plan;

/* Rows a column reduction is split into (each chunk summed, then the chunks in order). */
enum { VC_DEV_COLSUM_CHUNKS = 128, VC_DEV_NORM_BLOCKS = 64 };

/* Lays out a step of B clips with K kept patch tokens (the text tower planned for the whole
 * context) for a model whose parameter table has n_tensors tensors. pl->vis.blocks and
 * pl->txt.blocks must point to arrays of c->vision_layers / c->text_layers entries. With base
 * NULL only counts; returns the bytes (every tensor 256-byte aligned). */
size_t vc_dev_train_layout(vc_dev_train_plan *pl, char *base, const vc_config *c, int B, int K, int n_tensors);

/* The embedding gradients' scatter as lists, built on the host from the step's inputs (as
 * vc_vision_backward_tokens and vc_text_backward_with_tokens visit them): segment s adds the
 * source rows src[start[s] .. start[s+1]) in order into destination row dst_row[s]. */
typedef struct vc_row_lists {
    int n_seg;
    int32_t *dst_row, *start, *src;
} vc_row_lists;

/* Fills the five lists (video class, position and temporal embeddings; text token and position
 * embeddings) into ints (pl->csr_ints of them) for B clips: keep [B, K] (NULL: every token),
 * tokens [B, ctx] and the text run length Lt. Returns the number of ints used (at most
 * pl->csr_ints), 0 when out of host memory. */
size_t vc_dev_row_lists(vc_row_lists lists[5], int32_t *ints, const vc_config *c, int B, int K, const int32_t *keep,
                        const int32_t *tokens, int Lt);

#endif
