/* Collectives on GPU buffers over NCCL, for data-parallel training on GPUs: one process per GPU,
 * each rank on the GPU of its local rank, the communicator's unique id handed from rank 0 to the
 * others over the host collectives (collectives.h: MPI, or the single process).
 *
 * Unlike vc_dist_ops (host buffers, each call complete on return), a call here queues the
 * collective on a CUDA stream and returns, as NCCL does: the caller orders it after the kernels
 * that produce the buffer by queueing both on one stream, and waits only where the host needs the
 * result (vc_nccl_wait). The wait has the host collectives' deadline: a peer that died or hangs
 * ends in an error (and an aborted communicator), never in a wait without end; errors NCCL
 * reports asynchronously (a peer's failure, a network error) end it too.
 *
 * What GPU training needs: the in-place average or sum of a float32 or bf16 gradient buffer
 * (the whole buffer, or buckets inside a group), the parameters broadcast from rank 0 at the
 * start, the all-gather of the embeddings (and their group ids) and the reduce-scatter of their
 * gradients for the global contrastive loss (global_loss.c does the same on the CPU). */
#ifndef VC_DIST_COLLECTIVES_NCCL_H
#define VC_DIST_COLLECTIVES_NCCL_H

#include "backend/gpu_runtime.h"
#include "dist/collectives.h"
#include "dist/nccl_loader.h"

typedef enum { VC_GPU_F32 = 0, VC_GPU_BF16 = 1, VC_GPU_F64 = 2, VC_GPU_I32 = 3 } vc_gpu_type;
typedef enum { VC_GPU_SUM = 0, VC_GPU_AVG = 1 } vc_gpu_reduce;

typedef struct vc_nccl_comm {
    vc_nccl_lib lib;
    const vc_gpu_runtime *gpu;
    void *comm;   /* ncclComm_t; NULL once aborted */
    void *stream; /* the communicator's own stream: used when a call passes stream NULL */
    int rank, size, device;
    double timeout_s;
    double wait_s; /* seconds the caller waited in vc_nccl_wait */
    char aborted[1024]; /* why the communicator was aborted ("" while usable) */
} vc_nccl_comm;

/* Loads NCCL (nccl_loader.h), makes GPU host->local_rank current (gpu: vc_cuda_runtime(), or a
 * substitute in tests), creates the communicator of host's ranks. Every rank must call it. */
vc_nccl_comm *vc_nccl_comm_init(vc_dist *host, const vc_gpu_runtime *gpu, vc_error *err);
/* As vc_nccl_comm_init with a library already loaded (taken over: freed with the communicator). */
vc_nccl_comm *vc_nccl_comm_init_with(vc_dist *host, const vc_gpu_runtime *gpu, vc_nccl_lib *lib, vc_error *err);
void vc_nccl_comm_free(vc_nccl_comm *c);

/* Each queues one collective on stream (NULL: the communicator's) and returns; `what` names it
 * in errors. Buffers are device memory of this rank's GPU; counts are elements. */
/* buf[n] = the sum (or mean) over ranks of buf[n]. */
int vc_nccl_allreduce(vc_nccl_comm *c, void *buf, size_t n, vc_gpu_type t, vc_gpu_reduce op, void *stream,
                      const char *what, vc_error *err);
/* buf[n] = root's buf[n] on every rank. */
int vc_nccl_broadcast(vc_nccl_comm *c, void *buf, size_t n, vc_gpu_type t, int root, void *stream, const char *what,
                      vc_error *err);
/* recv[size * n] = the send[n] of every rank, in rank order. */
int vc_nccl_allgather(vc_nccl_comm *c, const void *send, void *recv, size_t n, vc_gpu_type t, void *stream,
                      const char *what, vc_error *err);
/* recv[n] = the sum (or mean) over ranks of their send[rank * n .. (rank + 1) * n). */
int vc_nccl_reduce_scatter(vc_nccl_comm *c, const void *send, void *recv, size_t n, vc_gpu_type t, vc_gpu_reduce op,
                           void *stream, const char *what, vc_error *err);
/* Collectives queued between begin and end launch together (gradient buckets in one go). */
int vc_nccl_group_begin(vc_nccl_comm *c, vc_error *err);
int vc_nccl_group_end(vc_nccl_comm *c, const char *what, vc_error *err);

/* Orders two streams without the host waiting: what is queued on waiter from now on runs after
 * what was queued on producer so far (NULL: the communicator's stream). The gradient buckets'
 * overlap with the backward: vc_nccl_order(c, NULL, compute) when a bucket's gradients are
 * queued, then the bucket's all-reduce on the communicator's stream; vc_nccl_order(c, compute,
 * NULL) before the optimizer reads the sums. */
int vc_nccl_order(vc_nccl_comm *c, void *waiter, void *producer, vc_error *err);

/* Waits until everything queued on stream (NULL: the communicator's) has finished, NCCL reports
 * an error, or timeout_s passes; on an error or the deadline the communicator is aborted (every
 * later call fails saying why) and the caller should end the run (vc_dist_abort). */
int vc_nccl_wait(vc_nccl_comm *c, void *stream, const char *what, vc_error *err);

size_t vc_gpu_type_size(vc_gpu_type t);

#endif
