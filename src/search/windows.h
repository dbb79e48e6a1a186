/* Moments of long videos: overlapping windows [start, end) of `window` seconds every `stride`
 * seconds, each sampled exactly as a clip with that start and end and the same clip options
 * (sampling of the frames whose timestamps fall in the window: 'middle' by default, 'demo' or
 * 'rand'; resize of the whole frame: bicubic by default, or bilinear), encoded in one decode pass over the video: frames shared by overlapping windows are
 * decoded once and nothing seeks.
 *
 * Which frame indices a window takes is decided ahead from the container's frame rate (frame i
 * at i / fps) and checked against the real timestamps as frames arrive. A window whose real
 * frames differ (variable frame rate, a missing frame) keeps the frames that were delivered
 * for it and is counted in n_approx, so the caller can say so. */
#ifndef VC_SEARCH_WINDOWS_H
#define VC_SEARCH_WINDOWS_H

#include "core/error.h"
#include "model/model.h"
#include "video/decode.h"
#include "video/clip.h"

typedef struct vc_window_opts {
    double window, stride; /* seconds; window > 0, 0 < stride */
    int batch;             /* windows per model call (default 16) */
    vc_clip_opts clip;     /* sampling, interp, seed and key as for a clip (default: evaluation's
                            * middle + bicubic); crops, views and augmentation are refused */
    int decode_threads;    /* default 2 */
    double timeout_s;      /* for the whole video; <= 0: none */
} vc_window_opts;

vc_window_opts vc_window_default_opts(double window, double stride);

/* Windows over [0, duration): starts 0, stride, ... while start + window < duration, then a
 * last window ending at the duration (all windows are `window` long unless the video is
 * shorter). Returns the count (<= cap written to start/end; call with cap 0 to size). */
int vc_plan_windows(double duration, double window, double stride, double *start, double *end, int cap);

/* The encoded windows of one video: emb [n, E] L2-normalised, start/end [n] in seconds. */
typedef struct vc_window_set {
    float *emb;
    double *start, *end;
    int n, cap;
    int n_approx;       /* windows whose frames did not match the prediction (see above) */
    double duration;    /* seconds, as the container states it */
} vc_window_set;

void vc_window_set_free(vc_window_set *s);

/* Encodes every window of path. on_progress (may be NULL) gets (windows done, planned). */
int vc_encode_windows(vc_model *m, const char *path, const vc_window_opts *o, vc_window_set *out,
                      void (*on_progress)(int done, int total, void *user), void *user, vc_error *err);

/* The container's duration in seconds (0 if it states none), without decoding frames. */
int vc_video_duration(const char *path, double *duration, vc_error *err);

#endif
