/* Clips as the model sees them: float32 [T, 3, S, S], normalised with a per-channel mean/std
 * (ViCLIP uses the ImageNet constants). Clips on disk are NumPy arrays: uint8 [T, H, W, 3]
 * frames, or float32 [T, 3, S, S] already preprocessed. */
#ifndef VC_VIDEO_CLIP_H
#define VC_VIDEO_CLIP_H

#include <stdint.h>

#include "core/error.h"
#include "core/real.h"

typedef struct vc_preprocess {
    int frames;      /* T */
    int size;        /* S */
    float mean[3];   /* on [0, 1] pixel values */
    float std[3];
} vc_preprocess;

vc_preprocess vc_preprocess_default(int frames, int size);

/* Frame indices for evaluation sampling: midpoints of `frames` equal segments of n frames
 * (n < frames repeats the last frame). */
void vc_sample_middle(int n, int frames, int *idx);

/* Loads a clip file into raw uint8 RGB frames [T, S, S, 3] (sampled to T frames). */
int vc_clip_load_u8(const char *path, const vc_preprocess *pp, uint8_t *out, vc_error *err);

/* uint8 frames [T, S, S, 3] -> normalised [T, 3, S, S]; frame_order (may be NULL) permutes frames. */
void vc_clip_normalize(const vc_preprocess *pp, const uint8_t *frames, const int *frame_order,
                       vc_real *out);

/* Loads a clip file straight into the model's input layout. */
int vc_clip_load(const char *path, const vc_preprocess *pp, vc_real *out, vc_error *err);

#endif
