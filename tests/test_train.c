/* Training: interrupted + resumed equals uninterrupted bit for bit; a short run on the
 * synthetic set learns retrieval far above chance. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/evaluate.h"
#include "io/safetensors.h"
#include "model/align.h"
#include "model/model_io.h"
#include "testutil.h"
#include "vocab_util.h"
#include "train/dataset.h"
#include "train/trainer.h"
#include "video/synth.h"
#include "synth_util.h"


static vc_config small_config(void) {
    vc_config c = vc_config_preset(VC_PRESET_DEMO);
    c.image_size = 16, c.patch_size = 8, c.num_frames = 4;
    c.vision_width = 32, c.vision_layers = 2, c.vision_heads = 2;
    c.text_width = 32, c.text_layers = 1, c.text_heads = 2, c.embed_dim = 16, c.context_length = 16;
    return c;
}

static int params_equal(const char *a, const char *b, char *why, size_t cap) {
    vc_error err;
    vc_model *x = vc_model_load(a, (const char *const[]){"optimizer.", NULL}, &err);
    vc_model *y = x ? vc_model_load(b, (const char *const[]){"optimizer.", NULL}, &err) : NULL;
    int eq = 0;
    if (!x || !y) snprintf(why, cap, "%s", err.msg);
    else {
        eq = x->table.total == y->table.total && !memcmp(x->params, y->params, x->table.total * sizeof(float));
        if (!eq) {
            size_t first = 0;
            while (first < x->table.total && x->params[first] == y->params[first]) first++;
            snprintf(why, cap, "parameters differ first at element %zu of %zu", first, x->table.total);
        }
    }
    vc_model_free(x), vc_model_free(y);
    return eq;
}

/* Training parameters for the small config on the shared synthetic set, whose train.jsonl path
 * is written into ann (which must outlive the run); 0 when the set cannot be made. */
static int synth_train_params(vc_train_params *p, char *ann, size_t cap) {
    return vc_test_synth_train_params(p, small_config(), ann, cap);
}

/* Trains 7 steps straight through and as 3 + resume; workers_full / workers_part decoding
 * threads (0: preloaded clips). */
static int resume_check(int workers_full, int workers_part, const char *full, const char *part, vc_train_params *out_p,
                        char *why, size_t cap) {
    vc_tokenizer *tok = vc_test_load_tokenizer();
    static char ann[1100];
    vc_train_params p;
    if (!tok || !synth_train_params(&p, ann, sizeof ann)) return snprintf(why, cap, "no vocabulary or synthetic data"), 0;
    char cmd[600];
    /* start from empty run folders: a model left by an earlier run would hide a bug */
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", full, part);
    if (system(cmd) != 0) return snprintf(why, cap, "cleanup"), 0;
    p.batch_size = 8, p.accum_freq = 2, p.steps = 7, p.warmup = 2, p.lr = 1e-3;
    p.mask_ratio = 0.75, p.unmasked_steps = 2, p.drop_path = 0.2, p.grad_clip_norm = 0.5;
    p.temp_init = 0.05, p.seed = 9;
    p.sampling = VC_SAMPLE_RAND, p.augment = 1, p.prefetch = 2;
    vc_error err;
    int ok = 1;
    p.out_dir = full, p.workers = workers_full;
    if (vc_train(&p, tok, NULL, &err)) ok = 0, snprintf(why, cap, "full run: %s", err.msg);
    p.out_dir = part, p.workers = workers_part, p.stop_after = 3;
    if (ok && vc_train(&p, tok, NULL, &err)) ok = 0, snprintf(why, cap, "first half: %s", err.msg);
    char path[1100], other[1100];
    snprintf(path, sizeof path, "%s/model.safetensors", part);
    if (ok && access(path, F_OK) == 0) ok = 0, snprintf(why, cap, "a stopped run must not write the final model");
    snprintf(other, sizeof other, "%s/checkpoint.safetensors", part);
    p.stop_after = 0, p.resume = other;
    if (ok && vc_train(&p, tok, NULL, &err)) ok = 0, snprintf(why, cap, "resume: %s", err.msg);
    for (int k = 0; ok && k < 2; k++) {
        const char *file = k ? "checkpoint.safetensors" : "model.safetensors";
        snprintf(path, sizeof path, "%s/%s", full, file);
        snprintf(other, sizeof other, "%s/%s", part, file);
        ok = params_equal(path, other, why, cap);
    }
    p.resume = NULL;
    *out_p = p;
    vc_tokenizer_free(tok);
    return ok;
}

TEST(resumed_training_equals_uninterrupted_training_bit_for_bit) {
    char why[1100] = "";
    vc_train_params p;
    CHECK(resume_check(0, 0, "build/tests/run_full", "build/tests/run_part", &p, why, sizeof why), "%s", why);
    vc_error err;
    /* and training actually moved the weights away from the initialisation */
    vc_model *init = vc_model_new(&p.cfg, &err), *fin = vc_model_load("build/tests/run_full/model.safetensors", NULL, &err);
    CHECK(init && fin, "%s", err.msg);
    vc_model_init_random(init, p.seed, p.temp_init);
    CHECK(memcmp(init->params, fin->params, init->table.total * sizeof(float)) != 0, "training did not change the model");
    /* text tower trained too (not frozen) */
    const vc_param_info *te = vc_param_find(&init->table, "text_encoder.text_projection");
    CHECK(memcmp(init->params + te->offset, fin->params + te->offset, te->numel * sizeof(float)) != 0, "text tower unchanged");
    vc_model_free(init), vc_model_free(fin);
}

/* Streaming: clips decoded per step with rand sampling and crop + flip by worker threads. The
 * run does not depend on the number of workers, and resumes bit for bit. */
TEST(streamed_training_resumes_bit_for_bit_whatever_the_worker_count) {
    char why[1100] = "";
    vc_train_params p;
    CHECK(resume_check(3, 1, "build/tests/run_stream_full", "build/tests/run_stream_part", &p, why, sizeof why), "%s", why);
    /* and augmentation made it differ from the preloaded run */
    CHECK(!params_equal("build/tests/run_full/model.safetensors", "build/tests/run_stream_full/model.safetensors", why, sizeof why),
          "streamed run with augmentation equals the preloaded one");
}

/* --accum-freq 2 with batch 4 sees the same clips as batch 8 and, with negatives taken from the
 * whole accumulated batch, trains the same model (up to float summation order). */
TEST(accumulated_micro_batches_train_like_one_big_batch) {
    vc_tokenizer *tok = vc_test_load_tokenizer();
    char ann[1100];
    vc_train_params p;
    CHECK(tok && synth_train_params(&p, ann, sizeof ann), "no vocabulary or synthetic data");
    p.steps = 3, p.warmup = 1, p.lr = 1e-3, p.mask_ratio = 0, p.temp_init = 0.05, p.seed = 5;
    vc_error err;
    p.batch_size = 8, p.accum_freq = 1, p.out_dir = "build/tests/run_big";
    CHECK(vc_train(&p, tok, NULL, &err) == 0, "%s", err.msg);
    p.batch_size = 4, p.accum_freq = 2, p.out_dir = "build/tests/run_accum";
    CHECK(vc_train(&p, tok, NULL, &err) == 0, "%s", err.msg);
    vc_tokenizer_free(tok);
    /* the loss of each step: over 8 candidates both ways (per-micro-batch negatives would give a
     * loss over 4); step 1 is before any update, later steps after nearly equal updates */
    double big[3], acc[3];
    const char *logs[2] = {"build/tests/run_big/train_log.jsonl", "build/tests/run_accum/train_log.jsonl"};
    double *dst[2] = {big, acc};
    for (int r = 0; r < 2; r++) {
        FILE *f = fopen(logs[r], "r");
        CHECK(f, "%s", logs[r]);
        char line[512];
        int n = 0;
        while (n < 3 && fgets(line, sizeof line, f)) {
            double st;
            if (sscanf(line, "{\"step\":%lf,\"loss\":%lf", &st, &dst[r][n]) == 2) n++;
        }
        fclose(f);
        CHECK(n == 3, "%s: %d losses", logs[r], n);
    }
    printf("  losses, batch 8: %.6f %.6f %.6f; 2 x 4 accumulated: %.6f %.6f %.6f\n", big[0], big[1], big[2], acc[0], acc[1], acc[2]);
    CHECK(fabs(big[0] - acc[0]) < 1e-5 * big[0], "step 1: %.7f vs %.7f", big[0], acc[0]);
    for (int k = 1; k < 3; k++) CHECK(fabs(big[k] - acc[k]) < 2e-3 * big[k], "step %d: %.7f vs %.7f", k + 1, big[k], acc[k]);
}

/* The frame-level alignment in the trainer: each term in the log, the total their weighted sum,
 * the global term of the first step the same as without the frame level (same init and batch),
 * and the option errors. */
TEST(frame_level_alignment_logs_each_term_and_adds_them) {
    vc_tokenizer *tok = vc_test_load_tokenizer();
    char ann[1100];
    vc_train_params p;
    CHECK(tok && synth_train_params(&p, ann, sizeof ann), "no vocabulary or synthetic data");
    p.batch_size = 8, p.steps = 2, p.warmup = 1, p.lr = 1e-3, p.mask_ratio = 0.5, p.temp_init = 0.05, p.seed = 6;
    vc_error err;
    p.out_dir = "build/tests/run_align_off";
    CHECK(vc_train(&p, tok, NULL, &err) == 0, "%s", err.msg);
    vc_align_weights w;
    CHECK(vc_align_weights_parse("global,frame", "1,0.5", &w, &err) == 0, "%s", err.msg);
    p.align_global = w.global, p.align_frame = w.frame;
    p.out_dir = "build/tests/run_align_on";
    CHECK(vc_train(&p, tok, NULL, &err) == 0, "%s", err.msg);
    double off = 0, on[2][3];
    FILE *f = fopen("build/tests/run_align_off/train_log.jsonl", "r");
    CHECK(f, "no log");
    char line[1024];
    CHECK(fgets(line, sizeof line, f) && sscanf(line, "{\"step\":1,\"loss\":%lf", &off) == 1, "log: %s", line);
    CHECK(!strstr(line, "loss_frame"), "global-only log has a frame term: %s", line);
    fclose(f);
    f = fopen("build/tests/run_align_on/train_log.jsonl", "r");
    CHECK(f, "no log");
    for (int k = 0; k < 2; k++) {
        CHECK(fgets(line, sizeof line, f), "log ends at step %d", k + 1);
        const char *g = strstr(line, "\"loss_global\":"), *fr = strstr(line, "\"loss_frame\":");
        CHECK(g && fr && sscanf(line, "{\"step\":%*d,\"loss\":%lf", &on[k][0]) == 1, "log: %s", line);
        on[k][1] = atof(g + 14), on[k][2] = atof(fr + 13);
        CHECK(on[k][2] > 0, "frame term %g", on[k][2]);
        CHECK(fabs(on[k][0] - (on[k][1] + 0.5 * on[k][2])) < 2e-6, "step %d: %g != %g + 0.5 * %g", k + 1, on[k][0], on[k][1], on[k][2]);
    }
    fclose(f);
    CHECK(fabs(on[0][1] - off) < 2e-6, "step 1's global term %g differs from the global-only run's %g", on[0][1], off);
    p.accum_freq = 2;
    CHECK(vc_train(&p, tok, NULL, &err) != 0 && strstr(err.msg, "accum-freq"), "accepted accumulation: %s", err.msg);
    CHECK(vc_align_weights_parse("frame", NULL, &w, &err) == 0 && w.global == 0 && w.frame == 1, "frame alone");
    CHECK(vc_align_weights_parse("global,level=2", NULL, &w, &err) != 0 && strstr(err.msg, "level=2"), "%s", err.msg);
    CHECK(vc_align_weights_parse("global,frame", "1", &w, &err) != 0 && strstr(err.msg, "fewer"), "%s", err.msg);
    CHECK(vc_align_weights_parse("global", "1,2", &w, &err) != 0 && strstr(err.msg, "more"), "%s", err.msg);
    CHECK(vc_align_weights_parse("global,frame", "1,-1", &w, &err) != 0 && strstr(err.msg, "non-negative"), "%s", err.msg);
    CHECK(vc_align_weights_parse("global,frame", "0,0", &w, &err) != 0, "accepted all-zero weights");
    vc_tokenizer_free(tok);
}

/* The layer-level alignment in the trainer: --align global,layers=1 with the text tower frozen
 * trains the new heads (the text-side one too) and leaves the text tower bit for bit; each term
 * is logged; the heads are written to the model and the checkpoint, and an interrupted run
 * resumes bit for bit; encoding ignores the heads; the options' errors name --align. */
TEST(layer_level_alignment_trains_its_heads_and_resumes_bit_for_bit) {
    vc_tokenizer *tok = vc_test_load_tokenizer();
    char ann[1100];
    vc_train_params p;
    CHECK(tok && synth_train_params(&p, ann, sizeof ann), "no vocabulary or synthetic data");
    CHECK(system("rm -rf build/tests/run_layers_full build/tests/run_layers_part") == 0, "cleanup");
    /* the small config: 2 video blocks, 1 text block, so layer 1 only */
    p.batch_size = 8, p.steps = 5, p.warmup = 1, p.lr = 1e-3, p.mask_ratio = 0.75, p.unmasked_steps = 1;
    p.drop_path = 0.1, p.temp_init = 0.05, p.seed = 4, p.freeze_text = 1;
    vc_error err;
    vc_align_weights w;
    CHECK(vc_align_weights_parse("global,layers=1", "1,0.5", &w, &err) == 0, "%s", err.msg);
    p.align_global = w.global, p.align_n_layers = w.n_layers, p.align_layers[0] = 1, p.align_layer_weights[0] = 0.5;
    p.out_dir = "build/tests/run_layers_full";
    CHECK(vc_train(&p, tok, NULL, &err) == 0, "%s", err.msg);
    p.out_dir = "build/tests/run_layers_part", p.stop_after = 2;
    CHECK(vc_train(&p, tok, NULL, &err) == 0, "first half: %s", err.msg);
    p.stop_after = 0, p.resume = "build/tests/run_layers_part/checkpoint.safetensors";
    CHECK(vc_train(&p, tok, NULL, &err) == 0, "resume: %s", err.msg);
    char why[1100] = "";
    CHECK(params_equal("build/tests/run_layers_full/model.safetensors", "build/tests/run_layers_part/model.safetensors", why,
                       sizeof why), "%s", why);
    CHECK(params_equal("build/tests/run_layers_full/checkpoint.safetensors",
                       "build/tests/run_layers_part/checkpoint.safetensors", why, sizeof why), "%s", why);
    /* a resumed run keeps the checkpoint's heads */
    p.align_n_layers = 0;
    CHECK(vc_train(&p, tok, NULL, &err) != 0 && strstr(err.msg, "--align") && strstr(err.msg, "layers 1"), "%s", err.msg);
    p.resume = NULL, p.align_n_layers = 1;
    /* the log: loss = global + 0.5 * layer 1 */
    FILE *f = fopen("build/tests/run_layers_full/train_log.jsonl", "r");
    CHECK(f, "no log");
    char line[2048];
    CHECK(fgets(line, sizeof line, f), "empty log");
    fclose(f);
    const char *g = strstr(line, "\"loss_global\":"), *l1 = strstr(line, "\"loss_layer_1\":");
    double loss = 0;
    CHECK(g && l1 && sscanf(line, "{\"step\":1,\"loss\":%lf", &loss) == 1, "log: %s", line);
    CHECK(fabs(loss - (atof(g + 14) + 0.5 * atof(l1 + 15))) < 2e-6, "loss %g != %g + 0.5 * %g", loss, atof(g + 14), atof(l1 + 15));
    /* the model file holds the heads, trained; the text tower is the initialisation's */
    vc_model *m = vc_model_load("build/tests/run_layers_full/model.safetensors", NULL, &err);
    CHECK(m && m->p.n_heads == 1 && m->p.heads[0].layer == 1, "%s", m ? "no heads in the model file" : err.msg);
    vc_model *init = vc_model_new(&p.cfg, &err);
    vc_model_init_random(init, p.seed, p.temp_init);
    const size_t Wt = (size_t)p.cfg.text_width, E = (size_t)p.cfg.embed_dim;
    CHECK(!memcmp(m->p.t.proj, init->p.t.proj, Wt * E * sizeof(float)), "the frozen text tower moved");
    CHECK(memcmp(m->p.heads[0].t.proj, init->p.t.proj, Wt * E * sizeof(float)) != 0, "the text-side head did not train");
    CHECK(memcmp(m->p.heads[0].v.proj, m->p.v.proj, (size_t)p.cfg.vision_width * E * sizeof(float)) != 0,
          "the video-side head did not train");
    /* encoding ignores the heads: the same embeddings with them dropped */
    const size_t clip = (size_t)p.cfg.num_frames * 3 * p.cfg.image_size * p.cfg.image_size;
    float *video = malloc(2 * clip * sizeof *video), emb[2][2 * 64];
    vc_rng r = vc_rng_at(77, 0, 0, 0);
    vc_fill_normal(video, 2 * clip, 1, &r);
    int32_t tokens[2 * 16] = {49406, 320, 1929, 49407};
    tokens[16] = 49406, tokens[17] = 49407;
    CHECK(vc_model_encode_video(m, video, 2, emb[0], &err) == 0 && vc_model_encode_text(m, tokens, 2, emb[0] + 2 * E, &err) == 0,
          "%s", err.msg);
    CHECK(vc_model_set_align_heads(m, NULL, 0, &err) == 0, "%s", err.msg);
    CHECK(vc_model_encode_video(m, video, 2, emb[1], &err) == 0 && vc_model_encode_text(m, tokens, 2, emb[1] + 2 * E, &err) == 0,
          "%s", err.msg);
    CHECK(!memcmp(emb[0], emb[1], 4 * E * sizeof(float)), "the heads change the embeddings");
    free(video);
    vc_model_free(m), vc_model_free(init);
    /* errors: a layer beyond the text tower, accumulation */
    p.align_layers[0] = 2, p.out_dir = "build/tests/run_layers_bad";
    CHECK(vc_train(&p, tok, NULL, &err) != 0 && strstr(err.msg, "--align layers=2") && strstr(err.msg, "1..1"), "%s", err.msg);
    p.align_layers[0] = 1, p.accum_freq = 2;
    CHECK(vc_train(&p, tok, NULL, &err) != 0 && strstr(err.msg, "accum-freq"), "%s", err.msg);
    /* the option syntax */
    CHECK(vc_align_weights_parse("layers=8,4,global", "0.25,0.5,1", &w, &err) == 0 && w.n_layers == 2 && w.layers[0] == 4 &&
              w.layer_weight[0] == 0.5 && w.layers[1] == 8 && w.layer_weight[1] == 0.25 && w.global == 1,
          "per-layer weights: %s", err.msg);
    CHECK(vc_align_weights_parse("global,layers=2,3,frame", "1,0.3,2", &w, &err) == 0 && w.layer_weight[0] == 0.3 &&
              w.layer_weight[1] == 0.3 && w.frame == 2, "one weight for the layers: %s", err.msg);
    CHECK(vc_align_weights_parse("global,layers=2,3", "1,2,3,4", &w, &err) != 0 && strstr(err.msg, "one per layer"), "%s", err.msg);
    CHECK(vc_align_weights_parse("global,layers=2,2", NULL, &w, &err) != 0 && strstr(err.msg, "twice"), "%s", err.msg);
    CHECK(vc_align_weights_parse("global,layers=0", NULL, &w, &err) != 0 && strstr(err.msg, "'0'"), "%s", err.msg);
    CHECK(vc_align_weights_parse("global,layers=", NULL, &w, &err) != 0, "accepted an empty layer list");
    vc_tokenizer_free(tok);
}

TEST(frozen_text_tower_stays_bit_identical_during_training) {
    vc_tokenizer *tok = vc_test_load_tokenizer();
    char ann[1100];
    vc_train_params p;
    CHECK(tok && synth_train_params(&p, ann, sizeof ann), "no vocabulary or synthetic data");
    p.batch_size = 8, p.steps = 3, p.warmup = 1, p.freeze_text = 1, p.temp_init = 0.05, p.seed = 4;
    p.out_dir = "build/tests/run_frozen";
    vc_error err;
    CHECK(vc_train(&p, tok, NULL, &err) == 0, "%s", err.msg);
    vc_model *init = vc_model_new(&p.cfg, &err), *fin = vc_model_load("build/tests/run_frozen/model.safetensors", NULL, &err);
    CHECK(init && fin, "%s", err.msg);
    vc_model_init_random(init, p.seed, p.temp_init);
    for (int i = 0; i < init->table.count; i++) {
        const vc_param_info *pi = &init->table.info[i];
        int same = !memcmp(init->params + pi->offset, fin->params + pi->offset, pi->numel * sizeof(float));
        if (pi->tower == VC_TOWER_TEXT) CHECK(same, "%s changed with the text tower frozen", pi->name);
    }
    vc_model_free(init), vc_model_free(fin);
    vc_tokenizer_free(tok);
}

TEST(short_training_on_synthetic_clips_retrieves_far_above_chance) {
    vc_tokenizer *tok = vc_test_load_tokenizer();
    CHECK(tok, "no vocabulary");
    const char *data = vc_test_synth_dir(8, 32, 1200);
    CHECK(data, "synthetic data");
    char ann[1100], eval_ann[1100];
    snprintf(ann, sizeof ann, "%s/train.jsonl", data);
    snprintf(eval_ann, sizeof eval_ann, "%s/eval.jsonl", data);
    vc_train_params p = vc_train_default_params();
    p.cfg = vc_config_preset(VC_PRESET_DEMO);
    p.cfg.vision_layers = 2, p.cfg.vision_width = 64, p.cfg.vision_heads = 2;
    p.cfg.text_width = 64, p.cfg.text_heads = 2, p.cfg.embed_dim = 64, p.cfg.context_length = 16;
    p.train_annotations = ann;
    p.out_dir = "build/tests/run_learn";
    p.batch_size = 32, p.steps = 300, p.warmup = 30, p.lr = 2e-3, p.min_lr = 1e-5, p.weight_decay = 0.05;
    p.mask_ratio = 0.5, p.unmasked_steps = 50, p.temp_init = 0.07, p.seed = 1;
    vc_error err;
    CHECK(vc_train(&p, tok, NULL, &err) == 0, "%s", err.msg);
    vc_model *m = vc_model_load("build/tests/run_learn/model.safetensors", NULL, &err);
    CHECK(m, "%s", err.msg);
    vc_eval_params e = vc_eval_default_params();
    e.annotations = eval_ann;
    vc_eval_result r;
    CHECK(vc_evaluate(m, tok, &e, &r, &err) == 0, "%s", err.msg);
    double chance = 1.0 / r.n_videos;
    printf("  t2v R@1 %.3f R@5 %.3f, v2t R@1 %.3f (chance %.3f, %d clips)\n", r.t2v.r1, r.t2v.r5, r.v2t.r1, chance, r.n_videos);
    CHECK(r.n_videos == 72, "eval clips %d", r.n_videos);
    CHECK(r.t2v.r1 >= 5 * chance, "text->video R@1 %.3f is not far above chance %.3f", r.t2v.r1, chance);
    CHECK(r.v2t.r1 >= 5 * chance, "video->text R@1 %.3f is not far above chance %.3f", r.v2t.r1, chance);
    vc_model_free(m);
    vc_tokenizer_free(tok);
}

TEST(malformed_annotations_fail_with_file_and_line) {
    vc_tokenizer *tok = vc_test_load_tokenizer();
    CHECK(tok, "no vocabulary");
    mkdir("build/tests/bad_ann", 0755);
    FILE *f = fopen("build/tests/bad_ann/train.jsonl", "w");
    fprintf(f, "{\"video\": \"a.npy\", \"caption\": \"x\"}\n{\"video\": \"b.npy\"}\n");
    fclose(f);
    vc_train_params p = vc_train_default_params();
    p.cfg = small_config();
    p.train_annotations = "build/tests/bad_ann/train.jsonl";
    p.out_dir = "build/tests/run_bad";
    p.steps = 1;
    vc_error err = {{0}};
    CHECK(vc_train(&p, tok, NULL, &err) != 0, "accepted a line without a caption");
    CHECK(strstr(err.msg, "train.jsonl:2") && strstr(err.msg, "caption"), "message: %s", err.msg);
    f = fopen("build/tests/bad_ann/train.jsonl", "w");
    fprintf(f, "{\"video\": \"missing.npy\", \"caption\": \"x\"}\n{\"video\": \"b.npy\", \"caption\": \"y\"\n");
    fclose(f);
    CHECK(vc_train(&p, tok, NULL, &err) != 0, "accepted a line with broken JSON");
    CHECK(strstr(err.msg, "train.jsonl:2"), "message: %s", err.msg);
    f = fopen("build/tests/bad_ann/train.jsonl", "w");
    fprintf(f, "{\"video\": \"missing.npy\", \"caption\": \"x\"}\n");
    fclose(f);
    CHECK(vc_train(&p, tok, NULL, &err) != 0, "accepted a missing clip file");
    CHECK(strstr(err.msg, "missing.npy"), "message: %s", err.msg);
    vc_tokenizer_free(tok);
}

TEST(unreadable_clips_are_left_out_with_one_message_each) {
    vc_tokenizer *tok = vc_test_load_tokenizer();
    CHECK(tok, "no vocabulary");
    const char *data = vc_test_synth_dir(4, 16, 96);
    CHECK(data, "synthetic data");
    mkdir("build/tests/skip_ann", 0755);
    CHECK(vc_test_write_file("build/tests/skip_ann/empty.npy", "", 0) == 0, "write");
    CHECK(vc_test_write_file("build/tests/skip_ann/text.mp4", "not a video\n", 12) == 0, "write");
    FILE *f = fopen("build/tests/skip_ann/mixed.jsonl", "w");
    CHECK(f, "write");
    fprintf(f, "{\"video\": \"../../../%s/clips/000000.npy\", \"caption\": \"a\"}\n", data);
    fprintf(f, "{\"video\": \"missing.npy\", \"caption\": \"b\"}\n");
    fprintf(f, "{\"video\": \"empty.npy\", \"caption\": \"c\"}\n");
    fprintf(f, "{\"video\": \"text.mp4\", \"caption\": \"d\"}\n");
    fprintf(f, "{\"video\": \"../../../%s/clips/000001.npy\", \"caption\": \"e\"}\n", data);
    fclose(f);
    vc_preprocess pp = vc_preprocess_default(4, 16);
    vc_dataset d;
    vc_error err;
    CHECK(vc_dataset_load(&d, "build/tests/skip_ann/mixed.jsonl", &pp, tok, 16, &err) == 0, "%s", err.msg);
    CHECK(d.n == 2 && d.n_skipped == 3, "kept %d, skipped %d", d.n, d.n_skipped);
    CHECK(!strcmp(d.ann.items[0].caption, "a") && !strcmp(d.ann.items[1].caption, "e"), "wrong clips kept");
    CHECK(strstr(d.skipped[0], "mixed.jsonl:2") && strstr(d.skipped[0], "missing.npy"), "%s", d.skipped[0]);
    CHECK(strstr(d.skipped[1], "mixed.jsonl:3") && strstr(d.skipped[1], "empty.npy"), "%s", d.skipped[1]);
    CHECK(strstr(d.skipped[2], "mixed.jsonl:4") && strstr(d.skipped[2], "text.mp4"), "%s", d.skipped[2]);
    /* the kept clips hold their own pixels, not a neighbour's */
    uint8_t ref[4 * 16 * 16 * 3];
    char path[1024];
    snprintf(path, sizeof path, "%s/clips/000001.npy", data);
    CHECK(vc_clip_load_u8(path, &pp, ref, &err) == 0, "%s", err.msg);
    CHECK(!memcmp(ref, d.frames + sizeof ref, sizeof ref), "second kept clip has the wrong frames");
    vc_dataset_free(&d);
    vc_tokenizer_free(tok);
}

TEST_MAIN("train", T(frame_level_alignment_logs_each_term_and_adds_them), T(layer_level_alignment_trains_its_heads_and_resumes_bit_for_bit), T(unreadable_clips_are_left_out_with_one_message_each), T(resumed_training_equals_uninterrupted_training_bit_for_bit),
          T(streamed_training_resumes_bit_for_bit_whatever_the_worker_count),
          T(accumulated_micro_batches_train_like_one_big_batch),
          T(frozen_text_tower_stays_bit_identical_during_training),
          T(short_training_on_synthetic_clips_retrieves_far_above_chance),
          T(malformed_annotations_fail_with_file_and_line))
