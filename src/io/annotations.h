/* Annotation files: one clip per line, JSONL with "video" (path, relative to the annotation
 * file's folder unless absolute) and "caption"; optional "label" (class name for
 * classification) and "start"/"end" seconds. "caption" may be a list of strings: one clip per
 * caption, all of the same video (MSR-VTT / COCO style).
 * A path ending in .csv is read as CSV (io/csv.h) whose header names the columns: the video
 * from video, video_path, path or video_id; the caption from caption, sentence, text or title;
 * optional label, start, end (an empty cell is absent). A video_id without a file extension
 * names <id>.mp4 (MSR-VTT's "video7010"). */
#ifndef VC_IO_ANNOTATIONS_H
#define VC_IO_ANNOTATIONS_H

#include <stddef.h>

#include "core/error.h"

typedef struct vc_annotation {
    char *video;    /* resolved path */
    char *caption;
    char *label;    /* NULL if absent */
    double start, end; /* seconds; < 0 when absent */
    long line;      /* line number in the file, for messages */
} vc_annotation;

typedef struct vc_annotation_set {
    vc_annotation *items;
    int n;
    char *source;   /* the annotation file path */
} vc_annotation_set;

int vc_annotations_load(const char *path, vc_annotation_set *out, vc_error *err);
void vc_annotations_free(vc_annotation_set *s);

/* Reads a text file of one entry per line (labels, templates), skipping blank lines. */
int vc_read_lines(const char *path, char ***lines, int *n, vc_error *err);
void vc_free_lines(char **lines, int n);

#endif
