/* An annotated clip set held in memory: raw uint8 frames (normalised per batch, so the
 * resident size is a quarter of float), token ids, and positive-group ids (clips with the
 * same caption are positives of each other in the contrastive loss). */
#ifndef VC_TRAIN_DATASET_H
#define VC_TRAIN_DATASET_H

#include <stdint.h>

#include "io/annotations.h"
#include "text/tokenizer.h"
#include "video/clip.h"

typedef struct vc_dataset {
    vc_annotation_set ann;
    vc_preprocess pp;
    int n, ctx;
    uint8_t *frames;   /* [n, T, S, S, 3] */
    int32_t *tokens;   /* [n, ctx] */
    int32_t *group;    /* [n] */
    int n_groups;
    /* Clips that could not be read (missing, empty, corrupt, undecodable) are left out of the
     * set, one message each ("file:line: reason"); loading fails only when none is readable. */
    int n_skipped;
    char **skipped;
} vc_dataset;

/* Which clips count as positives of each other in the contrastive loss. */
typedef enum {
    VC_POSITIVES_CAPTION, /* identical caption text (default) */
    VC_POSITIVES_VIDEO,   /* the same video file (the official per-video idx) */
    VC_POSITIVES_LABEL,   /* the same "label" field (synthetic or class-labelled data) */
} vc_positives;

int vc_positives_parse(const char *s, vc_positives *out, vc_error *err);

/* ids[i] (for i < d->n): one number per distinct key (caption, video path or label), 0..*n_groups-1. */
int vc_dataset_group_ids(const vc_dataset *d, vc_positives mode, int32_t *ids, int *n_groups, vc_error *err);

/* Recomputes d->group for a positives rule (vc_dataset_load uses VC_POSITIVES_CAPTION). */
int vc_dataset_set_positives(vc_dataset *d, vc_positives mode, vc_error *err);

int vc_dataset_load(vc_dataset *d, const char *annotations, const vc_preprocess *pp,
                    const vc_tokenizer *tok, int ctx, vc_error *err);
void vc_dataset_free(vc_dataset *d);

/* Normalised clip i into out [T, 3, S, S]; frame_order may permute frames (NULL = in order). */
void vc_dataset_clip(const vc_dataset *d, int i, const int *frame_order, vc_real *out);

#endif
