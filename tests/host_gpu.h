/* A host imitation of the GPU runtime (backend/gpu_runtime.h) for the NCCL tests: host_devices
 * GPUs (set by the test), streams that finish at once unless marked pending (a peer that hangs)
 * and remember what they were last ordered after, host memory. */
#ifndef VC_TESTS_HOST_GPU_H
#define VC_TESTS_HOST_GPU_H

#include <stdlib.h>
#include <string.h>

#include "backend/gpu_runtime.h"

typedef struct host_stream {
    int pending;                 /* 1: the imitation never finishes (a peer that hangs) */
    struct host_stream *after;   /* the stream it was last ordered after */
} host_stream;

static int host_devices;
static int host_count(int *count, vc_error *err) { return *count = host_devices, 0; }
static int host_set(int ordinal, vc_error *err) { return 0; }
static int host_stream_create(void **s, vc_error *err) {
    *s = calloc(1, sizeof(host_stream));
    return *s ? 0 : vc_fail(err, "out of memory");
}
static void host_stream_destroy(void *s) { free(s); }
static int host_poll(void *s, vc_error *err) { return !((host_stream *)s)->pending; }
static int host_order(void *waiter, void *producer, vc_error *err) {
    ((host_stream *)waiter)->after = producer;
    return 0;
}
static void *host_alloc(size_t bytes, vc_error *err) { return malloc(bytes); }
static void host_release(void *p) { free(p); }
static int host_copy(void *dst, const void *src, size_t bytes, vc_error *err) { return memcpy(dst, src, bytes), 0; }
static const vc_gpu_runtime host_runtime = {.name = "host", .device_count = host_count, .set_device = host_set,
                                            .stream_create = host_stream_create, .stream_destroy = host_stream_destroy,
                                            .stream_poll = host_poll, .stream_order = host_order, .alloc = host_alloc,
                                            .release = host_release, .copy = host_copy};

#endif
