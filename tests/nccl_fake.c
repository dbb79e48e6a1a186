/* A stand-in for libnccl.so.2 (tests/test_nccl.c), built into build/tests as two shared
 * libraries: libnccl_fake.so has every symbol viclip resolves, libnccl_fake_partial.so
 * (-DFAKE_NCCL_PARTIAL) lacks ncclAllGather. No communication: a collective copies send to
 * recv (host memory; the sum over one rank) and records its arguments, which the test reads with
 * fakeNcclLastCall, so the mapping of viclip's types and operations onto NCCL's enum values is
 * checked against nccl.h's numbers; a communicator records whose unique id it was made from.
 * Environment: FAKE_NCCL_VERSION (default 22003 = 2.20.3), FAKE_NCCL_ASYNC_ERROR (a
 * ncclResult_t reported by ncclCommGetAsyncError), FAKE_NCCL_FAIL (collectives return 5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nccl_fake.h"

typedef struct {
    char internal[128];
} ncclUniqueId;


static fake_call last; /* the fake library's own state: it imitates one process's NCCL */
static int comm_token;

fake_call *fakeNcclLastCall(void) { return &last; }

static int env_int(const char *name, int fallback) {
    const char *v = getenv(name);
    return v && v[0] ? atoi(v) : fallback;
}

int ncclGetVersion(int *version) {
    *version = env_int("FAKE_NCCL_VERSION", 22003);
    return 0;
}

/* The id carries the creating process's id, so a rank can tell whose id it was handed. */
int ncclGetUniqueId(ncclUniqueId *id) {
    memset(id, 0, sizeof *id);
    snprintf(id->internal, sizeof id->internal, "fake-id %d", (int)getpid());
    return 0;
}

int ncclCommInitRank(void **comm, int nranks, ncclUniqueId id, int rank) {
    if (nranks < 1 || rank < 0 || rank >= nranks || memcmp(id.internal, "fake-id ", 8))
        return 4; /* ncclInvalidArgument */
    last.id_pid = atoi(id.internal + 8);
    last.inits++;
    *comm = &comm_token;
    return 0;
}

int ncclCommDestroy(void *comm) { return last.destroys++, 0; }
int ncclCommAbort(void *comm) { return last.aborts++, 0; }

int ncclCommGetAsyncError(void *comm, int *async) {
    *async = env_int("FAKE_NCCL_ASYNC_ERROR", 0);
    return 0;
}

const char *ncclGetErrorString(int rc) {
    switch (rc) {
    case 0: return "no error";
    case 4: return "invalid argument";
    case 5: return "invalid usage";
    case 6: return "remote process exited or there was a network error";
    default: return "fake error";
    }
}

const char *ncclGetLastError(void *comm) { return "the fake's last error"; }

static size_t type_size(int datatype) { return datatype == 9 ? 2 : datatype == 8 ? 8 : 4; }

static int record(const char *name, size_t count, int datatype, int op, int root, void *stream) {
    memset(last.name, 0, sizeof last.name);
    strncpy(last.name, name, sizeof last.name - 1);
    last.count = count, last.datatype = datatype, last.op = op, last.root = root, last.stream = stream;
    return env_int("FAKE_NCCL_FAIL", 0) ? 5 : 0;
}

int ncclAllReduce(const void *send, void *recv, size_t count, int datatype, int op, void *comm, void *stream) {
    if (send != recv) memmove(recv, send, count * type_size(datatype));
    return record("ncclAllReduce", count, datatype, op, -1, stream);
}

int ncclBroadcast(const void *send, void *recv, size_t count, int datatype, int root, void *comm, void *stream) {
    if (send != recv) memmove(recv, send, count * type_size(datatype));
    return record("ncclBroadcast", count, datatype, -1, root, stream);
}

#ifndef FAKE_NCCL_PARTIAL
int ncclAllGather(const void *send, void *recv, size_t count, int datatype, void *comm, void *stream) {
    if (send != recv) memmove(recv, send, count * type_size(datatype));
    return record("ncclAllGather", count, datatype, -1, -1, stream);
}
#endif

int ncclReduceScatter(const void *send, void *recv, size_t count, int datatype, int op, void *comm, void *stream) {
    if (send != recv) memmove(recv, send, count * type_size(datatype));
    return record("ncclReduceScatter", count, datatype, op, -1, stream);
}

int ncclGroupStart(void) { return last.group_starts++, last.group_depth++, 0; }
int ncclGroupEnd(void) { return last.group_depth--, 0; }
