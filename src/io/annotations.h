/* Annotation files, one clip per record. Paths are relative to the annotation file's folder
 * unless absolute.
 * JSONL (any other extension): one object per line with "video" (path) and "caption"; optional
 * "label" (class name for classification) and "start"/"end" (seconds); null is absent.
 * "caption" may be a list of strings (MSR-VTT / COCO style): one clip per caption, all with the
 * same video, label, start, end and line number; an empty list is an error.
 * CSV (a path ending in .csv, any case; RFC 4180, see io/csv.h): the header row names the
 * columns, in any letter case: the video from video, video_path, path or video_id; the caption
 * from caption, sentence, text or title (the first of these names that the header has wins);
 * optional label, start, end, where an empty cell is absent; other columns are ignored. Rule
 * for video_id (MSR-VTT's "video7010"): a value whose last path component has no '.' names
 * <value>.mp4; other video columns are used as written.
 * Errors read "FILE:LINE: ..." (the line where the record starts) and name the field/column. */
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

/* Reads a text file of one entry per line (labels, templates), skipping empty lines; path "-"
 * is standard input. A folder, an unreadable file or one without any line is an error. */
int vc_read_lines(const char *path, char ***lines, int *n, vc_error *err);
/* The same, with the 1-based line number of each entry in *line_numbers (malloc'd). */
int vc_read_lines_numbered(const char *path, char ***lines, long **line_numbers, int *n, vc_error *err);
void vc_free_lines(char **lines, int n);

#endif
