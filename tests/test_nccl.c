/* NCCL for multi-GPU data-parallel training (issue 10): the run-time loader (src/dist/
 * nccl_loader.c) and the collectives on GPU buffers (src/dist/collectives_nccl.c).
 *
 * Without a GPU: the loader finds a real libnccl.so.2 where one is installed (the CUDA toolkit or
 * PyTorch's pip package) and reads its version; $VICLIP_NCCL, a folder of Python packages and a
 * python3 on PATH are found in that order; a bad path, a library without a symbol and a too-old
 * version fail naming the path, the symbol, the version. The collectives run over a fake NCCL
 * (tests/nccl_fake.c) and a host imitation of the GPU runtime: NCCL's enum values, the id
 * exchange, errors, asynchronous errors and the deadline.
 * With a GPU (`build/tests/test_nccl gpu`, under `mpirun -np N` on N GPUs): a real communicator,
 * and all-reduce (sum and mean, float32 and bf16), broadcast, all-gather and reduce-scatter
 * values checked on every rank. */
#include <dlfcn.h>
#include <glob.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/gpu_runtime.h"
#include "dist/collectives_nccl.h"
#include "dist/nccl_loader.h"
#include "io/dtype.h"
#include "host_gpu.h"
#include "nccl_fake.h"
#include "testutil.h"

#define FAKE VC_BUILD_DIR "/tests/libnccl_fake.so"
#define FAKE_PARTIAL VC_BUILD_DIR "/tests/libnccl_fake_partial.so"
#define SCRATCH VC_BUILD_DIR "/tests/nccl"


/* The fake's record; the test holds its own reference to the fake (*keep, dlclose it), so that
 * the record outlives the communicators. */
static fake_call *hold_fake(void **keep) {
    *keep = dlopen(FAKE, RTLD_NOW | RTLD_LOCAL);
    void *p = *keep ? dlsym(*keep, "fakeNcclLastCall") : NULL;
    fake_call *(*fn)(void) = NULL;
    if (p) memcpy(&fn, &p, sizeof fn);
    return fn ? fn() : NULL;
}

/* A real libnccl.so.2 installed here, if any: where the search must succeed. */
static int real_nccl_installed(char *path, size_t cap) {
    glob_t g;
    int found = 0;
    if (glob("/usr/local/cuda*/{lib64,lib}/libnccl.so.2", GLOB_BRACE, NULL, &g) == 0 && g.gl_pathc) {
        snprintf(path, cap, "%s", g.gl_pathv[0]);
        found = 1;
    }
    globfree(&g);
    return found;
}

/* The environment variables the search reads, cleared for a test and put back after. */
typedef struct saved_env {
    char *v[5];
} saved_env;
static const char *const SEARCH_VARS[5] = {"VICLIP_NCCL", "VIRTUAL_ENV", "CONDA_PREFIX", "PATH", "FAKE_NCCL_VERSION"};

static saved_env env_save(void) {
    saved_env s;
    for (int i = 0; i < 5; i++) {
        const char *v = getenv(SEARCH_VARS[i]);
        s.v[i] = v ? strdup(v) : NULL;
        if (i != 3) unsetenv(SEARCH_VARS[i]);
    }
    return s;
}

static void env_restore(saved_env *s) {
    for (int i = 0; i < 5; i++) {
        if (s->v[i]) setenv(SEARCH_VARS[i], s->v[i], 1);
        else unsetenv(SEARCH_VARS[i]);
        free(s->v[i]);
    }
}

static int mkdirs(const char *path) {
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    return system(cmd);
}

/* dir/libnccl.so.2 -> target (an absolute link) */
static int plant(const char *dir, const char *target) {
    char link[PATH_MAX], abs_target[PATH_MAX];
    if (mkdirs(dir) || !realpath(target, abs_target)) return -1;
    snprintf(link, sizeof link, "%s/libnccl.so.2", dir);
    unlink(link);
    return symlink(abs_target, link);
}

TEST(loader_finds_the_installed_nccl) {
    char installed[PATH_MAX];
    saved_env s = env_save();
    vc_nccl_lib lib;
    vc_error e;
    int rc = vc_nccl_load(&lib, &e);
    env_restore(&s);
    if (rc && !real_nccl_installed(installed, sizeof installed)) {
        printf("SKIP %s: no NCCL on this machine (%s)\n", __func__, e.msg);
        return;
    }
    CHECK(rc == 0, "%s", e.msg);
    char v[32];
    vc_nccl_version_name(lib.version, v, sizeof v);
    printf("    found NCCL %s (code %d) at %s, from %s\n", v, lib.version, lib.path, lib.source);
    const int major = lib.version / 10000, minor = lib.version / 100 % 100;
    struct stat st;
    const int exists = stat(lib.path, &st) == 0;
    const int has_source = lib.source[0] != 0;
    vc_nccl_unload(&lib);
    CHECK(major == 2 && minor >= 10, "version %s (code %d)", v, lib.version);
    CHECK(exists, "the reported path %s does not exist", lib.path);
    CHECK(has_source, "no source reported");
}

TEST(version_names) {
    char v[32];
    vc_nccl_version_name(22809, v, sizeof v);
    CHECK(!strcmp(v, "2.28.9"), "%s", v);
    vc_nccl_version_name(2708, v, sizeof v); /* the encoding of 2.8 and older */
    CHECK(!strcmp(v, "2.7.8"), "%s", v);
    vc_nccl_version_name(21003, v, sizeof v);
    CHECK(!strcmp(v, "2.10.3"), "%s", v);
}

TEST(viclip_nccl_override) {
    saved_env s = env_save();
    vc_nccl_lib lib;
    vc_error e;
    char fake_real[PATH_MAX];
    CHECK(realpath(FAKE, fake_real), "%s is not built", FAKE);
    setenv("VICLIP_NCCL", FAKE, 1);
    int rc = vc_nccl_load(&lib, &e);
    char path[1024], source[64];
    snprintf(path, sizeof path, "%s", lib.path), snprintf(source, sizeof source, "%s", lib.source);
    int version = lib.version;
    vc_nccl_unload(&lib);
    CHECK(rc == 0, "%s", e.msg);
    CHECK(strstr(path, "libnccl_fake.so") && !strcmp(source, "VICLIP_NCCL"), "loaded %s from %s", path, source);
    CHECK(version == 22003, "version %d (the fake says 22003)", version);

    /* a folder holding libnccl.so.2 */
    CHECK(plant(SCRATCH "/override", FAKE) == 0, "cannot plant the fake");
    setenv("VICLIP_NCCL", SCRATCH "/override", 1);
    rc = vc_nccl_load(&lib, &e);
    snprintf(path, sizeof path, "%s", lib.path);
    vc_nccl_unload(&lib);
    CHECK(rc == 0, "%s", e.msg);
    CHECK(strstr(path, SCRATCH "/override/libnccl.so.2"), "loaded %s", path);

    /* a path that does not exist: an error naming it, no fallback to another NCCL */
    setenv("VICLIP_NCCL", "/nonexistent/nccl/libnccl.so.2", 1);
    rc = vc_nccl_load(&lib, &e);
    CHECK(rc != 0 && lib.handle == NULL, "a missing VICLIP_NCCL loaded %s", lib.path);
    CHECK(strstr(e.msg, "VICLIP_NCCL") && strstr(e.msg, "/nonexistent/nccl/libnccl.so.2"), "%s", e.msg);

    /* a file that is not a library */
    const char *text = SCRATCH "/not_a_library.so";
    CHECK(vc_test_write_file(text, "hello", 5) == 0, "cannot write %s", text);
    setenv("VICLIP_NCCL", text, 1);
    rc = vc_nccl_load(&lib, &e);
    env_restore(&s);
    CHECK(rc != 0 && strstr(e.msg, text) && strstr(e.msg, "does not load"), "%s", e.msg);
}

TEST(missing_symbol_and_old_version) {
    saved_env s = env_save();
    vc_nccl_lib lib;
    vc_error e;
    setenv("VICLIP_NCCL", FAKE_PARTIAL, 1);
    int rc = vc_nccl_load(&lib, &e);
    CHECK(rc != 0, "a library without ncclAllGather loaded");
    CHECK(strstr(e.msg, "ncclAllGather") && strstr(e.msg, "libnccl_fake_partial.so"), "%s", e.msg);

    setenv("VICLIP_NCCL", FAKE, 1);
    setenv("FAKE_NCCL_VERSION", "2708", 1);
    rc = vc_nccl_load(&lib, &e);
    env_restore(&s);
    CHECK(rc != 0 && strstr(e.msg, "2.7.8") && strstr(e.msg, "2.10") && strstr(e.msg, "libnccl_fake.so"), "%s",
          e.msg);
}

TEST(python_packages_are_searched) {
    saved_env s = env_save();
    vc_nccl_lib lib;
    vc_error e;
    /* a virtual environment: $VIRTUAL_ENV/lib/python3.X/site-packages/nvidia/nccl/lib */
    const char *venv_lib = SCRATCH "/venv/lib/python3.11/site-packages/nvidia/nccl/lib";
    CHECK(plant(venv_lib, FAKE) == 0, "cannot plant the fake in %s", venv_lib);
    setenv("VIRTUAL_ENV", SCRATCH "/venv", 1);
    int rc = vc_nccl_load(&lib, &e);
    char path[1024], source[64];
    snprintf(path, sizeof path, "%s", lib.path), snprintf(source, sizeof source, "%s", lib.source);
    vc_nccl_unload(&lib);
    unsetenv("VIRTUAL_ENV");
    CHECK(rc == 0, "%s", e.msg);
    CHECK(strstr(path, venv_lib) && !strcmp(source, "Python packages"), "loaded %s from %s", path, source);

    /* a python3 on PATH whose installation has the package in dist-packages (Debian, Ubuntu) */
    const char *bin = SCRATCH "/python/bin", *dist_lib = SCRATCH "/python/lib/python3.12/dist-packages/nvidia/nccl/lib";
    char exe[PATH_MAX], new_path[8192];
    snprintf(exe, sizeof exe, "%s/python3", bin);
    CHECK(mkdirs(bin) == 0 && vc_test_write_file(exe, "#!/bin/sh\nexit 1\n", 17) == 0 && chmod(exe, 0755) == 0,
          "cannot write %s", exe);
    CHECK(plant(dist_lib, FAKE) == 0, "cannot plant the fake in %s", dist_lib);
    snprintf(new_path, sizeof new_path, "%s:%s", bin, s.v[3] ? s.v[3] : "/usr/bin:/bin");
    setenv("PATH", new_path, 1);
    rc = vc_nccl_load(&lib, &e);
    snprintf(path, sizeof path, "%s", lib.path), snprintf(source, sizeof source, "%s", lib.source);
    vc_nccl_unload(&lib);
    CHECK(rc == 0, "%s", e.msg);
    CHECK(strstr(path, dist_lib) && !strcmp(source, "Python packages"), "loaded %s from %s", path, source);

    /* a broken package is passed over for the next NCCL found (here: the installed one) */
    char installed[PATH_MAX];
    if (real_nccl_installed(installed, sizeof installed)) {
        setenv("PATH", s.v[3] ? s.v[3] : "/usr/bin:/bin", 1);
        CHECK(plant(venv_lib, FAKE_PARTIAL) == 0, "cannot plant the partial fake");
        setenv("VIRTUAL_ENV", SCRATCH "/venv", 1);
        rc = vc_nccl_load(&lib, &e);
        snprintf(path, sizeof path, "%s", lib.path), snprintf(source, sizeof source, "%s", lib.source);
        vc_nccl_unload(&lib);
        CHECK(rc == 0, "%s", e.msg);
        CHECK(!strstr(path, "fake") && strcmp(source, "Python packages"), "loaded %s from %s", path, source);
    }
    env_restore(&s);
}

TEST(describe_for_info_system) {
    char missing[1200], fake[1200], installed[PATH_MAX];
    saved_env s = env_save();
    setenv("VICLIP_NCCL", "/nonexistent/libnccl.so.2", 1);
    const int found_missing = vc_nccl_describe(missing, sizeof missing);
    setenv("VICLIP_NCCL", FAKE, 1);
    const int found_fake = vc_nccl_describe(fake, sizeof fake);
    env_restore(&s);
    CHECK(!found_missing && strstr(missing, "/nonexistent/libnccl.so.2"), "%s", missing);
    CHECK(found_fake && strstr(fake, "2.20.3") && strstr(fake, "libnccl_fake.so") && strstr(fake, "VICLIP_NCCL"), "%s",
          fake);
    /* the CLI prints the same line */
    char out[8192];
    int st = vc_test_run("VICLIP_NCCL=" FAKE " " VICLIP " info --system", 1, out, sizeof out);
    CHECK(st == 0 && strstr(out, "nccl:") && strstr(out, "2.20.3"), "exit %d: %s", st, out);
    if (real_nccl_installed(installed, sizeof installed)) {
        st = vc_test_run(VICLIP " info --system", 1, out, sizeof out);
        const char *l = strstr(out, "nccl:");
        CHECK(st == 0 && l && strstr(l, " 2."), "exit %d: %s", st, out);
    }
}

/* ---- the collectives over the fake NCCL and a host imitation of the GPU runtime ------------- */

static vc_nccl_comm *fake_comm(vc_dist *host, vc_error *e) {
    vc_nccl_lib lib;
    if (vc_nccl_load_path(&lib, FAKE, "the test", e)) return NULL;
    return vc_nccl_comm_init_with(host, &host_runtime, &lib, e);
}

TEST(collectives_map_onto_nccl) {
    vc_dist *host = vc_dist_single();
    vc_error e;
    host_devices = 1;
    void *keep;
    fake_call *f = hold_fake(&keep);
    CHECK(f, "%s does not load", FAKE);
    const int destroys = f->destroys;
    vc_nccl_comm *c = fake_comm(host, &e);
    CHECK(c, "%s", e.msg);
    CHECK(f->inits >= 1 && c->device == 0 && c->comm, "the communicator was not created over rank 0's id");

    uint16_t g16[5] = {1, 2, 3, 4, 5};
    host_stream other = {0};
    int rc = vc_nccl_allreduce(c, g16, 5, VC_GPU_BF16, VC_GPU_AVG, &other, "gradients", &e);
    CHECK(rc == 0 && !strcmp(f->name, "ncclAllReduce") && f->count == 5 && f->datatype == 9 && f->op == 4 &&
              f->stream == &other,
          "%s count %zu type %d op %d", f->name, f->count, f->datatype, f->op);
    float p[3] = {1, 2, 3};
    rc = vc_nccl_broadcast(c, p, 3, VC_GPU_F32, 0, NULL, "parameters", &e);
    CHECK(rc == 0 && !strcmp(f->name, "ncclBroadcast") && f->datatype == 7 && f->root == 0 && f->stream == c->stream,
          "%s type %d root %d", f->name, f->datatype, f->root);
    rc = vc_nccl_broadcast(c, p, 3, VC_GPU_F32, 1, NULL, "parameters", &e);
    CHECK(rc != 0 && strstr(e.msg, "parameters") && strstr(e.msg, "root 1"), "%s", e.msg);
    int32_t ids[4] = {7, 8, 9, 10}, all_ids[4] = {0};
    rc = vc_nccl_allgather(c, ids, all_ids, 4, VC_GPU_I32, NULL, "group ids", &e);
    CHECK(rc == 0 && f->datatype == 2 && f->count == 4 && all_ids[3] == 10, "%s", e.msg);
    double d[2] = {1.5, 2.5}, dr[2] = {0};
    rc = vc_nccl_reduce_scatter(c, d, dr, 2, VC_GPU_F64, VC_GPU_SUM, NULL, "embedding gradients", &e);
    CHECK(rc == 0 && !strcmp(f->name, "ncclReduceScatter") && f->datatype == 8 && f->op == 0 && dr[1] == 2.5, "%s",
          e.msg);
    rc = vc_nccl_group_begin(c, &e) || vc_nccl_allreduce(c, p, 3, VC_GPU_F32, VC_GPU_SUM, NULL, "bucket", &e) ||
         vc_nccl_group_end(c, "buckets", &e);
    CHECK(rc == 0 && f->group_starts == 1 && f->group_depth == 0 && f->datatype == 7 && f->op == 0, "%s", e.msg);
    CHECK(vc_nccl_wait(c, NULL, "buckets", &e) == 0, "%s", e.msg);
    /* the communicator's stream after the compute stream, and back */
    host_stream compute = {0};
    rc = vc_nccl_order(c, NULL, &compute, &e) || vc_nccl_order(c, &compute, NULL, &e);
    CHECK(rc == 0 && ((host_stream *)c->stream)->after == &compute && compute.after == c->stream, "%s", e.msg);

    /* a failing call names the call, what it was for, NCCL's message and its last error */
    setenv("FAKE_NCCL_FAIL", "1", 1);
    rc = vc_nccl_allreduce(c, p, 3, VC_GPU_F32, VC_GPU_SUM, NULL, "gradient bucket 3", &e);
    unsetenv("FAKE_NCCL_FAIL");
    CHECK(rc != 0 && strstr(e.msg, "ncclAllReduce (gradient bucket 3)") && strstr(e.msg, "invalid usage") &&
              strstr(e.msg, "the fake's last error"),
          "%s", e.msg);
    vc_nccl_comm_free(c);
    const int destroyed = f->destroys - destroys;
    dlclose(keep);
    vc_dist_free(host);
    CHECK(destroyed == 1, "ncclCommDestroy called %d times", destroyed);
}

TEST(wait_deadline_and_async_errors) {
    vc_dist *host = vc_dist_single();
    vc_error e;
    host_devices = 2;
    void *keep;
    fake_call *f = hold_fake(&keep);
    CHECK(f, "%s does not load", FAKE);
    const int aborts = f->aborts;
    vc_nccl_comm *c = fake_comm(host, &e);
    CHECK(c, "%s", e.msg);
    c->timeout_s = 0.05;
    ((host_stream *)c->stream)->pending = 1; /* a collective that never completes */
    int rc = vc_nccl_wait(c, NULL, "gradient all-reduce", &e);
    CHECK(rc != 0 && strstr(e.msg, "gradient all-reduce did not complete within 0.05 s") && strstr(e.msg, "aborted"),
          "%s", e.msg);
    CHECK(f->aborts == aborts + 1 && c->comm == NULL, "ncclCommAbort not called");
    float x = 1;
    rc = vc_nccl_allreduce(c, &x, 1, VC_GPU_F32, VC_GPU_SUM, NULL, "next step", &e);
    CHECK(rc != 0 && strstr(e.msg, "next step") && strstr(e.msg, "aborted after an earlier error"), "%s", e.msg);
    vc_nccl_comm_free(c);

    c = fake_comm(host, &e);
    CHECK(c, "%s", e.msg);
    setenv("FAKE_NCCL_ASYNC_ERROR", "6", 1); /* ncclRemoteError: a peer died */
    rc = vc_nccl_wait(c, NULL, "text embedding all-gather", &e);
    unsetenv("FAKE_NCCL_ASYNC_ERROR");
    CHECK(rc != 0 && strstr(e.msg, "text embedding all-gather") && strstr(e.msg, "remote process exited"), "%s",
          e.msg);
    CHECK(f->aborts == aborts + 2, "ncclCommAbort not called after an asynchronous error");
    vc_nccl_comm_free(c);

    host_devices = 0; /* no GPU: the error says so before any communicator */
    c = fake_comm(host, &e);
    dlclose(keep);
    vc_dist_free(host);
    CHECK(!c && strstr(e.msg, "0 GPUs") && strstr(e.msg, "one process per GPU"), "%s", e.msg);
}

/* Over MPI (tests/nccl_ranks.c, 2 ranks, no GPU): rank 0's unique id reaches rank 1, each rank
 * takes the GPU of its local rank (or the only one it sees when CUDA_VISIBLE_DEVICES gave it its
 * own), and a rank without a GPU of its own makes both fail, naming it, instead of leaving rank 0
 * waiting. */
/* (in the sanitizer build, LeakSanitizer would fail the ranks over OpenMPI's and OpenBLAS's own
 * allocations at exit) */
#define MPIRUN                                                                                  \
    "timeout 120 mpirun --allow-run-as-root --oversubscribe -x OMP_NUM_THREADS=1 -x ASAN_OPTIONS=detect_leaks=0 " \
    "-np 2 "
/* Runs nccl_ranks on 2 ranks; its lines in out (mpirun's own messages may be long: they go to a
 * file, of which out gets the lines of the ranks). */
static int run_ranks(const char *mpirun_options, const char *gpus, char *out, size_t cap) {
    char cmd[1024], ignored[64];
    snprintf(cmd, sizeof cmd, MPIRUN "%s " VC_BUILD_DIR "/tests/nccl_ranks " FAKE " %s > " SCRATCH "/ranks.log",
             mpirun_options, gpus);
    const int st = vc_test_run(cmd, 1, ignored, sizeof ignored);
    char *log = (char *)vc_test_read_file(SCRATCH "/ranks.log", NULL);
    size_t len = 0;
    out[0] = 0;
    for (char *line = log ? strtok(log, "\n") : NULL; line; line = strtok(NULL, "\n"))
        if (!strncmp(line, "rank ", 5) && len + strlen(line) + 2 < cap) len += (size_t)sprintf(out + len, "%s\n", line);
    free(log);
    return st;
}

TEST(unique_id_exchange_over_mpi) {
    if (!vc_dist_have_mpi()) {
        printf("SKIP %s: viclip was built without MPI (no mpicc at build time)\n", __func__);
        return;
    }
    if (system("command -v mpirun >/dev/null 2>&1") != 0) {
        printf("SKIP %s: mpirun not found\n", __func__);
        return;
    }
    char out[8192];
    int st = run_ranks("-x CUDA_VISIBLE_DEVICES=", "2 2", out, sizeof out);
    int pid0 = -1, id0 = -2, dev0 = -1, pid1 = -3, id1 = -4, dev1 = -1;
    const char *l0 = strstr(out, "rank 0 pid"), *l1 = strstr(out, "rank 1 pid");
    if (l0) sscanf(l0, "rank 0 pid %d id_pid %d device %d", &pid0, &id0, &dev0);
    if (l1) sscanf(l1, "rank 1 pid %d id_pid %d device %d", &pid1, &id1, &dev1);
    CHECK(st == 0 && pid0 > 0 && pid1 > 0 && pid0 != pid1, "exit %d: %s", st, out);
    CHECK(id0 == pid0 && id1 == pid0, "the communicators were made from the ids of %d and %d, not rank 0's %d: %s", id0,
          id1, pid0, out);
    CHECK(dev0 == 0 && dev1 == 1, "GPUs %d and %d chosen, not each rank's local rank: %s", dev0, dev1, out);
    /* a launcher that gives each rank its own GPU: each sees one, GPU 0 */
    st = run_ranks("-x CUDA_VISIBLE_DEVICES=0", "1 1", out, sizeof out);
    CHECK(st == 0 && strstr(out, "rank 0 pid") && strstr(out, "rank 1 pid"), "exit %d: %s", st, out);
    CHECK(strstr(strstr(out, "rank 1 pid"), "device 0"), "%s", out);

    st = run_ranks("-x CUDA_VISIBLE_DEVICES=", "2 1", out, sizeof out);
    CHECK(st != 0 && st != 124, "exit %d: %s", st, out);
    CHECK(strstr(out, "rank 1 error: rank 1: local rank 1 of 2 on this node, but it has 1 GPU:"), "%s", out);
    CHECK(strstr(out, "rank 0 error: rank 0: rank 1 could not set up NCCL"), "%s", out);
}

/* ---- a real communicator on GPUs ------------------------------------------------------------ */


/* The collectives on this rank's GPU with values known on every rank; 0, or -1 with why. */
static int gpu_checks(vc_nccl_comm *c, const vc_gpu_runtime *rt, float *h, float *got, uint16_t *h16, void *dev,
                      void *dev2, char *why, size_t cap) {
    enum { N = 1000 };
    const int R = c->size, r = c->rank, n = N / 8;
    vc_error e = {{0}};
    double worst = 0;
    void *compute = NULL;
#define RUN(name, call)                                                                            \
    if ((call) || vc_nccl_wait(c, NULL, name, &e)) return snprintf(why, cap, "%s: %s", name, e.msg), -1;
#define COPY(dst, src, bytes)                                                                      \
    if (rt->copy(dst, src, bytes, &e)) return snprintf(why, cap, "copy: %s", e.msg), -1;
#define EXPECT(name, tol)                                                                          \
    if (!(worst <= (tol))) return snprintf(why, cap, "%s: worst error %g", name, worst), -1;
    /* all-reduce, float32: sum and mean of x_r[i] = (r + 1) / 2 + i */
    for (int i = 0; i < N; i++) h[i] = 0.5f * (r + 1) + i;
    COPY(dev, h, sizeof(float) * N);
    RUN("f32 sum", vc_nccl_allreduce(c, dev, N, VC_GPU_F32, VC_GPU_SUM, NULL, "f32 sum", &e));
    COPY(got, dev, sizeof(float) * N);
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(got[i] - (0.25 * R * (R + 1) + (double)R * i)));
    EXPECT("f32 sum", 0);
    /* the mean on the communicator's stream, ordered after a compute stream and back, as gradient
     * buckets overlap the backward; the host waits on the compute stream */
    if (rt->stream_create(&compute, &e)) return snprintf(why, cap, "stream: %s", e.msg), -1;
    if (vc_nccl_order(c, NULL, compute, &e) ||
        vc_nccl_allreduce(c, dev, N, VC_GPU_F32, VC_GPU_AVG, NULL, "f32 mean", &e) ||
        vc_nccl_order(c, compute, NULL, &e) || vc_nccl_wait(c, compute, "f32 mean", &e)) {
        rt->stream_destroy(compute);
        return snprintf(why, cap, "f32 mean: %s", e.msg), -1;
    }
    rt->stream_destroy(compute);
    COPY(got, dev, sizeof(float) * N);
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(got[i] - (0.25 * R * (R + 1) + (double)R * i) / R));
    EXPECT("f32 mean", 1e-3);
    /* bf16: small integers, exact */
    worst = 0;
    for (int i = 0; i < N; i++) h16[i] = vc_f32_to_bf16((float)(r + 1 + i % 8));
    COPY(dev, h16, 2 * (size_t)N);
    RUN("bf16 sum", vc_nccl_allreduce(c, dev, N, VC_GPU_BF16, VC_GPU_SUM, NULL, "bf16 sum", &e));
    COPY(h16, dev, 2 * (size_t)N);
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(vc_bf16_to_f32(h16[i]) - (R * (R + 1) / 2.0 + R * (i % 8))));
    EXPECT("bf16 sum", 0);
    /* broadcast of rank 0's parameters */
    for (int i = 0; i < N; i++) h[i] = r == 0 ? 0.25f * i : -1.0f;
    COPY(dev, h, sizeof(float) * N);
    RUN("broadcast", vc_nccl_broadcast(c, dev, N, VC_GPU_F32, 0, NULL, "broadcast", &e));
    COPY(got, dev, sizeof(float) * N);
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(got[i] - 0.25 * i));
    EXPECT("broadcast", 0);
    /* all-gather of embeddings, in rank order */
    for (int i = 0; i < n; i++) h[i] = 1000.0f * r + i;
    COPY(dev, h, sizeof(float) * n);
    RUN("all-gather", vc_nccl_allgather(c, dev, dev2, n, VC_GPU_F32, NULL, "all-gather", &e));
    COPY(got, dev2, sizeof(float) * n * R);
    for (int q = 0; q < R; q++)
        for (int i = 0; i < n; i++) worst = fmax(worst, fabs(got[(size_t)q * n + i] - (1000.0 * q + i)));
    EXPECT("all-gather", 0);
    /* reduce-scatter: rank r gets the sum over ranks of their block r */
    for (int j = 0; j < n * R; j++) h[j] = (float)(r + j);
    COPY(dev, h, sizeof(float) * n * R);
    RUN("reduce-scatter", vc_nccl_reduce_scatter(c, dev, dev2, n, VC_GPU_F32, VC_GPU_SUM, NULL, "reduce-scatter", &e));
    COPY(got, dev2, sizeof(float) * n);
    for (int i = 0; i < n; i++) worst = fmax(worst, fabs(got[i] - (R * (R - 1) / 2.0 + (double)R * (r * n + i))));
    EXPECT("reduce-scatter", 0);
#undef RUN
#undef COPY
#undef EXPECT
    return 0;
}

TEST(gpu_collectives) {
    const vc_gpu_runtime *rt = vc_cuda_runtime();
    int count = 0;
    vc_error e = {{0}};
    if (rt->device_count(&count, &e) || count < 1) {
        printf("SKIP %s: no GPU (%s)\n", __func__, e.msg[0] ? e.msg : "none found");
        return;
    }
    vc_dist *host = vc_dist_init(NULL, NULL, 120, &e);
    CHECK(host, "%s", e.msg);
    vc_nccl_comm *c = vc_nccl_comm_init(host, rt, &e);
    if (!c) vc_dist_free(host);
    CHECK(c, "%s", e.msg);
    char v[32], why[1200] = "";
    vc_nccl_version_name(c->lib.version, v, sizeof v);
    printf("    rank %d of %d on GPU %d, NCCL %s at %s\n", c->rank, c->size, c->device, v, c->lib.path);
    const size_t bytes = sizeof(float) * 1000 * 8; /* room for 8 ranks' all-gather */
    float *h = malloc(bytes), *got = malloc(bytes);
    uint16_t *h16 = malloc(2 * 1000);
    void *dev = rt->alloc(bytes, &e), *dev2 = dev ? rt->alloc(bytes, &e) : NULL;
    int rc = -1;
    if (c->size > 8) snprintf(why, sizeof why, "the test is written for at most 8 ranks, not %d", c->size);
    else if (!h || !got || !h16 || !dev || !dev2) snprintf(why, sizeof why, "allocation: %s", e.msg);
    else rc = gpu_checks(c, rt, h, got, h16, dev, dev2, why, sizeof why);
    const int R = c->size, r = c->rank;
    rt->release(dev), rt->release(dev2);
    free(h), free(got), free(h16);
    vc_nccl_comm_free(c);
    vc_dist_free(host);
    CHECK(rc == 0, "rank %d of %d: %s", r, R, why);
    if (r == 0)
        printf("    %d rank%s: all-reduce (sum, mean; f32, bf16), broadcast, all-gather, reduce-scatter right\n", R,
               R > 1 ? "s" : "");
}

TEST_MAIN("nccl", T(version_names), T(loader_finds_the_installed_nccl), T(viclip_nccl_override),
          T(missing_symbol_and_old_version), T(python_packages_are_searched), T(describe_for_info_system),
          T(collectives_map_onto_nccl), T(wait_deadline_and_async_errors), T(unique_id_exchange_over_mpi),
          T(gpu_collectives))
