/* Where a model's inference runs: the CPU (the reference, the model's own code) or an
 * accelerator that keeps a copy of the parameters in the same layout (the CUDA backend in
 * src/cuda/). A device is an object behind a small table of operations, so the model calls it
 * without knowing which one it is and without any #ifdef: vc_model_encode_video/text hand
 * their whole batch to m->device when one is attached.
 *
 * A device reads the model's parameters when it is opened; after changing them on the CPU
 * (training, loading), call vc_device_sync before encoding again. */
#ifndef VC_BACKEND_DEVICE_H
#define VC_BACKEND_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/real.h"

struct vc_model;
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

/* 1 when a CUDA device can be used here (built with CUDA and a GPU found); desc (may be NULL)
 * gets the GPU's name or the reason there is none. */
int vc_cuda_usable(char *desc, size_t cap);

#endif
