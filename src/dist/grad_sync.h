/* Data-parallel gradient synchronisation: the gradients of every trainable parameter are
 * summed over the ranks in buckets of contiguous parameters. A bucket starts as soon as the
 * backward pass has finished its parameters (the video tower block by block, from the last),
 * on the collectives' communication thread, so communication overlaps the rest of the
 * backward; frozen towers (--lock-text) are never sent.
 *
 * Each rank's gradients are its share of the gradient of the global-batch loss (the loss is
 * normalised by the global batch), so their sum is the gradient of the global batch: the same
 * as one process with the whole batch, and as DDP's average of per-rank mean losses. */
#ifndef VC_DIST_GRAD_SYNC_H
#define VC_DIST_GRAD_SYNC_H

#include "dist/collectives.h"
#include "model/params.h"

typedef struct vc_grad_bucket {
    size_t offset, count; /* elements of the gradient buffer */
    int tower;            /* vc_tower */
} vc_grad_bucket;

typedef struct vc_grad_sync {
    vc_dist *dist;
    vc_grad_bucket *buckets;
    int n_buckets;
    vc_dist_request **pending; /* [n_buckets] while a step's reduction runs */
    vc_real *grads;            /* the buffer of the step under way */
} vc_grad_sync;

/* Plans buckets of at most bucket_elems over the trainable towers (frozen[tower] = 1: skipped). */
int vc_grad_sync_init(vc_grad_sync *s, vc_dist *d, const vc_param_table *t, const int frozen[3],
                      size_t bucket_elems, vc_error *err);
void vc_grad_sync_free(vc_grad_sync *s);

/* A new step whose gradients accumulate in grads. */
void vc_grad_sync_begin(vc_grad_sync *s, vc_real *grads);
/* The tower's gradients from element offset on are final for this step: start summing the
 * buckets of the tower that lie there (0: the whole tower). */
int vc_grad_sync_ready(vc_grad_sync *s, int tower, size_t offset, vc_error *err);
/* Starts what is left and waits for every bucket: grads then hold the sum over the ranks. */
int vc_grad_sync_finish(vc_grad_sync *s, vc_error *err);

/* Elements sent per step (the trainable parameters). */
size_t vc_grad_sync_elems(const vc_grad_sync *s);

#endif
