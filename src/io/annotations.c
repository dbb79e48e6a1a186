#include "io/annotations.h"
#include "io/annotations_build.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "io/csv.h"
#include "io/json.h"

typedef vc_ann_builder load_ctx;

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int optional_seconds(const vc_json *obj, const char *key, double *out, const char *src,
                            long lineno, vc_error *err) {
    *out = -1;
    const vc_json *v = vc_json_get(obj, key);
    if (!v || vc_json_type(v) == VC_JSON_NULL) return 0;
    if (vc_json_type(v) != VC_JSON_NUMBER || vc_json_number(v) < 0)
        return vc_fail(err, "%s:%ld: field '%s' must be a non-negative number of seconds", src, lineno, key);
    *out = vc_json_number(v);
    return 0;
}

int vc_ann_add(load_ctx *c, const char *video, const char *suffix, const char *caption, const char *label,
                    double start, double end, long lineno, vc_error *err) {
    const char *src = c->set->source;
    if (start >= 0 && end >= 0 && end <= start)
        return vc_fail(err, "%s:%ld: 'end' (%g) must be after 'start' (%g)", src, lineno, end, start);
    vc_annotation a = {.line = lineno, .start = start, .end = end};
    const char *dir = video[0] == '/' ? "" : c->dir;
    size_t need = strlen(dir) + strlen(video) + strlen(suffix) + 1;
    a.video = malloc(need);
    a.caption = dup_str(caption);
    a.label = label ? dup_str(label) : NULL;
    if (!a.video || !a.caption || (label && !a.label)) goto oom;
    snprintf(a.video, need, "%s%s%s", dir, video, suffix);
    if (c->set->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 256;
        vc_annotation *n = realloc(c->set->items, (size_t)cap * sizeof *n);
        if (!n) goto oom;
        c->set->items = n;
        c->cap = cap;
    }
    c->set->items[c->set->n++] = a;
    return 0;
oom:
    free(a.video), free(a.caption), free(a.label);
    return vc_fail(err, "%s:%ld: out of memory", src, lineno);
}

typedef struct {
    load_ctx *c;
    vc_annotation_format format; /* AUTO until the first line decides */
    const char *pattern;
    int checked;                 /* the first line's fields were checked against the format */
} jsonl_ctx;

/* A data set's JSONL line (InternVid): its members as text. */
static int add_dataset_line(jsonl_ctx *x, const vc_json *obj, long lineno, vc_error *err) {
    enum { MAX_FIELDS = 64 };
    const char *names[MAX_FIELDS], *values[MAX_FIELDS];
    char numbers[MAX_FIELDS][32];
    int n = 0;
    for (size_t i = 0; i < vc_json_len(obj) && n < MAX_FIELDS; i++) {
        const vc_json *v = vc_json_value_at(obj, i);
        if (vc_json_type(v) == VC_JSON_STRING) values[n] = vc_json_string(v);
        else if (vc_json_type(v) == VC_JSON_NUMBER) snprintf(numbers[n], sizeof numbers[n], "%.17g", vc_json_number(v)), values[n] = numbers[n];
        else continue;
        names[n++] = vc_json_key_at(obj, i);
    }
    if (!x->checked) {
        x->checked = 1;
        if (x->format == VC_ANN_AUTO) x->format = vc_ann_detect_columns(names, n);
        if (x->format != VC_ANN_VICLIP && vc_ann_check_columns(x->format, names, n, x->c->set->source, lineno, err)) return -1;
    }
    if (x->format == VC_ANN_VICLIP) return 1; /* viclip's own line */
    vc_ann_record r = {names, values, n, lineno, NULL};
    return vc_ann_add_record(x->c, x->format, x->pattern, &r, err);
}

static int add_line(const vc_json *obj, long lineno, void *ud, vc_error *err) {
    jsonl_ctx *x = ud;
    load_ctx *c = x->c;
    const char *src = c->set->source;
    if (vc_json_type(obj) != VC_JSON_OBJECT)
        return vc_fail(err, "%s:%ld: each line must be a JSON object", src, lineno);
    if (x->format != VC_ANN_VICLIP) {
        int rc = add_dataset_line(x, obj, lineno, err);
        if (rc <= 0) return rc;
    }
    const vc_json *video = vc_json_get(obj, "video"), *caption = vc_json_get(obj, "caption");
    const vc_json *label = vc_json_get(obj, "label");
    if (!video || vc_json_type(video) != VC_JSON_STRING || !vc_json_string(video)[0])
        return vc_fail(err, "%s:%ld: missing string field 'video'", src, lineno);
    const int many = caption && vc_json_type(caption) == VC_JSON_ARRAY;
    if (!caption || (vc_json_type(caption) != VC_JSON_STRING && !many))
        return vc_fail(err, "%s:%ld: missing field 'caption' (a string or a list of strings)", src, lineno);
    if (many && vc_json_len(caption) == 0)
        return vc_fail(err, "%s:%ld: field 'caption' is an empty list", src, lineno);
    if (label && vc_json_type(label) == VC_JSON_NULL) label = NULL; /* null: absent, as for start/end */
    if (label && vc_json_type(label) != VC_JSON_STRING)
        return vc_fail(err, "%s:%ld: field 'label' must be a string", src, lineno);
    double start, end;
    if (optional_seconds(obj, "start", &start, src, lineno, err) || optional_seconds(obj, "end", &end, src, lineno, err))
        return -1;
    /* a list of captions (MSR-VTT, COCO style): one clip per caption, all of the same video */
    const size_t n = many ? vc_json_len(caption) : 1;
    for (size_t k = 0; k < n; k++) {
        const vc_json *cap = many ? vc_json_at(caption, k) : caption;
        if (vc_json_type(cap) != VC_JSON_STRING)
            return vc_fail(err, "%s:%ld: field 'caption': caption %zu of the list is not a string", src, lineno, k + 1);
        if (vc_ann_add(c, vc_json_string(video), "", vc_json_string(cap), label ? vc_json_string(label) : NULL, start,
                     end, lineno, err))
            return -1;
    }
    return 0;
}

/* CSV: the header names the columns; these names (any letter case) are accepted for each
 * field, in this order of preference when a header has several (a path beats an id). */
enum { COL_VIDEO, COL_CAPTION, COL_LABEL, COL_START, COL_END, N_COLS };
static const char *const COLUMN_NAMES[N_COLS][5] = {
    {"video", "video_path", "path", "video_id", NULL},
    {"caption", "sentence", "text", "title", NULL},
    {"label", NULL},
    {"start", NULL},
    {"end", NULL},
};

typedef struct {
    load_ctx *c;
    vc_annotation_format format; /* a data set's CSV (header-detected or given), or VC_ANN_VICLIP */
    const char *pattern;
    int col[N_COLS]; /* column index of each field, -1 if absent */
    int n_header;
    int video_id;    /* the video column is MSR-VTT's video_id: ids without an extension get .mp4 */
    char **names;    /* the header's column names, for messages */
} csv_ctx;

static void free_names(csv_ctx *x) {
    for (int i = 0; i < x->n_header; i++) free(x->names[i]);
    free(x->names);
    x->names = NULL;
}

static int csv_header(csv_ctx *x, char **fields, int n, long lineno, vc_error *err) {
    const char *src = x->c->set->source;
    if (!(x->names = calloc((size_t)n, sizeof *x->names))) return vc_fail(err, "%s: out of memory", src);
    for (x->n_header = 0; x->n_header < n; x->n_header++)
        if (!(x->names[x->n_header] = dup_str(fields[x->n_header]))) return vc_fail(err, "%s: out of memory", src);
    if (x->format == VC_ANN_AUTO) x->format = vc_ann_detect_columns((const char *const *)fields, n);
    if (x->format != VC_ANN_VICLIP) return vc_ann_check_columns(x->format, (const char *const *)fields, n, src, lineno, err);
    for (int k = 0; k < N_COLS; k++) {
        x->col[k] = -1;
        for (int a = 0; COLUMN_NAMES[k][a] && x->col[k] < 0; a++)
            for (int i = 0; i < n && x->col[k] < 0; i++)
                if (!strcasecmp(fields[i], COLUMN_NAMES[k][a])) {
                    x->col[k] = i;
                    if (k == COL_VIDEO) x->video_id = !strcasecmp(fields[i], "video_id");
                }
    }
    if (x->col[COL_VIDEO] >= 0 && x->col[COL_CAPTION] >= 0) return 0;
    char found[512] = "";
    for (int i = 0; i < n; i++)
        snprintf(found + strlen(found), sizeof found - strlen(found), "%s'%s'", i ? ", " : "", fields[i]);
    return vc_fail(err, "%s:%ld: the header needs a video column (video, video_path, path or video_id) and a caption "
                        "column (caption, sentence, text or title); found %s", src, lineno, found);
}

static int csv_seconds(const char *cell, const char *name, double *out, const char *src, long lineno, vc_error *err) {
    *out = -1;
    if (!cell || !cell[0]) return 0;
    char *end;
    double v = strtod(cell, &end);
    if (*end || end == cell || !(v >= 0) || !isfinite(v))
        return vc_fail(err, "%s:%ld: column '%s' must be a non-negative number of seconds, got '%.100s'", src, lineno,
                       name, cell);
    *out = v;
    return 0;
}

static int csv_record(char **fields, int n, long lineno, void *ud, vc_error *err) {
    csv_ctx *x = ud;
    if (!x->n_header) return csv_header(x, fields, n, lineno, err);
    const char *src = x->c->set->source;
    if (n != x->n_header)
        return vc_fail(err, "%s:%ld: %d fields, but the header has %d", src, lineno, n, x->n_header);
    if (x->format != VC_ANN_VICLIP) {
        vc_ann_record r = {(const char *const *)x->names, (const char *const *)fields, n, lineno, NULL};
        return vc_ann_add_record(x->c, x->format, x->pattern, &r, err);
    }
    const char *video = fields[x->col[COL_VIDEO]], *caption = fields[x->col[COL_CAPTION]];
    const char *label = x->col[COL_LABEL] >= 0 && fields[x->col[COL_LABEL]][0] ? fields[x->col[COL_LABEL]] : NULL;
    if (!video[0]) return vc_fail(err, "%s:%ld: column '%s' is empty (a video path is needed)", src, lineno,
                                  x->names[x->col[COL_VIDEO]]);
    double start, end;
    const int cs = x->col[COL_START], ce = x->col[COL_END];
    if (csv_seconds(cs >= 0 ? fields[cs] : NULL, cs >= 0 ? x->names[cs] : "", &start, src, lineno, err) ||
        csv_seconds(ce >= 0 ? fields[ce] : NULL, ce >= 0 ? x->names[ce] : "", &end, src, lineno, err))
        return -1;
    const char *base = strrchr(video, '/');
    /* MSR-VTT: the id "video7010" names video7010.mp4 */
    const char *suffix = x->video_id && !strchr(base ? base : video, '.') ? ".mp4" : "";
    return vc_ann_add(x->c, video, suffix, caption, label, start, end, lineno, err);
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

int vc_annotations_load(const char *path, vc_annotation_set *out, vc_error *err) {
    return vc_annotations_load_opts(path, NULL, out, err);
}

int vc_annotations_load_opts(const char *path, const vc_annotation_opts *o, vc_annotation_set *out, vc_error *err) {
    const vc_annotation_opts defaults = {0};
    if (!o) o = &defaults;
    memset(out, 0, sizeof *out);
    out->source = dup_str(path);
    if (!out->source) return vc_fail(err, "out of memory");
    load_ctx c = {.set = out};
    /* relative video paths start at --video-root, else at the annotation file's folder */
    const char *slash = strrchr(path, '/');
    const char *root = o->video_root && o->video_root[0] ? o->video_root : path;
    size_t dir_len = o->video_root && o->video_root[0] ? strlen(root) : slash ? (size_t)(slash - path) + 1 : 0;
    const int add_slash = o->video_root && o->video_root[0] && root[dir_len - 1] != '/';
    if (!(c.dir = malloc(dir_len + 2))) {
        vc_annotations_free(out);
        return vc_fail(err, "%s: out of memory", path);
    }
    memcpy(c.dir, root, dir_len);
    if (add_slash) c.dir[dir_len++] = '/';
    c.dir[dir_len] = 0;
    csv_ctx x = {.c = &c, .format = o->format, .pattern = o->video_pattern};
    jsonl_ctx j = {.c = &c, .format = o->format, .pattern = o->video_pattern};
    const int json_doc = o->format == VC_ANN_MSRVTT || (o->format == VC_ANN_AUTO && has_suffix(path, ".json"));
    int rc;
    if (json_doc) rc = vc_ann_load_msrvtt_json(&c, o->video_pattern, err);
    else if (o->format == VC_ANN_INTERNVID && !has_suffix(path, ".csv")) rc = vc_jsonl_foreach(path, add_line, &j, err);
    else if (has_suffix(path, ".csv") || o->format == VC_ANN_KINETICS || o->format == VC_ANN_WEBVID)
        rc = vc_csv_foreach(path, csv_record, &x, err);
    else rc = vc_jsonl_foreach(path, add_line, &j, err);
    free_names(&x);
    free(c.dir);
    if (rc) {
        vc_annotations_free(out);
        return -1;
    }
    if (out->n == 0) {
        vc_annotations_free(out);
        return vc_fail(err, "%s: no annotations", path);
    }
    return 0;
}

void vc_annotations_free(vc_annotation_set *s) {
    for (int i = 0; i < s->n; i++) free(s->items[i].video), free(s->items[i].caption), free(s->items[i].label);
    free(s->items);
    free(s->source);
    memset(s, 0, sizeof *s);
}

int vc_read_lines_numbered(const char *path, char ***lines, long **line_numbers, int *n, vc_error *err) {
    *lines = NULL;
    *n = 0;
    if (line_numbers) *line_numbers = NULL;
    const int from_stdin = !strcmp(path, "-");
    FILE *f = from_stdin ? stdin : fopen(path, "r");
    if (!f) return vc_fail(err, "%s: %s", path, strerror(errno));
    struct stat st;
    if (!fstat(fileno(f), &st) && S_ISDIR(st.st_mode)) {
        if (!from_stdin) fclose(f);
        return vc_fail(err, "%s is a folder, not a text file of one entry per line", path);
    }
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    int count = 0, alloc = 0;
    long lineno = 0;
    char **out = NULL;
    long *nums = NULL;
    while ((len = getline(&buf, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = 0;
        if (len == 0) continue;
        if (count == alloc) {
            alloc = alloc ? 2 * alloc : 64;
            char **grown = realloc(out, (size_t)alloc * sizeof *grown);
            if (grown) out = grown;
            long *grown_nums = grown ? realloc(nums, (size_t)alloc * sizeof *grown_nums) : NULL;
            if (!grown_nums) goto oom;
            nums = grown_nums;
        }
        if (!(out[count] = dup_str(buf))) goto oom;
        nums[count++] = lineno;
    }
    const int read_error = ferror(f) ? errno : 0;
    free(buf);
    if (!from_stdin) fclose(f);
    if (read_error || !count) {
        vc_free_lines(out, count);
        free(nums);
        return read_error ? vc_fail(err, "%s: read error: %s", path, strerror(read_error))
                          : vc_fail(err, "%s: no lines (the file is empty or blank)", path);
    }
    *lines = out;
    *n = count;
    if (line_numbers) *line_numbers = nums;
    else free(nums);
    return 0;
oom:
    free(buf);
    if (!from_stdin) fclose(f);
    vc_free_lines(out, count);
    free(nums);
    return vc_fail(err, "%s: out of memory", path);
}

int vc_read_lines(const char *path, char ***lines, int *n, vc_error *err) {
    return vc_read_lines_numbered(path, lines, NULL, n, err);
}

void vc_free_lines(char **lines, int n) {
    for (int i = 0; i < n; i++) free(lines[i]);
    free(lines);
}
