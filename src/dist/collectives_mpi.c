/* The MPI implementation of the collectives (host buffers).
 *
 * Blocking collectives are nonblocking MPI calls polled against a deadline, so a dead or hung
 * peer becomes an error instead of a hang. On a deadline the rank pings every peer on a separate
 * communicator; peers waiting in any collective answer pings from their polling loops, so the
 * ranks that stay silent are the ones named.
 *
 * Asynchronous all-reduces (gradient buckets, started while the backward pass still runs) go
 * to one communication thread on their own communicator, in the order they were started, so
 * every rank issues them in the same order and they progress while the caller computes. */
#include "dist/collectives.h"

int vc_dist_have_mpi(void);
vc_dist *vc_dist_mpi_init(int *argc, char ***argv, double timeout_s, vc_error *err);

#ifndef VC_HAVE_MPI

int vc_dist_have_mpi(void) { return 0; }

vc_dist *vc_dist_mpi_init(int *argc, char ***argv, double timeout_s, vc_error *err) {
    vc_fail(err, "this viclip was built without MPI (mpicc was not found at build time)");
    return NULL;
}

#else

#include <mpi.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

enum { TAG_PING = 17, TAG_PONG = 18 };
/* The payload of pings and answers: only their arrival matters, and a send buffer must stay
 * untouched until the send completes. */
static const int PING_TOKEN = 1;

struct vc_dist_request {
    void *buf;
    size_t n;
    vc_dist_type type;
    const char *what;
    int done, rc;
    vc_error err;
    struct vc_dist_request *next;
};

typedef struct {
    MPI_Comm coll;   /* blocking collectives of the calling thread */
    MPI_Comm grads;  /* the communication thread's all-reduces */
    MPI_Comm ping;   /* liveness pings after a deadline */
    int threaded;    /* MPI_THREAD_MULTIPLE: a communication thread runs */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    vc_dist_request *head, *tail;
    int stop;
} mpi_impl;

int vc_dist_have_mpi(void) { return 1; }

static MPI_Datatype mpi_type(vc_dist_type t) { return t == VC_DIST_F64 ? MPI_DOUBLE : t == VC_DIST_I32 ? MPI_INT32_T : MPI_FLOAT; }

static int mpi_fail(vc_dist *d, vc_error *err, int rc, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return vc_fail(err, "rank %d: MPI %s failed: %s", d->rank, what, msg);
}

/* Answers the liveness pings of peers that hit a deadline. */
static void answer_pings(mpi_impl *im) {
    for (;;) {
        int flag = 0, v;
        MPI_Message msg;
        MPI_Status st;
        if (MPI_Improbe(MPI_ANY_SOURCE, TAG_PING, im->ping, &flag, &msg, &st) != MPI_SUCCESS || !flag) return;
        MPI_Mrecv(&v, 1, MPI_INT, &msg, MPI_STATUS_IGNORE);
        MPI_Request r;
        if (MPI_Isend(&PING_TOKEN, 1, MPI_INT, st.MPI_SOURCE, TAG_PONG, im->ping, &r) == MPI_SUCCESS) MPI_Request_free(&r);
    }
}

static void pause_briefly(int polls) {
    if (polls < 64) return; /* a short spin first: most collectives finish in microseconds */
    struct timespec ts = {0, polls < 1024 ? 50 * 1000 : 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* After a deadline: which peers do not answer a ping within a few seconds. */
static int name_silent_ranks(vc_dist *d, char *out, size_t cap) {
    mpi_impl *im = d->impl;
    char *alive = calloc((size_t)d->size, 1);
    if (!alive) return snprintf(out, cap, "(out of memory naming them)"), 0;
    alive[d->rank] = 1;
    for (int p = 0; p < d->size; p++) {
        if (p == d->rank) continue;
        MPI_Request r;
        if (MPI_Isend(&PING_TOKEN, 1, MPI_INT, p, TAG_PING, im->ping, &r) == MPI_SUCCESS) MPI_Request_free(&r);
    }
    const double t0 = vc_now_s(), wait = d->timeout_s < 10 ? d->timeout_s : 10;
    int missing = d->size - 1, polls = 0;
    while (missing > 0 && vc_now_s() - t0 < wait) {
        int flag = 0, v;
        MPI_Message msg;
        MPI_Status st;
        answer_pings(im);
        if (MPI_Improbe(MPI_ANY_SOURCE, TAG_PONG, im->ping, &flag, &msg, &st) == MPI_SUCCESS && flag) {
            MPI_Mrecv(&v, 1, MPI_INT, &msg, MPI_STATUS_IGNORE);
            if (!alive[st.MPI_SOURCE]) alive[st.MPI_SOURCE] = 1, missing--;
            continue;
        }
        pause_briefly(polls++);
    }
    size_t len = 0;
    int named = 0;
    out[0] = 0;
    for (int p = 0; p < d->size && len + 16 < cap; p++)
        if (!alive[p]) len += (size_t)snprintf(out + len, cap - len, "%s%d", named++ ? ", " : "", p);
    free(alive);
    return named;
}

/* Polls a request until it completes, an MPI error, or the deadline. */
static int wait_request(vc_dist *d, MPI_Request *req, const char *what, vc_error *err) {
    mpi_impl *im = d->impl;
    const double t0 = vc_now_s();
    for (int polls = 0;; polls++) {
        int done = 0;
        int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_fail(d, err, rc, what);
        if (done) return 0;
        answer_pings(im);
        if (d->timeout_s > 0 && vc_now_s() - t0 > d->timeout_s) {
            char who[512];
            int n = name_silent_ranks(d, who, sizeof who);
            if (n)
                return vc_fail(err, "rank %d: %s did not complete within %g s: rank%s %s did not answer (dead or hung)",
                               d->rank, what, d->timeout_s, n > 1 ? "s" : "", who);
            return vc_fail(err, "rank %d: %s did not complete within %g s (every rank answers; one may be slower than "
                                "the deadline, see --dist-timeout)", d->rank, what, d->timeout_s);
        }
        pause_briefly(polls);
    }
}

static int timed_wait(vc_dist *d, MPI_Request *req, const char *what, vc_error *err) {
    const double t0 = vc_now_s();
    int rc = wait_request(d, req, what, err);
    d->comm_s += vc_now_s() - t0;
    return rc;
}

static int run_allreduce(vc_dist *d, MPI_Comm comm, void *buf, size_t n, vc_dist_type t, const char *what,
                         vc_error *err) {
    if (n > (size_t)INT32_MAX) return vc_fail(err, "%s: %zu values exceed one MPI call", what, n);
    MPI_Request req;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, mpi_type(t), MPI_SUM, comm, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(d, err, rc, what);
    return wait_request(d, &req, what, err);
}

static int mpi_allreduce(vc_dist *d, void *buf, size_t n, vc_dist_type t, const char *what, vc_error *err) {
    const double t0 = vc_now_s();
    int rc = run_allreduce(d, ((mpi_impl *)d->impl)->coll, buf, n, t, what, err);
    d->comm_s += vc_now_s() - t0;
    return rc;
}

static int mpi_allgather(vc_dist *d, const void *send, void *recv, size_t n, vc_dist_type t, const char *what,
                         vc_error *err) {
    if (n > (size_t)INT32_MAX) return vc_fail(err, "%s: %zu values exceed one MPI call", what, n);
    MPI_Request req;
    int rc = MPI_Iallgather(send, (int)n, mpi_type(t), recv, (int)n, mpi_type(t), ((mpi_impl *)d->impl)->coll, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(d, err, rc, what);
    return timed_wait(d, &req, what, err);
}

static int mpi_reduce_scatter(vc_dist *d, const void *send, void *recv, size_t n, vc_dist_type t, const char *what,
                              vc_error *err) {
    if (n > (size_t)INT32_MAX) return vc_fail(err, "%s: %zu values exceed one MPI call", what, n);
    MPI_Request req;
    int rc = MPI_Ireduce_scatter_block(send, recv, (int)n, mpi_type(t), MPI_SUM, ((mpi_impl *)d->impl)->coll, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(d, err, rc, what);
    return timed_wait(d, &req, what, err);
}

static void *comm_thread(void *arg) {
    vc_dist *d = arg;
    mpi_impl *im = d->impl;
    pthread_mutex_lock(&im->mu);
    for (;;) {
        while (!im->stop && !im->head) pthread_cond_wait(&im->cv, &im->mu);
        if (!im->head) break;
        vc_dist_request *r = im->head;
        im->head = r->next;
        if (!im->head) im->tail = NULL;
        pthread_mutex_unlock(&im->mu);
        const double t0 = vc_now_s();
        r->rc = run_allreduce(d, im->grads, r->buf, r->n, r->type, r->what, &r->err);
        const double busy = vc_now_s() - t0;
        pthread_mutex_lock(&im->mu);
        d->comm_busy_s += busy; /* read by the caller after a wait, under the lock */
        r->done = 1;
        pthread_cond_broadcast(&im->cv);
    }
    pthread_mutex_unlock(&im->mu);
    return NULL;
}

static vc_dist_request *mpi_iallreduce(vc_dist *d, void *buf, size_t n, vc_dist_type t, const char *what,
                                       vc_error *err) {
    mpi_impl *im = d->impl;
    vc_dist_request *r = calloc(1, sizeof *r);
    if (!r) return vc_fail(err, "out of memory starting %s", what), NULL;
    *r = (vc_dist_request){.buf = buf, .n = n, .type = t, .what = what};
    if (!im->threaded) { /* no thread support: reduce now, without overlap */
        const double t0 = vc_now_s();
        r->rc = run_allreduce(d, im->grads, buf, n, t, what, &r->err);
        d->comm_s += vc_now_s() - t0;
        d->comm_busy_s += vc_now_s() - t0;
        r->done = 1;
        return r;
    }
    pthread_mutex_lock(&im->mu);
    if (im->tail) im->tail->next = r;
    else im->head = r;
    im->tail = r;
    pthread_cond_broadcast(&im->cv);
    pthread_mutex_unlock(&im->mu);
    return r;
}

static int mpi_wait(vc_dist *d, vc_dist_request *r, vc_error *err) {
    mpi_impl *im = d->impl;
    const double t0 = vc_now_s();
    pthread_mutex_lock(&im->mu);
    while (!r->done) pthread_cond_wait(&im->cv, &im->mu);
    pthread_mutex_unlock(&im->mu);
    d->comm_s += vc_now_s() - t0;
    int rc = r->rc;
    if (rc && err) *err = r->err;
    free(r);
    return rc;
}

static void mpi_abort(vc_dist *d, int code) {
    fflush(stdout), fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
}

static void mpi_finalize(vc_dist *d) {
    mpi_impl *im = d->impl;
    if (im->threaded) {
        pthread_mutex_lock(&im->mu);
        im->stop = 1;
        pthread_cond_broadcast(&im->cv);
        pthread_mutex_unlock(&im->mu);
        pthread_join(im->thread, NULL);
    }
    MPI_Comm_free(&im->coll), MPI_Comm_free(&im->grads), MPI_Comm_free(&im->ping);
    pthread_mutex_destroy(&im->mu);
    pthread_cond_destroy(&im->cv);
    MPI_Finalize();
    free(im);
    free(d);
}

static const vc_dist_ops mpi_ops = {
    .name = "mpi",
    .allreduce_sum = mpi_allreduce,
    .allgather = mpi_allgather,
    .reduce_scatter_sum = mpi_reduce_scatter,
    .iallreduce_sum = mpi_iallreduce,
    .wait = mpi_wait,
    .abort = mpi_abort,
    .finalize = mpi_finalize,
};

vc_dist *vc_dist_mpi_init(int *argc, char ***argv, double timeout_s, vc_error *err) {
    int provided = 0, rc = MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
    if (rc != MPI_SUCCESS) {
        vc_fail(err, "MPI_Init_thread failed (code %d)", rc);
        return NULL;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    vc_dist *d = calloc(1, sizeof *d);
    mpi_impl *im = calloc(1, sizeof *im);
    if (!d || !im) {
        free(d), free(im);
        vc_fail(err, "out of memory starting MPI");
        MPI_Finalize();
        return NULL;
    }
    d->ops = &mpi_ops, d->impl = im, d->timeout_s = timeout_s;
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &d->local_rank);
    MPI_Comm_size(node, &d->local_size);
    MPI_Comm_free(&node);
    MPI_Comm_dup(MPI_COMM_WORLD, &im->coll);
    MPI_Comm_dup(MPI_COMM_WORLD, &im->grads);
    MPI_Comm_dup(MPI_COMM_WORLD, &im->ping);
    pthread_mutex_init(&im->mu, NULL);
    pthread_cond_init(&im->cv, NULL);
    im->threaded = provided == MPI_THREAD_MULTIPLE && pthread_create(&im->thread, NULL, comm_thread, d) == 0;
    return d;
}

#endif
