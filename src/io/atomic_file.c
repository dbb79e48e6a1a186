#include "io/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct vc_atomic_file {
    int fd; /* -1 once closed (after a failure the temp file is gone too) */
    FILE *stream; /* vc_atomic_stream's, on fd (closing it closes fd) */
    char *path;
    char *tmp;
};

static void discard_tmp(vc_atomic_file *f) {
    if (f->fd >= 0) {
        if (f->stream) fclose(f->stream);
        else close(f->fd);
        f->fd = -1;
        unlink(f->tmp);
    }
}

static void free_handle(vc_atomic_file *f) {
    free(f->path);
    free(f->tmp);
    free(f);
}

/* "<base>.tmp.<pid>" -> pid, or 0 when name is not a temp file of base. */
static long temp_pid(const char *name, const char *base, size_t base_len) {
    if (strncmp(name, base, base_len) || strncmp(name + base_len, ".tmp.", 5)) return 0;
    const char *p = name + base_len + 5;
    long pid = 0;
    for (; *p >= '0' && *p <= '9' && pid < (1L << 40); p++) pid = pid * 10 + (*p - '0');
    return *p || p == name + base_len + 5 ? 0 : pid;
}

void vc_atomic_remove_stale(const char *path) {
    if (!path || !*path) return;
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    DIR *d = dir ? opendir(dir) : NULL;
    const size_t base_len = strlen(base);
    for (struct dirent *e; d && (e = readdir(d));) {
        const long pid = temp_pid(e->d_name, base, base_len);
        /* only a writer that is surely gone: a live pid (even a reused one) keeps its file */
        if (pid > 0 && pid != (long)getpid() && pid <= 0x7fffffffL && kill((pid_t)pid, 0) && errno == ESRCH)
            unlinkat(dirfd(d), e->d_name, 0);
    }
    if (d) closedir(d);
    free(dir);
}

vc_atomic_file *vc_atomic_open(const char *path, vc_error *err) {
    if (!path || !*path) {
        vc_fail(err, "cannot write a file with an empty path");
        return NULL;
    }
    vc_atomic_file *f = calloc(1, sizeof *f);
    size_t n = strlen(path);
    char *p = malloc(n + 1), *tmp = malloc(n + 32);
    if (!f || !p || !tmp) {
        free(f), free(p), free(tmp);
        vc_fail(err, "%s: out of memory", path);
        return NULL;
    }
    memcpy(p, path, n + 1);
    vc_atomic_remove_stale(path);
    snprintf(tmp, n + 32, "%s.tmp.%ld", path, (long)getpid());
    f->path = p;
    f->tmp = tmp;
    f->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (f->fd < 0) {
        vc_fail(err, "%s: cannot create temporary file %s: %s", path, tmp, strerror(errno));
        free_handle(f);
        return NULL;
    }
    return f;
}

FILE *vc_atomic_stream(vc_atomic_file *f, vc_error *err) {
    if (f->fd < 0) return vc_fail(err, "%s: write after an earlier failure", f->path), NULL;
    if (!f->stream && !(f->stream = fdopen(f->fd, "w")))
        vc_fail(err, "%s: cannot open a stream on %s: %s", f->path, f->tmp, strerror(errno));
    return f->stream;
}

int vc_atomic_write(vc_atomic_file *f, const void *data, size_t n, vc_error *err) {
    if (f->fd < 0) return vc_fail(err, "%s: write after an earlier failure", f->path);
    const char *p = data;
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done > (1u << 30) ? (1u << 30) : n - done;
        ssize_t w = write(f->fd, p + done, chunk);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            discard_tmp(f);
            return vc_fail(err, "%s: write failed after %zu of %zu bytes: %s", f->path, done, n, strerror(e));
        }
        done += (size_t)w;
    }
    return 0;
}

/* Makes the rename durable. Filesystems that cannot sync directories answer EINVAL; there
 * is nothing more to do on those. */
static int sync_parent_dir(const char *path, vc_error *err) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return vc_fail(err, "%s: out of memory", path);
    int rc = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = vc_fail(err, "%s: written, but cannot open its directory %s to sync it: %s", path, dir, strerror(errno));
    } else {
        if (fsync(fd) && errno != EINVAL)
            rc = vc_fail(err, "%s: written, but syncing its directory %s failed: %s", path, dir, strerror(errno));
        close(fd);
    }
    free(dir);
    return rc;
}

int vc_atomic_commit(vc_atomic_file *f, vc_error *err) {
    if (f->fd < 0) {
        free_handle(f);
        return vc_fail(err, "commit after an earlier write failure");
    }
    int rc = 0;
    if (f->stream && (fflush(f->stream) || ferror(f->stream)))
        rc = vc_fail(err, "%s: writing %s failed: %s", f->path, f->tmp, strerror(errno));
    if (!rc && fsync(f->fd)) rc = vc_fail(err, "%s: fsync of %s failed: %s", f->path, f->tmp, strerror(errno));
    int fd = f->fd;
    f->fd = -1;
    if ((f->stream ? fclose(f->stream) : close(fd)) && !rc)
        rc = vc_fail(err, "%s: closing %s failed: %s", f->path, f->tmp, strerror(errno));
    if (!rc && rename(f->tmp, f->path))
        rc = vc_fail(err, "%s: cannot rename %s over it: %s", f->path, f->tmp, strerror(errno));
    if (rc) {
        unlink(f->tmp);
    } else {
        rc = sync_parent_dir(f->path, err);
    }
    free_handle(f);
    return rc;
}

void vc_atomic_abort(vc_atomic_file *f) {
    if (!f) return;
    discard_tmp(f);
    free_handle(f);
}

int vc_atomic_write_file(const char *path, const void *data, size_t n, vc_error *err) {
    vc_atomic_file *f = vc_atomic_open(path, err);
    if (!f) return -1;
    if (vc_atomic_write(f, data, n, err)) {
        vc_atomic_abort(f);
        return -1;
    }
    return vc_atomic_commit(f, err);
}
