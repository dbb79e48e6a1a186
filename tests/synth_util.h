/* A small synthetic training set shared by the tests (generated once into build/tests). */
#ifndef VC_TESTS_SYNTH_UTIL_H
#define VC_TESTS_SYNTH_UTIL_H

#include <stdio.h>
#include <unistd.h>

#include "train/trainer.h"
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

/* Default training parameters with model config cfg on the synthetic set (4 frames of 16 px,
 * 96 training clips), its train.jsonl written into ann (which must outlive the run); 0 when
 * the set cannot be made. */
static inline int vc_test_synth_train_params(vc_train_params *p, vc_config cfg, char *ann, size_t cap) {
    const char *data = vc_test_synth_dir(4, 16, 96);
    if (!data) return 0;
    snprintf(ann, cap, "%s/train.jsonl", data);
    *p = vc_train_default_params();
    p->cfg = cfg;
    p->train_annotations = ann;
    return 1;
}

#endif
