#include "serve/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/evaluate.h"
#include "io/json.h"
#include "io/strbuf.h"
#include "search/moments.h"
#include "serve/http_range.h"
#include "serve/page.h"
#include "video/thumbnail.h"

enum { MAX_LABELS = 64, MAX_ROWS = 1000, MAX_THUMBS_CACHED = 100000 };

typedef struct thumb {
    uint8_t *jpeg;
    size_t n;
} thumb;

struct vc_server {
    struct MHD_Daemon *d;
    vc_model *m;
    const vc_tokenizer *tok;
    const vc_search_index *x;
    vc_server_opts o;
    pthread_mutex_t model_lock; /* the model's work buffers serve one call at a time */
    pthread_mutex_t thumb_lock;
    thumb *thumbs;              /* [x->n], filled on demand */
    int n_thumbs;
    int port;
};

/* ---- responses ---- */

static enum MHD_Result send_bytes(struct MHD_Connection *c, int status, const char *type, const void *data, size_t n,
                                  enum MHD_ResponseMemoryMode mode) {
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)data, mode);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_json(struct MHD_Connection *c, int status, vc_strbuf *sb) {
    enum MHD_Result ok = send_bytes(c, status, "application/json", sb->data, sb->len, MHD_RESPMEM_MUST_COPY);
    vc_sb_free(sb);
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *msg) {
    vc_strbuf sb = {0};
    vc_error err;
    if (vc_sb_puts(&sb, "{\"error\":", &err) || vc_sb_append_json_string(&sb, msg, strlen(msg), &err) ||
        vc_sb_puts(&sb, "}", &err)) {
        vc_sb_free(&sb);
        return send_bytes(c, status, "application/json", "{\"error\":\"\"}", 11, MHD_RESPMEM_PERSISTENT);
    }
    return send_json(c, status, &sb);
}

/* A decimal integer in [lo, hi] spelling the whole string; else -1 (lo >= 0). */
static long parse_index(const char *s, long lo, long hi) {
    if (!s || !*s || strlen(s) > 12) return -1;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
    }
    return v >= lo && v <= hi ? v : -1;
}

/* ---- handlers ---- */

static enum MHD_Result health(vc_server *s, struct MHD_Connection *c) {
    vc_strbuf sb = {0};
    vc_error err;
    if (vc_sb_appendf(&sb, &err, "{\"status\":\"ok\",\"n_videos\":%d,\"n_windows\":%d,\"dim\":%d,\"window\":%g,\"stride\":%g}",
                      s->x->n_files, s->x->n, s->x->dim, s->x->window, s->x->stride))
        return send_error(c, 500, err.msg);
    return send_json(c, 200, &sb);
}

static enum MHD_Result search(vc_server *s, struct MHD_Connection *c) {
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
    const char *ks = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k");
    if (!q || !*q) return send_error(c, 400, "missing query: /api/search?q=TEXT&k=N");
    if (strlen(q) > 1000) return send_error(c, 400, "query longer than 1000 bytes");
    long k = ks ? parse_index(ks, 1, s->o.max_k) : 10;
    if (k < 0) return send_error(c, 400, "k must be an integer from 1 to the server's --max-k");
    const int E = s->x->dim;
    float *qe = malloc((size_t)E * sizeof *qe);
    vc_moment *mom = malloc((size_t)k * sizeof *mom);
    vc_error err;
    int n = 0, rc = qe && mom ? 0 : vc_fail(&err, "out of memory");
    const char *texts[1] = {q};
    if (!rc) {
        pthread_mutex_lock(&s->model_lock);
        rc = vc_encode_texts_normalized(s->m, s->tok, texts, 1, 1, qe, &err);
        pthread_mutex_unlock(&s->model_lock);
    }
    if (!rc) rc = vc_search_moments(s->x, qe, 1, (int)k, 0.02, mom, &n, &err);
    vc_strbuf sb = {0};
    if (!rc) rc = vc_sb_appendf(&sb, &err, "{\"n_videos\":%d,\"n_windows\":%d,\"moments\":", s->x->n_files, s->x->n);
    if (!rc) rc = vc_moments_json(&sb, s->x, q, mom, n, &err);
    /* the URLs of each moment, in result order */
    if (!rc) rc = vc_sb_puts(&sb, ",\"links\":[", &err);
    for (int r = 0; !rc && r < n; r++)
        rc = vc_sb_appendf(&sb, &err, "%s{\"video\":\"/video/%d\",\"thumb\":\"/thumb/%d.jpg\",\"row\":%d}", r ? "," : "",
                           mom[r].file, mom[r].best_row, mom[r].best_row);
    if (!rc) rc = vc_sb_puts(&sb, "]}", &err);
    free(qe), free(mom);
    if (rc) {
        vc_sb_free(&sb);
        return send_error(c, strstr(err.msg, "UTF-8") ? 400 : 500, err.msg);
    }
    return send_json(c, 200, &sb);
}

static enum MHD_Result classify(vc_server *s, struct MHD_Connection *c, const vc_strbuf *body) {
    vc_error err;
    vc_json *j = body->len ? vc_json_parse(body->data, body->len, &err) : NULL;
    if (!j) return send_error(c, 400, body->len ? err.msg : "empty body: {\"labels\":[...], \"rows\":[...]}");
    const vc_json *labels = vc_json_get(j, "labels"), *rows = vc_json_get(j, "rows");
    const int C = labels ? (int)vc_json_len(labels) : 0, R = rows ? (int)vc_json_len(rows) : 0;
    const char *why = NULL;
    if (!labels || vc_json_type(labels) != VC_JSON_ARRAY || C < 1 || C > MAX_LABELS) why = "\"labels\" must be an array of 1 to 64 strings";
    else if (!rows || vc_json_type(rows) != VC_JSON_ARRAY || R < 1 || R > MAX_ROWS) why = "\"rows\" must be an array of 1 to 1000 window rows";
    const char *names[MAX_LABELS];
    int *row = why ? NULL : malloc((size_t)R * sizeof *row);
    for (int i = 0; !why && i < C; i++) {
        names[i] = vc_json_string(vc_json_at(labels, (size_t)i));
        if (!names[i] || !*names[i] || strlen(names[i]) > 200) why = "each label must be a string of 1 to 200 bytes";
    }
    for (int i = 0; !why && i < R; i++) {
        const vc_json *v = vc_json_at(rows, (size_t)i);
        double d = vc_json_number(v);
        if (vc_json_type(v) != VC_JSON_NUMBER || d < 0 || d >= s->x->n || d != (int)d) why = "a row is not a window of the index";
        else row[i] = (int)d;
    }
    if (why) {
        free(row);
        vc_json_free(j);
        return send_error(c, 400, why);
    }
    const int E = s->x->dim, nt = 16;
    float *prompts = malloc((size_t)C * nt * E * sizeof *prompts), *cls = malloc((size_t)C * E * sizeof *cls);
    float *v = malloc((size_t)E * sizeof *v);
    int rc = row && prompts && cls && v ? 0 : vc_fail(&err, "out of memory");
    if (!rc) {
        pthread_mutex_lock(&s->model_lock);
        rc = vc_encode_class_prompts(s->m, s->tok, names, C, NULL, 0, 1, prompts, &err);
        pthread_mutex_unlock(&s->model_lock);
    }
    vc_strbuf sb = {0};
    if (!rc) rc = vc_sb_puts(&sb, "{\"results\":[", &err);
    for (int i = 0; !rc && i < R; i++) {
        vc_index_row(s->x, row[i], v);
        int best = 0;
        double sc[MAX_LABELS];
        for (int l = 0; l < C; l++) { /* mean similarity over the templates, as zero-shot classify */
            double t = 0;
            for (int p = 0; p < nt; p++)
                for (int e = 0; e < E; e++) t += (double)v[e] * prompts[((size_t)l * nt + p) * E + e];
            sc[l] = t / nt;
            if (sc[l] > sc[best]) best = l;
        }
        rc = vc_sb_appendf(&sb, &err, "%s{\"row\":%d,\"label\":", i ? "," : "", row[i]);
        if (!rc) rc = vc_sb_append_json_string(&sb, names[best], strlen(names[best]), &err);
        if (!rc) rc = vc_sb_puts(&sb, ",\"scores\":[", &err);
        for (int l = 0; !rc && l < C; l++) rc = vc_sb_appendf(&sb, &err, "%s%.6f", l ? "," : "", sc[l]);
        if (!rc) rc = vc_sb_puts(&sb, "]}", &err);
    }
    if (!rc) rc = vc_sb_puts(&sb, "]}", &err);
    free(row), free(prompts), free(cls), free(v);
    vc_json_free(j);
    if (rc) {
        vc_sb_free(&sb);
        return send_error(c, strstr(err.msg, "UTF-8") ? 400 : 500, err.msg);
    }
    return send_json(c, 200, &sb);
}

static enum MHD_Result thumbnail(vc_server *s, struct MHD_Connection *c, const char *rest) {
    char num[16];
    size_t len = strlen(rest);
    if (len < 5 || len > 16 || strcmp(rest + len - 4, ".jpg")) return send_error(c, 404, "no such thumbnail");
    snprintf(num, sizeof num, "%.*s", (int)(len - 4), rest);
    long row = parse_index(num, 0, s->x->n - 1);
    if (row < 0) return send_error(c, 404, "no such window");
    pthread_mutex_lock(&s->thumb_lock);
    thumb t = s->thumbs[row];
    if (t.jpeg) {
        enum MHD_Result ok = send_bytes(c, 200, "image/jpeg", t.jpeg, t.n, MHD_RESPMEM_MUST_COPY);
        pthread_mutex_unlock(&s->thumb_lock);
        return ok;
    }
    pthread_mutex_unlock(&s->thumb_lock);
    const double mid = 0.5 * (s->x->start[row] + s->x->end[row]);
    vc_error err;
    if (vc_thumbnail_jpeg(s->x->files[s->x->file[row]].path, mid, s->o.thumb_width, &t.jpeg, &t.n, &err))
        return send_error(c, 500, err.msg);
    enum MHD_Result ok = send_bytes(c, 200, "image/jpeg", t.jpeg, t.n, MHD_RESPMEM_MUST_COPY);
    pthread_mutex_lock(&s->thumb_lock);
    if (!s->thumbs[row].jpeg && s->n_thumbs < MAX_THUMBS_CACHED) s->thumbs[row] = t, s->n_thumbs++, t.jpeg = NULL;
    pthread_mutex_unlock(&s->thumb_lock);
    free(t.jpeg);
    return ok;
}

static const char *video_type(const char *path) {
    static const struct { const char *ext, *type; } types[] = {
        {".mp4", "video/mp4"}, {".m4v", "video/mp4"}, {".webm", "video/webm"}, {".mkv", "video/x-matroska"},
        {".mov", "video/quicktime"}, {".ogv", "video/ogg"}, {".avi", "video/x-msvideo"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcasecmp(dot, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}

static enum MHD_Result video(vc_server *s, struct MHD_Connection *c, const char *rest) {
    long f = parse_index(rest, 0, s->x->n_files - 1);
    if (f < 0) return send_error(c, 404, "no such video");
    const char *path = s->x->files[f].path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) close(fd);
        return send_error(c, 404, "the video is no longer readable");
    }
    int64_t first = 0, last = sb.st_size - 1;
    int ranged = vc_http_range(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range"), sb.st_size, &first, &last);
    char cr[96];
    if (ranged < 0) {
        close(fd);
        struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!r) return MHD_NO;
        snprintf(cr, sizeof cr, "bytes */%lld", (long long)sb.st_size);
        MHD_add_response_header(r, "Content-Range", cr);
        enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_RANGE_NOT_SATISFIABLE, r);
        MHD_destroy_response(r);
        return ok;
    }
    struct MHD_Response *r = MHD_create_response_from_fd_at_offset64((uint64_t)(last - first + 1), fd, (uint64_t)first);
    if (!r) return close(fd), MHD_NO; /* the response owns fd once created */
    MHD_add_response_header(r, "Content-Type", video_type(path));
    MHD_add_response_header(r, "Accept-Ranges", "bytes");
    if (ranged) {
        snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", (long long)first, (long long)last, (long long)sb.st_size);
        MHD_add_response_header(r, "Content-Range", cr);
    }
    enum MHD_Result ok = MHD_queue_response(c, ranged ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

/* ---- dispatch ---- */

typedef struct request {
    vc_strbuf body;
    int too_large;
} request;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state) {
    vc_server *s = cls;
    const int post = !strcmp(method, "POST"), get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (!*state) {
        request *r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        *state = r;
        if (post) { /* a declared length over the limit is refused before any of it is read */
            const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
            if (cl && (strlen(cl) > 12 || strtoll(cl, NULL, 10) > (long long)s->o.max_body))
                return send_error(c, 413, "request body too large");
            return MHD_YES;
        }
    }
    request *r = *state;
    if (post && *upload_size) {
        vc_error err;
        if (r->too_large || r->body.len + *upload_size > s->o.max_body) return MHD_NO; /* close */
        if (vc_sb_append(&r->body, upload, *upload_size, &err)) return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (!strcmp(url, "/api/classify")) return post ? classify(s, c, &r->body) : send_error(c, 405, "POST a JSON body");
    if (!get) return send_error(c, 405, "method not allowed");
    if (!strcmp(url, "/") || !strcmp(url, "/index.html"))
        return send_bytes(c, 200, "text/html; charset=utf-8", vc_serve_page, strlen(vc_serve_page), MHD_RESPMEM_PERSISTENT);
    if (!strcmp(url, "/api/health")) return health(s, c);
    if (!strcmp(url, "/api/search")) return search(s, c);
    if (!strncmp(url, "/thumb/", 7)) return thumbnail(s, c, url + 7);
    if (!strncmp(url, "/video/", 7)) return video(s, c, url + 7);
    return send_error(c, 404, "not found");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode code) {
    request *r = *state;
    if (!r) return;
    vc_sb_free(&r->body);
    free(r);
    *state = NULL;
}

vc_server *vc_server_start(vc_model *m, const vc_tokenizer *tok, const vc_search_index *x, const vc_server_opts *o,
                           vc_error *err) {
    if (x->n < 1) return vc_fail(err, "the index is empty"), NULL;
    if (o->port < 0 || o->port > 65535) return vc_fail(err, "port %d is not 0..65535", o->port), NULL;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    if (inet_pton(AF_INET, o->host, &addr.sin_addr) != 1)
        return vc_fail(err, "host %s is not an IPv4 address (e.g. 127.0.0.1)", o->host), NULL;
    vc_server *s = calloc(1, sizeof *s);
    if (!s || !(s->thumbs = calloc((size_t)x->n, sizeof *s->thumbs))) return free(s), vc_fail(err, "out of memory"), NULL;
    s->m = m, s->tok = tok, s->x = x, s->o = *o;
    pthread_mutex_init(&s->model_lock, NULL);
    pthread_mutex_init(&s->thumb_lock, NULL);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_request, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads > 0 ? o->threads : 4),
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->timeout_s > 0 ? o->timeout_s : 15),
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!s->d) {
        vc_fail(err, "cannot listen on %s:%d (%s)", o->host, o->port, strerror(errno));
        vc_server_stop(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : o->port;
    return s;
}

int vc_server_port(const vc_server *s) { return s->port; }

void vc_server_stop(vc_server *s) {
    if (!s) return;
    if (s->d) MHD_stop_daemon(s->d);
    for (int i = 0; s->thumbs && i < s->x->n; i++) free(s->thumbs[i].jpeg);
    free(s->thumbs);
    pthread_mutex_destroy(&s->model_lock);
    pthread_mutex_destroy(&s->thumb_lock);
    free(s);
}
