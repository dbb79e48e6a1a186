/* The CUDA runtime behind backend/gpu_runtime.h (NCCL's streams and buffers, src/dist). */
#include <cuda_runtime_api.h>

#include "backend/gpu_runtime.h"

static int cuda_fail(vc_error *err, cudaError_t e, const char *call) {
    return vc_fail(err, "%s failed: %s (%s)", call, cudaGetErrorString(e), cudaGetErrorName(e));
}

static int rt_device_count(int *count, vc_error *err) {
    *count = 0;
    cudaError_t e = cudaGetDeviceCount(count);
    if (e != cudaSuccess) {
        *count = 0;
        return cuda_fail(err, e, "cudaGetDeviceCount");
    }
    return 0;
}

static int rt_set_device(int ordinal, vc_error *err) {
    cudaError_t e = cudaSetDevice(ordinal);
    if (e != cudaSuccess) return vc_fail(err, "cudaSetDevice(%d) failed: %s", ordinal, cudaGetErrorString(e));
    return 0;
}

static int rt_stream_create(void **stream, vc_error *err) {
    cudaStream_t s = NULL;
    cudaError_t e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    *stream = s;
    return e == cudaSuccess ? 0 : cuda_fail(err, e, "cudaStreamCreateWithFlags");
}

static void rt_stream_destroy(void *stream) {
    if (stream) cudaStreamDestroy((cudaStream_t)stream);
}

static int rt_stream_poll(void *stream, vc_error *err) {
    cudaError_t e = cudaStreamQuery((cudaStream_t)stream);
    if (e == cudaSuccess) return 1;
    if (e == cudaErrorNotReady) return 0;
    return cuda_fail(err, e, "cudaStreamQuery");
}

static int rt_stream_order(void *waiter, void *producer, vc_error *err) {
    cudaEvent_t ev;
    cudaError_t e = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
    if (e != cudaSuccess) return cuda_fail(err, e, "cudaEventCreateWithFlags");
    e = cudaEventRecord(ev, (cudaStream_t)producer);
    if (e == cudaSuccess) e = cudaStreamWaitEvent((cudaStream_t)waiter, ev, 0);
    cudaEventDestroy(ev); /* released once the wait has happened; the wait stays queued */
    return e == cudaSuccess ? 0 : cuda_fail(err, e, "cudaEventRecord/cudaStreamWaitEvent");
}

static void *rt_alloc(size_t bytes, vc_error *err) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
        vc_fail(err, "cudaMalloc of %zu bytes failed: %s", bytes, cudaGetErrorString(e));
        return NULL;
    }
    return p;
}

static void rt_release(void *ptr) {
    if (ptr) cudaFree(ptr);
}

/* cudaMemcpy from pageable memory may return before the data reaches the device, and streams
 * made by rt_stream_create do not wait for the legacy stream it uses: synchronise, so that a
 * collective queued next reads the copied values. */
static int rt_copy(void *dst, const void *src, size_t bytes, vc_error *err) {
    cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyDefault);
    if (e != cudaSuccess) return cuda_fail(err, e, "cudaMemcpy");
    e = cudaDeviceSynchronize();
    return e == cudaSuccess ? 0 : cuda_fail(err, e, "cudaDeviceSynchronize after a copy");
}

static const vc_gpu_runtime cuda_runtime = {
    .name = "cuda",
    .device_count = rt_device_count,
    .set_device = rt_set_device,
    .stream_create = rt_stream_create,
    .stream_destroy = rt_stream_destroy,
    .stream_poll = rt_stream_poll,
    .stream_order = rt_stream_order,
    .alloc = rt_alloc,
    .release = rt_release,
    .copy = rt_copy,
};

const vc_gpu_runtime *vc_cuda_runtime(void) { return &cuda_runtime; }
