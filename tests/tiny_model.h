/* The small random model the command tests run (CLIP vocabulary, 8 frames of 32 px). */
#ifndef VC_TESTS_TINY_MODEL_H
#define VC_TESTS_TINY_MODEL_H

#include "model/model_io.h"

/* Saves a tiny model (CLIP vocabulary, patches of 8 px) for clips of `frames` frames of
 * image_size px with weights drawn from seed to path; 0 on success. */
static inline int vc_test_save_model_for(const char *path, uint64_t seed, int image_size, int frames) {
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    c.vocab_size = 49408, c.context_length = 32, c.image_size = image_size, c.patch_size = 8, c.num_frames = frames;
    vc_error err;
    vc_model *m = vc_model_new(&c, &err);
    if (!m) return -1;
    vc_model_init_random(m, seed, 0.05);
    int rc = vc_model_save(m, path, VC_DT_F32, &err);
    vc_model_free(m);
    return rc;
}

/* The command tests' model: 8 frames of 32 px. */
static inline int vc_test_save_tiny_model(const char *path, uint64_t seed) {
    return vc_test_save_model_for(path, seed, 32, 8);
}

#endif
