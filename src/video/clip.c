#include "video/clip.h"

#include <stdlib.h>
#include <string.h>

#include "io/npy.h"

vc_preprocess vc_preprocess_default(int frames, int size) {
    vc_preprocess p = {.frames = frames, .size = size,
                       .mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}};
    return p;
}

void vc_sample_middle(int n, int frames, int *idx) {
    for (int i = 0; i < frames; i++) {
        if (n >= frames) {
            /* segment i spans [i*n/frames, (i+1)*n/frames); take its midpoint */
            double start = (double)i * n / frames, end = (double)(i + 1) * n / frames;
            idx[i] = (int)((start + end) / 2);
        } else {
            idx[i] = i < n ? i : n - 1;
        }
    }
}

/* Samples T frames of S x S from a loaded uint8 [n, H, W, 3] array. */
static int frames_from_npy(const vc_npy *a, const char *path, const vc_preprocess *pp,
                           uint8_t *out, vc_error *err) {
    const int S = pp->size, T = pp->frames;
    if (a->dtype != VC_DT_U8 || a->ndim != 4 || a->shape[3] != 3 || a->shape[0] < 1)
        return vc_fail(err, "%s: expected uint8 frames [T, H, W, 3] or float32 [T, 3, H, W]", path);
    if (a->shape[1] != S || a->shape[2] != S)
        return vc_fail(err, "%s: frames are %lldx%lld but the model takes %dx%d", path,
                       (long long)a->shape[1], (long long)a->shape[2], S, S);
    if (T > 4096) return vc_fail(err, "%d frames per clip is more than supported (4096)", T);
    int idx[4096];
    vc_sample_middle((int)a->shape[0], T, idx);
    const size_t frame = (size_t)S * S * 3;
    for (int t = 0; t < T; t++) memcpy(out + t * frame, (const uint8_t *)a->data + idx[t] * frame, frame);
    return 0;
}

int vc_clip_load_u8(const char *path, const vc_preprocess *pp, uint8_t *out, vc_error *err) {
    vc_npy a;
    if (vc_npy_read(path, &a, err)) return -1;
    int rc = frames_from_npy(&a, path, pp, out, err);
    vc_npy_free(&a);
    return rc;
}

void vc_clip_normalize(const vc_preprocess *pp, const uint8_t *frames, const int *frame_order,
                       vc_real *out) {
    const int S = pp->size, T = pp->frames;
    const size_t plane = (size_t)S * S;
    for (int t = 0; t < T; t++) {
        const uint8_t *src = frames + (size_t)(frame_order ? frame_order[t] : t) * plane * 3;
        for (int c = 0; c < 3; c++) {
            vc_real *dst = out + ((size_t)t * 3 + c) * plane;
            const float scale = 1.0f / (255.0f * pp->std[c]), shift = pp->mean[c] / pp->std[c];
            for (size_t i = 0; i < plane; i++) dst[i] = (vc_real)(src[i * 3 + c] * scale - shift);
        }
    }
}

int vc_clip_load(const char *path, const vc_preprocess *pp, vc_real *out, vc_error *err) {
    vc_npy a;
    if (vc_npy_read(path, &a, err)) return -1;
    const int S = pp->size, T = pp->frames;
    int rc = 0;
    if (a.dtype == VC_DT_F32) {
        if (a.ndim != 4 || a.shape[0] != T || a.shape[1] != 3 || a.shape[2] != S || a.shape[3] != S)
            rc = vc_fail(err, "%s: a float32 clip must be [%d, 3, %d, %d] (preprocessed)", path, T, S, S);
        else
            for (size_t i = 0; i < (size_t)T * 3 * S * S; i++) out[i] = (vc_real)((const float *)a.data)[i];
    } else {
        uint8_t *frames = malloc((size_t)T * S * S * 3);
        if (!frames) rc = vc_fail(err, "out of memory loading %s", path);
        else if (!(rc = frames_from_npy(&a, path, pp, frames, err))) vc_clip_normalize(pp, frames, NULL, out);
        free(frames);
    }
    vc_npy_free(&a);
    return rc;
}
