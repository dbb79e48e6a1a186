#include "dist/collectives_nccl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

size_t vc_gpu_type_size(vc_gpu_type t) {
    return t == VC_GPU_BF16 ? 2 : t == VC_GPU_F64 ? sizeof(double) : t == VC_GPU_I32 ? sizeof(int32_t) : sizeof(float);
}

static int nccl_type(vc_gpu_type t) {
    return t == VC_GPU_BF16 ? VC_NCCL_BFLOAT16 : t == VC_GPU_F64 ? VC_NCCL_FLOAT64 : t == VC_GPU_I32 ? VC_NCCL_INT32
                                                                                                  : VC_NCCL_FLOAT32;
}

static int nccl_op(vc_gpu_reduce op) { return op == VC_GPU_AVG ? VC_NCCL_AVG : VC_NCCL_SUM; }

/* "rank 1: ncclAllReduce (gradient bucket 3) failed: unhandled system error (... last error ...)" */
static int nccl_fail(vc_nccl_comm *c, vc_error *err, int rc, const char *call, const char *what) {
    /* NCCL's last error is per thread and ignores comm, so a NULL one (a failed init) is fine */
    const char *last = c->lib.get_last_error ? c->lib.get_last_error(c->comm) : NULL;
    return vc_fail(err, "rank %d: %s (%s) failed: %s%s%s%s", c->rank, call, what, c->lib.get_error_string(rc),
                   last && last[0] ? " (" : "", last && last[0] ? last : "", last && last[0] ? ")" : "");
}

/* Ends the communicator after an error or a deadline: its queued work stops, and every later
 * call fails with the reason. */
static void abort_comm(vc_nccl_comm *c, const char *why) {
    if (c->comm) c->lib.comm_abort(c->comm);
    c->comm = NULL;
    snprintf(c->aborted, sizeof c->aborted, "%s", why);
}

static int usable(vc_nccl_comm *c, const char *what, vc_error *err) {
    if (c->comm) return 1;
    vc_fail(err, "rank %d: %s: the NCCL communicator was aborted after an earlier error (%s)", c->rank, what,
            c->aborted);
    return 0;
}

/* ---- set-up -------------------------------------------------------------------------------- */

/* This rank's GPU: the one of its local rank (one process per GPU), or the only one it sees when
 * the launcher gave each rank its own (CUDA_VISIBLE_DEVICES, as Slurm's --gpus-per-task does). */
static int pick_device(vc_nccl_comm *c, int local_rank, int local_size, vc_error *err) {
    int count = 0;
    vc_error e;
    if (c->gpu->device_count(&count, &e)) return vc_fail(err, "rank %d: no GPU for NCCL: %s", c->rank, e.msg);
    const char *visible = getenv("CUDA_VISIBLE_DEVICES");
    if (local_rank < count) c->device = local_rank;
    else if (count == 1 && visible && visible[0]) c->device = 0;
    else
        return vc_fail(err, "rank %d: local rank %d of %d on this node, but it has %d GPU%s: start one process per GPU",
                       c->rank, local_rank, local_size, count, count == 1 ? "" : "s");
    if (c->gpu->set_device(c->device, &e)) return vc_fail(err, "rank %d: %s", c->rank, e.msg);
    if (c->gpu->stream_create(&c->stream, &e)) return vc_fail(err, "rank %d: %s", c->rank, e.msg);
    return 0;
}

/* Rank 0's unique id to every rank over the host collectives, with each rank's status, so that
 * a rank that could not set up makes every rank fail instead of waiting in ncclCommInitRank. */
enum { ID_WORDS = VC_NCCL_UNIQUE_ID_BYTES / 4 };
static int exchange_id(vc_nccl_comm *c, vc_dist *host, int ok, vc_nccl_unique_id *id, vc_error *err) {
    int32_t mine[1 + ID_WORDS] = {ok ? 0 : 1};
    if (ok && c->rank == 0) {
        int rc = c->lib.get_unique_id(id);
        if (rc != VC_NCCL_SUCCESS) {
            nccl_fail(c, err, rc, "ncclGetUniqueId", "the communicator's id");
            mine[0] = 1, ok = 0;
        } else {
            memcpy(mine + 1, id, sizeof *id);
        }
    }
    int32_t *all = calloc((size_t)host->size * (1 + ID_WORDS), sizeof *all);
    if (!all) return vc_fail(err, "rank %d: out of memory exchanging the NCCL id", c->rank);
    if (vc_dist_allgather(host, mine, all, 1 + ID_WORDS, VC_DIST_I32, "NCCL unique id all-gather", err)) {
        free(all);
        return -1;
    }
    int bad = -1;
    for (int r = 0; r < host->size && bad < 0; r++)
        if (all[(size_t)r * (1 + ID_WORDS)]) bad = r;
    if (bad >= 0 && ok) vc_fail(err, "rank %d: rank %d could not set up NCCL (see its error)", c->rank, bad);
    if (bad < 0) memcpy(id, all + 1, sizeof *id);
    free(all);
    return bad < 0 ? 0 : -1;
}

vc_nccl_comm *vc_nccl_comm_init_with(vc_dist *host, const vc_gpu_runtime *gpu, vc_nccl_lib *lib, vc_error *err) {
    vc_nccl_comm *c = calloc(1, sizeof *c);
    if (!c) {
        vc_nccl_unload(lib);
        vc_fail(err, "out of memory starting NCCL");
        return NULL;
    }
    c->lib = *lib;
    memset(lib, 0, sizeof *lib); /* taken over */
    c->gpu = gpu, c->rank = host->rank, c->size = host->size, c->timeout_s = host->timeout_s, c->device = -1;
    snprintf(c->aborted, sizeof c->aborted, "not yet created");
    vc_error local;
    const int ok = pick_device(c, host->local_rank, host->local_size, &local) == 0;
    vc_nccl_unique_id id;
    if (exchange_id(c, host, ok, &id, err)) {
        if (!ok && err) *err = local;
        vc_nccl_comm_free(c);
        return NULL;
    }
    int rc = c->lib.comm_init_rank(&c->comm, c->size, id, c->rank);
    if (rc != VC_NCCL_SUCCESS) {
        c->comm = NULL;
        nccl_fail(c, err, rc, "ncclCommInitRank", "creating the communicator");
        vc_nccl_comm_free(c);
        return NULL;
    }
    c->aborted[0] = 0;
    return c;
}

vc_nccl_comm *vc_nccl_comm_init(vc_dist *host, const vc_gpu_runtime *gpu, vc_error *err) {
    vc_nccl_lib lib;
    vc_error e;
    /* every rank takes part in the id exchange, so a rank without NCCL does not strand the others */
    if (vc_nccl_load(&lib, &e)) {
        memset(&lib, 0, sizeof lib);
        int32_t mine[1 + ID_WORDS] = {1};
        int32_t *all = calloc((size_t)host->size * (1 + ID_WORDS), sizeof *all);
        if (all) vc_dist_allgather(host, mine, all, 1 + ID_WORDS, VC_DIST_I32, "NCCL unique id all-gather", NULL);
        free(all);
        vc_fail(err, "rank %d: %s", host->rank, e.msg);
        return NULL;
    }
    return vc_nccl_comm_init_with(host, gpu, &lib, err);
}

void vc_nccl_comm_free(vc_nccl_comm *c) {
    if (!c) return;
    if (c->comm) c->lib.comm_destroy(c->comm);
    if (c->stream) c->gpu->stream_destroy(c->stream);
    vc_nccl_unload(&c->lib);
    free(c);
}

/* ---- collectives --------------------------------------------------------------------------- */

int vc_nccl_allreduce(vc_nccl_comm *c, void *buf, size_t n, vc_gpu_type t, vc_gpu_reduce op, void *stream,
                      const char *what, vc_error *err) {
    if (!usable(c, what, err)) return -1;
    int rc = c->lib.all_reduce(buf, buf, n, nccl_type(t), nccl_op(op), c->comm, stream ? stream : c->stream);
    return rc == VC_NCCL_SUCCESS ? 0 : nccl_fail(c, err, rc, "ncclAllReduce", what);
}

int vc_nccl_broadcast(vc_nccl_comm *c, void *buf, size_t n, vc_gpu_type t, int root, void *stream, const char *what,
                      vc_error *err) {
    if (!usable(c, what, err)) return -1;
    if (root < 0 || root >= c->size)
        return vc_fail(err, "rank %d: %s: broadcast root %d is not a rank of %d", c->rank, what, root, c->size);
    int rc = c->lib.broadcast(buf, buf, n, nccl_type(t), root, c->comm, stream ? stream : c->stream);
    return rc == VC_NCCL_SUCCESS ? 0 : nccl_fail(c, err, rc, "ncclBroadcast", what);
}

int vc_nccl_allgather(vc_nccl_comm *c, const void *send, void *recv, size_t n, vc_gpu_type t, void *stream,
                      const char *what, vc_error *err) {
    if (!usable(c, what, err)) return -1;
    int rc = c->lib.all_gather(send, recv, n, nccl_type(t), c->comm, stream ? stream : c->stream);
    return rc == VC_NCCL_SUCCESS ? 0 : nccl_fail(c, err, rc, "ncclAllGather", what);
}

int vc_nccl_reduce_scatter(vc_nccl_comm *c, const void *send, void *recv, size_t n, vc_gpu_type t, vc_gpu_reduce op,
                           void *stream, const char *what, vc_error *err) {
    if (!usable(c, what, err)) return -1;
    int rc = c->lib.reduce_scatter(send, recv, n, nccl_type(t), nccl_op(op), c->comm, stream ? stream : c->stream);
    return rc == VC_NCCL_SUCCESS ? 0 : nccl_fail(c, err, rc, "ncclReduceScatter", what);
}

int vc_nccl_group_begin(vc_nccl_comm *c, vc_error *err) {
    if (!usable(c, "a group of collectives", err)) return -1;
    int rc = c->lib.group_start();
    return rc == VC_NCCL_SUCCESS ? 0 : nccl_fail(c, err, rc, "ncclGroupStart", "a group of collectives");
}

int vc_nccl_group_end(vc_nccl_comm *c, const char *what, vc_error *err) {
    int rc = c->lib.group_end(); /* always, so that NCCL's group depth returns to zero */
    if (!usable(c, what, err)) return -1;
    return rc == VC_NCCL_SUCCESS ? 0 : nccl_fail(c, err, rc, "ncclGroupEnd", what);
}

int vc_nccl_order(vc_nccl_comm *c, void *waiter, void *producer, vc_error *err) {
    if (!usable(c, "ordering streams", err)) return -1;
    vc_error e;
    if (c->gpu->stream_order(waiter ? waiter : c->stream, producer ? producer : c->stream, &e))
        return vc_fail(err, "rank %d: ordering the communicator's stream: %s", c->rank, e.msg);
    return 0;
}

static void pause_briefly(int polls) {
    if (polls < 64) return; /* a short spin first: most waits end in microseconds */
    struct timespec ts = {0, polls < 1024 ? 50 * 1000 : 1000 * 1000};
    nanosleep(&ts, NULL);
}

int vc_nccl_wait(vc_nccl_comm *c, void *stream, const char *what, vc_error *err) {
    if (!usable(c, what, err)) return -1;
    if (!stream) stream = c->stream;
    const double t0 = vc_now_s();
    int rc = 0;
    for (int polls = 0;; polls++) {
        int async = VC_NCCL_SUCCESS;
        int q = c->lib.comm_get_async_error(c->comm, &async);
        if (q != VC_NCCL_SUCCESS || (async != VC_NCCL_SUCCESS && async != VC_NCCL_IN_PROGRESS)) {
            nccl_fail(c, err, q != VC_NCCL_SUCCESS ? q : async, "NCCL", what);
            abort_comm(c, err ? err->msg : "asynchronous NCCL error");
            rc = -1;
            break;
        }
        vc_error e;
        int done = c->gpu->stream_poll(stream, &e);
        if (done < 0) {
            vc_fail(err, "rank %d: waiting for %s: %s", c->rank, what, e.msg);
            abort_comm(c, e.msg);
            rc = -1;
            break;
        }
        if (done) break;
        if (c->timeout_s > 0 && vc_now_s() - t0 > c->timeout_s) {
            vc_fail(err, "rank %d: %s did not complete within %g s; the NCCL communicator was aborted (a peer died, "
                         "hangs, or is slower than the deadline: see --dist-timeout)", c->rank, what, c->timeout_s);
            abort_comm(c, err ? err->msg : "deadline");
            rc = -1;
            break;
        }
        pause_briefly(polls);
    }
    c->wait_s += vc_now_s() - t0;
    return rc;
}
