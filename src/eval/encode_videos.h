/* Video embeddings of many clips: a vc_loader decodes batches ahead on worker threads while
 * the model encodes the previous one, so no clip set has to fit in memory. Unreadable clips
 * are reported (on_failure) and marked, never fatal. */
#ifndef VC_EVAL_ENCODE_VIDEOS_H
#define VC_EVAL_ENCODE_VIDEOS_H

#include <stdint.h>

#include "model/model.h"
#include "video/loader.h"

typedef struct vc_video_encode_params {
    int workers;        /* decoding threads (default 2) */
    int batch;          /* clips per model call (default 16) */
    vc_clip_opts clip;  /* default: evaluation ('middle' sampling, whole frame, bicubic) */
    int shuffle_frames; /* baseline: each clip's frames in a random order (seed, clip index) */
    int single_frame;   /* baseline: the middle frame repeated */
    uint64_t seed;
    void (*on_progress)(int done, int total, void *user);          /* after each batch */
    void (*on_failure)(int item, const char *msg, void *user);     /* once per unreadable clip */
    void *user;
} vc_video_encode_params;

vc_video_encode_params vc_video_encode_default_params(void);

/* emb [n, E]: L2-normalised embeddings of items[0..n); ok[i] = 0 (and a zero row) for clips
 * that could not be read. *n_ok (may be NULL) counts the readable ones. Fails only on
 * out-of-memory or a model error. */
int vc_encode_videos(vc_model *m, const vc_loader_item *items, int n, const vc_video_encode_params *p,
                     vc_real *emb, unsigned char *ok, int *n_ok, vc_error *err);

#endif
