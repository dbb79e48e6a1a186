/* The LayerNorm + projection head as one op (its parameters: vc_ln_head in model/params.h):
 * every head of the model (ln_post/proj, ln_final/text_projection, the alignment heads, the
 * UMT student head, the MAE decoder's embedding and pixel head) plans, runs and back-propagates
 * through this one pair, so their arithmetic cannot drift apart. Rows are independent: a head
 * planned for N rows may run on fewer. */
#ifndef VC_MODEL_LN_HEAD_H
#define VC_MODEL_LN_HEAD_H

#include "core/arena.h"
#include "model/params.h"

typedef struct vc_ln_head_acts {
    int N, W, E;               /* planned rows, input and output widths */
    vc_real *ln, *mean, *rstd; /* [N, W], [N], [N]: LayerNorm output and statistics */
    vc_real *out;              /* [N, E] */
    vc_real *d_ln;             /* [N, W]: backward scratch, free between backwards */
} vc_ln_head_acts;

/* Plans N rows. Without backward, mean, rstd and d_ln are left out (NULL). */
void vc_ln_head_plan(vc_arena *a, vc_ln_head_acts *h, int N, int W, int E, int backward);

/* h->out[:n] = project(LayerNorm(inp [n, W])). */
void vc_ln_head_forward(const vc_ln_head *p, vc_ln_head_acts *h, const vc_real *inp, int n);

/* From dout [n, E] (d loss / d out) back through the last forward on inp (the same input):
 * parameter gradients ACCUMULATED into g's pointers, d_inp [n, W] OVERWRITTEN with
 * d loss / d inp. Needs a plan with backward. */
void vc_ln_head_backward(const vc_ln_head *p, const vc_ln_head *g, vc_ln_head_acts *h, const vc_real *inp,
                         const vc_real *dout, vc_real *d_inp, int n);

#endif
