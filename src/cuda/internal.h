/* The CUDA device's state, shared by its inference (device.c) and training (train.c) halves.
 * Private to src/cuda. */
#ifndef VC_CUDA_INTERNAL_H
#define VC_CUDA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "backend/device.h"
#include "model/params.h"

struct cuda_train;

typedef struct cuda_device {
    vc_device base;               /* first: the vc_device handed out */
    int ordinal;
    char name[512];
    cudaStream_t stream;
    /* Clips reach the GPU through two pinned host buffers and two device slots, copied on their
     * own stream while the previous chunk computes (copied: a slot's copy is done; consumed:
     * the compute stream has read the slot). */
    cudaStream_t copy_stream;
    cudaEvent_t copied[2], consumed[2];
    float *pinned[2];
    size_t pinned_elems;
    cublasHandle_t blas;
    cublasLtHandle_t lt;          /* bf16 GEMMs with the bias in the epilogue */
    void *lt_ws;
    size_t lt_ws_bytes;
    float *params;                /* the model's buffer, same layout */
    uint16_t *params16;           /* bf16 copy (allocated on first bf16 use) */
    int params16_fresh;
    int exact_attention;          /* VICLIP_CUDA_ATTENTION=exact: the fp32 kernel in bf16 mode too */
    size_t n_params;
    vc_params_view p;             /* bound over params */
    /* workspace, planned for `cap_tokens` rows of the widest tower */
    void *ws;
    size_t ws_bytes;
    size_t peak_bytes;            /* the most this device has held at once (its own allocations) */
    size_t held_bytes;
    struct cuda_train *train;     /* training state (train.c), NULL until train_open */
} cuda_device;

#define CU(call, what)                                                                                  \
    do {                                                                                                \
        cudaError_t e_ = (call);                                                                        \
        if (e_ != cudaSuccess) return vc_fail(err, "CUDA %s: %s (%s)", what, cudaGetErrorString(e_), #call); \
    } while (0)
#define BLAS(call, what)                                                                                \
    do {                                                                                                \
        cublasStatus_t s_ = (call);                                                                     \
        if (s_ != CUBLAS_STATUS_SUCCESS) return vc_fail(err, "cuBLAS %s: status %d", what, (int)s_);   \
    } while (0)

static inline void vc_cuda_track(cuda_device *g, long long delta) {
    g->held_bytes = (size_t)((long long)g->held_bytes + delta);
    if (g->held_bytes > g->peak_bytes) g->peak_bytes = g->held_bytes;
}

/* The bf16 copy of the parameters, converted again after they changed. */
int vc_cuda_ensure_params16(cuda_device *g, vc_error *err);

/* The contrastive loss on the device (train.c): vc_contrastive_loss of v, t [B, E] with the
 * scaling of vc_model_forward_backward (the global weight wg, then grad_scale), queued on
 * g->stream: dv, dt [B, E] and *g_temp (all on the device) receive the gradients, b->row_loss
 * each row's term, which vc_cuda_loss_total adds up as the CPU does once copied back. */
typedef struct vc_cuda_loss_bufs {
    float *vn, *tn, *vnorm, *tnorm, *S, *dS;
    double *row_loss, *temp_sums;
} vc_cuda_loss_bufs;
int vc_cuda_contrastive(cuda_device *g, const vc_cuda_loss_bufs *b, const float *v, const float *t, const int32_t *ids,
                        int B, int E, double temp, double wg, double grad_scale, float *dv, float *dt, float *g_temp,
                        vc_error *err);
double vc_cuda_loss_total(const double *row_loss, int B);

/* train.c: the training half of the device ops (backend/device.h) and its release. */
int vc_cuda_train_open(vc_device *d, const struct vc_model *m, const struct vc_adamw *opt, vc_error *err);
int vc_cuda_forward_backward(vc_device *d, struct vc_model *m, const struct vc_step_inputs *in, double *loss,
                             vc_error *err);
int vc_cuda_grad_norm(vc_device *d, const struct vc_model *m, const struct vc_adamw *opt, double *norm, vc_error *err);
int vc_cuda_adamw_step(vc_device *d, struct vc_model *m, struct vc_adamw *opt, double lr, double grad_scale,
                       vc_error *err);
int vc_cuda_train_pull(vc_device *d, struct vc_model *m, struct vc_adamw *opt, int grads, vc_error *err);
void vc_cuda_train_free(cuda_device *g);

#endif
