#include "io/activitynet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/fs.h"
#include "io/json.h"
#include "io/strbuf.h"

void vc_moment_truth_free(vc_moment_truth *t) {
    for (int i = 0; i < t->n; i++) free(t->q[i].sentence);
    for (int v = 0; v < t->n_videos; v++) free(t->paths[v]), free(t->ids[v]);
    free(t->q), free(t->paths), free(t->ids);
    memset(t, 0, sizeof *t);
}

static int expand(const char *root, const char *pattern, const char *id, char **out, vc_error *err) {
    vc_strbuf sb = {0};
    int rc = root && *root ? vc_sb_appendf(&sb, err, "%s/", root) : 0;
    for (const char *p = pattern; !rc && *p;) {
        if (!strncmp(p, "{id}", 4)) rc = vc_sb_puts(&sb, id, err), p += 4;
        else if (!strncmp(p, "{yid}", 5)) rc = vc_sb_puts(&sb, strncmp(id, "v_", 2) ? id : id + 2, err), p += 5;
        else rc = vc_sb_putc(&sb, *p++, err);
    }
    if (rc) return vc_sb_free(&sb), -1;
    *out = sb.data;
    return 0;
}

int vc_activitynet_load(const char *json_path, const char *video_root, const char *pattern, vc_moment_truth *out,
                        vc_error *err) {
    memset(out, 0, sizeof *out);
    if (!pattern) pattern = "{id}.mp4";
    if (!strstr(pattern, "{id}") && !strstr(pattern, "{yid}"))
        return vc_fail(err, "file-name pattern '%s' has neither {id} nor {yid}", pattern);
    char *text = NULL;
    size_t len = 0;
    if (vc_read_file(json_path, &text, &len, err)) return -1;
    vc_json *j = vc_json_parse(text, len, err);
    free(text);
    if (!j) return vc_fail_ctx(err, "%s", json_path);
    int rc = vc_json_type(j) == VC_JSON_OBJECT ? 0
             : vc_fail(err, "%s: expected ActivityNet Captions' object of videos keyed by id, got a %s", json_path,
                       vc_json_type_name(vc_json_type(j)));
    const int nv = rc ? 0 : (int)vc_json_len(j);
    int total = 0;
    for (int v = 0; !rc && v < nv; v++) {
        const char *id = vc_json_key_at(j, (size_t)v);
        const vc_json *o = vc_json_value_at(j, (size_t)v), *ts = vc_json_get(o, "timestamps"), *ss = vc_json_get(o, "sentences");
        if (!ts || !ss || vc_json_type(ts) != VC_JSON_ARRAY || vc_json_type(ss) != VC_JSON_ARRAY)
            rc = vc_fail(err, "%s: video %s: \"timestamps\" and \"sentences\" must be arrays", json_path, id);
        else if (vc_json_len(ts) != vc_json_len(ss))
            rc = vc_fail(err, "%s: video %s: %zu timestamps but %zu sentences", json_path, id, vc_json_len(ts), vc_json_len(ss));
        else total += (int)vc_json_len(ts);
    }
    out->q = rc ? NULL : calloc((size_t)total + 1, sizeof *out->q);
    out->paths = rc ? NULL : calloc((size_t)nv + 1, sizeof *out->paths);
    out->ids = rc ? NULL : calloc((size_t)nv + 1, sizeof *out->ids);
    if (!rc && (!out->q || !out->paths || !out->ids)) rc = vc_fail(err, "out of memory");
    for (int v = 0; !rc && v < nv; v++) {
        const char *id = vc_json_key_at(j, (size_t)v);
        const vc_json *o = vc_json_value_at(j, (size_t)v), *ts = vc_json_get(o, "timestamps"), *ss = vc_json_get(o, "sentences");
        double duration = 0;
        if (vc_json_get_double(o, "duration", &duration, err)) {
            rc = vc_fail_ctx(err, "%s: video %s", json_path, id);
            break;
        }
        if (!(out->ids[v] = strdup(id)) || expand(video_root, pattern, id, &out->paths[v], err)) {
            rc = vc_fail(err, "out of memory");
            break;
        }
        out->n_videos++;
        for (size_t k = 0; !rc && k < vc_json_len(ts); k++) {
            const vc_json *t = vc_json_at(ts, k), *s = vc_json_at(ss, k);
            const char *sentence = vc_json_string(s);
            double a = vc_json_number(vc_json_at(t, 0)), b = vc_json_number(vc_json_at(t, 1));
            if (vc_json_type(t) != VC_JSON_ARRAY || vc_json_len(t) != 2 || vc_json_type(vc_json_at(t, 0)) != VC_JSON_NUMBER ||
                vc_json_type(vc_json_at(t, 1)) != VC_JSON_NUMBER || !(a >= 0) || !(b >= a))
                rc = vc_fail(err, "%s: video %s: timestamps[%zu] must be [start, end] seconds with 0 <= start <= end", json_path, id, k);
            else if (!sentence)
                rc = vc_fail(err, "%s: video %s: sentences[%zu] is not a string", json_path, id, k);
            else {
                vc_moment_query *q = &out->q[out->n];
                *q = (vc_moment_query){out->paths[v], out->ids[v], duration, a, b, strdup(sentence)};
                if (!q->sentence) rc = vc_fail(err, "out of memory");
                else out->n++;
            }
        }
    }
    vc_json_free(j);
    if (!rc && out->n == 0) rc = vc_fail(err, "%s: no sentences", json_path);
    if (rc) vc_moment_truth_free(out);
    return rc;
}
