/* Activation recomputation (--grad-checkpointing) in the float build: the loss and every
 * gradient bit for bit those of the plain backward (both towers, masking, drop-path, all three
 * alignment levels, the text tower frozen or not, fp32 and bf16, MAE and UMT steps), a smaller plan,
 * and whole training runs (accumulation, unmasked phase) that end on the same parameters and
 * resume bit for bit with the flag turned on or off. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gradcheck.h"
#include "kernels/gemm.h"
#include "model/mae.h"
#include "model/umt.h"
#include "model/model.h"
#include "model/model_io.h"
#include "synth_util.h"
#include "testutil.h"
#include "train/finetune.h"
#include "train/trainer.h"
#include "viclip.h"
#include "vocab_util.h"

enum { B = 3, K = 24 };

/* 3 video blocks (two of them recomputed) and 2 text blocks. */
static vc_config config(void) {
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    c.vision_layers = 3;
    return c;
}

typedef struct {
    vc_model *m;
    float *video;
    int32_t tokens[B * 8], keep[B * K], ids[B];
    double rates[3];
    vc_align_weights align;
} fixture;

static int setup(fixture *f, vc_error *err) {
    memset(f, 0, sizeof *f);
    const vc_config c = config();
    if (!(f->m = vc_model_new(&c, err)) || vc_model_enable_grads(f->m, err)) return -1;
    vc_model_init_random(f->m, 17, 0.07);
    vc_model_init_temporal(f->m, 17, 0.5);
    if (!(f->video = vc_test_random_video(&c, B, 5))) return vc_fail(err, "out of memory");
    static const int32_t rows[B][8] = {{98, 5, 17, 99, 0, 0, 0, 0}, {98, 40, 41, 42, 43, 44, 45, 99}, {98, 7, 99, 0, 0, 0, 0, 0}};
    memcpy(f->tokens, rows, sizeof rows);
    f->ids[0] = 0, f->ids[1] = 1, f->ids[2] = 0;
    vc_vision_sample_keep(f->keep, B, vc_config_video_tokens(&c), K, 3, 1);
    vc_drop_path_schedule(f->rates, c.vision_layers, 0.8);
    if (vc_align_weights_parse("global,frame,layers=1,2", "1,0.5,0.25", &f->align, err)) return -1;
    return vc_model_set_align_heads(f->m, f->align.layers, f->align.n_layers, err);
}

static vc_step_inputs inputs(fixture *f, int train_text, int aligned) {
    return (vc_step_inputs){.video = f->video, .tokens = f->tokens, .ids = f->ids, .keep = f->keep, .B = B, .K = K,
                            .drop_rates = f->rates, .seed = 11, .step = 2, .train_text = train_text, .grad_scale = 0.5,
                            .align = aligned ? &f->align : NULL};
}

/* One forward + backward from zeroed gradients: loss, a copy of the gradients, the plan's size. */
static int step(vc_model *m, const vc_step_inputs *in, double *loss, float *grads, size_t *planned, vc_error *err) {
    vc_model_zero_grads(m);
    if (vc_model_forward_backward(m, in, loss, err)) return -1;
    memcpy(grads, m->grads, m->table.total * sizeof *grads);
    *planned = m->train.elems * sizeof(float);
    return 0;
}

TEST(recomputed_activations_give_the_same_loss_and_gradients_bit_for_bit) {
    fixture f;
    vc_error err;
    CHECK(setup(&f, &err) == 0, "%s", err.msg);
    float *plain = malloc(f.m->table.total * sizeof *plain), *ckpt = malloc(f.m->table.total * sizeof *ckpt);
    CHECK(plain && ckpt, "out of memory");
    const int n_prec = vc_gemm_has_bf16() ? 2 : 1;
    for (int prec = 0; prec < n_prec; prec++)
        for (int variant = 0; variant < 3; variant++) { /* both towers aligned at 3 levels; global only; text frozen */
            const int train_text = variant != 2, aligned = variant == 0;
            const vc_step_inputs in = inputs(&f, train_text, aligned);
            vc_model_set_precision(f.m, prec ? VC_BF16 : VC_FP32);
            double l_plain, l_ckpt;
            size_t b_plain, b_ckpt;
            vc_model_set_grad_checkpointing(f.m, 0);
            CHECK(step(f.m, &in, &l_plain, plain, &b_plain, &err) == 0, "%s", err.msg);
            CHECK(vc_model_training_bytes(f.m, B, B, K, train_text, 1, in.align) == b_plain, "counted %zu, planned %zu",
                  vc_model_training_bytes(f.m, B, B, K, train_text, 1, in.align), b_plain);
            vc_model_set_grad_checkpointing(f.m, 1);
            CHECK(step(f.m, &in, &l_ckpt, ckpt, &b_ckpt, &err) == 0, "%s", err.msg);
            CHECK(vc_model_training_bytes(f.m, B, B, K, train_text, 1, in.align) == b_ckpt, "counted with checkpointing");
            /* the recomputed blocks drew nothing anew: block 1 (rate 0.4) both dropped and kept clips */
            const float *ds = f.m->train.vis.blocks[1].drop_scale;
            int dropped = 0, kept = 0;
            for (int i = 0; i < 2 * B; i++) dropped += ds[i] == 0, kept += ds[i] > 1;
            CHECK(dropped && kept, "drop-path of block 1 did not mix drops (%d) and keeps (%d)", dropped, kept);
            CHECK(l_plain == l_ckpt, "%s, variant %d: loss %.9g with checkpointing, %.9g without", prec ? "bf16" : "fp32",
                  variant, l_ckpt, l_plain);
            size_t first = 0;
            while (first < f.m->table.total && !memcmp(&plain[first], &ckpt[first], sizeof(float))) first++;
            CHECK(first == f.m->table.total, "%s, variant %d: gradient element %zu differs (%.9g vs %.9g)",
                  prec ? "bf16" : "fp32", variant, first, first < f.m->table.total ? ckpt[first] : 0.0,
                  first < f.m->table.total ? plain[first] : 0.0);
            CHECK(b_ckpt < b_plain, "the plan did not shrink: %zu vs %zu bytes", b_ckpt, b_plain);
            if (!prec) printf("  variant %d: planned %zu bytes, %zu with checkpointing\n", variant, b_plain, b_ckpt);
        }
    free(plain), free(ckpt), free(f.video);
    vc_model_free(f.m);
}

/* The MAE step recomputes the tower's and the decoder's blocks. */
TEST(mae_step_gradients_are_the_same_with_checkpointing) {
    vc_error err;
    const vc_config c = config();
    vc_model *m = vc_model_new(&c, &err);
    vc_mae_decoder *d = m ? vc_mae_decoder_new(&c, 8, 2, 2, &err) : NULL;
    CHECK(d && vc_model_enable_grads(m, &err) == 0, "%s", err.msg);
    vc_model_init_random(m, 3, 0.07);
    vc_mae_decoder_init(d, 4);
    enum { KP = 4 };
    const int P = vc_config_patches(&c), T = c.num_frames, Km = KP * T;
    int32_t keep[2 * 64], masked[2 * 64];
    vc_tube_mask(keep, masked, 2, P, T, KP, 1, 2);
    float *video = vc_test_random_video(&c, 2, 9), *g[2], *dg[2];
    double loss[2];
    vc_mae_work w = {0};
    for (int on = 0; on < 2; on++) {
        vc_model_set_grad_checkpointing(m, on);
        vc_model_zero_grads(m);
        memset(d->grads, 0, d->table.total * sizeof(float));
        CHECK(vc_mae_step(&w, m, d, video, keep, masked, 2, Km, 1, 1, &loss[on], &err) == 0, "%s", err.msg);
        CHECK(w.mode == (on ? VC_ACTS_RECOMPUTE : VC_ACTS_TRAINING), "planned mode %d", (int)w.mode);
        g[on] = malloc(m->table.total * sizeof(float)), dg[on] = malloc(d->table.total * sizeof(float));
        memcpy(g[on], m->grads, m->table.total * sizeof(float));
        memcpy(dg[on], d->grads, d->table.total * sizeof(float));
    }
    CHECK(loss[0] == loss[1], "loss %.9g vs %.9g", loss[0], loss[1]);
    CHECK(!memcmp(g[0], g[1], m->table.total * sizeof(float)), "video tower gradients differ");
    CHECK(!memcmp(dg[0], dg[1], d->table.total * sizeof(float)), "decoder gradients differ");
    for (int on = 0; on < 2; on++) free(g[on]), free(dg[on]);
    vc_mae_work_free(&w);
    vc_mae_decoder_free(d);
    vc_model_free(m);
    free(video);
}

/* The UMT step recomputes the student's blocks (the teacher keeps only what its last block gives). */
TEST(umt_step_gradients_are_the_same_with_checkpointing) {
    vc_error err;
    const vc_config c = config();
    vc_model *m = vc_model_new(&c, &err), *tm = m ? vc_model_new(&c, &err) : NULL;
    CHECK(tm && vc_model_enable_grads(m, &err) == 0, "%s", err.msg);
    vc_model_init_random(m, 3, 0.07);
    vc_model_init_random(tm, 8, 0.07);
    vc_model_init_temporal(tm, 8, 0.5);
    vc_umt_teacher *t = vc_umt_teacher_new(tm, c.num_frames, &err);
    vc_umt_head *h = t ? vc_umt_head_new(c.vision_width, c.embed_dim, &err) : NULL;
    CHECK(h, "%s", err.msg);
    vc_umt_head_init(h, 4);
    enum { KP = 4 };
    float *video = vc_test_random_video(&c, 2, 9), *g[2];
    CHECK(vc_umt_teacher_forward(t, video, 2, &err) == 0, "%s", err.msg);
    int32_t keep[2 * 64];
    vc_umt_select(keep, t->attention, VC_UMT_SEMANTIC, 2, c.num_frames, vc_config_patches(&c), KP, 1, 2);
    double loss[2];
    vc_umt_work w = {0};
    for (int on = 0; on < 2; on++) {
        vc_model_set_grad_checkpointing(m, on);
        vc_model_zero_grads(m);
        CHECK(vc_umt_step(&w, m, h, t, video, keep, 2, KP * c.num_frames, VC_UMT_COSINE, 1, 1, &loss[on], &err) == 0, "%s",
              err.msg);
        CHECK(w.mode == (on ? VC_ACTS_RECOMPUTE : VC_ACTS_TRAINING), "planned mode %d", (int)w.mode);
        g[on] = malloc(m->table.total * sizeof(float));
        memcpy(g[on], m->grads, m->table.total * sizeof(float));
    }
    CHECK(loss[0] == loss[1], "loss %.9g vs %.9g", loss[0], loss[1]);
    CHECK(!memcmp(g[0], g[1], m->table.total * sizeof(float)), "student gradients differ");
    free(g[0]), free(g[1]), free(video);
    vc_umt_work_free(&w);
    vc_umt_head_free(h);
    vc_umt_teacher_free(t);
    vc_model_free(tm), vc_model_free(m);
}

static int same_params(const char *a, const char *b, char *why, size_t cap) {
    vc_error err;
    vc_model *x = vc_model_load(a, (const char *const[]){"optimizer.", NULL}, &err);
    vc_model *y = x ? vc_model_load(b, (const char *const[]){"optimizer.", NULL}, &err) : NULL;
    int eq = x && y && x->table.total == y->table.total && !memcmp(x->params, y->params, x->table.total * sizeof(float));
    if (!x || !y) snprintf(why, cap, "%s", err.msg);
    else if (!eq) snprintf(why, cap, "%s and %s differ", a, b);
    vc_model_free(x), vc_model_free(y);
    return eq;
}

static void count_start(const vc_train_start *s, void *user) {
    vc_train_start *seen = user;
    *seen = *s;
}

/* 6 steps with accumulation, masking then unmasked steps, drop-path, clipping: with and without
 * the flag, and stopped after 3 with it and resumed without it. */
TEST(training_runs_equal_with_and_without_checkpointing_and_resume_either_way) {
    vc_tokenizer *tok = vc_test_load_tokenizer();
    char ann[300];
    vc_train_params p;
    CHECK(tok && vc_test_synth_train_params(&p, config(), ann, sizeof ann), "no vocabulary or synthetic data");
    CHECK(system("rm -rf build/tests/run_ckpt_off build/tests/run_ckpt_on build/tests/run_ckpt_part") == 0, "cleanup");
    p.cfg.vocab_size = 49408, p.cfg.context_length = 16;
    p.batch_size = 4, p.accum_freq = 2, p.steps = 6, p.warmup = 2, p.lr = 1e-3, p.mask_ratio = 0.75;
    p.unmasked_steps = 2, p.drop_path = 0.3, p.grad_clip_norm = 0.5, p.temp_init = 0.05, p.seed = 3;
    vc_train_start seen[2];
    p.on_start = count_start;
    vc_error err;
    const char *dirs[2] = {"build/tests/run_ckpt_off", "build/tests/run_ckpt_on"};
    for (int on = 0; on < 2; on++) {
        p.out_dir = dirs[on], p.grad_checkpointing = on, p.user = &seen[on];
        CHECK(vc_train(&p, tok, NULL, &err) == 0, "%s", err.msg);
        CHECK(seen[on].grad_checkpointing == on && seen[on].masked_bytes > 0 && seen[on].unmasked_bytes > seen[on].masked_bytes,
              "start report: checkpointing %d, %zu / %zu bytes", seen[on].grad_checkpointing, seen[on].masked_bytes,
              seen[on].unmasked_bytes);
    }
    printf("  planned per micro-batch: %zu / %zu bytes masked / unmasked, %zu / %zu with checkpointing\n",
           seen[0].masked_bytes, seen[0].unmasked_bytes, seen[1].masked_bytes, seen[1].unmasked_bytes);
    CHECK(seen[1].masked_bytes < seen[0].masked_bytes && seen[1].unmasked_bytes < seen[0].unmasked_bytes, "no saving");
    char why[1100] = "";
    CHECK(same_params("build/tests/run_ckpt_off/model.safetensors", "build/tests/run_ckpt_on/model.safetensors", why,
                      sizeof why), "%s", why);
    p.out_dir = "build/tests/run_ckpt_part", p.grad_checkpointing = 1, p.stop_after = 3, p.on_start = NULL;
    CHECK(vc_train(&p, tok, NULL, &err) == 0, "%s", err.msg);
    p.grad_checkpointing = 0, p.stop_after = 0, p.resume = "build/tests/run_ckpt_part/checkpoint.safetensors";
    CHECK(vc_train(&p, tok, NULL, &err) == 0, "resume: %s", err.msg);
    CHECK(same_params("build/tests/run_ckpt_off/model.safetensors", "build/tests/run_ckpt_part/model.safetensors", why,
                      sizeof why), "resumed: %s", why);
    vc_tokenizer_free(tok);
}

/* Where the tower does not train there is nothing to recompute, and the GPU's training path has
 * no recomputation: both refused, naming the flags. */
TEST(a_linear_probe_and_a_training_device_refuse_grad_checkpointing) {
    vc_finetune_params p = vc_finetune_default_params();
    p.train_annotations = "x.jsonl", p.labels = "classes.txt", p.init_model = "m.safetensors", p.out_dir = "build/tests/run_lp";
    p.linear_probe = 1, p.grad_checkpointing = 1;
    vc_error err = {{0}};
    CHECK(vc_finetune(&p, NULL, NULL, &err) != 0, "accepted --grad-checkpointing with --linear-probe");
    CHECK(strstr(err.msg, "--grad-checkpointing") && strstr(err.msg, "--linear-probe"), "message: %s", err.msg);
    /* nor on a training device, whose own plan keeps every activation (refused before any GPU is looked for) */
    vc_train_params t = vc_train_default_params();
    t.train_annotations = "x.jsonl", t.out_dir = "build/tests/run_ckpt_device", t.device = VC_DEVICE_CUDA;
    t.grad_checkpointing = 1;
    CHECK(vc_train(&t, NULL, NULL, &err) != 0, "accepted --grad-checkpointing with --device cuda");
    CHECK(strstr(err.msg, "--grad-checkpointing") && strstr(err.msg, "--device cuda"), "message: %s", err.msg);
}

/* The public API: viclip_train_params.grad_checkpointing takes the same steps with a smaller
 * plan (viclip_train_activation_bytes). */
TEST(public_train_steps_are_the_same_with_grad_checkpointing) {
    viclip_error err;
    viclip_context *ctx[2];
    for (int on = 0; on < 2; on++) {
        ctx[on] = viclip_init_random("tiny", 7, viclip_context_default_params(), &err);
        CHECK(ctx[on] && viclip_set_precision(ctx[on], "fp32", &err) == 0, "%s", err.msg);
    }
    const int T = viclip_n_frames(ctx[0]), S = viclip_image_size(ctx[0]), L = viclip_context_length(ctx[0]);
    const int E = viclip_embed_dim(ctx[0]);
    const size_t n = (size_t)B * T * 3 * S * S;
    float *clips = malloc(n * sizeof *clips), out[2][B * 64];
    vc_fill_random(clips, n, 1, 4);
    int32_t ids[B * 64] = {0};
    for (int b = 0; b < B; b++) ids[b * L] = 98, ids[b * L + 1] = 10 + b, ids[b * L + 2] = 99;
    struct viclip_train_params p = viclip_train_default_params();
    p.mask_ratio = 0.5f, p.lr = 1e-3f;
    size_t bytes[2];
    double loss[2][3];
    for (int on = 0; on < 2; on++) {
        p.grad_checkpointing = on;
        bytes[on] = viclip_train_activation_bytes(ctx[on], B, &p);
        for (int k = 0; k < 3; k++) CHECK(viclip_train_step(ctx[on], clips, ids, B, &p, &loss[on][k], &err) == 0, "%s", err.msg);
        CHECK(viclip_encode_clips(ctx[on], clips, B, out[on], &err) == 0, "%s", err.msg);
    }
    CHECK(bytes[0] > 0 && bytes[1] < bytes[0], "planned %zu bytes with the flag, %zu without", bytes[1], bytes[0]);
    for (int k = 0; k < 3; k++) CHECK(loss[0][k] == loss[1][k], "step %d: loss %.9g vs %.9g", k + 1, loss[1][k], loss[0][k]);
    CHECK(!memcmp(out[0], out[1], (size_t)B * E * sizeof(float)), "the trained models encode differently");
    free(clips);
    viclip_free(ctx[0]), viclip_free(ctx[1]);
}

/* The command: the flag, and the plan in the line printed before the first step. */
TEST(viclip_train_prints_the_planned_activations_with_and_without_the_flag) {
    const char *data = vc_test_synth_dir(4, 16, 96);
    CHECK(data, "no synthetic data");
    double mib[2];
    for (int on = 0; on < 2; on++) {
        char cmd[1200], out[8192];
        snprintf(cmd, sizeof cmd, VICLIP " train --train-data %s/train.jsonl --out build/tests/run_ckpt_cli -m demo "
                 "--image-size 16 --patch-size 8 --frames 4 --vision-width 64 --vision-layers 4 --vision-heads 2 "
                 "--text-width 32 --text-layers 1 --text-heads 2 --embed-dim 16 --context-length 16 -b 8 --steps 1 "
                 "--workers 0 --mask-ratio 0.5 -t 1 %s", data, on ? "--grad-checkpointing" : "");
        const int rc = vc_test_run(cmd, 1, out, sizeof out);
        CHECK(rc == 0, "exit %d: %s", rc, out);
        const char *start = strstr(out, "start: "), *planned = start ? strstr(start, "activations planned: ") : NULL;
        CHECK(planned && sscanf(planned, "activations planned: %lf MiB masked (8 of 16 tokens)", &mib[on]) == 1,
              "no plan in the start line: %s", out);
        CHECK(strstr(start, on ? "grad checkpointing on" : "grad checkpointing off"), "start line: %s", start);
    }
    CHECK(mib[1] < mib[0], "the plan did not shrink: %.3f MiB with the flag, %.3f without", mib[1], mib[0]);
}

TEST_MAIN("grad_checkpointing", T(a_linear_probe_and_a_training_device_refuse_grad_checkpointing), T(public_train_steps_are_the_same_with_grad_checkpointing),
          T(viclip_train_prints_the_planned_activations_with_and_without_the_flag), T(recomputed_activations_give_the_same_loss_and_gradients_bit_for_bit),
          T(mae_step_gradients_are_the_same_with_checkpointing), T(umt_step_gradients_are_the_same_with_checkpointing),
          T(training_runs_equal_with_and_without_checkpointing_and_resume_either_way))
