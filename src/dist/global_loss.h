/* The contrastive loss over the global batch of a data-parallel run, as open_clip computes it
 * with --gather-with-grad: every rank all-gathers the video and text embeddings of all ranks,
 * then either
 *   local loss (open_clip's --local-loss, the default): the rank computes the rows of its own
 *     clips against all columns, in both directions ([R, N] logit blocks), and the gradients
 *     that reach the other ranks' embeddings are summed back to them (reduce-scatter); or
 *   full loss: every rank computes the whole [N, N] loss and keeps its own rows' gradients.
 * Both give the loss and gradients of one process holding the whole global batch. The loss is
 * normalised by the global batch, so the per-rank parameter gradients SUM to the global
 * gradient (vc_grad_sync), and the temperature gradient is returned as this rank's share. */
#ifndef VC_DIST_GLOBAL_LOSS_H
#define VC_DIST_GLOBAL_LOSS_H

#include <stdint.h>

#include "core/real.h"
#include "dist/collectives.h"

typedef struct vc_global_loss {
    int R, N, E;          /* rows of this rank, rows of all ranks (R * size), embedding size */
    vc_real *v, *t;       /* [N, E] gathered embeddings (normalised in place) */
    vc_real *dv, *dt;     /* [N, E] gradients w.r.t. the normalised gathered embeddings */
    vc_real *vnorm, *tnorm; /* [N] */
    vc_real *logits, *probs; /* [R or N, N] one direction's block at a time, and its softmax/gradient */
    int32_t *ids;         /* [N] group ids of all rows */
} vc_global_loss;

int vc_global_loss_init(vc_global_loss *g, int R, int size, int E, vc_error *err);
void vc_global_loss_free(vc_global_loss *g);

/* v, t [R, E]: this rank's raw embeddings; ids [R]: their positive groups, comparable across
 * ranks (dataset ids), or NULL for positives on the diagonal of the global batch. Sets *loss to
 * the global-batch loss (the same on every rank), dv, dt [R, E] to the gradients of that loss
 * w.r.t. this rank's raw embeddings, and *dtemp to this rank's share of d loss / d temp (the
 * shares sum to the whole over the ranks). */
int vc_global_loss_run(vc_global_loss *g, vc_dist *d, int local, const vc_real *v, const vc_real *t,
                       const int32_t *ids, vc_real temp, double *loss, vc_real *dv, vc_real *dt, vc_real *dtemp,
                       vc_error *err);

#endif
