/* The public API's device group: where a context's towers run (the CPU, or the CUDA backend of
 * src/cuda through backend/device.h) and what this build was built with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/context.h"
#include "backend/device.h"
#include "core/features.h"
#include "dist/nccl_loader.h"

int viclip_device_valid(const char *name, viclip_error *err) {
    vc_error e;
    vc_device_kind k;
    if (!name) return 0;
    if (vc_device_kind_from_name(name, &k, &e)) return vc_api_pass_error(&e, err), -1;
    return 0;
}

int vc_api_device_pull(const viclip_context *ctx, vc_adamw *opt, vc_error *e) {
    if (!ctx->device_trains || !ctx->model->device) return 0;
    return vc_device_train_pull(ctx->model->device, ctx->model, opt, 0, e);
}

int viclip_set_device(viclip_context *ctx, const char *name, viclip_error *err) {
    vc_error e;
    vc_device_kind k = VC_DEVICE_CPU;
    if (name && vc_device_kind_from_name(name, &k, &e)) return vc_api_pass_error(&e, err), -1;
    /* the state trained on the old device comes back first */
    if (vc_api_device_pull(ctx, ctx->has_opt ? &ctx->opt : NULL, &e)) return vc_api_pass_error(&e, err), -1;
    ctx->device_trains = 0;
    if (vc_model_use_device(ctx->model, k, &e)) return vc_api_pass_error(&e, err), -1;
    return 0;
}

int viclip_device_sync(viclip_context *ctx, viclip_error *err) {
    vc_error e;
    /* when the device trains, its copy is the current one: the host follows it */
    if (ctx->device_trains ? vc_api_device_pull(ctx, ctx->has_opt ? &ctx->opt : NULL, &e)
                           : vc_device_sync(ctx->model->device, ctx->model, &e))
        return vc_api_pass_error(&e, err), -1;
    return 0;
}

char *viclip_device_describe(const viclip_context *ctx) {
    enum { CAP = 1024 };
    char *s = malloc(CAP);
    if (s) vc_device_describe(ctx->model->device, s, CAP);
    return s;
}

int viclip_cuda_usable(char *desc, size_t cap) { return vc_cuda_usable(desc, cap); }

int viclip_nccl_usable(char *desc, size_t cap) {
    char line[1200];
    const int found = vc_nccl_describe(line, sizeof line);
    if (desc && cap) snprintf(desc, cap, "%s", line);
    return found;
}

void viclip_build_features(char *buf, size_t cap) { vc_features_describe(buf, cap); }
