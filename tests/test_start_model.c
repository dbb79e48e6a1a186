/* Starting points of a training run: each tower from its own file (--init-vision, --init-text)
 * or random, and the errors for files that cannot go together. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model_io.h"
#include "testutil.h"
#include "train/start_model.h"
#include "train/trainer.h"
#include "video/synth.h"
#include "vocab_util.h"

static vc_config small_config(int vision_width, int text_width, int embed_dim) {
    vc_config c = vc_config_preset(VC_PRESET_DEMO);
    c.image_size = 16, c.patch_size = 8, c.num_frames = 4;
    c.vision_width = vision_width, c.vision_layers = 2, c.vision_heads = 2;
    c.text_width = text_width, c.text_layers = 1, c.text_heads = 2, c.embed_dim = embed_dim, c.context_length = 16;
    return c;
}

/* Writes a random model of config c drawn from seed into path. */
static int write_model(const char *path, vc_config c, uint64_t seed) {
    vc_error err;
    vc_model *m = vc_model_new(&c, &err);
    if (!m) return -1;
    vc_model_init_random(m, seed, 0.05);
    vc_model_init_temporal(m, seed, 0.3);
    int rc = vc_model_save(m, path, VC_DT_F32, &err);
    vc_model_free(m);
    return rc;
}

/* 1 when every tensor of `tower` in a equals the same tensor in b. */
static int tower_equal(const vc_model *a, const vc_model *b, vc_tower tower) {
    for (int i = 0; i < a->table.count; i++) {
        const vc_param_info *pi = &a->table.info[i];
        if (pi->tower != tower) continue;
        const vc_param_info *bi = vc_param_find(&b->table, pi->name);
        if (!bi || bi->numel != pi->numel ||
            memcmp(a->params + pi->offset, b->params + bi->offset, pi->numel * sizeof(vc_real)))
            return 0;
    }
    return 1;
}

TEST(each_tower_comes_from_its_own_file_or_from_the_seed) {
    mkdir("build/tests", 0755);
    const char *va = "build/tests/start_vision.safetensors", *tb = "build/tests/start_text.safetensors";
    /* the vision file has a wider video tower, the text file a wider text tower */
    CHECK(write_model(va, small_config(48, 32, 16), 1) == 0, "writing %s", va);
    CHECK(write_model(tb, small_config(32, 64, 16), 2) == 0, "writing %s", tb);
    vc_error err;
    vc_model *a = vc_model_load(va, NULL, &err), *b = vc_model_load(tb, NULL, &err);
    CHECK(a && b, "%s", err.msg);
    vc_start_model s = {.init_vision = va, .init_text = tb, .cfg = small_config(32, 32, 16), .seed = 7, .temp_init = 0.07};
    int fresh = -1;
    vc_model *m = vc_start_model_build(&s, &fresh, &err);
    CHECK(m, "%s", err.msg);
    CHECK(m->cfg.vision_width == 48 && m->cfg.text_width == 64, "config %d/%d", m->cfg.vision_width, m->cfg.text_width);
    CHECK(tower_equal(m, a, VC_TOWER_VISION), "the video tower differs from %s", va);
    CHECK(tower_equal(m, b, VC_TOWER_TEXT), "the text tower differs from %s", tb);
    CHECK(fresh == 0, "new towers %d", fresh);
    CHECK_CLOSE(m->p.temp[0], 0.07, 1e-7, 0);
    vc_model_free(m);

    /* random text: the same tower a from-scratch run of that config and seed starts with */
    s.init_text = "random";
    m = vc_start_model_build(&s, &fresh, &err);
    CHECK(m, "%s", err.msg);
    vc_config scratch_cfg = small_config(48, 32, 16);
    vc_model *scratch = vc_model_new(&scratch_cfg, &err);
    CHECK(scratch, "%s", err.msg);
    vc_model_init_random(scratch, 7, 0.07);
    CHECK(tower_equal(m, a, VC_TOWER_VISION), "the video tower differs from %s", va);
    CHECK(tower_equal(m, scratch, VC_TOWER_TEXT), "the random text tower is not the seed's");
    CHECK(!tower_equal(m, b, VC_TOWER_TEXT), "the random text tower equals %s", tb);
    CHECK(fresh == 1 << VC_TOWER_TEXT, "new towers %d", fresh);
    vc_model_free(m);
    vc_model_free(scratch);
    vc_model_free(a);
    vc_model_free(b);
}

TEST(incompatible_or_conflicting_sources_fail_naming_the_flag) {
    const char *va = "build/tests/start_vision.safetensors", *tc = "build/tests/start_text24.safetensors";
    CHECK(write_model(tc, small_config(32, 32, 24), 3) == 0, "writing %s", tc);
    vc_error err;
    vc_start_model s = {.init_vision = va, .init_text = tc, .cfg = small_config(32, 32, 16), .seed = 7, .temp_init = 0.07};
    CHECK(!vc_start_model_build(&s, NULL, &err), "embed_dim 16 vs 24 accepted");
    CHECK(strstr(err.msg, "embed_dim") && strstr(err.msg, tc), "%s", err.msg);
    s.init_text = "build/tests/no_such_text.safetensors";
    CHECK(!vc_start_model_build(&s, NULL, &err), "a missing file accepted");
    CHECK(strstr(err.msg, "--init-text") && strstr(err.msg, "no_such_text"), "%s", err.msg);
    s = (vc_start_model){.init_model = va, .init_vision = va, .cfg = small_config(32, 32, 16)};
    CHECK(!vc_start_model_build(&s, NULL, &err), "--init with --init-vision accepted");
    CHECK(strstr(err.msg, "--init"), "%s", err.msg);
}

/* A pretrained video tower next to a random text tower: held (bit-identical) for the first
 * steps while the text tower trains; with --balance auto the multipliers move and every step
 * logs both towers' update ratios and multipliers. */
TEST(a_pretrained_tower_is_held_while_the_new_one_warms_up_and_balance_logs) {
    vc_tokenizer *tok = vc_test_load_tokenizer();
    CHECK(tok, "no CLIP vocabulary");
    const char *data = "build/tests/start_synth";
    vc_synth_params sp = vc_synth_default_params();
    sp.frames = 4, sp.size = 16, sp.n_train = 64, sp.n_heldout_per_combo = 1;
    vc_error err;
    CHECK(vc_synth_generate(data, &sp, &err) == 0, "%s", err.msg);
    const char *va = "build/tests/start_vision.safetensors";
    CHECK(write_model(va, small_config(32, 32, 16), 1) == 0, "writing %s", va);
    vc_train_params p = vc_train_default_params();
    p.train_annotations = "build/tests/start_synth/train.jsonl", p.out_dir = "build/tests/start_run";
    p.init_vision = va, p.init_text = "random", p.cfg = small_config(32, 32, 16);
    p.batch_size = 16, p.steps = 12, p.warmup = 2, p.lr = 1e-3, p.mask_ratio = 0, p.temp_init = 0.07;
    p.new_branch_warmup = 3, p.stop_after = 3;
    CHECK(vc_train(&p, tok, NULL, &err) == 0, "%s", err.msg);
    vc_model *a = vc_model_load(va, NULL, &err), *m = vc_model_load("build/tests/start_run/checkpoint.safetensors",
                                                                      (const char *const[]){"optimizer.", NULL}, &err);
    CHECK(a && m, "%s", err.msg);
    CHECK(tower_equal(m, a, VC_TOWER_VISION), "the held video tower moved during the new text tower's warmup");
    vc_model_free(m);
    p.stop_after = 0, p.balance = 1;
    CHECK(vc_train(&p, tok, NULL, &err) == 0, "%s", err.msg);
    m = vc_model_load("build/tests/start_run/model.safetensors", NULL, &err);
    CHECK(m && !tower_equal(m, a, VC_TOWER_VISION), "the video tower never trained");
    FILE *f = fopen("build/tests/start_run/train_log.jsonl", "r");
    CHECK(f, "no log");
    char line[1024];
    int k = 0, held = 0;
    double mult_text = 1;
    while (fgets(line, sizeof line, f)) {
        double rv, rt, mv, mt;
        const char *at = strstr(line, "\"update_ratio_vision\":");
        CHECK(at && sscanf(at, "\"update_ratio_vision\":%lf,\"update_ratio_text\":%lf,\"lr_mult_vision\":%lf,"
                               "\"lr_mult_text\":%lf", &rv, &rt, &mv, &mt) == 4, "log line %d: %s", k + 1, line);
        CHECK(rt > 0, "line %d: text did not move", k + 1);
        held += rv == 0 && mv == 0;
        mult_text = mt;
        k++;
    }
    fclose(f);
    CHECK(k == 12 && held == 3, "%d lines, %d held", k, held);
    CHECK(mult_text != 1, "--balance auto left the text multiplier at 1");
    CHECK(access("build/tests/start_run/balance.svg", R_OK) == 0, "no balance.svg");
    p.freeze_text = 1;
    CHECK(vc_train(&p, tok, NULL, &err) != 0 && strstr(err.msg, "--balance"), "%s", err.msg);
    vc_model_free(m);
    vc_model_free(a);
    vc_tokenizer_free(tok);
}

TEST_MAIN("start_model", T(each_tower_comes_from_its_own_file_or_from_the_seed),
          T(incompatible_or_conflicting_sources_fail_naming_the_flag),
          T(a_pretrained_tower_is_held_while_the_new_one_warms_up_and_balance_logs))
