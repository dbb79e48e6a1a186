/* Test helper (not a test itself): under `mpirun -np N`, each rank creates an NCCL communicator
 * over the fake NCCL (tests/nccl_fake.c) and a host imitation of the GPU runtime, so that
 * tests/test_nccl.c can check the unique id's trip from rank 0 to the others over MPI, and that a
 * rank that cannot set up makes every rank fail instead of waiting, without a GPU.
 *
 * usage: nccl_ranks FAKE_LIBRARY GPUS_0 GPUS_1 ...   (GPUS_r: the GPUs rank r sees on its node)
 * Each rank prints "rank R pid P id_pid Q device G" (Q: the process whose id its communicator was
 * made from; G: the GPU it chose) or "rank R error: MESSAGE"; exit status 0 when its communicator
 * was made. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dist/collectives_nccl.h"
#include "host_gpu.h"
#include "nccl_fake.h"

int main(int argc, char **argv) {
    vc_error e;
    vc_dist *d = vc_dist_init(&argc, &argv, 30, &e);
    if (!d) return fprintf(stderr, "%s\n", e.msg), 2;
    if (argc < 2 + d->size) {
        fprintf(stderr, "usage: %s FAKE_LIBRARY GPUS_0 GPUS_1 ... (the GPUs each rank sees)\n", argv[0]);
        vc_dist_free(d);
        return 2;
    }
    host_devices = atoi(argv[2 + d->rank]);
    vc_nccl_lib lib;
    int rc = 1;
    if (vc_nccl_load_path(&lib, argv[1], "the test", &e)) {
        printf("rank %d error: %s\n", d->rank, e.msg);
    } else {
        void *fake = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL); /* to read its record */
        void *sym = fake ? dlsym(fake, "fakeNcclLastCall") : NULL;
        vc_nccl_comm *c = vc_nccl_comm_init_with(d, &host_runtime, &lib, &e);
        if (c && sym) {
            fake_call *(*last)(void);
            memcpy(&last, &sym, sizeof last);
            const int id_pid = last()->id_pid;
            printf("rank %d pid %d id_pid %d device %d\n", d->rank, (int)getpid(), id_pid, c->device);
            rc = 0;
        } else {
            printf("rank %d error: %s\n", d->rank, c ? "the fake has no record" : e.msg);
        }
        vc_nccl_comm_free(c);
        if (fake) dlclose(fake);
    }
    fflush(stdout);
    vc_dist_free(d);
    return rc;
}
