/* Fine-tuned classification: the zero-shot head reproduces zero-shot classification, the
 * model file keeps head and class names, fine-tuning lowers the loss, a linear probe leaves
 * the tower untouched, and the test-time views pick the frames and crops they promise. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/classify_head.h"
#include "eval/evaluate.h"
#include "io/annotations.h"
#include "model/model_io.h"
#include "testutil.h"
#include "train/classifier_model.h"
#include "train/finetune.h"
#include "video/clip.h"
#include "video/synth.h"
#include "vocab_util.h"

#define DATA "build/tests/ft_synth"
#define BASE "build/tests/ft_base.safetensors"

/* A small synthetic set and a small random model (generated once). */
static int setup(void) {
    if (access(BASE, R_OK) == 0) return 0;
    mkdir("build/tests", 0755);
    vc_synth_params sp = vc_synth_default_params();
    sp.frames = 4, sp.size = 16, sp.n_train = 300, sp.n_heldout_per_combo = 1;
    vc_error err;
    if (vc_synth_generate(DATA, &sp, &err)) return fprintf(stderr, "synth: %s\n", err.msg), -1;
    vc_config c = vc_config_preset(VC_PRESET_DEMO);
    c.image_size = 16, c.patch_size = 8, c.num_frames = 4;
    c.vision_width = 32, c.vision_layers = 2, c.vision_heads = 2;
    c.text_width = 32, c.text_layers = 1, c.text_heads = 2, c.embed_dim = 16, c.context_length = 16;
    vc_model *m = vc_model_new(&c, &err);
    if (!m) return -1;
    vc_model_init_random(m, 3, 0.07);
    vc_model_init_temporal(m, 3, 0.5);
    int rc = vc_model_save(m, BASE, VC_DT_F32, &err);
    vc_model_free(m);
    return rc;
}

static int read_classes(char ***names, int *n) {
    vc_error err;
    return vc_read_lines(DATA "/classes.txt", names, n, &err);
}

TEST(zeroshot_head_classifies_exactly_as_zeroshot_evaluation) {
    CHECK(setup() == 0, "setup");
    vc_tokenizer *tok = vc_test_load_tokenizer();
    CHECK(tok, "no CLIP vocabulary");
    vc_error err;
    vc_model *m = vc_model_load(BASE, NULL, &err);
    CHECK(m, "%s", err.msg);
    vc_eval_params ep = vc_eval_default_params();
    ep.tasks = VC_EVAL_CLASSIFY, ep.annotations = DATA "/eval.jsonl", ep.labels = DATA "/classes.txt";
    ep.templates = DATA "/templates.txt";
    vc_eval_result zs;
    CHECK(vc_evaluate(m, tok, &ep, &zs, &err) == 0, "%s", err.msg);
    char **names, **templates;
    int C, nt;
    CHECK(read_classes(&names, &C) == 0 && vc_read_lines(DATA "/templates.txt", &templates, &nt, &err) == 0, "lists");
    vc_classifier c;
    CHECK(vc_classifier_init(&c, m, (const char *const *)names, C, &err) == 0, "%s", err.msg);
    CHECK(vc_classifier_init_zeroshot(&c, tok, (const char *const *)templates, nt, 1, &err) == 0, "%s", err.msg);
    vc_head_eval_params hp = vc_head_eval_default_params();
    hp.annotations = DATA "/eval.jsonl";
    vc_classify_metrics head;
    CHECK(vc_eval_classifier(&c, &hp, &head, NULL, &err) == 0, "%s", err.msg);
    CHECK(head.n == zs.zeroshot.n && head.n == 72, "%d vs %d clips", head.n, zs.zeroshot.n);
    CHECK_CLOSE(head.top1, zs.zeroshot.top1, 1e-12, 0);
    CHECK_CLOSE(head.top5, zs.zeroshot.top5, 1e-12, 0);
    /* the file keeps the head and the class names; a plain model has no head */
    const char *path = "build/tests/ft_zeroshot.safetensors";
    CHECK(vc_classifier_save(&c, path, &err) == 0, "%s", err.msg);
    vc_classifier back;
    CHECK(vc_classifier_load(&back, path, &err) == 0, "%s", err.msg);
    CHECK(back.n_classes == C && !strcmp(back.classes[C - 1], names[C - 1]), "classes");
    CHECK(!memcmp(back.head, c.head, vc_classifier_head_elems(&c) * sizeof(vc_real)), "head differs after reload");
    CHECK(vc_classifier_file_has_head(path, &err) == 1 && vc_classifier_file_has_head(BASE, &err) == 0, "has_head");
    vc_classifier none;
    CHECK(vc_classifier_load(&none, BASE, &err) != 0 && strstr(err.msg, "no classification head"), "%s", err.msg);
    vc_classifier_free(&back);
    vc_classifier_free(&c);
    vc_free_lines(names, C);
    vc_free_lines(templates, nt);
    vc_tokenizer_free(tok);
}

static int tower_bits(const char *a, const char *b) {
    vc_error err;
    const char *const extra[] = {"head.", NULL};
    vc_model *x = vc_model_load(a, extra, &err), *y = vc_model_load(b, extra, &err);
    int same = x && y && x->table.total == y->table.total &&
               !memcmp(x->params, y->params, x->table.total * sizeof(vc_real));
    vc_model_free(x), vc_model_free(y);
    return same;
}

TEST(finetuning_lowers_the_loss_and_a_linear_probe_keeps_the_tower) {
    CHECK(setup() == 0, "setup");
    vc_tokenizer *tok = vc_test_load_tokenizer();
    CHECK(tok, "no CLIP vocabulary");
    vc_finetune_params p = vc_finetune_default_params();
    p.train_annotations = DATA "/train.jsonl", p.labels = DATA "/classes.txt", p.init_model = BASE;
    p.templates = DATA "/templates.txt";
    p.out_dir = "build/tests/ft_run", p.head_init = VC_HEAD_RANDOM;
    p.batch_size = 24, p.steps = 60, p.warmup = 5, p.lr = 1e-2, p.mixup_alpha = 0.8, p.mixup_prob = 0.3;
    vc_train_summary sum;
    vc_error err;
    CHECK(vc_finetune(&p, tok, &sum, &err) == 0, "%s", err.msg);
    CHECK(sum.last_step == 60, "steps %lld", (long long)sum.last_step);
    /* the loss starts at about ln(72) and falls */
    FILE *f = fopen("build/tests/ft_run/train_log.jsonl", "r");
    CHECK(f, "no log");
    double first = 0, last = 0, loss;
    char line[1024];
    int k = 0, mixed = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "{\"step\":%*d,\"loss\":%lf", &loss) != 1) continue;
        if (k < 5) first += loss / 5;
        if (k >= 55) last += loss / 5;
        mixed += strstr(line, "\"mixup_lambda\":1.0000") == NULL;
        k++;
    }
    fclose(f);
    CHECK(k == 60, "%d log lines", k);
    CHECK(first > 3.8 && last < first - 0.3, "loss %.3f -> %.3f", first, last);
    CHECK(mixed > 8 && mixed < 30, "%d of 60 steps mixed at probability 0.3", mixed);
    CHECK(!tower_bits("build/tests/ft_run/model.safetensors", BASE), "fine-tuning left the model unchanged");

    p.linear_probe = 1, p.mixup_alpha = 0, p.out_dir = "build/tests/ft_probe";
    CHECK(vc_finetune(&p, tok, NULL, &err) == 0, "%s", err.msg);
    CHECK(tower_bits("build/tests/ft_probe/model.safetensors", BASE), "the linear probe changed the model");
    p.mixup_alpha = 0.8;
    CHECK(vc_finetune(&p, tok, NULL, &err) != 0 && strstr(err.msg, "--linear-probe"), "%s", err.msg);
    p.linear_probe = 0, p.mixup_alpha = 0, p.labels = DATA "/templates.txt";
    CHECK(vc_finetune(&p, tok, NULL, &err) != 0 && strstr(err.msg, "train.jsonl:1: class"), "%s", err.msg);
    vc_tokenizer_free(tok);
}

TEST(test_time_views_interleave_over_segments_and_crop_squares) {
    SKIP_WITHOUT_VIDEO();
    int idx[4];
    vc_error err;
    /* 16 frames, 4 segments of 4: middle of each segment would be 1, 5, 9, 13 */
    CHECK(vc_sample_view_indices(16, 4, 0, 2, idx, &err) == 0, "%s", err.msg);
    CHECK(idx[0] == 1 && idx[1] == 5 && idx[2] == 9 && idx[3] == 13, "view 0: %d %d %d %d", idx[0], idx[1], idx[2], idx[3]);
    CHECK(vc_sample_view_indices(16, 4, 1, 2, idx, &err) == 0, "%s", err.msg);
    CHECK(idx[0] == 3 && idx[3] == 15, "view 1: %d .. %d", idx[0], idx[3]);
    CHECK(vc_sample_view_indices(2, 4, 0, 3, idx, &err) == 0 && idx[0] == 0 && idx[1] == 1 && idx[3] == 1, "short video");
    CHECK(vc_sample_view_indices(16, 4, 2, 2, idx, &err) != 0 && strstr(err.msg, "view 2"), "%s", err.msg);
    /* a 6x2 image whose columns are 0, 40, .., 200: crop 1 keeps columns 0-1, crop 2 2-3, crop 3 4-5 */
    const char *ppm = "build/tests/ft_wide.ppm";
    FILE *f = fopen(ppm, "wb");
    CHECK(f, "cannot write %s", ppm);
    fprintf(f, "P6\n6 2\n255\n");
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 6; x++)
            for (int ch = 0; ch < 3; ch++) fputc(40 * x, f);
    fclose(f);
    vc_preprocess pp = vc_preprocess_default(1, 2);
    vc_clip_opts o = vc_clip_default_opts();
    uint8_t out[2 * 2 * 3];
    for (int crop = 1; crop <= 3; crop++) {
        o.crop = crop;
        CHECK(vc_clip_load_u8_opts(ppm, &pp, &o, out, NULL, &err) == 0, "%s", err.msg);
        CHECK(out[0] == 80 * (crop - 1) && out[3] == 80 * (crop - 1) + 40 && out[6] == out[0], "crop %d: %d %d %d", crop,
              out[0], out[3], out[6]);
    }
}

TEST_MAIN("finetune", T(zeroshot_head_classifies_exactly_as_zeroshot_evaluation),
          T(finetuning_lowers_the_loss_and_a_linear_probe_keeps_the_tower),
          T(test_time_views_interleave_over_segments_and_crop_squares))
