/* viclip pretrain run as a user runs it on a tiny synthetic set: MAE and UMT write a model file
 * whose video tower moved away from the initialisation while the text tower is exactly the
 * from-scratch one (so `train --init` starts from a pretrained video tower only), and bad
 * option combinations fail with a message naming the problem. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "model/model_io.h"
#include "testutil.h"

#define DIR "build/tests/pretrain"
#define TINY "--init " DIR "/init.safetensors -b 4 --warmup 1 --log-every 1 -t 1 --seed 3"

static int run(const char *cmd, char *out, size_t cap) { return vc_test_run(cmd, 1, out, cap); }

/* The synthetic set at 16x16, 4 frames; a tiny model with the CLIP vocabulary to start from, and a
 * teacher that cuts frames into other patches. */
static int setup(char *out, size_t cap) {
    static int done = 0;
    if (done) return 0;
    mkdir("build/tests", 0755);
    int rc = run("rm -rf " DIR " && build/viclip synth " DIR "/data --n-train 24 --n-heldout 1 --frames 4 --size 16 -t 1",
                 out, cap);
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    c.vocab_size = 49408;
    vc_error err;
    vc_model *m = rc ? NULL : vc_model_new(&c, &err);
    if (!m) return -1;
    vc_model_init_random(m, 3, 0.07);
    vc_model_init_temporal(m, 3, 0.5);
    rc = vc_model_save(m, DIR "/init.safetensors", VC_DT_F32, &err);
    vc_model_free(m);
    c.patch_size = 8;
    m = rc ? NULL : vc_model_new(&c, &err);
    if (!m) return -1;
    vc_model_init_random(m, 4, 0.07);
    rc = vc_model_save(m, DIR "/teacher_p8.safetensors", VC_DT_F32, &err);
    vc_model_free(m);
    done = rc == 0;
    return rc;
}

/* Sum of |a - b| over the parameters of one tower, against the starting model. */
static double tower_change(const vc_model *m, vc_tower tower) {
    vc_error err;
    vc_model *init = vc_model_load(DIR "/init.safetensors", NULL, &err);
    if (!init) return NAN;
    double s = 0;
    for (int i = 0; i < m->table.count; i++) {
        const vc_param_info *pi = &m->table.info[i];
        if (pi->tower != tower) continue;
        for (size_t k = 0; k < pi->numel; k++) s += fabs((double)m->params[pi->offset + k] - init->params[pi->offset + k]);
    }
    vc_model_free(init);
    return s;
}

static void check_run(const char *cmd, const char *model_path, int *vc_t_failed, char *vc_t_why, size_t vc_t_whylen) {
    char out[16384];
    CHECK(setup(out, sizeof out) == 0, "synth: %s", out);
    int rc = run(cmd, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "summary: steps 1-3") != NULL, "%s", out);
    vc_error err;
    vc_model *m = vc_model_load(model_path, NULL, &err);
    CHECK(m, "%s", err.msg);
    const double dv = tower_change(m, VC_TOWER_VISION), dt = tower_change(m, VC_TOWER_TEXT);
    vc_model_free(m);
    CHECK(dv > 1e-3, "the video tower did not change (%g)", dv);
    CHECK(dt == 0, "the text tower changed (%g)", dt);
}

TEST(mae_pretraining_moves_only_the_video_tower) {
    check_run("build/viclip pretrain --train-data " DIR "/data/train.jsonl --out " DIR "/mae " TINY
              " --steps 3 --decoder-width 8 --decoder-depth 1 --decoder-heads 2",
              DIR "/mae/model.safetensors", vc_t_failed, vc_t_why, vc_t_whylen);
}

TEST(umt_pretraining_moves_only_the_video_tower) {
    check_run("build/viclip pretrain --objective umt --teacher tests/fixtures/umt_teacher.safetensors --train-data " DIR
              "/data/train.jsonl --out " DIR "/umt " TINY " --steps 3 --umt-masking random --umt-loss mse",
              DIR "/umt/model.safetensors", vc_t_failed, vc_t_why, vc_t_whylen);
}

TEST(bad_pretraining_options_fail_with_a_message) {
    char out[16384];
    CHECK(setup(out, sizeof out) == 0, "synth: %s", out);
    const struct { const char *args, *message; } cases[] = {
        {"--objective umt", "--objective umt needs --teacher FILE"},
        {"--objective foo", "--objective 'foo': expected mae or umt"},
        {"--objective umt --teacher " DIR "/teacher_p8.safetensors", "teacher " DIR "/teacher_p8.safetensors sees 16x16 frames in 8-pixel patches"},
        {"--decoder-width 10 --decoder-heads 4", "width divisible by the heads"},
        {"--mask-ratio 1", "mask ratio 1 must be in (0, 1)"},
        {"--umt-loss l1", "--umt-loss: expected cosine or mse"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "build/viclip pretrain --train-data " DIR "/data/train.jsonl --out " DIR "/bad --init " DIR "/init.safetensors -t 1 %s",
                 cases[i].args);
        int rc = run(cmd, out, sizeof out);
        CHECK(rc != 0, "%s: exit 0", cases[i].args);
        CHECK(strstr(out, cases[i].message) != NULL, "%s: %s", cases[i].args, out);
    }
}

TEST_MAIN("pretrain_cmd", T(mae_pretraining_moves_only_the_video_tower), T(umt_pretraining_moves_only_the_video_tower),
          T(bad_pretraining_options_fail_with_a_message))
