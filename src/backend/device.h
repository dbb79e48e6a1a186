/* Where a model's inference runs: the CPU (the reference, the model's own code) or an
 * accelerator that keeps a copy of the parameters in the same layout (the CUDA backend in
 * src/cuda/). A device is an object behind a small table of operations, so the model calls it
 * without knowing which one it is and without any #ifdef: vc_model_encode_video/text hand
 * their whole batch to m->device when one is attached.
 *
 * A device reads the model's parameters when it is opened; after changing them on the CPU
 * (training, loading), call vc_device_sync before encoding again. A device that trains
 * (train_open) owns the run's parameters, gradients and moments until train_pull copies them
 * back: the trainer calls it where the CPU loop would compute (train/train_step.c). */
#ifndef VC_BACKEND_DEVICE_H
#define VC_BACKEND_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/real.h"

struct vc_model;
struct vc_step_inputs;
struct vc_adamw;
typedef struct vc_device vc_device;

typedef enum vc_device_kind { VC_DEVICE_CPU = 0, VC_DEVICE_CUDA = 1 } vc_device_kind;

typedef struct vc_device_ops {
    /* Raw projections, as vc_model_encode_video/text (the model checks them finite). */
    int (*encode_video)(vc_device *d, const struct vc_model *m, const vc_real *video, int N, vc_real *out,
                        vc_error *err);
    int (*encode_text)(vc_device *d, const struct vc_model *m, const int32_t *tokens, int N, vc_real *out,
                       vc_error *err);
    /* Copies the model's current parameters to the device. */
    int (*sync)(vc_device *d, const struct vc_model *m, vc_error *err);
    /* One line: the device, its memory, the peak use so far. */
    void (*describe)(const vc_device *d, char *buf, size_t cap);
    void (*free)(vc_device *d);
    /* Training: the CPU loop's steps (train/train_step.c) on the device's copies, each the
     * counterpart of a CPU function, in the CPU's layouts. NULL: the device does not train.
     * train_open: gradients and the AdamW moments of opt are allocated on the device and the
     * moments uploaded (a new or a resumed run). */
    int (*train_open)(vc_device *d, const struct vc_model *m, const struct vc_adamw *opt, vc_error *err);
    /* vc_model_forward_backward: the device's gradients are zeroed, then the forward, the loss
     * and the backward of in (one micro-batch, global alignment only) write them. */
    int (*forward_backward)(vc_device *d, struct vc_model *m, const struct vc_step_inputs *in, double *loss,
                            vc_error *err);
    /* vc_grad_norm over the tensors opt does not freeze. */
    int (*grad_norm)(vc_device *d, const struct vc_model *m, const struct vc_adamw *opt, double *norm, vc_error *err);
    /* vc_adamw_step: opt's step count, update/weight sums are kept on the host as the CPU keeps them,
     * the moments and parameters on the device; the temperature is floored at opt->p.temp_min. */
    int (*adamw_step)(vc_device *d, struct vc_model *m, struct vc_adamw *opt, double lr, double grad_scale,
                      vc_error *err);
    /* Copies the device's parameters to m->params, its moments to opt->m/v (opt may be NULL) and,
     * when grads, its gradients to m->grads: a checkpoint, the final model or a check. */
    int (*train_pull)(vc_device *d, struct vc_model *m, struct vc_adamw *opt, int grads, vc_error *err);
} vc_device_ops;

struct vc_device {
    const vc_device_ops *ops;
    vc_device_kind kind;
};

const char *vc_device_kind_name(vc_device_kind k);
/* "cpu" or "cuda"; anything else fails naming the flag value. */
int vc_device_kind_from_name(const char *name, vc_device_kind *k, vc_error *err);

/* Opens the device for model m (parameters uploaded). VC_DEVICE_CPU returns NULL with no error:
 * the model computes itself. A device that is absent (not built, no GPU) fails saying which. */
vc_device *vc_device_open(vc_device_kind k, const struct vc_model *m, vc_error *err);
int vc_device_sync(vc_device *d, const struct vc_model *m, vc_error *err);
void vc_device_describe(const vc_device *d, char *buf, size_t cap);
void vc_device_free(vc_device *d);

/* The training ops above, failing with the device's name when it does not train. */
int vc_device_train_open(vc_device *d, const struct vc_model *m, const struct vc_adamw *opt, vc_error *err);
int vc_device_forward_backward(vc_device *d, struct vc_model *m, const struct vc_step_inputs *in, double *loss,
                               vc_error *err);
int vc_device_grad_norm(vc_device *d, const struct vc_model *m, const struct vc_adamw *opt, double *norm,
                        vc_error *err);
int vc_device_adamw_step(vc_device *d, struct vc_model *m, struct vc_adamw *opt, double lr, double grad_scale,
                         vc_error *err);
int vc_device_train_pull(vc_device *d, struct vc_model *m, struct vc_adamw *opt, int grads, vc_error *err);

/* 1 when a CUDA device can be used here (built with CUDA and a GPU found); desc (may be NULL)
 * gets the GPU's name or the reason there is none. */
int vc_cuda_usable(char *desc, size_t cap);

#endif
