/* Frame transforms of ViCLIP's preprocessing, on uint8 RGB frames (H x W x 3, row stride in bytes).
 *
 * Evaluation (the official test transform): Resize((S, S), BICUBIC) on uint8 tensors, i.e.
 * torch.nn.functional.interpolate(float(x), (S, S), mode='bicubic', align_corners=False,
 * antialias=False), clamped to [0, 255] and rounded half to even back to uint8 — aspect ratio is
 * not kept. Bilinear is the official demo's cv2.resize(frame, (S, S)) (INTER_LINEAR), reproduced
 * bit for bit, fixed-point weights and rounding included (transform.c).
 * Training: RandomResizedCrop(S, scale=(0.5, 1), ratio=(3/4, 4/3), BICUBIC) then
 * RandomHorizontalFlip, with one draw per clip (all frames get the same crop and flip).
 * Normalisation with mean/std is vc_clip_normalize (video/clip.h). */
#ifndef VC_VIDEO_TRANSFORM_H
#define VC_VIDEO_TRANSFORM_H

#include <stdint.h>

#include "core/error.h"
#include "core/rng.h"

typedef enum { VC_INTERP_BICUBIC = 0, VC_INTERP_BILINEAR = 1 } vc_interp;

int vc_interp_parse(const char *name, vc_interp *out, vc_error *err); /* "bicubic" | "bilinear" */
const char *vc_interp_name(vc_interp interp);

/* Resizes the w x h region of src (row stride src_stride bytes) to ow x oh into dst (packed,
 * row stride ow * 3). Allocates scratch; fails only on bad sizes or out of memory. */
int vc_resize_rgb_u8(const uint8_t *src, int w, int h, size_t src_stride, uint8_t *dst, int ow, int oh,
                     vc_interp interp, vc_error *err);

/* A crop rectangle in source pixels plus a horizontal flip, drawn once per clip. */
typedef struct vc_crop {
    int x, y, w, h;
    int flip;
} vc_crop;

typedef struct vc_crop_params {
    double scale_min, scale_max; /* fraction of the frame area (0.5, 1.0) */
    double ratio_min, ratio_max; /* width / height (3/4, 4/3) */
    double flip_p;               /* probability of a horizontal flip (0.5) */
} vc_crop_params;

vc_crop_params vc_crop_default_params(void);

/* torchvision RandomResizedCrop.get_params: up to 10 tries of a random area and log-uniform
 * aspect ratio, else the largest centred crop within the ratio bounds; then the flip draw. */
vc_crop vc_random_resized_crop(vc_rng *rng, int w, int h, const vc_crop_params *p);

/* The whole frame, no flip (evaluation). */
vc_crop vc_crop_full(int w, int h);

/* Crops src (w x h, stride) by c, resizes to S x S into dst (packed), flips if c->flip. */
int vc_crop_resize_rgb_u8(const uint8_t *src, int w, int h, size_t src_stride, const vc_crop *c, int S,
                          vc_interp interp, uint8_t *dst, vc_error *err);

#endif
