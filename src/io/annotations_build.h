/* Internal to src/io: how the annotation readers add clips to a set (annotations.c) and how
 * the public data sets' formats are read (annotation_formats.c). */
#ifndef VC_IO_ANNOTATIONS_BUILD_H
#define VC_IO_ANNOTATIONS_BUILD_H

#include "io/annotations.h"
#include "io/json.h"

typedef struct vc_ann_builder {
    vc_annotation_set *set;
    int cap;
    char *dir;      /* where relative video paths start, with a trailing '/', or "" */
} vc_ann_builder;

/* Appends one clip: video (+ suffix) resolved against b->dir unless absolute. */
int vc_ann_add(vc_ann_builder *b, const char *video, const char *suffix, const char *caption, const char *label,
               double start, double end, long lineno, vc_error *err);

/* A record of a data set's file: field names and their text values. */
typedef struct vc_ann_record {
    const char *const *names;
    const char *const *values;
    int n;
    long line;      /* line of the file, for messages (0: use where) */
    const char *where; /* e.g. "sentences[12]" when the file has no line per record */
} vc_ann_record;

/* The data-set format (INTERNVID, KINETICS, WEBVID) whose columns the header has, else VC_ANN_VICLIP. */
vc_annotation_format vc_ann_detect_columns(const char *const *names, int n);
/* Checks the header of a data-set CSV / the first JSONL object against the format's fields. */
int vc_ann_check_columns(vc_annotation_format f, const char *const *names, int n, const char *src, long line,
                         vc_error *err);
/* Adds the clip of one record of format f. */
int vc_ann_add_record(vc_ann_builder *b, vc_annotation_format f, const char *pattern, const vc_ann_record *r,
                      vc_error *err);
/* MSR-VTT's MSRVTT_data.json, whole. */
int vc_ann_load_msrvtt_json(vc_ann_builder *b, const char *pattern, vc_error *err);

#endif
