/* NCCL, loaded at run time with dlopen: no build of viclip links it or needs its headers, and a
 * machine without it still runs everything but multi-GPU training. The library is looked for,
 * in order, at
 *   1. $VICLIP_NCCL (a path to libnccl.so.2, or the folder holding it): only there when set;
 *   2. the nvidia/nccl/lib folder of the Python packages (PyTorch's nvidia-nccl-cu12/cu13) of
 *      $VIRTUAL_ENV, $CONDA_PREFIX, every python3 on $PATH, ~/.local, /usr/local and /usr;
 *   3. the system loader (libnccl.so.2 through $LD_LIBRARY_PATH, the ld.so cache);
 *   4. the CUDA toolkit ($CUDA_HOME, /usr/local/cuda*, lib64 and lib);
 *   5. last, only when none of these has it: the folders of `python3 -c 'import sys; sys.path'`.
 * The symbols viclip calls are resolved into a table held by the caller (no global state). */
#ifndef VC_DIST_NCCL_LOADER_H
#define VC_DIST_NCCL_LOADER_H

#include <stddef.h>

#include "core/error.h"

/* NCCL's ABI, declared here so that no NCCL header is needed (values from nccl.h, stable since
 * 2.10). Handles are opaque pointers: ncclComm_t and cudaStream_t are both pointers. */
enum { VC_NCCL_UNIQUE_ID_BYTES = 128 };
typedef struct vc_nccl_unique_id {
    char internal[VC_NCCL_UNIQUE_ID_BYTES];
} vc_nccl_unique_id;
enum { VC_NCCL_SUCCESS = 0, VC_NCCL_IN_PROGRESS = 7 };
enum { VC_NCCL_INT32 = 2, VC_NCCL_FLOAT32 = 7, VC_NCCL_FLOAT64 = 8, VC_NCCL_BFLOAT16 = 9 };
enum { VC_NCCL_SUM = 0, VC_NCCL_AVG = 4 };
/* The oldest NCCL accepted: bfloat16 and ncclAvg arrived in 2.10. */
enum { VC_NCCL_MIN_VERSION = 21000 };

typedef struct vc_nccl_lib {
    void *handle;     /* dlopen handle; NULL when not loaded */
    char path[1024];  /* the file loaded (as the dynamic loader mapped it) */
    char source[64];  /* how it was found: "VICLIP_NCCL", "python packages", ... */
    int version;      /* ncclGetVersion: 22809 for 2.28.9 */

    int (*get_version)(int *version);
    int (*get_unique_id)(vc_nccl_unique_id *id);
    int (*comm_init_rank)(void **comm, int nranks, vc_nccl_unique_id id, int rank);
    int (*comm_destroy)(void *comm);
    int (*comm_abort)(void *comm);
    int (*comm_get_async_error)(void *comm, int *async_error);
    const char *(*get_error_string)(int result);
    const char *(*get_last_error)(void *comm); /* NULL before NCCL 2.13 */
    int (*all_reduce)(const void *send, void *recv, size_t count, int datatype, int op, void *comm, void *stream);
    int (*broadcast)(const void *send, void *recv, size_t count, int datatype, int root, void *comm, void *stream);
    int (*all_gather)(const void *send, void *recv, size_t count_per_rank, int datatype, void *comm, void *stream);
    int (*reduce_scatter)(const void *send, void *recv, size_t count_per_rank, int datatype, int op, void *comm,
                          void *stream);
    int (*group_start)(void);
    int (*group_end)(void);
} vc_nccl_lib;

/* Finds and loads NCCL (the order above). On failure the error names $VICLIP_NCCL's path, or
 * the file that failed and the symbol it lacks, or every place looked in. */
int vc_nccl_load(vc_nccl_lib *lib, vc_error *err);
/* Loads one file; source says how it was found (for messages). */
int vc_nccl_load_path(vc_nccl_lib *lib, const char *path, const char *source, vc_error *err);
void vc_nccl_unload(vc_nccl_lib *lib);

/* "2.28.9" from a version code (both the old 2.8-era and the current encodings). */
void vc_nccl_version_name(int code, char *buf, size_t cap);
/* One line for `viclip info --system`: "2.28.9 (/path/libnccl.so.2, from the CUDA toolkit)" or
 * why none was found. Returns 1 when NCCL loads. Loads and unloads it. */
int vc_nccl_describe(char *buf, size_t cap);

#endif
