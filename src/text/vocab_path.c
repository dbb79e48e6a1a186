/* Locating bpe_simple_vocab_16e6.txt.gz (scripts/get_vocab.sh puts it in build/assets/). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text/tokenizer.h"

static int readable(const char *p) { return access(p, R_OK) == 0; }

int vc_tokenizer_find_vocab(char *path, size_t cap, vc_error *err) {
    if (!path || cap == 0) return vc_fail(err, "vc_tokenizer_find_vocab: no output buffer");
    char tried[4][PATH_MAX + 64];
    int n_tried = 0;

    const char *env = getenv("VICLIP_VOCAB");
    if (env && *env) {
        if (!readable(env))
            return vc_fail(err, "VICLIP_VOCAB is set to '%s', which is not a readable file", env);
        snprintf(tried[n_tried++], sizeof tried[0], "%s", env);
    } else {
        snprintf(tried[n_tried++], sizeof tried[0], "build/assets/%s", VC_VOCAB_FILE);
        char exe[PATH_MAX];
        ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (len > 0) {
            exe[len] = '\0';
            char *slash = strrchr(exe, '/');
            if (slash) {
                *slash = '\0';
                snprintf(tried[n_tried++], sizeof tried[0], "%s/assets/%s", exe, VC_VOCAB_FILE);
            }
        }
        snprintf(tried[n_tried++], sizeof tried[0], "/usr/local/share/viclip/%s", VC_VOCAB_FILE);
    }
    for (int i = 0; i < n_tried; i++) {
        if (!readable(tried[i])) continue;
        if (strlen(tried[i]) + 1 > cap)
            return vc_fail(err, "vocab path '%s' does not fit in %zu bytes", tried[i], cap);
        memcpy(path, tried[i], strlen(tried[i]) + 1);
        return 0;
    }
    char list[4 * (PATH_MAX + 64)] = "";
    for (int i = 0; i < n_tried; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, tried[i], sizeof list - strlen(list) - 1);
    }
    return vc_fail(err, "CLIP vocab %s not found (looked in: %.900s; set VICLIP_VOCAB or run "
                        "scripts/get_vocab.sh)", VC_VOCAB_FILE, list);
}
