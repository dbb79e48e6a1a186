/* The text tower: token + position embeddings, causal pre-LN transformer, ln_final at the
 * EOT position (the largest token id of each row, as CLIP's argmax does), text_projection. */
#ifndef VC_MODEL_TEXT_H
#define VC_MODEL_TEXT_H

#include <stdint.h>

#include "model/ln_head.h"
#include "model/transformer.h"

typedef struct vc_text_acts {
    int B, training;
    /* Set by the caller after planning (the plan leaves it 0) when nothing reads the last
     * block's positions other than the EOT: that block then runs only the EOT row of each
     * sequence (vc_block_forward_pooled), and backward takes no d_out. */
    int pooled_last;
    int L;              /* positions run by the last forward: up to the batch's last EOT */
    int32_t *tokens;    /* [B, ctx] copy (owned by caller) */
    int32_t *eot;       /* [B] pooled position (owned by caller) */
    vc_real *embed;     /* [B, L, W] */
    vc_block_acts *blocks;
    vc_block_scratch scratch;
    vc_real *pooled;    /* [B, W] the EOT token after the last block */
    vc_ln_head_acts head; /* ln_final, text_projection: head.out [B, E] is the embedding */
    vc_layer_taps taps; /* EOT tokens at intermediate blocks (none when planned) */
    vc_real *d_stream;
} vc_text_acts;

void vc_text_plan(vc_arena *a, vc_text_acts *acts, const vc_config *c, int B, vc_acts_mode mode,
                  int max_threads);
/* tokens [B, ctx]; ids must be < vocab_size (checked by the caller, see vc_text_check_tokens). */
void vc_text_forward(const vc_config *c, const vc_text_view *p, vc_text_acts *acts,
                     const int32_t *tokens, int B);
void vc_text_backward(const vc_config *c, const vc_text_view *p, vc_text_view *g,
                      vc_text_acts *acts, const vc_real *demb, int B);
/* As vc_text_backward, plus d_out [B, L, W] (L: the positions the forward ran, acts->L) or
 * NULL: a gradient w.r.t. the last block's output at every position (the word-level alignment). */
void vc_text_backward_with_tokens(const vc_config *c, const vc_text_view *p, vc_text_view *g,
                                  vc_text_acts *acts, const vc_real *demb, const vc_real *d_out, int B);
int vc_text_check_tokens(const vc_config *c, const int32_t *tokens, int B, vc_error *err);

#endif
