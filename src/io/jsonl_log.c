#include "io/jsonl_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/atomic_file.h"
#include "io/json.h"
#include "io/strbuf.h"

/* The step of one log line, or -1 when the line is not a whole JSON object with an integer step. */
static int64_t line_step(const char *line, size_t len) {
    vc_json *j = vc_json_parse(line, len, NULL);
    int64_t step = -1;
    const vc_json *s = j ? vc_json_get(j, "step") : NULL;
    if (!s || vc_json_as_int64(s, &step)) step = -1;
    vc_json_free(j);
    return step;
}

/* Rewrites path keeping the lines up to and including step `keep` (a missing file is empty). */
static int cut_log(const char *path, int64_t keep, vc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? 0 : vc_fail(err, "%s: %s", path, strerror(errno));
    vc_strbuf kept = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (!rc && (n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n') break; /* a cut-off last line */
        const int64_t step = line_step(line, (size_t)n - 1);
        if (step < 1 || step > keep) continue;
        rc = vc_sb_append(&kept, line, (size_t)n, err);
    }
    if (!rc && ferror(f)) rc = vc_fail(err, "%s: read error", path);
    free(line);
    fclose(f);
    if (!rc) rc = vc_atomic_write_file(path, kept.data ? kept.data : "", kept.len, err);
    vc_sb_free(&kept);
    return rc;
}

int vc_jsonl_log_open(vc_jsonl_log *log, const char *path, int64_t keep_through_step, vc_error *err) {
    log->fd = -1;
    snprintf(log->path, sizeof log->path, "%s", path);
    if (keep_through_step > 0 && cut_log(path, keep_through_step, err)) return -1;
    const int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (keep_through_step > 0 ? 0 : O_TRUNC);
    log->fd = open(path, flags, 0644);
    if (log->fd < 0) return vc_fail(err, "%s: %s", path, strerror(errno));
    return 0;
}

int vc_jsonl_log_write(vc_jsonl_log *log, const char *line, vc_error *err) {
    char buf[2048];
    const int n = snprintf(buf, sizeof buf, "%s\n", line);
    if (n < 0 || (size_t)n >= sizeof buf) return vc_fail(err, "%s: log line too long", log->path);
    ssize_t w;
    do w = write(log->fd, buf, (size_t)n); /* one write: a line is in the file whole or not at all */
    while (w < 0 && errno == EINTR);
    if (w != n) return vc_fail(err, "%s: %s", log->path, w < 0 ? strerror(errno) : "short write (disk full?)");
    return 0;
}

void vc_jsonl_log_close(vc_jsonl_log *log) {
    if (log->fd >= 0) close(log->fd);
    log->fd = -1;
}
