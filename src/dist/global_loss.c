#include "dist/global_loss.h"

#include <stdlib.h>
#include <string.h>

#include "model/contrastive.h"

int vc_global_loss_init(vc_global_loss *g, int R, int size, int E, vc_error *err) {
    memset(g, 0, sizeof *g);
    const int N = R * size;
    g->R = R, g->N = N, g->E = E;
    const size_t NE = (size_t)N * E;
    g->v = malloc(NE * sizeof *g->v), g->t = malloc(NE * sizeof *g->t);
    g->dv = malloc(NE * sizeof *g->dv), g->dt = malloc(NE * sizeof *g->dt);
    g->vnorm = malloc((size_t)N * sizeof *g->vnorm), g->tnorm = malloc((size_t)N * sizeof *g->tnorm);
    g->logits = malloc((size_t)N * N * sizeof *g->logits);
    g->probs = malloc((size_t)N * N * sizeof *g->probs);
    g->ids = malloc((size_t)N * sizeof *g->ids);
    if (!g->v || !g->t || !g->dv || !g->dt || !g->vnorm || !g->tnorm || !g->logits || !g->probs || !g->ids) {
        vc_global_loss_free(g);
        return vc_fail(err, "out of memory for the global-batch loss (%d rows of %d)", N, E);
    }
    return 0;
}

void vc_global_loss_free(vc_global_loss *g) {
    free(g->v), free(g->t), free(g->dv), free(g->dt), free(g->vnorm), free(g->tnorm), free(g->logits), free(g->probs), free(g->ids);
    memset(g, 0, sizeof *g);
}

/* One direction: queries Q [R, E] (this block's rows) against keys K [N, E], composed from the
 * contrastive forward/backward pairs. Accumulates into dQ [R, E] and dK [N, E] and *dtemp;
 * returns the loss share. */
static double direction(vc_global_loss *g, const vc_real *Q, const vc_real *K, const int32_t *q_ids,
                        const int32_t *k_ids, int row_offset, int R, vc_real temp, double scale, vc_real *dQ,
                        vc_real *dK, double *dtemp) {
    const int N = g->N, E = g->E;
    vc_logits_forward(g->logits, Q, K, R, N, E, temp);
    const double loss = scale * vc_infonce_rows_forward(g->probs, g->logits, R, N, q_ids, k_ids, row_offset);
    vc_infonce_rows_backward(g->probs, g->probs, R, N, q_ids, k_ids, row_offset, scale);
    *dtemp += vc_logits_backward(dQ, dK, g->probs, g->logits, Q, K, R, N, E, temp);
    return loss;
}

int vc_global_loss_run(vc_global_loss *g, vc_dist *d, int local, const vc_real *v, const vc_real *t,
                       const int32_t *ids, vc_real temp, double *loss, vc_real *dv, vc_real *dt, vc_real *dtemp,
                       vc_error *err) {
    const int R = g->R, N = g->N, E = g->E;
    const size_t RE = (size_t)R * E, NE = (size_t)N * E;
    if (vc_dist_allgather(d, v, g->v, RE, VC_DIST_REAL, "video embedding all-gather", err) ||
        vc_dist_allgather(d, t, g->t, RE, VC_DIST_REAL, "text embedding all-gather", err))
        return -1;
    if (ids && vc_dist_allgather(d, ids, g->ids, (size_t)R, VC_DIST_I32, "group id all-gather", err)) return -1;
    const int32_t *all_ids = ids ? g->ids : NULL; /* NULL: positives on the global diagonal */
    vc_l2norm_forward(g->v, g->vnorm, g->v, N, E);
    vc_l2norm_forward(g->t, g->tnorm, g->t, N, E);
    memset(g->dv, 0, NE * sizeof *g->dv);
    memset(g->dt, 0, NE * sizeof *g->dt);
    /* rows of this rank (local loss) or all rows (full loss), against all columns */
    const int r0 = local ? d->rank * R : 0, rows = local ? R : N;
    const size_t o = (size_t)r0 * E;
    const int32_t *row_ids = all_ids ? all_ids + r0 : NULL;
    const double scale = 1.0 / (2.0 * N); /* the mean over both directions of the global batch */
    double dtmp = 0, l = 0;
    l += direction(g, g->v + o, g->t, row_ids, all_ids, r0, rows, temp, scale, g->dv + o, g->dt, &dtmp);
    l += direction(g, g->t + o, g->v, row_ids, all_ids, r0, rows, temp, scale, g->dt + o, g->dv, &dtmp);
    if (local) {
        /* the loss is the sum of the ranks' rows; each rank's embeddings get every rank's terms */
        if (vc_dist_allreduce_sum(d, &l, 1, VC_DIST_F64, "loss all-reduce", err)) return -1;
        if (vc_dist_reduce_scatter_sum(d, g->dv, dv, RE, VC_DIST_REAL, "video gradient reduce-scatter", err) ||
            vc_dist_reduce_scatter_sum(d, g->dt, dt, RE, VC_DIST_REAL, "text gradient reduce-scatter", err))
            return -1;
    } else {
        /* every rank has the whole gradient: keep its rows; the temperature's counts once */
        memcpy(dv, g->dv + (size_t)d->rank * RE, RE * sizeof *dv);
        memcpy(dt, g->dt + (size_t)d->rank * RE, RE * sizeof *dt);
        if (d->rank) dtmp = 0;
    }
    const size_t mine = (size_t)d->rank * RE;
    vc_l2norm_backward(dv, dv, g->v + mine, g->vnorm + (size_t)d->rank * R, R, E);
    vc_l2norm_backward(dt, dt, g->t + mine, g->tnorm + (size_t)d->rank * R, R, E);
    *loss = l;
    if (dtemp) *dtemp = (vc_real)dtmp;
    return 0;
}
