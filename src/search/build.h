/* Building and updating an index. The inputs are video files (whole, or cut into windows) and
 * annotated clips (a file with a start and end). An update keeps the files already indexed
 * whose size and modification time are unchanged, re-encodes the changed ones, encodes the
 * new ones and removes the files that no longer exist. A video gets windows when a window is
 * asked for, or when it is longer than long_video_s (then default_window / default_stride);
 * otherwise one row for the whole video, exactly ViCLIP's clip of it. */
#ifndef VC_SEARCH_BUILD_H
#define VC_SEARCH_BUILD_H

#include <stdint.h>

#include "model/model.h"
#include "search/index.h"
#include "video/loader.h"

typedef struct vc_index_build_opts {
    double window, stride;          /* > 0: every video in windows; 0: see long_video_s */
    double long_video_s;            /* default 60 */
    double default_window, default_stride; /* 8, 4 */
    vc_dtype dtype;                 /* of a new index's rows: F16 (default), I8 or F32 */
    int sampling, interp;           /* vc_sampling / vc_interp of every clip and window; -1 (default):
                                     * the index's own (a new index: middle, bicubic). An update
                                     * asking for another than the index's is refused. */
    int workers;                    /* decoding threads for whole clips (default 2) */
    void (*on_failure)(const char *path, const char *msg, void *user);
    void (*on_progress)(const char *what, int done, int total, void *user);
    void *user;
} vc_index_build_opts;

vc_index_build_opts vc_index_build_default_opts(void);

/* Sets o->sampling / o->interp from the names of --sampling / --interp (NULL: not given, -1);
 * an unknown name is an error naming the flag. */
int vc_index_build_parse_preprocess(const char *sampling, const char *interp, vc_index_build_opts *o, vc_error *err);

typedef struct vc_index_build_stats {
    int n_inputs;       /* distinct files asked for */
    int n_encoded;      /* files encoded now */
    int n_failed;       /* files that could not be read (reported through on_failure) */
    int n_kept;         /* unchanged files kept from the index */
    int n_removed;      /* files dropped: gone from disk, or re-encoded */
    int n_windows_new;  /* rows added */
    int n_approx;       /* windows whose frames differ from the prediction (variable frame rate) */
    double encode_s;    /* wall time spent encoding */
    double encode_cpu_s; /* CPU time of the process meanwhile (all threads) */
} vc_index_build_stats;

/* FNV-1a over the parameter bytes: the index records it, search refuses another model's index. */
uint64_t vc_model_checksum(const vc_model *m);

/* Starts an empty index for model m (x is overwritten). */
int vc_index_init(vc_search_index *x, const vc_model *m, const vc_index_build_opts *o, vc_error *err);

/* Checks that index x was made by model m (same weights and shapes), fails naming `where`;
 * then records the model's config in x (indexes store it for information). */
int vc_index_check_model(vc_search_index *x, const vc_model *m, const char *where, vc_error *err);

/* Loads the index at out for model m and the preprocessing o asks for (o may be NULL: any):
 * fails naming the index file when it was made by other weights or another preprocessing. */
int vc_index_load_checked(const char *out, vc_model *m, const vc_index_build_opts *o, vc_search_index *x, vc_error *err);

/* Adds items (whole videos: start = end = -1; clips: their range) to x as described above. */
int vc_index_update(vc_model *m, vc_search_index *x, const vc_loader_item *items, int n,
                    const vc_index_build_opts *o, vc_index_build_stats *stats, vc_error *err);

#endif
