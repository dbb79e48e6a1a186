/* An annotated clip set: the annotations, their token ids, positive-group ids (clips with the
 * same caption are positives of each other in the contrastive loss) and, once preloaded, every
 * clip's raw uint8 frames (normalised per batch, so the resident size is a quarter of float).
 * Training on real video streams clips through a vc_loader instead of preloading them. */
#ifndef VC_TRAIN_DATASET_H
#define VC_TRAIN_DATASET_H

#include <stdint.h>

#include "io/annotations.h"
#include "text/tokenizer.h"
#include "video/clip.h"
#include "video/loader.h"

typedef struct vc_dataset {
    vc_annotation_set ann;
    vc_preprocess pp;
    int n, ctx;
    vc_loader_item *items; /* [n]: each clip's path and time range, for a vc_loader */
    uint8_t *frames;   /* [n, T, S, S, 3] once preloaded, else NULL */
    int32_t *tokens;   /* [n, ctx] */
    int32_t *group;    /* [n] */
    int n_groups;
    int positives;     /* vc_positives rule behind group */
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
const char *vc_positives_name(vc_positives mode); /* what vc_positives_parse reads */

/* ids[i] (for i < d->n): one number per distinct key (caption, video path or label), 0..*n_groups-1. */
int vc_dataset_group_ids(const vc_dataset *d, vc_positives mode, int32_t *ids, int *n_groups, vc_error *err);

/* Recomputes d->group for a positives rule (vc_dataset_load uses VC_POSITIVES_CAPTION). */
int vc_dataset_set_positives(vc_dataset *d, vc_positives mode, vc_error *err);

typedef struct vc_dataset_opts {
    int clean_captions; /* ViCLIP's caption cleaning (vc_clean_caption) before tokenising */
    vc_annotation_opts annotations; /* format, video root and file-name pattern of the annotation file */
} vc_dataset_opts;

vc_dataset_opts vc_dataset_default_opts(void);

/* Reads the annotations and tokenises the captions; clips are not decoded. Paths that do not
 * exist or are empty files are left out at once (see skipped). */
int vc_dataset_open(vc_dataset *d, const char *annotations, const vc_preprocess *pp, const vc_tokenizer *tok,
                    int ctx, const vc_dataset_opts *o, vc_error *err);

/* Decodes every clip (evaluation sampling: 'middle', whole frame) into d->frames, leaving
 * unreadable ones out. */
int vc_dataset_preload(vc_dataset *d, int workers, vc_error *err); /* workers <= 0: the OpenMP thread count */

/* Leaves out the clips with why[i] != NULL (a message, "file:line: " is prepended; ownership
 * of the strings stays with the caller), keeping the others in order, and recomputes the
 * groups. Fails when no clip is left. */
int vc_dataset_drop(vc_dataset *d, char *const *why, vc_error *err);

/* vc_dataset_open + vc_dataset_preload with default options. */
int vc_dataset_load(vc_dataset *d, const char *annotations, const vc_preprocess *pp,
                    const vc_tokenizer *tok, int ctx, vc_error *err);
void vc_dataset_free(vc_dataset *d);

/* Normalised preloaded clip i into out [T, 3, S, S]; frame_order may permute frames (NULL = in order). */
void vc_dataset_clip(const vc_dataset *d, int i, const int *frame_order, vc_real *out);

#endif
