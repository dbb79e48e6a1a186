/* Test helper (not a test itself): trains the small test model with vc_train under whatever
 * launcher started it (mpirun -np N, or none), so tests/test_dist.c can compare runs with
 * different rank counts. Built against the double-precision library (build/tests/dist_train64)
 * for equality to 1e-10. Rank 0 prints "loss STEP VALUE" for every step, with all digits.
 *
 * usage: dist_train64 DATA_DIR OUT_DIR key=value...
 *   batch, steps, accum, stop_after, resume (checkpoint path), full_loss, lock_text, mask, clip,
 *   drop_path */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/collectives.h"
#include "testutil.h"
#include "train/trainer.h"
#include "vocab_util.h"

static void print_loss(const vc_train_progress *p, void *user) {
    printf("loss %lld %.17g\n", (long long)p->step, p->loss);
    fflush(stdout);
}

static void print_warning(const char *msg, void *user) { fprintf(stderr, "dist_train: warning: %s\n", msg); }

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s DATA_DIR OUT_DIR key=value...\n", argv[0]);
        return 2;
    }
    static char ann[4096];
    snprintf(ann, sizeof ann, "%s/train.jsonl", argv[1]);
    vc_train_params p = vc_train_default_params();
    vc_config c = vc_config_preset(VC_PRESET_DEMO);
    c.image_size = 16, c.patch_size = 8, c.num_frames = 4;
    c.vision_width = 32, c.vision_layers = 2, c.vision_heads = 2;
    c.text_width = 32, c.text_layers = 1, c.text_heads = 2, c.embed_dim = 16, c.context_length = 16;
    p.cfg = c;
    p.train_annotations = ann, p.out_dir = argv[2];
    p.batch_size = 4, p.steps = 5, p.warmup = 1, p.lr = 2e-3, p.workers = 0;
    p.mask_ratio = 0.5, p.unmasked_steps = 1, p.grad_clip_norm = 0.5, p.temp_init = 0.05, p.seed = 5;
    p.progress_every = 1;
    p.local_loss = 1;
    for (int i = 3; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq) return fprintf(stderr, "dist_train: '%s' is not key=value\n", argv[i]), 2;
        const size_t k = (size_t)(eq - argv[i]);
        const char *v = eq + 1;
#define KEY(name) (k == strlen(name) && !strncmp(argv[i], name, k))
        if (KEY("batch")) p.batch_size = atoi(v);
        else if (KEY("steps")) p.steps = atoll(v);
        else if (KEY("accum")) p.accum_freq = atoi(v);
        else if (KEY("stop_after")) p.stop_after = atoll(v);
        else if (KEY("resume")) p.resume = v;
        else if (KEY("full_loss")) p.local_loss = !atoi(v);
        else if (KEY("lock_text")) p.freeze_text = atoi(v);
        else if (KEY("mask")) p.mask_ratio = atof(v);
        else if (KEY("clip")) p.grad_clip_norm = atof(v);
        else if (KEY("drop_path")) p.drop_path = atof(v);
        else return fprintf(stderr, "dist_train: unknown key '%.*s'\n", (int)k, argv[i]), 2;
#undef KEY
    }
    vc_error err;
    vc_dist *d = vc_dist_init(&argc, &argv, 60, &err);
    if (!d) return fprintf(stderr, "dist_train: %s\n", err.msg), 1;
    vc_tokenizer *tok = vc_test_load_tokenizer();
    int rc = 0;
    if (!tok) {
        fprintf(stderr, "dist_train: no CLIP vocabulary\n");
        rc = 1;
    } else {
        p.dist = d;
        p.on_progress = print_loss;
        p.on_warning = print_warning;
        if (vc_train(&p, tok, NULL, &err)) fprintf(stderr, "dist_train: %s\n", err.msg), rc = 1;
    }
    vc_tokenizer_free(tok);
    if (rc) vc_dist_abort(d, rc);
    vc_dist_free(d);
    return rc;
}
