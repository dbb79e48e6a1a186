/* ActivityNet Captions (Krishna et al., 2017): moment retrieval ground truth, read unchanged
 * from its published JSON (train.json, val_1.json, val_2.json):
 *   {"v_QOlSCBRmfWY": {"duration": 82.73,
 *                      "timestamps": [[0.83, 19.86], [17.37, 60.81]],
 *                      "sentences": ["A young woman is seen ...", " The girl dances ..."]}, ...}
 * one object per video keyed by "v_" + the YouTube id, timestamps in seconds, one sentence per
 * timestamp (sentences keep their leading space as published; captions are cleaned when
 * tokenised). The video files are found as video_root / pattern, where the pattern's {id} is
 * the key ("v_QOlSCBRmfWY") and {yid} the key without "v_" ("QOlSCBRmfWY"). */
#ifndef VC_IO_ACTIVITYNET_H
#define VC_IO_ACTIVITYNET_H

#include "core/error.h"

typedef struct vc_moment_query {
    const char *video;    /* resolved path (shared by the video's queries) */
    const char *video_id; /* the key */
    double duration;      /* as annotated */
    double start, end;    /* the ground-truth moment, seconds (start <= end) */
    char *sentence;
} vc_moment_query;

typedef struct vc_moment_truth {
    vc_moment_query *q;
    int n;
    char **paths, **ids;  /* per video */
    int n_videos;
} vc_moment_truth;

/* pattern NULL: "{id}.mp4". Every error names the file and the video key or field at fault. */
int vc_activitynet_load(const char *json_path, const char *video_root, const char *pattern, vc_moment_truth *out,
                        vc_error *err);
void vc_moment_truth_free(vc_moment_truth *t);

#endif
