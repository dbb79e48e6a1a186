#include "dist/nccl_loader.h"

#include <dlfcn.h>
#include <glob.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIBNAME "libnccl.so.2"
#define PY_NCCL "nvidia/nccl/lib/" LIBNAME

void vc_nccl_version_name(int code, char *buf, size_t cap) {
    /* NCCL_VERSION(X, Y, Z) is X*1000 + Y*100 + Z up to 2.8, X*10000 + Y*100 + Z since 2.9 */
    if (code >= 10000) snprintf(buf, cap, "%d.%d.%d", code / 10000, code / 100 % 100, code % 100);
    else snprintf(buf, cap, "%d.%d.%d", code / 1000, code / 100 % 10, code % 100);
}

void vc_nccl_unload(vc_nccl_lib *lib) {
    if (lib->handle) dlclose(lib->handle);
    memset(lib, 0, sizeof *lib);
}

int vc_nccl_load_path(vc_nccl_lib *lib, const char *path, const char *source, vc_error *err) {
    memset(lib, 0, sizeof *lib);
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return vc_fail(err, "NCCL at %s (from %s) does not load: %s", path, source, why ? why : "unknown reason");
    }
    /* the file the loader mapped: a bare soname becomes the path it resolved to */
    struct link_map *lm = NULL;
    const char *real = dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0] ? lm->l_name : path;
    snprintf(lib->path, sizeof lib->path, "%s", real);
    snprintf(lib->source, sizeof lib->source, "%s", source);
    lib->handle = h;
    const char *missing = NULL;
#define BIND(field, name)                                   \
    do {                                                    \
        void *p = dlsym(h, name);                           \
        if (!p && !missing) missing = name;                 \
        if (p) memcpy(&lib->field, &p, sizeof lib->field);  \
    } while (0)
    BIND(get_version, "ncclGetVersion");
    BIND(get_unique_id, "ncclGetUniqueId");
    BIND(comm_init_rank, "ncclCommInitRank");
    BIND(comm_destroy, "ncclCommDestroy");
    BIND(comm_abort, "ncclCommAbort");
    BIND(comm_get_async_error, "ncclCommGetAsyncError");
    BIND(get_error_string, "ncclGetErrorString");
    BIND(all_reduce, "ncclAllReduce");
    BIND(broadcast, "ncclBroadcast");
    BIND(all_gather, "ncclAllGather");
    BIND(reduce_scatter, "ncclReduceScatter");
    BIND(group_start, "ncclGroupStart");
    BIND(group_end, "ncclGroupEnd");
#undef BIND
    if (missing) {
        vc_fail(err, "%s (from %s) is not a usable NCCL: the symbol %s is missing", lib->path, source, missing);
        vc_nccl_unload(lib);
        return -1;
    }
    void *last = dlsym(h, "ncclGetLastError"); /* optional: NCCL 2.13 and later */
    if (last) memcpy(&lib->get_last_error, &last, sizeof lib->get_last_error);
    int rc = lib->get_version(&lib->version);
    if (rc != VC_NCCL_SUCCESS) {
        vc_fail(err, "%s (from %s): ncclGetVersion failed: %s", lib->path, source, lib->get_error_string(rc));
        vc_nccl_unload(lib);
        return -1;
    }
    if (lib->version < VC_NCCL_MIN_VERSION) {
        char v[32];
        vc_nccl_version_name(lib->version, v, sizeof v);
        vc_fail(err, "%s (from %s) is NCCL %s; viclip needs 2.10 or later (bfloat16 and average reductions)",
                lib->path, source, v);
        vc_nccl_unload(lib);
        return -1;
    }
    return 0;
}

/* ---- the places looked in ------------------------------------------------------------------ */

typedef struct candidate {
    char *path; /* a file, or a bare soname for the system loader */
    const char *source;
} candidate;

typedef struct candidates {
    candidate *v;
    int n, cap;
    char **seen; /* real paths already listed */
    int n_seen;
} candidates;

static void add(candidates *c, const char *path, const char *source) {
    char real[PATH_MAX];
    const int is_file = strchr(path, '/') != NULL;
    if (is_file && !realpath(path, real)) return; /* absent */
    if (is_file) {
        for (int i = 0; i < c->n_seen; i++)
            if (!strcmp(c->seen[i], real)) return;
        char **s = realloc(c->seen, (size_t)(c->n_seen + 1) * sizeof *s);
        if (!s) return;
        c->seen = s;
        if (!(c->seen[c->n_seen] = strdup(real))) return;
        c->n_seen++;
    }
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        candidate *v = realloc(c->v, (size_t)cap * sizeof *v);
        if (!v) return;
        c->v = v, c->cap = cap;
    }
    char *p = strdup(path);
    if (p) c->v[c->n++] = (candidate){p, source};
}

static int cmp_version(const void *a, const void *b) { return strverscmp(*(char *const *)a, *(char *const *)b); }

/* The files matching pattern, newest first: python3.12 before python3.9, cuda-13.0 before
 * cuda-12.8 (the names in reverse version order). */
static void add_glob(candidates *c, const char *pattern, const char *source) {
    glob_t g;
    if (glob(pattern, GLOB_BRACE, NULL, &g) == 0) {
        qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, cmp_version);
        for (size_t i = g.gl_pathc; i-- > 0;) add(c, g.gl_pathv[i], source);
    }
    globfree(&g);
}

/* Every nvidia/nccl/lib/libnccl.so.2 of a Python installation rooted at prefix. */
static void add_python_prefix(candidates *c, const char *prefix) {
    if (!prefix || !prefix[0]) return;
    char pattern[PATH_MAX + 128];
    /* lib before lib64: where a venv's lib64 links to lib, the path shown is the usual one */
    snprintf(pattern, sizeof pattern, "%s/lib/python3*/{site,dist}-packages/" PY_NCCL, prefix);
    add_glob(c, pattern, "Python packages");
    snprintf(pattern, sizeof pattern, "%s/lib64/python3*/{site,dist}-packages/" PY_NCCL, prefix);
    add_glob(c, pattern, "Python packages");
}

static void dirname_of(const char *path, char *out, size_t cap) {
    snprintf(out, cap, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash && slash != out) *slash = 0;
    else if (slash) slash[1] = 0;
}

/* The prefixes of every python3 on PATH: the folder above its bin (a venv's own prefix, even when
 * its python3 links elsewhere) and the one above the file it resolves to (the installation). */
static void add_python_on_path(candidates *c) {
    const char *path = getenv("PATH");
    if (!path) return;
    char *copy = strdup(path);
    if (!copy) return;
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char exe[PATH_MAX], real[PATH_MAX], prefix[PATH_MAX];
        snprintf(exe, sizeof exe, "%s/python3", dir);
        if (access(exe, X_OK)) continue;
        dirname_of(dir, prefix, sizeof prefix);
        add_python_prefix(c, prefix);
        if (realpath(exe, real)) {
            char bin[PATH_MAX];
            dirname_of(real, bin, sizeof bin);
            dirname_of(bin, prefix, sizeof prefix);
            add_python_prefix(c, prefix);
        }
    }
    free(copy);
}

static void add_toolkit(candidates *c) {
    const char *roots[] = {getenv("CUDA_HOME"), getenv("CUDA_PATH"), "/usr/local/cuda"};
    char pattern[PATH_MAX + 64];
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        if (!roots[i] || !roots[i][0]) continue;
        snprintf(pattern, sizeof pattern, "%s/{lib64,lib,targets/*/lib}/" LIBNAME, roots[i]);
        add_glob(c, pattern, "the CUDA toolkit");
    }
    add_glob(c, "/usr/local/cuda-*/{lib64,lib,targets/*/lib}/" LIBNAME, "the CUDA toolkit");
}

/* The last resort: ask python3 for its sys.path (one short run, only when nothing else has
 * NCCL, e.g. a pyenv shim that hides the installation). */
static void add_python_sys_path(candidates *c) {
    FILE *f = popen("python3 -c 'import sys; print(\"\\n\".join(p for p in sys.path if p))' 2>/dev/null", "r");
    if (!f) return;
    char line[PATH_MAX];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char file[PATH_MAX + 64];
        snprintf(file, sizeof file, "%s/" PY_NCCL, line);
        add(c, file, "python3's sys.path");
    }
    pclose(f);
}

static void candidates_free(candidates *c) {
    for (int i = 0; i < c->n; i++) free(c->v[i].path);
    for (int i = 0; i < c->n_seen; i++) free(c->seen[i]);
    free(c->v), free(c->seen);
}

/* Tries candidates from index *next on; the first that loads wins. A file that exists but fails
 * is remembered in first_fail (reported if no other loads). */
static int try_from(vc_nccl_lib *lib, candidates *c, int *next, vc_error *first_fail, int *failed) {
    for (; *next < c->n; (*next)++) {
        vc_error e;
        if (!vc_nccl_load_path(lib, c->v[*next].path, c->v[*next].source, &e)) return 0;
        const int bare = !strchr(c->v[*next].path, '/');
        if (bare && strstr(e.msg, "cannot open shared object file")) continue; /* the loader has none */
        if (!*failed) *first_fail = e, *failed = 1;
    }
    return -1;
}

int vc_nccl_load(vc_nccl_lib *lib, vc_error *err) {
    memset(lib, 0, sizeof *lib);
    const char *env = getenv("VICLIP_NCCL");
    if (env && env[0]) {
        struct stat st;
        char file[PATH_MAX + 32];
        if (stat(env, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(file, sizeof file, "%s/" LIBNAME, env);
        else snprintf(file, sizeof file, "%s", env);
        if (access(file, F_OK)) return vc_fail(err, "VICLIP_NCCL=%s: no such file (%s)", env, file);
        return vc_nccl_load_path(lib, file, "VICLIP_NCCL", err);
    }
    candidates c = {0};
    add_python_prefix(&c, getenv("VIRTUAL_ENV"));
    add_python_prefix(&c, getenv("CONDA_PREFIX"));
    add_python_on_path(&c);
    const char *home = getenv("HOME");
    if (home) {
        char local[PATH_MAX];
        snprintf(local, sizeof local, "%s/.local", home);
        add_python_prefix(&c, local);
    }
    add_python_prefix(&c, "/usr/local");
    add_python_prefix(&c, "/usr");
    add(&c, LIBNAME, "the system loader");
    add_toolkit(&c);
    vc_error first_fail = {{0}};
    int failed = 0, next = 0;
    int rc = try_from(lib, &c, &next, &first_fail, &failed);
    if (rc) {
        add_python_sys_path(&c);
        rc = try_from(lib, &c, &next, &first_fail, &failed);
    }
    candidates_free(&c);
    if (!rc) return 0;
    if (failed) return vc_fail(err, "%s (and no other NCCL was found)", first_fail.msg);
    return vc_fail(err, "NCCL (" LIBNAME ") not found: set VICLIP_NCCL to its path, or install PyTorch's nvidia-nccl "
                        "package; looked in $VIRTUAL_ENV, $CONDA_PREFIX and the Python packages of every python3 on "
                        "$PATH, ~/.local, /usr/local and /usr (" PY_NCCL "), $LD_LIBRARY_PATH and the ld.so cache, "
                        "$CUDA_HOME and /usr/local/cuda* (lib64, lib), python3's sys.path");
}

int vc_nccl_describe(char *buf, size_t cap) {
    vc_nccl_lib lib;
    vc_error e;
    if (vc_nccl_load(&lib, &e)) {
        snprintf(buf, cap, "%s", e.msg);
        return 0;
    }
    char v[32];
    vc_nccl_version_name(lib.version, v, sizeof v);
    snprintf(buf, cap, "%s at %s (from %s)", v, lib.path, lib.source);
    vc_nccl_unload(&lib);
    return 1;
}
