#include "dist/collectives.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Implemented by collectives_mpi.c (a failing stub in builds without MPI). */
vc_dist *vc_dist_mpi_init(int *argc, char ***argv, double timeout_s, vc_error *err);

size_t vc_dist_type_size(vc_dist_type t) { return t == VC_DIST_F64 ? sizeof(double) : t == VC_DIST_I32 ? sizeof(int32_t) : sizeof(float); }

static int single_allreduce(vc_dist *d, void *buf, size_t n, vc_dist_type t, const char *what, vc_error *err) {
    return 0;
}

static int single_copy(vc_dist *d, const void *send, void *recv, size_t n, vc_dist_type t, const char *what,
                       vc_error *err) {
    if (send != recv) memmove(recv, send, n * vc_dist_type_size(t));
    return 0;
}

struct vc_dist_request {
    int unused;
};

static vc_dist_request *single_iallreduce(vc_dist *d, void *buf, size_t n, vc_dist_type t, const char *what,
                                          vc_error *err) {
    static vc_dist_request done; /* nothing to wait for: every request is the same finished one */
    return &done;
}

static int single_wait(vc_dist *d, vc_dist_request *r, vc_error *err) { return 0; }
static void single_abort(vc_dist *d, int code) {}
static void single_finalize(vc_dist *d) { free(d); }

const vc_dist_ops vc_dist_single_ops = {
    .name = "single",
    .allreduce_sum = single_allreduce,
    .allgather = single_copy,
    .reduce_scatter_sum = single_copy,
    .iallreduce_sum = single_iallreduce,
    .wait = single_wait,
    .abort = single_abort,
    .finalize = single_finalize,
};

vc_dist *vc_dist_single(void) {
    vc_dist *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    *d = (vc_dist){.ops = &vc_dist_single_ops, .rank = 0, .size = 1, .local_rank = 0, .local_size = 1,
                   .timeout_s = 0};
    return d;
}

/* A launcher that starts several processes leaves its mark in each one's environment. */
static int launched_by_mpi(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                                       "MPI_LOCALNRANKS", "SLURM_STEP_NUM_TASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

vc_dist *vc_dist_init(int *argc, char ***argv, double timeout_s, vc_error *err) {
    if (vc_dist_have_mpi() && launched_by_mpi()) return vc_dist_mpi_init(argc, argv, timeout_s, err);
    vc_dist *d = vc_dist_single();
    if (!d) vc_fail(err, "out of memory starting the collectives");
    return d;
}

void vc_dist_free(vc_dist *d) {
    if (d) d->ops->finalize(d);
}

void vc_dist_abort(vc_dist *d, int code) {
    if (d) d->ops->abort(d, code);
}
