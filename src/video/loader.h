/* A clip loader that decodes ahead of its consumer on worker threads, so a training or
 * encoding loop finds its next batch ready instead of waiting for FFmpeg.
 *
 * The consumer asks for batches in order. Batch b holds the clips at positions
 * [b*batch, (b+1)*batch); position g shows item item_at(g) (or item g when item_at is NULL,
 * a single pass over the items). Each clip is made with vc_clip_load_u8_opts with key = g, so
 * a clip is a pure function of (seed, g, item): the same run resumed at any batch reproduces
 * the same pixels, whatever the number of workers or their timing.
 *
 * Unreadable items (missing, empty, corrupt, undecodable, too slow) are reported once each,
 * with the reason, in the batch results. A training loader (substitute = 1) puts the next
 * readable item in their place (item + 1, item + 2, ... wrapping), as the official dataset
 * redraws on failure, so every batch stays full; a single-pass loader leaves them out of their
 * batch. Worker threads are plain pthreads that decode one clip at a time with a
 * single-threaded decoder (the model's OpenMP threads keep the cores otherwise). */
#ifndef VC_VIDEO_LOADER_H
#define VC_VIDEO_LOADER_H

#include <stdint.h>

#include "core/error.h"
#include "video/clip.h"

typedef struct vc_loader vc_loader;

typedef struct vc_loader_item {
    const char *path;
    double start, end; /* seconds; < 0: whole video */
} vc_loader_item;

typedef struct vc_loader_params {
    vc_preprocess pp;
    vc_clip_opts clip;  /* sampling, augmentation, interpolation, seed, timeout (key is set per clip) */
    int workers;        /* decoding threads, >= 1 */
    int batch;          /* clips per batch, >= 1 */
    int prefetch;       /* batches decoded ahead of the consumer, >= 1 */
    int substitute;     /* 1: replace unreadable items (training); 0: leave them out */
    int64_t first_batch; /* the first batch returned (resuming) */
    /* Position -> item. NULL: position g is item g and the run ends after the last item.
     * Called on worker threads, under the loader's lock (it need not be thread-safe). */
    int (*item_at)(void *user, int64_t g);
    void *user;
    /* One shard of a larger batch (data-parallel ranks, with item_at): batch b holds the global
     * positions b*global_batch + shard_offset + k, k < batch. global_batch 0: no sharding. Each
     * clip is made from its global position, so the pixels do not depend on the rank count. */
    int64_t global_batch, shard_offset;
} vc_loader_params;

vc_loader_params vc_loader_default_params(const vc_preprocess *pp);

typedef struct vc_loader_failure {
    int item;
    char *msg;          /* "path: reason" */
} vc_loader_failure;

typedef struct vc_loader_batch {
    const uint8_t *frames;   /* [n, T, S, S, 3]; valid until the next vc_loader_next or free */
    const int *item;         /* [n]: the item each clip shows */
    int n;                   /* clips (0 if every clip of the batch was unreadable) */
    int end;                 /* 1: a single pass is over (no clips) */
    int64_t index;           /* batch number */
    const vc_loader_failure *failed; /* items first found unreadable since the previous batch */
    int n_failed;
    double wait_s;           /* seconds this call waited for decoding */
} vc_loader_batch;

/* Starts the workers over items[0..n) (the array and its strings must outlive the loader). */
vc_loader *vc_loader_start(const vc_loader_item *items, int n, const vc_loader_params *p, vc_error *err);

/* The next batch. Fails only when no readable item is left to substitute or memory runs out. */
int vc_loader_next(vc_loader *l, vc_loader_batch *out, vc_error *err);

/* Stops the workers (waiting for the clip each is decoding) and frees everything. */
void vc_loader_free(vc_loader *l);

#endif
