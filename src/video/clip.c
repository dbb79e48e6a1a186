#include "video/clip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/finite.h"
#include "io/npy.h"
#include "video/decode.h"

#define MAX_CLIP_FRAMES 4096

vc_preprocess vc_preprocess_default(int frames, int size) {
    vc_preprocess p = {.frames = frames, .size = size,
                       .mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}};
    return p;
}

vc_clip_opts vc_clip_default_opts(void) {
    vc_clip_opts o = {.sampling = VC_SAMPLE_MIDDLE, .seed = 0, .key = 0, .start = -1, .end = -1,
                      .interp = VC_INTERP_BICUBIC, .augment = 0, .threads = 1, .timeout_s = 120, .strict = 1};
    return o;
}

void vc_sample_middle(int n, int frames, int *idx) {
    vc_error ignored;
    if (n < 1 || frames < 1 || vc_sample_indices(VC_SAMPLE_MIDDLE, n, frames, NULL, idx, &ignored))
        for (int i = 0; i < frames; i++) idx[i] = 0;
}

int vc_clip_is_npy(const char *path) {
    size_t len = strlen(path);
    if (len >= 4 && !strcasecmp(path + len - 4, ".npy")) return 1;
    struct stat sb; /* only peek into regular files: opening a FIFO would block */
    if (stat(path, &sb) || !S_ISREG(sb.st_mode)) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char magic[6] = {0};
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return got == 6 && !memcmp(magic, "\x93NUMPY", 6);
}

int vc_clip_is_preprocessed(const char *path) {
    vc_npy h;
    vc_error ignored;
    return vc_clip_is_npy(path) && !vc_npy_read_header(path, &h, &ignored) && h.dtype == VC_DT_F32;
}

/* Frame index and augmentation draws share the stream and key, told apart by the last counter. */
enum { DRAW_FRAMES = 0, DRAW_CROP = 1 };

int vc_clip_sample_frames(const vc_clip_opts *o, int n, int T, int *idx, vc_error *err) {
    if (o->views > 1) return vc_sample_view_indices(n, T, o->view, o->views, idx, err);
    vc_rng rng = vc_rng_at(o->seed, VC_STREAM_AUGMENT, o->key, DRAW_FRAMES);
    return vc_sample_indices(o->sampling, n, T, &rng, idx, err);
}

/* One frame (w x h RGB) to S x S: the whole frame for evaluation, a random crop + flip for
 * training (the same for every frame of the clip: the draw depends only on seed, key, size). */
static int frame_to_clip(const vc_clip_opts *o, const uint8_t *src, int w, int h, size_t stride, int S,
                         uint8_t *dst, vc_error *err) {
    vc_crop c = vc_crop_full(w, h);
    if (o->crop >= 1 && o->crop <= 3 && w != h) {
        const int side = w < h ? w : h, room = (w > h ? w : h) - side, at = (o->crop - 1) * room / 2;
        c = (vc_crop){w > h ? at : 0, w > h ? 0 : at, side, side, 0};
    }
    if (o->augment) {
        vc_rng rng = vc_rng_at(o->seed, VC_STREAM_AUGMENT, o->key, DRAW_CROP);
        vc_crop_params cp = vc_crop_default_params();
        c = vc_random_resized_crop(&rng, w, h, &cp);
    }
    if (!o->augment && c.w == S && c.h == S && w == S && h == S) { /* identity: skip the (exact) resampling */
        for (int y = 0; y < S; y++) memcpy(dst + (size_t)y * S * 3, src + (size_t)y * stride, (size_t)S * 3);
        return 0;
    }
    return vc_crop_resize_rgb_u8(src, w, h, stride, &c, S, o->interp, dst, err);
}

/* Samples T frames of S x S from a loaded uint8 [n, H, W, 3] array. */
static int frames_from_npy(const vc_npy *a, const char *path, const vc_preprocess *pp, const vc_clip_opts *o,
                           uint8_t *out, int *frame_idx, vc_error *err) {
    const int S = pp->size, T = pp->frames;
    if (a->dtype == VC_DT_F32)
        return vc_fail(err, "%s: a float32 clip [T, 3, H, W] is already preprocessed: it is fed to the model as it is and "
                            "cannot be resampled or augmented (give uint8 frames [T, H, W, 3] or the video)", path);
    if (a->dtype != VC_DT_U8 || a->ndim != 4 || a->shape[3] != 3 || a->shape[0] < 1)
        return vc_fail(err, "%s: expected uint8 frames [T, H, W, 3] or float32 [T, 3, H, W]", path);
    if (a->shape[1] != S || a->shape[2] != S)
        return vc_fail(err, "%s: frames are %lldx%lld but the model takes %dx%d", path,
                       (long long)a->shape[1], (long long)a->shape[2], S, S);
    if (a->shape[0] > 1 << 30) return vc_fail(err, "%s: too many frames", path);
    int idx[MAX_CLIP_FRAMES];
    if (vc_clip_sample_frames(o, (int)a->shape[0], T, idx, err)) return vc_fail_ctx(err, "%s", path);
    const size_t frame = (size_t)S * S * 3;
    for (int t = 0; t < T; t++) {
        const uint8_t *src = (const uint8_t *)a->data + idx[t] * frame;
        if (frame_to_clip(o, src, S, S, (size_t)S * 3, S, out + t * frame, err)) return vc_fail_ctx(err, "%s", path);
        if (frame_idx) frame_idx[t] = idx[t];
    }
    return 0;
}

typedef struct video_sink {
    const vc_clip_opts *o;
    int T, S;
    uint8_t *out;
    int *frame_idx;
} video_sink;

static int sink_pick(void *user, int n, int *idx, vc_error *err) {
    const video_sink *v = user;
    return vc_clip_sample_frames(v->o, n, v->T, idx, err);
}

static int sink_frame(void *user, int slot, const vc_rgb_frame *f, vc_error *err) {
    const video_sink *v = user;
    if (v->frame_idx) v->frame_idx[slot] = f->index;
    return frame_to_clip(v->o, f->data, f->width, f->height, f->stride, v->S,
                         v->out + (size_t)slot * v->S * v->S * 3, err);
}

static int frames_from_video(const char *path, const vc_preprocess *pp, const vc_clip_opts *o, uint8_t *out,
                             int *frame_idx, vc_video_info *info, vc_error *err) {
    vc_decode_opts d = vc_decode_default_opts();
    d.start = o->start, d.end = o->end, d.threads = o->threads, d.timeout_s = o->timeout_s, d.strict = o->strict;
    video_sink v = {o, pp->frames, pp->size, out, frame_idx};
    return vc_video_read(path, &d, pp->frames, sink_pick, sink_frame, &v, info, err);
}

static int check_request(const char *path, const vc_preprocess *pp, const vc_clip_opts *o, vc_error *err) {
    if (pp->frames < 1 || pp->frames > MAX_CLIP_FRAMES)
        return vc_fail(err, "%d frames per clip is outside the supported 1..%d", pp->frames, MAX_CLIP_FRAMES);
    if (pp->size < 1 || pp->size > 8192) return vc_fail(err, "frame size %d is outside 1..8192", pp->size);
    if ((o->start >= 0 || o->end >= 0) && vc_clip_is_npy(path))
        return vc_fail(err, "%s: start/end seconds apply to video files, not .npy arrays", path);
    return 0;
}

int vc_clip_load_u8_info(const char *path, const vc_preprocess *pp, const vc_clip_opts *o, uint8_t *out,
                         int *frame_idx, vc_video_info *info, vc_error *err) {
    vc_clip_opts defaults = vc_clip_default_opts();
    if (!o) o = &defaults;
    if (info) memset(info, 0, sizeof *info);
    if (check_request(path, pp, o, err)) return -1;
    if (!vc_clip_is_npy(path)) return frames_from_video(path, pp, o, out, frame_idx, info, err);
    vc_npy a;
    if (vc_npy_read(path, &a, err)) return -1;
    int rc = frames_from_npy(&a, path, pp, o, out, frame_idx, err);
    if (info) info->frames = (int)a.shape[0];
    vc_npy_free(&a);
    return rc;
}

int vc_clip_load_u8_opts(const char *path, const vc_preprocess *pp, const vc_clip_opts *o, uint8_t *out,
                         int *frame_idx, vc_error *err) {
    return vc_clip_load_u8_info(path, pp, o, out, frame_idx, NULL, err);
}

int vc_clip_load_u8(const char *path, const vc_preprocess *pp, uint8_t *out, vc_error *err) {
    return vc_clip_load_u8_opts(path, pp, NULL, out, NULL, err);
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

int vc_clip_load_opts(const char *path, const vc_preprocess *pp, const vc_clip_opts *o, vc_real *out,
                      int *frame_idx, vc_error *err) {
    vc_clip_opts defaults = vc_clip_default_opts();
    if (!o) o = &defaults;
    if (check_request(path, pp, o, err)) return -1;
    const int S = pp->size, T = pp->frames;
    int rc = 0;
    if (vc_clip_is_npy(path)) {
        vc_npy a;
        if (vc_npy_read(path, &a, err)) return -1;
        if (a.dtype == VC_DT_F32) {
            if (a.ndim != 4 || a.shape[0] != T || a.shape[1] != 3 || a.shape[2] != S || a.shape[3] != S)
                rc = vc_fail(err, "%s: a float32 clip must be [%d, 3, %d, %d] (preprocessed)", path, T, S, S);
            else if (vc_check_finite_f32(a.data, (size_t)T * 3 * S * S, path, err))
                rc = -1;
            else
                for (size_t i = 0; i < (size_t)T * 3 * S * S; i++) out[i] = (vc_real)((const float *)a.data)[i];
            if (!rc && frame_idx)
                for (int t = 0; t < T; t++) frame_idx[t] = t;
            vc_npy_free(&a);
            return rc;
        }
        uint8_t *frames = malloc((size_t)T * S * S * 3);
        if (!frames) rc = vc_fail(err, "out of memory loading %s", path);
        else if (!(rc = frames_from_npy(&a, path, pp, o, frames, frame_idx, err))) vc_clip_normalize(pp, frames, NULL, out);
        free(frames);
        vc_npy_free(&a);
        return rc;
    }
    uint8_t *frames = malloc((size_t)T * S * S * 3);
    if (!frames) return vc_fail(err, "out of memory loading %s", path);
    if (!(rc = frames_from_video(path, pp, o, frames, frame_idx, NULL, err))) vc_clip_normalize(pp, frames, NULL, out);
    free(frames);
    return rc;
}

int vc_clip_load(const char *path, const vc_preprocess *pp, vc_real *out, vc_error *err) {
    return vc_clip_load_opts(path, pp, NULL, out, NULL, err);
}
