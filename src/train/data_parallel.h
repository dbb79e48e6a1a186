/* One training step's forward and backward in a data-parallel run: every micro-batch's
 * embeddings, the contrastive loss over the global batch (all ranks, all micro-batches; local or
 * full, see dist/global_loss.h), the backward of each micro-batch from its rows' gradients, and
 * the gradient sum over the ranks, started tower by tower while the backward still runs. On
 * return every rank holds the same gradients (those of one process with the whole global batch)
 * and the same loss. */
#ifndef VC_TRAIN_DATA_PARALLEL_H
#define VC_TRAIN_DATA_PARALLEL_H

#include "dist/global_loss.h"
#include "dist/grad_sync.h"
#include "model/model.h"

typedef struct vc_data_parallel {
    vc_dist *dist;
    int local_loss;      /* 1: each rank the rows of its clips (open_clip's --local-loss) */
    int A, B, E;         /* micro-batches per step, clips per micro-batch and rank, embedding size */
    vc_global_loss loss;
    vc_grad_sync sync;
    vc_real *emb, *demb; /* [2, A*B, E]: video then text embeddings of this rank, and their gradients */
    vc_error hook_err;   /* a failure inside the backward hook, reported after it */
    int hook_failed;
} vc_data_parallel;

int vc_data_parallel_init(vc_data_parallel *dp, vc_dist *d, const vc_model *m, int accum, int batch,
                          const int frozen[3], int local_loss, vc_error *err);
void vc_data_parallel_free(vc_data_parallel *dp);

/* micro[A]: this rank's micro-batches (ids: dataset group ids). Gradients are ACCUMULATED into
 * m->grads (zero them first) and then summed over the ranks; *loss is the global-batch loss. */
int vc_data_parallel_step(vc_data_parallel *dp, vc_model *m, vc_step_inputs *micro, double *loss, vc_error *err);

#endif
