#include "io/fs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

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
