/* What the fake NCCL (tests/nccl_fake.c) records, read by the tests through its exported
 * fakeNcclLastCall(). */
#ifndef VC_TESTS_NCCL_FAKE_H
#define VC_TESTS_NCCL_FAKE_H

#include <stddef.h>

typedef struct fake_call {
    char name[32]; /* the last collective: "ncclAllReduce", ... */
    size_t count;
    int datatype, op, root;
    void *stream;
    int group_starts, group_depth, aborts, destroys, inits;
    int id_pid; /* the process id written into the unique id the communicator was made from */
} fake_call;

#endif
