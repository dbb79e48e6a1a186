/* Collective communication between the ranks of a data-parallel run, behind one small
 * interface. Two implementations exist: a single process (every collective is the identity or
 * a copy) and MPI (host buffers; built when mpicc is found). GPU buffers go through NCCL
 * (collectives_nccl.h: queued on CUDA streams), whose id exchange runs over these collectives.
 *
 * Every collective is bounded by a deadline (vc_dist.timeout_s): when a peer died or hangs the
 * call fails with an error naming the ranks that did not answer, instead of waiting forever.
 * The caller then stops and calls vc_dist_abort, which ends every rank. */
#ifndef VC_DIST_COLLECTIVES_H
#define VC_DIST_COLLECTIVES_H

#include <stddef.h>

#include "core/error.h"

typedef enum { VC_DIST_F32 = 0, VC_DIST_F64 = 1, VC_DIST_I32 = 2 } vc_dist_type;

/* The vc_dist_type of vc_real (float, or double in the VC_DOUBLE build). */
#ifdef VC_DOUBLE
#define VC_DIST_REAL VC_DIST_F64
#else
#define VC_DIST_REAL VC_DIST_F32
#endif

typedef struct vc_dist vc_dist;
typedef struct vc_dist_request vc_dist_request;

typedef struct vc_dist_ops {
    const char *name;
    /* buf[n] = sum over ranks of buf[n], in place. */
    int (*allreduce_sum)(vc_dist *d, void *buf, size_t n, vc_dist_type t, const char *what, vc_error *err);
    /* recv[size * n] = the send[n] of every rank, in rank order. */
    int (*allgather)(vc_dist *d, const void *send, void *recv, size_t n, vc_dist_type t, const char *what, vc_error *err);
    /* recv[n] = sum over ranks of their send[rank * n .. (rank + 1) * n). */
    int (*reduce_scatter_sum)(vc_dist *d, const void *send, void *recv, size_t n, vc_dist_type t, const char *what,
                              vc_error *err);
    /* Starts an in-place sum that completes while the caller computes (NULL request on error). */
    vc_dist_request *(*iallreduce_sum)(vc_dist *d, void *buf, size_t n, vc_dist_type t, const char *what,
                                       vc_error *err);
    int (*wait)(vc_dist *d, vc_dist_request *r, vc_error *err); /* frees r */
    void (*abort)(vc_dist *d, int code);
    void (*finalize)(vc_dist *d);
} vc_dist_ops;

struct vc_dist {
    const vc_dist_ops *ops;
    int rank, size, local_rank, local_size;
    double timeout_s;   /* deadline of one collective */
    double comm_s;      /* seconds the caller waited in collectives (communication not overlapped) */
    double comm_busy_s; /* seconds asynchronous all-reduces ran (on the communication thread) */
    void *impl;
};

/* The process's collectives: MPI when this build has it and the process was started by a
 * launcher (mpirun, srun; detected from the environment), else a single process. The rank,
 * world size and local rank come from MPI. Never NULL unless MPI itself fails to start. */
vc_dist *vc_dist_init(int *argc, char ***argv, double timeout_s, vc_error *err);
/* A single-process instance (tests, library users without a launcher). */
vc_dist *vc_dist_single(void);
/* Finalises (MPI_Finalize) and frees. */
void vc_dist_free(vc_dist *d);
/* Ends every rank of the run (MPI_Abort); for the CLI after a fatal error. Returns in a single
 * process. */
void vc_dist_abort(vc_dist *d, int code);
/* 1 when this build can run over MPI. */
int vc_dist_have_mpi(void);

static inline int vc_dist_allreduce_sum(vc_dist *d, void *buf, size_t n, vc_dist_type t, const char *what, vc_error *err) {
    return d->ops->allreduce_sum(d, buf, n, t, what, err);
}
static inline int vc_dist_allgather(vc_dist *d, const void *send, void *recv, size_t n, vc_dist_type t, const char *what,
                                    vc_error *err) {
    return d->ops->allgather(d, send, recv, n, t, what, err);
}
static inline int vc_dist_reduce_scatter_sum(vc_dist *d, const void *send, void *recv, size_t n, vc_dist_type t,
                                             const char *what, vc_error *err) {
    return d->ops->reduce_scatter_sum(d, send, recv, n, t, what, err);
}

/* The single-process vtable, also the fallback of other implementations for size 1. */
extern const vc_dist_ops vc_dist_single_ops;
/* Bytes of one element of type t. */
size_t vc_dist_type_size(vc_dist_type t);

#endif
