#include "io/fs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "io/strbuf.h"
#include "io/atomic_file.h"

int vc_mkdir_p(const char *path, vc_error *err) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return vc_fail(err, "folder path of %zu characters is empty or too long", n);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char saved = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0755) && errno != EEXIST) return vc_fail(err, "cannot create folder %s: %s", buf, strerror(errno));
        buf[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) || !S_ISDIR(st.st_mode)) return vc_fail(err, "%s exists and is not a folder", path);
    return 0;
}

int vc_read_file(const char *path, char **text, size_t *len, vc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return vc_fail(err, "%s: cannot open: %s", path, strerror(errno));
    vc_strbuf sb = {0};
    char buf[65536];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(buf, 1, sizeof buf, f)) > 0) rc = vc_sb_append(&sb, buf, n, err);
    if (!rc && ferror(f)) rc = vc_fail(err, "%s: read error", path);
    fclose(f);
    if (!rc && !sb.data) rc = vc_sb_reserve(&sb, 0, err);
    if (rc) return vc_sb_free(&sb), -1;
    *text = sb.data, *len = sb.len;
    return 0;
}

int vc_prepare_outputs(const char *const *outputs, int n_out, const char *const *inputs, int n_in, vc_error *err) {
    for (int o = 0; o < n_out; o++) {
        struct stat so, si;
        if (!outputs[o] || stat(outputs[o], &so)) continue;
        for (int i = 0; i < n_in; i++)
            if (inputs[i] && !stat(inputs[i], &si) && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
                return vc_fail(err, "the output %s is the input %s (the same file): refusing to overwrite an input",
                               outputs[o], inputs[i]);
    }
    for (int o = 0; o < n_out; o++) vc_atomic_remove_stale(outputs[o]);
    return 0;
}
