#include "backend/device.h"

#include <stdio.h>
#include <string.h>

#include "cuda/cuda.h"

const char *vc_device_kind_name(vc_device_kind k) { return k == VC_DEVICE_CUDA ? "cuda" : "cpu"; }

int vc_device_kind_from_name(const char *name, vc_device_kind *k, vc_error *err) {
    if (!strcmp(name, "cpu")) *k = VC_DEVICE_CPU;
    else if (!strcmp(name, "cuda")) *k = VC_DEVICE_CUDA;
    else return vc_fail(err, "--device %s: expected cpu or cuda", name);
    return 0;
}

vc_device *vc_device_open(vc_device_kind k, const struct vc_model *m, vc_error *err) {
    if (k == VC_DEVICE_CPU) return NULL;
    return vc_cuda_open(m, err);
}

int vc_device_sync(vc_device *d, const struct vc_model *m, vc_error *err) {
    return d ? d->ops->sync(d, m, err) : 0;
}

void vc_device_describe(const vc_device *d, char *buf, size_t cap) {
    if (d) d->ops->describe(d, buf, cap);
    else if (cap) snprintf(buf, cap, "cpu");
}

void vc_device_free(vc_device *d) {
    if (d) d->ops->free(d);
}

static int no_training(const vc_device *d, vc_error *err) {
    return vc_fail(err, "--device %s: this device does not train", vc_device_kind_name(d->kind));
}

int vc_device_train_open(vc_device *d, const struct vc_model *m, const struct vc_adamw *opt, vc_error *err) {
    return d->ops->train_open ? d->ops->train_open(d, m, opt, err) : no_training(d, err);
}

int vc_device_forward_backward(vc_device *d, struct vc_model *m, const struct vc_step_inputs *in, double *loss,
                               vc_error *err) {
    return d->ops->forward_backward ? d->ops->forward_backward(d, m, in, loss, err) : no_training(d, err);
}

int vc_device_grad_norm(vc_device *d, const struct vc_model *m, const struct vc_adamw *opt, double *norm,
                        vc_error *err) {
    return d->ops->grad_norm ? d->ops->grad_norm(d, m, opt, norm, err) : no_training(d, err);
}

int vc_device_adamw_step(vc_device *d, struct vc_model *m, struct vc_adamw *opt, double lr, double grad_scale,
                         vc_error *err) {
    return d->ops->adamw_step ? d->ops->adamw_step(d, m, opt, lr, grad_scale, err) : no_training(d, err);
}

int vc_device_train_pull(vc_device *d, struct vc_model *m, struct vc_adamw *opt, int grads, vc_error *err) {
    return d->ops->train_pull ? d->ops->train_pull(d, m, opt, grads, err) : no_training(d, err);
}

int vc_cuda_usable(char *desc, size_t cap) { return vc_cuda_probe(desc, cap); }
