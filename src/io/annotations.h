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

/* The annotation files of public data sets, read as they are published (io/annotation_formats.c).
 * Each stores a video id, not a path: the file is found under video_root (default: the
 * annotation file's folder) by a pattern of the record's fields, "{name}" or "{name:06d}" (an
 * integer, zero-padded), where {id}, {start} and {end} stand for the format's id and time
 * fields. A pattern that names {start} or {end} points at an already cut clip, so the times
 * are not applied again; otherwise start/end select the segment of the video.
 *   internvid  JSONL or CSV: YoutubeID, Start_timestamp / End_timestamp (HH:MM:SS.mmm), Caption;
 *              "{id}.mp4" (the whole YouTube video; the segment is cut at decoding)
 *   msrvtt     MSRVTT_data.json: {"videos": [...], "sentences": [{"video_id", "caption"}]}, one
 *              clip per sentence; "{id}.mp4". (The 1k-A test CSV, ",key,vid_key,video_id,sentence",
 *              is a plain CSV: video_id + sentence.)
 *   kinetics   CSV label,youtube_id,time_start,time_end,split; caption = label = the class;
 *              "{id}_{start:06d}_{end:06d}.mp4" (the cut clips of the usual downloaders)
 *   webvid     CSV videoid,name,page_dir,...; caption = name; "{page_dir}/{id}.mp4"
 * VC_ANN_AUTO picks the format from the extension, the CSV header or the first JSONL object
 * (a .json file is MSR-VTT's); a file that matches none is viclip's own JSONL/CSV. */
typedef enum {
    VC_ANN_AUTO = 0,
    VC_ANN_VICLIP,     /* viclip's JSONL / CSV (above) */
    VC_ANN_INTERNVID,
    VC_ANN_MSRVTT,
    VC_ANN_KINETICS,
    VC_ANN_WEBVID,
} vc_annotation_format;

typedef struct vc_annotation_opts {
    vc_annotation_format format;
    const char *video_root;    /* NULL: the annotation file's folder */
    const char *video_pattern; /* NULL: the format's default (above); viclip's own files ignore it */
} vc_annotation_opts;

/* "auto", "viclip", "internvid", "msrvtt", "kinetics", "webvid" -> *out. */
int vc_annotation_format_parse(const char *name, vc_annotation_format *out, vc_error *err);
const char *vc_annotation_format_name(vc_annotation_format f);

int vc_annotations_load(const char *path, vc_annotation_set *out, vc_error *err);
/* o NULL: automatic format, paths relative to the file. */
int vc_annotations_load_opts(const char *path, const vc_annotation_opts *o, vc_annotation_set *out, vc_error *err);
void vc_annotations_free(vc_annotation_set *s);

/* Reads a text file of one entry per line (labels, templates), skipping empty lines; path "-"
 * is standard input. A folder, an unreadable file or one without any line is an error. */
int vc_read_lines(const char *path, char ***lines, int *n, vc_error *err);
/* The same, with the 1-based line number of each entry in *line_numbers (malloc'd). */
int vc_read_lines_numbered(const char *path, char ***lines, long **line_numbers, int *n, vc_error *err);
void vc_free_lines(char **lines, int n);

#endif
