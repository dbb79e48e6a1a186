#include "io/annotations.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"

typedef struct {
    vc_annotation_set *set;
    int cap;
    char dir[4096];
} load_ctx;

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

static int add_line(const vc_json *obj, long lineno, void *ud, vc_error *err) {
    load_ctx *c = ud;
    const char *src = c->set->source;
    if (vc_json_type(obj) != VC_JSON_OBJECT)
        return vc_fail(err, "%s:%ld: each line must be a JSON object", src, lineno);
    const vc_json *video = vc_json_get(obj, "video"), *caption = vc_json_get(obj, "caption");
    const vc_json *label = vc_json_get(obj, "label");
    if (!video || vc_json_type(video) != VC_JSON_STRING || !vc_json_string(video)[0])
        return vc_fail(err, "%s:%ld: missing string field 'video'", src, lineno);
    if (!caption || vc_json_type(caption) != VC_JSON_STRING)
        return vc_fail(err, "%s:%ld: missing string field 'caption'", src, lineno);
    if (label && vc_json_type(label) != VC_JSON_STRING)
        return vc_fail(err, "%s:%ld: field 'label' must be a string", src, lineno);
    vc_annotation a = {.line = lineno};
    if (optional_seconds(obj, "start", &a.start, src, lineno, err) ||
        optional_seconds(obj, "end", &a.end, src, lineno, err))
        return -1;
    if (a.start >= 0 && a.end >= 0 && a.end <= a.start)
        return vc_fail(err, "%s:%ld: 'end' (%g) must be after 'start' (%g)", src, lineno, a.end, a.start);
    const char *v = vc_json_string(video);
    size_t need = strlen(c->dir) + strlen(v) + 2;
    a.video = malloc(need);
    a.caption = dup_str(vc_json_string(caption));
    a.label = label ? dup_str(vc_json_string(label)) : NULL;
    if (!a.video || !a.caption || (label && !a.label)) goto oom;
    if (v[0] == '/' || !c->dir[0]) snprintf(a.video, need, "%s", v);
    else snprintf(a.video, need, "%s/%s", c->dir, v);
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

int vc_annotations_load(const char *path, vc_annotation_set *out, vc_error *err) {
    memset(out, 0, sizeof *out);
    out->source = dup_str(path);
    if (!out->source) return vc_fail(err, "out of memory");
    load_ctx c = {.set = out};
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(c.dir, sizeof c.dir, "%.*s", (int)(slash - path), path);
    if (vc_jsonl_foreach(path, add_line, &c, err)) {
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

int vc_read_lines(const char *path, char ***lines, int *n, vc_error *err) {
    *lines = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return vc_fail(err, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    int count = 0, alloc = 0;
    char **out = NULL;
    while ((len = getline(&buf, &cap, f)) >= 0) {
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = 0;
        if (len == 0) continue;
        if (count == alloc) {
            alloc = alloc ? 2 * alloc : 64;
            char **grown = realloc(out, (size_t)alloc * sizeof *grown);
            if (!grown) goto oom;
            out = grown;
        }
        if (!(out[count] = dup_str(buf))) goto oom;
        count++;
    }
    free(buf);
    fclose(f);
    if (!count) {
        free(out);
        return vc_fail(err, "%s: no lines", path);
    }
    *lines = out;
    *n = count;
    return 0;
oom:
    free(buf);
    fclose(f);
    vc_free_lines(out, count);
    return vc_fail(err, "%s: out of memory", path);
}

void vc_free_lines(char **lines, int n) {
    for (int i = 0; i < n; i++) free(lines[i]);
    free(lines);
}
