#include "model/ln_head.h"

#include <string.h>

#include "kernels/layernorm.h"
#include "kernels/linear.h"

void vc_ln_head_plan(vc_arena *a, vc_ln_head_acts *h, int N, int W, int E, int backward) {
    const size_t n = (size_t)N;
    memset(h, 0, sizeof *h);
    h->N = N, h->W = W, h->E = E;
    h->ln = vc_arena_take(a, n * W);
    if (backward) {
        h->mean = vc_arena_take(a, n);
        h->rstd = vc_arena_take(a, n);
    }
    h->out = vc_arena_take(a, n * E);
    if (backward) h->d_ln = vc_arena_take(a, n * W);
}

void vc_ln_head_forward(const vc_ln_head *p, vc_ln_head_acts *h, const vc_real *inp, int n) {
    vc_layernorm_forward(h->ln, h->mean, h->rstd, inp, p->ln_w, p->ln_b, n, h->W);
    /* fp32 whatever the blocks' precision: the heads are a sliver of a step's work, and the
     * towers' projections are fp32 on the GPU as well (src/cuda), so embeddings agree. */
    if (p->proj) vc_project_forward(h->out, h->ln, p->proj, n, h->W, h->E);
    else vc_linear_forward(&vc_matmul_fp32, h->out, h->ln, p->lin_w, p->lin_b, n, h->W, h->E);
}

void vc_ln_head_backward(const vc_ln_head *p, const vc_ln_head *g, vc_ln_head_acts *h, const vc_real *inp,
                         const vc_real *dout, vc_real *d_inp, int n) {
    const int W = h->W, E = h->E;
    memset(h->d_ln, 0, (size_t)n * W * sizeof(vc_real));
    if (p->proj) vc_project_backward(h->d_ln, g->proj, dout, h->ln, p->proj, n, W, E);
    else vc_linear_backward(&vc_matmul_fp32, h->d_ln, g->lin_w, g->lin_b, dout, h->ln, p->lin_w, n, W, E);
    memset(d_inp, 0, (size_t)n * W * sizeof(vc_real));
    vc_layernorm_backward(d_inp, g->ln_w, g->ln_b, h->d_ln, inp, p->ln_w, h->mean, h->rstd, n, W);
}
