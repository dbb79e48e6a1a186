/* Video decoding with FFmpeg (libavformat/libavcodec/libswscale): any container and codec FFmpeg
 * reads, a single image file (PNG, JPEG, ... through FFmpeg's image demuxers), or a folder of
 * frame images (sorted by name, digit runs compared as numbers).
 *
 * Frames are numbered in presentation order (the decoder's output order) within the clip: the
 * whole video, or the frames whose timestamps t (seconds from the stream's start) satisfy
 * start <= t < end. Timestamps, never a frame rate, decide the range, so variable frame rate is
 * safe. The frame count is the container's nb_frames when it has one and no range is asked for
 * (as decord's length is); otherwise, or with exact_count, frames are counted by decoding.
 * When the container's count proves too high (the stream ends early) the frames are picked
 * again from the decoded count.
 *
 * Frames come out as packed RGB24 (swscale, the same conversion as the ffmpeg tool's default)
 * after applying the stream's display-matrix rotation (multiples of 90 degrees), like the
 * ffmpeg tool's autorotate.
 *
 * Nothing here hangs or crashes on bad input: all I/O runs under an interrupt callback with a
 * deadline, read loops are bounded, and decoding errors (strict mode, the default) fail with a
 * message naming the file. FFmpeg's own logging is silenced (messages go into vc_error). */
#ifndef VC_VIDEO_DECODE_H
#define VC_VIDEO_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct vc_decode_opts {
    double start, end; /* seconds; < 0: from the first frame / to the last */
    double timeout_s;  /* deadline for one call; <= 0: none (default 120) */
    int threads;       /* decoder threads (default 1: the loaders parallelise over clips) */
    int strict;        /* 1 (default): a decoding error fails; 0: broken packets are skipped */
    int exact_count;   /* 1: count frames by decoding even when the container states a count */
} vc_decode_opts;

vc_decode_opts vc_decode_default_opts(void);

typedef struct vc_video_info {
    int width, height;   /* as displayed (after rotation) */
    int rotation;        /* clockwise degrees applied: 0, 90, 180 or 270 */
    int frames;          /* frames in the clip */
    int counted;         /* 1: frames was counted by decoding; 0: taken from the container */
    double fps;          /* average frame rate from the container, 0 if unknown */
    double duration;     /* seconds, 0 if unknown */
    int is_folder;       /* a folder of frame images */
    char codec[32], container[48];
} vc_video_info;

/* A decoded frame as handed to a vc_frame_fn: packed RGB24 rows, displayed orientation. */
typedef struct vc_rgb_frame {
    const uint8_t *data;
    int width, height;
    size_t stride;  /* bytes per row */
    int index;      /* frame number within the clip */
    double time_s;  /* timestamp, seconds from the stream's start (folders: the index) */
} vc_rgb_frame;

/* Chooses `count` frame indices in [0, n_frames) into idx (any order, repeats allowed). */
typedef int (*vc_pick_fn)(void *user, int n_frames, int *idx, vc_error *err);
/* Receives the frame chosen for idx[slot]; called once per slot (a frame picked for several
 * slots is delivered to each). May be called again for a slot if the picks are redone. */
typedef int (*vc_frame_fn)(void *user, int slot, const vc_rgb_frame *f, vc_error *err);

/* Opens the video (file or folder), counts frames, and fills info. */
int vc_video_probe(const char *path, const vc_decode_opts *o, vc_video_info *info, vc_error *err);

/* Counts the clip's frames, calls pick once with the count, then decodes and delivers the
 * chosen frames. info (may be NULL) receives what vc_video_probe reports. */
int vc_video_read(const char *path, const vc_decode_opts *o, int count, vc_pick_fn pick, vc_frame_fn on_frame,
                  void *user, vc_video_info *info, vc_error *err);

/* Streaming access for long videos (one decode pass, no seeks): opens the file, calls on_open
 * once with what the container states (frames 0 when it states no count, duration 0 when
 * unknown; no frames are counted), then visits every frame in presentation order. For each,
 * want(user, index, time_s) returns 1 to have it converted and delivered to on_frame (slot 0),
 * 0 to pass over it cheaply, 2 to stop, or -1 to fail (with err set). on_open returning 1
 * stops before decoding; -1 fails. Folders of frames and .npy arrays are not streamed. */
typedef int (*vc_open_fn)(void *user, const vc_video_info *info, vc_error *err);
typedef int (*vc_want_fn)(void *user, int index, double time_s, vc_error *err);
int vc_video_stream(const char *path, const vc_decode_opts *o, vc_open_fn on_open, vc_want_fn want,
                    vc_frame_fn on_frame, void *user, vc_error *err);

#endif
