/* The few GPU runtime calls that code outside src/cuda needs around a communication library
 * (NCCL in src/dist): choosing the GPU, streams, memory and copies, with opaque handles, so no C
 * file outside src/cuda includes a CUDA header. vc_cuda_runtime() is the CUDA runtime in a build
 * with CUDA and a stand-in whose calls fail saying so in a build without; tests substitute a
 * host imitation. */
#ifndef VC_BACKEND_GPU_RUNTIME_H
#define VC_BACKEND_GPU_RUNTIME_H

#include <stddef.h>

#include "core/error.h"

typedef struct vc_gpu_runtime {
    const char *name;
    int (*device_count)(int *count, vc_error *err);
    /* Makes GPU `ordinal` current for the calling thread. */
    int (*set_device)(int ordinal, vc_error *err);
    /* A stream that does not synchronise with the legacy default stream. */
    int (*stream_create)(void **stream, vc_error *err);
    void (*stream_destroy)(void *stream);
    /* 1: every operation queued on the stream has finished, 0: some still run, -1: one failed. */
    int (*stream_poll)(void *stream, vc_error *err);
    /* Work queued on waiter from now on starts after everything queued on producer so far (an
     * event recorded on producer that waiter waits for; the host does not wait). */
    int (*stream_order)(void *waiter, void *producer, vc_error *err);
    void *(*alloc)(size_t bytes, vc_error *err);
    void (*release)(void *ptr);
    /* Copies between any two of host and device memory; returns when the copy is done. */
    int (*copy)(void *dst, const void *src, size_t bytes, vc_error *err);
} vc_gpu_runtime;

const vc_gpu_runtime *vc_cuda_runtime(void);

#endif
