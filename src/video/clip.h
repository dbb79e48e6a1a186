/* Clips as the model sees them: float32 [T, 3, S, S], normalised with a per-channel mean/std
 * (ViCLIP uses the ImageNet constants). Clips on disk are NumPy arrays (uint8 [T, H, W, 3]
 * frames, or float32 [T, 3, S, S] already preprocessed), or video files, image files and
 * folders of frame images, decoded with FFmpeg (video/decode.h), sampled to T frames
 * (video/sampling.h) and resized to S x S (video/transform.h). A path is an array when it ends
 * in .npy or starts with NumPy's magic bytes; anything else goes to the decoder. */
#ifndef VC_VIDEO_CLIP_H
#define VC_VIDEO_CLIP_H

#include <stdint.h>

#include "core/error.h"
#include "core/real.h"
#include "video/sampling.h"
#include "video/transform.h"

typedef struct vc_preprocess {
    int frames;      /* T */
    int size;        /* S */
    float mean[3];   /* on [0, 1] pixel values */
    float std[3];
} vc_preprocess;

vc_preprocess vc_preprocess_default(int frames, int size);

/* Frame indices for evaluation sampling: ViCLIP's 'middle' (vc_sample_indices with
 * VC_SAMPLE_MIDDLE: midpoints of `frames` equal segments of n frames; n < frames repeats the
 * last frame). */
void vc_sample_middle(int n, int frames, int *idx);

/* How a clip is made from a video: evaluation defaults are 'middle' sampling, the whole video,
 * bicubic resize of the whole frame. Training sets sampling = VC_SAMPLE_RAND and augment = 1
 * (RandomResizedCrop + horizontal flip), drawing from (seed, VC_STREAM_AUGMENT, key, ...) so
 * each (seed, key) pair, e.g. key = step * n_clips + clip, always gives the same clip. */
typedef struct vc_clip_opts {
    vc_sampling sampling;
    uint64_t seed, key;
    double start, end;  /* seconds; < 0: whole video (video files only) */
    vc_interp interp;
    int augment;
    int threads;        /* decoder threads */
    double timeout_s;   /* per clip; <= 0: none */
    int strict;         /* decoding errors fail the clip (1) or skip broken packets (0) */
    /* Test-time views (the Kinetics protocol of K clips x 3 crops, scores averaged):
     * views > 1 takes temporal view `view` of `views`: in each of the T segments the frame at
     * (view + 1/2) / views of the way through it, so the views interleave over the whole video
     * (ViCLIP samples sparsely, one frame per segment); views <= 1 is plain `sampling`.
     * crop 1, 2, 3: the square of the short side at the start, centre or end of the long side,
     * resized to S x S (0: the whole frame, as evaluation). */
    int view, views;
    int crop;
} vc_clip_opts;

vc_clip_opts vc_clip_default_opts(void);

/* The T frame indices o takes from a clip of n frames (its sampling, or its test-time view);
 * 'rand' draws from (o->seed, VC_STREAM_AUGMENT, o->key). Shared by whole clips and the windows
 * of long videos (src/search/windows.c), so a window is sampled exactly as the same clip. */
int vc_clip_sample_frames(const vc_clip_opts *o, int n, int T, int *idx, vc_error *err);

/* 1 if path is read as a NumPy array (.npy extension or NumPy magic), 0 if it is decoded. */
int vc_clip_is_npy(const char *path);

/* 1 if path is a float32 .npy array: an already preprocessed clip [T, 3, S, S] (as `viclip
 * frames` writes), which only vc_clip_load(_opts) reads (it has no uint8 frames). */
int vc_clip_is_preprocessed(const char *path);

/* Loads a clip file into raw uint8 RGB frames [T, S, S, 3] (sampled to T frames). */
int vc_clip_load_u8(const char *path, const vc_preprocess *pp, uint8_t *out, vc_error *err);

/* uint8 frames [T, S, S, 3] -> normalised [T, 3, S, S]; frame_order (may be NULL) permutes frames. */
void vc_clip_normalize(const vc_preprocess *pp, const uint8_t *frames, const int *frame_order,
                       vc_real *out);

/* Loads a clip file straight into the model's input layout. */
int vc_clip_load(const char *path, const vc_preprocess *pp, vc_real *out, vc_error *err);

/* As vc_clip_load_u8 / vc_clip_load with explicit options (o NULL: defaults). frame_idx (may
 * be NULL) receives the T source frame indices used (within the start/end range). */
int vc_clip_load_u8_opts(const char *path, const vc_preprocess *pp, const vc_clip_opts *o, uint8_t *out,
                         int *frame_idx, vc_error *err);
int vc_clip_load_opts(const char *path, const vc_preprocess *pp, const vc_clip_opts *o, vc_real *out,
                      int *frame_idx, vc_error *err);

struct vc_video_info;
/* vc_clip_load_u8_opts that also reports what the decoder found (info may be NULL; for .npy
 * clips it is zeroed except frames). */
int vc_clip_load_u8_info(const char *path, const vc_preprocess *pp, const vc_clip_opts *o, uint8_t *out,
                         int *frame_idx, struct vc_video_info *info, vc_error *err);

#endif
