/* A small synthetic training set shared by the tests (generated once into build/tests). */
#ifndef VC_TESTS_SYNTH_UTIL_H
#define VC_TESTS_SYNTH_UTIL_H

#include <stdio.h>
#include <unistd.h>

#include "video/synth.h"

static inline const char *vc_test_synth_dir(int frames, int size, int n_train) {
    static char dir[256];
    snprintf(dir, sizeof dir, "build/tests/synth_%d_%d_%d", frames, size, n_train);
    char meta[300];
    snprintf(meta, sizeof meta, "%s/meta.json", dir);
    if (access(meta, R_OK) == 0) return dir;
    vc_synth_params p = vc_synth_default_params();
    p.frames = frames, p.size = size, p.n_train = n_train, p.n_heldout_per_combo = 2;
    vc_error err;
    if (vc_synth_generate(dir, &p, &err)) {
        fprintf(stderr, "synth: %s\n", err.msg);
        return NULL;
    }
    return dir;
}

#endif
