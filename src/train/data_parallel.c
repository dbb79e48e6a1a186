#include "train/data_parallel.h"

#include <stdlib.h>
#include <string.h>

/* Gradient all-reduce buckets: large enough that per-message latency does not dominate, small
 * enough that the first bucket starts early (PyTorch DDP's default is 25 MB). */
enum { BUCKET_ELEMS = 25 * 1024 * 1024 / sizeof(float) };

int vc_data_parallel_init(vc_data_parallel *dp, vc_dist *d, const vc_model *m, int accum, int batch,
                          const int frozen[3], int local_loss, vc_error *err) {
    memset(dp, 0, sizeof *dp);
    dp->dist = d, dp->local_loss = local_loss;
    dp->A = accum, dp->B = batch, dp->E = m->cfg.embed_dim;
    const size_t n = (size_t)2 * accum * batch * dp->E;
    dp->emb = malloc(n * sizeof *dp->emb);
    dp->demb = malloc(n * sizeof *dp->demb);
    if (!dp->emb || !dp->demb) {
        vc_data_parallel_free(dp);
        return vc_fail(err, "out of memory for the embeddings of %d micro-batches of %d clips", accum, batch);
    }
    if (vc_global_loss_init(&dp->loss, accum * batch, d->size, dp->E, err) ||
        vc_grad_sync_init(&dp->sync, d, &m->table, frozen, BUCKET_ELEMS, err)) {
        vc_data_parallel_free(dp);
        return -1;
    }
    return 0;
}

void vc_data_parallel_free(vc_data_parallel *dp) {
    free(dp->emb), free(dp->demb);
    vc_global_loss_free(&dp->loss);
    vc_grad_sync_free(&dp->sync);
    memset(dp, 0, sizeof *dp);
}

static void grads_ready(void *user, int tower, const vc_real *from) {
    vc_data_parallel *dp = user;
    const size_t offset = (size_t)(from - dp->sync.grads);
    if (!dp->hook_failed && vc_grad_sync_ready(&dp->sync, tower, offset, &dp->hook_err)) dp->hook_failed = 1;
}

int vc_data_parallel_step(vc_data_parallel *dp, vc_model *m, vc_step_inputs *micro, double *loss, vc_error *err) {
    const int A = dp->A, B = dp->B;
    const size_t BE = (size_t)B * dp->E, all = (size_t)A * BE;
    dp->hook_failed = 0;
    if (vc_model_enable_grads(m, err)) return -1;
    vc_grad_sync_begin(&dp->sync, m->grads);
    for (int k = 0; k < A; k++)
        if (vc_model_step_embeddings(m, &micro[k], dp->emb + k * BE, dp->emb + all + k * BE, err)) return -1;
    vc_real dtemp = 0;
    /* the micro-batches' ids are consecutive in one buffer, as their embeddings */
    if (vc_global_loss_run(&dp->loss, dp->dist, dp->local_loss, dp->emb, dp->emb + all, micro[0].ids, m->p.temp[0],
                           loss, dp->demb, dp->demb + all, &dtemp, err))
        return -1;
    for (int k = 0; k < A; k++) {
        vc_step_inputs in = micro[k];
        if (k == A - 1) in.on_grads_ready = grads_ready, in.hook_user = dp; /* the step's last backward */
        const vc_real *dv = dp->demb + k * BE, *dt = dp->demb + all + k * BE;
        /* one micro-batch: its activations are still those of the embedding pass */
        int rc = A == 1 ? vc_model_backward_kept(m, &in, dv, dt, err) : vc_model_backward_from(m, &in, dv, dt, err);
        if (rc) {
            vc_error ignored;
            vc_grad_sync_finish(&dp->sync, &ignored); /* no bucket may still be writing the gradients */
            return -1;
        }
    }
    m->g.temp[0] += dtemp; /* this rank's share; the sum over the ranks is the whole */
    int rc = vc_grad_sync_finish(&dp->sync, err);
    if (!rc && dp->hook_failed) {
        if (err) *err = dp->hook_err;
        rc = -1;
    }
    return rc;
}
