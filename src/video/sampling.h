/* Which frames of a video make a clip, exactly as ViCLIP picks them.
 *
 * 'middle' and 'rand' follow the official dataset code (InternVideo1/Pretrain/ViCLIP,
 * get_frame_indices): the video's n frames are cut into min(T, n) segments at
 * int(linspace(0, n, segments + 1)); segment k covers frames [b_k, b_{k+1} - 1].
 *   middle: (b_k + (b_{k+1} - 1)) / 2, rounded down.
 *   rand:   uniform in [b_k, b_{k+1} - 1) — the official code draws from range(first, last),
 *           which never picks a segment's last frame; when some segment is a single frame
 *           (that range is empty) it instead takes a sorted random choice of segments
 *           distinct frames out of all n. Both quirks are kept so training matches.
 * 'demo' is the official demo (Data/InternVid/viclip frames2tensor): step = n / T (integer),
 * frames 0, step, 2*step, ...
 * Fewer frames than T: the picked indices are padded by repeating the last one (the demo
 * asserts n >= T instead; here it pads like the other modes). */
#ifndef VC_VIDEO_SAMPLING_H
#define VC_VIDEO_SAMPLING_H

#include "core/error.h"
#include "core/rng.h"

typedef enum { VC_SAMPLE_MIDDLE = 0, VC_SAMPLE_RAND = 1, VC_SAMPLE_DEMO = 2 } vc_sampling;

/* "middle", "rand" or "demo" -> *out; an unknown name is an error naming it. */
int vc_sampling_parse(const char *name, vc_sampling *out, vc_error *err);
const char *vc_sampling_name(vc_sampling mode);

/* Fills idx[0..frames) with indices in [0, n), ascending. rng is drawn from only for
 * VC_SAMPLE_RAND (required then; position it with vc_rng_at so draws are reproducible).
 * n < 1, frames < 1 or a missing rng are errors. */
int vc_sample_indices(vc_sampling mode, int n, int frames, vc_rng *rng, int *idx, vc_error *err);

/* Test-time temporal view `view` of `views`: in each segment (cut as above) the frame
 * (view + 1/2) / views of the way through it, so the views interleave over the whole video;
 * padded like the other modes when n < frames. */
int vc_sample_view_indices(int n, int frames, int view, int views, int *idx, vc_error *err);

#endif
