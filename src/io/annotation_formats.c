/* The public data sets' annotation files, read as published (see io/annotations.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/annotations_build.h"
#include "io/fs.h"

typedef struct dataset_format {
    vc_annotation_format format;
    const char *name;
    const char *id, *caption, *label, *start, *end; /* field names; NULL: none */
    int hms;                                         /* times are HH:MM:SS.mmm (else seconds) */
    const char *pattern;                             /* default file-name pattern */
} dataset_format;

static const dataset_format FORMATS[] = {
    {VC_ANN_INTERNVID, "internvid", "YoutubeID", "Caption", NULL, "Start_timestamp", "End_timestamp", 1, "{id}.mp4"},
    {VC_ANN_MSRVTT, "msrvtt", "video_id", "caption", NULL, NULL, NULL, 0, "{id}.mp4"},
    {VC_ANN_KINETICS, "kinetics", "youtube_id", "label", "label", "time_start", "time_end", 0,
     "{id}_{start:06d}_{end:06d}.mp4"},
    {VC_ANN_WEBVID, "webvid", "videoid", "name", NULL, NULL, NULL, 0, "{page_dir}/{id}.mp4"},
};
enum { N_FORMATS = (int)(sizeof FORMATS / sizeof FORMATS[0]) };

static const dataset_format *format_of(vc_annotation_format f) {
    for (int i = 0; i < N_FORMATS; i++)
        if (FORMATS[i].format == f) return &FORMATS[i];
    return NULL;
}

int vc_annotation_format_parse(const char *name, vc_annotation_format *out, vc_error *err) {
    if (!strcmp(name, "auto")) return *out = VC_ANN_AUTO, 0;
    if (!strcmp(name, "viclip")) return *out = VC_ANN_VICLIP, 0;
    for (int i = 0; i < N_FORMATS; i++)
        if (!strcmp(name, FORMATS[i].name)) return *out = FORMATS[i].format, 0;
    return vc_fail(err, "unknown annotation format '%s' (auto, viclip, internvid, msrvtt, kinetics or webvid)", name);
}

const char *vc_annotation_format_name(vc_annotation_format f) {
    const dataset_format *d = format_of(f);
    return d ? d->name : f == VC_ANN_VICLIP ? "viclip" : "auto";
}

static int find_field(const char *const *names, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (names[i] && !strcmp(names[i], name)) return i;
    return -1;
}

vc_annotation_format vc_ann_detect_columns(const char *const *names, int n) {
    for (int i = 0; i < N_FORMATS; i++)
        if (FORMATS[i].format != VC_ANN_MSRVTT && find_field(names, n, FORMATS[i].id) >= 0 &&
            find_field(names, n, FORMATS[i].caption) >= 0)
            return FORMATS[i].format;
    return VC_ANN_VICLIP;
}

int vc_ann_check_columns(vc_annotation_format f, const char *const *names, int n, const char *src, long line,
                         vc_error *err) {
    const dataset_format *d = format_of(f);
    const char *need[] = {d->id, d->caption, d->start, d->end};
    for (int k = 0; k < 4; k++)
        if (need[k] && find_field(names, n, need[k]) < 0)
            return vc_fail(err, "%s:%ld: field '%s' missing (a %s annotation file has %s, %s%s%s%s%s)", src, line, need[k],
                           d->name, d->id, d->caption, d->start ? ", " : "", d->start ? d->start : "",
                           d->end ? ", " : "", d->end ? d->end : "");
    return 0;
}

static const char *record_field(const vc_ann_record *r, const char *name) {
    int i = find_field(r->names, r->n, name);
    return i >= 0 ? r->values[i] : NULL;
}

/* "FILE:LINE" or "FILE: sentences[12]" */
static void locate(const vc_ann_builder *b, const vc_ann_record *r, char *buf, size_t cap) {
    if (r->where) snprintf(buf, cap, "%s: %s", b->set->source, r->where);
    else snprintf(buf, cap, "%s:%ld", b->set->source, r->line);
}

/* HH:MM:SS(.fff) or, for seconds formats, a plain non-negative number. */
static int parse_time(const char *s, int hms, double *out) {
    char *end;
    if (!hms) {
        double v = strtod(s, &end);
        if (end == s || *end || !(v >= 0) || !isfinite(v)) return -1;
        *out = v;
        return 0;
    }
    long h = strtol(s, &end, 10);
    if (end == s || *end != ':' || h < 0) return -1;
    const char *p = end + 1;
    long m = strtol(p, &end, 10);
    if (end != p + 2 || *end != ':' || m < 0 || m > 59) return -1;
    p = end + 1;
    double sec = strtod(p, &end);
    if (end < p + 2 || *end || !(sec >= 0 && sec < 60) || p[0] < '0' || p[0] > '5') return -1;
    *out = h * 3600.0 + m * 60.0 + sec;
    return 0;
}

/* Expands the file-name pattern with the record's fields; *cut = 1 when it names a time field. */
static int expand_pattern(const vc_ann_builder *b, const dataset_format *d, const char *pattern,
                          const vc_ann_record *r, char *out, size_t cap, int *cut, vc_error *err) {
    char at[512];
    locate(b, r, at, sizeof at);
    size_t len = 0;
    *cut = 0;
    for (const char *p = pattern; *p;) {
        if (*p != '{') {
            if (len + 1 >= cap) return vc_fail(err, "%s: video path too long", at);
            out[len++] = *p++;
            continue;
        }
        const char *close = strchr(p, '}');
        if (!close) return vc_fail(err, "video pattern '%s': '{' without '}'", pattern);
        char name[128], spec[16] = "";
        const char *colon = memchr(p, ':', (size_t)(close - p));
        size_t nlen = (size_t)((colon ? colon : close) - p - 1);
        if (nlen == 0 || nlen >= sizeof name) return vc_fail(err, "video pattern '%s': bad field name", pattern);
        memcpy(name, p + 1, nlen), name[nlen] = 0;
        if (colon) {
            size_t slen = (size_t)(close - colon - 1);
            if (slen >= sizeof spec) return vc_fail(err, "video pattern '%s': bad format '%.*s'", pattern, (int)slen, colon + 1);
            memcpy(spec, colon + 1, slen), spec[slen] = 0;
        }
        const char *field = !strcmp(name, "id") ? d->id : !strcmp(name, "start") ? d->start : !strcmp(name, "end") ? d->end : name;
        if (!field) return vc_fail(err, "video pattern '%s': the %s format has no {%s}", pattern, d->name, name);
        if ((d->start && !strcmp(field, d->start)) || (d->end && !strcmp(field, d->end))) *cut = 1;
        const char *value = record_field(r, field);
        if (!value) return vc_fail(err, "%s: field '%s' (named by the video pattern '%s') missing", at, field, pattern);
        char buf[128];
        if (spec[0]) { /* an integer: "06d", "d" */
            char *e;
            long width = strtol(spec, &e, 10);
            double v = strtod(value, &e);
            if (strcmp(spec + strspn(spec, "0123456789"), "d") || width > 32)
                return vc_fail(err, "video pattern '%s': only integer formats such as {%s:06d} are supported", pattern, name);
            if (e == value || *e || !isfinite(v) || v != floor(v))
                return vc_fail(err, "%s: field '%s': '%.100s' is not an integer (video pattern '%s')", at, field, value, pattern);
            snprintf(buf, sizeof buf, spec[0] == '0' ? "%0*lld" : "%*lld", (int)width, (long long)v);
            value = buf;
        }
        size_t vl = strlen(value);
        if (len + vl >= cap) return vc_fail(err, "%s: video path too long", at);
        memcpy(out + len, value, vl), len += vl;
        p = close + 1;
    }
    out[len] = 0;
    return 0;
}

int vc_ann_add_record(vc_ann_builder *b, vc_annotation_format f, const char *pattern, const vc_ann_record *r,
                      vc_error *err) {
    const dataset_format *d = format_of(f);
    char at[512];
    locate(b, r, at, sizeof at);
    const char *fields[] = {d->id, d->caption, d->start, d->end};
    for (int k = 0; k < 4; k++) {
        const char *v = fields[k] ? record_field(r, fields[k]) : "x";
        if (!v || !v[0]) return vc_fail(err, "%s: field '%s' is %s", at, fields[k], v ? "empty" : "missing");
    }
    double start = -1, end = -1;
    if (d->start && parse_time(record_field(r, d->start), d->hms, &start))
        return vc_fail(err, "%s: field '%s': '%.100s' is not %s", at, d->start, record_field(r, d->start),
                       d->hms ? "a time HH:MM:SS.mmm" : "a non-negative number of seconds");
    if (d->end && parse_time(record_field(r, d->end), d->hms, &end))
        return vc_fail(err, "%s: field '%s': '%.100s' is not %s", at, d->end, record_field(r, d->end),
                       d->hms ? "a time HH:MM:SS.mmm" : "a non-negative number of seconds");
    if (d->start && end <= start)
        return vc_fail(err, "%s: field '%s' (%s) must be after '%s' (%s)", at, d->end, record_field(r, d->end), d->start,
                       record_field(r, d->start));
    char video[4096];
    int cut;
    if (expand_pattern(b, d, pattern ? pattern : d->pattern, r, video, sizeof video, &cut, err)) return -1;
    if (cut) start = end = -1; /* the file is the clip */
    const char *label = d->label ? record_field(r, d->label) : NULL;
    return vc_ann_add(b, video, "", record_field(r, d->caption), label, start, end, r->line, err);
}

int vc_ann_load_msrvtt_json(vc_ann_builder *b, const char *pattern, vc_error *err) {
    const char *src = b->set->source;
    char *text = NULL;
    size_t size = 0;
    if (vc_read_file(src, &text, &size, err)) return -1;
    vc_json *root = vc_json_parse(text, size, err);
    free(text);
    if (!root) return vc_fail_ctx(err, "%s", src);
    const vc_json *sentences = vc_json_get(root, "sentences");
    int rc = 0;
    if (!sentences || vc_json_type(sentences) != VC_JSON_ARRAY)
        rc = vc_fail(err, "%s: field 'sentences' missing or not a list (MSR-VTT's MSRVTT_data.json has \"videos\" and "
                          "\"sentences\")", src);
    for (size_t i = 0; !rc && i < vc_json_len(sentences); i++) {
        const vc_json *s = vc_json_at(sentences, i), *vid = vc_json_get(s, "video_id"), *cap = vc_json_get(s, "caption");
        char where[64];
        snprintf(where, sizeof where, "sentences[%zu]", i);
        if (!vid || vc_json_type(vid) != VC_JSON_STRING) rc = vc_fail(err, "%s: %s: field 'video_id' missing or not a string", src, where);
        else if (!cap || vc_json_type(cap) != VC_JSON_STRING) rc = vc_fail(err, "%s: %s: field 'caption' missing or not a string", src, where);
        else {
            const char *names[] = {"video_id", "caption"}, *values[] = {vc_json_string(vid), vc_json_string(cap)};
            vc_ann_record r = {names, values, 2, 0, where};
            rc = vc_ann_add_record(b, VC_ANN_MSRVTT, pattern, &r, err);
        }
    }
    vc_json_free(root);
    return rc;
}
