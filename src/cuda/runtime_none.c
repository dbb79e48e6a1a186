/* The GPU runtime of a build without CUDA: every call fails saying so. */
#include "backend/gpu_runtime.h"

#define NOT_BUILT "viclip was built without CUDA (no nvcc/cuBLAS found at build time, or make CUDA=0)"

static int no_count(int *count, vc_error *err) {
    *count = 0;
    return vc_fail(err, "%s", NOT_BUILT);
}
static int no_device(int ordinal, vc_error *err) { return vc_fail(err, "GPU %d: %s", ordinal, NOT_BUILT); }
static int no_stream(void **stream, vc_error *err) {
    *stream = NULL;
    return vc_fail(err, "%s", NOT_BUILT);
}
static void no_destroy(void *stream) { (void)stream; }
static int no_poll(void *stream, vc_error *err) { return vc_fail(err, "%s", NOT_BUILT); }
static int no_order(void *waiter, void *producer, vc_error *err) { return vc_fail(err, "%s", NOT_BUILT); }
static void *no_alloc(size_t bytes, vc_error *err) {
    vc_fail(err, "%zu bytes of GPU memory: %s", bytes, NOT_BUILT);
    return NULL;
}
static void no_release(void *ptr) { (void)ptr; }
static int no_copy(void *dst, const void *src, size_t bytes, vc_error *err) { return vc_fail(err, "%s", NOT_BUILT); }

static const vc_gpu_runtime none = {
    .name = "none",
    .device_count = no_count,
    .set_device = no_device,
    .stream_create = no_stream,
    .stream_destroy = no_destroy,
    .stream_poll = no_poll,
    .stream_order = no_order,
    .alloc = no_alloc,
    .release = no_release,
    .copy = no_copy,
};

const vc_gpu_runtime *vc_cuda_runtime(void) { return &none; }
