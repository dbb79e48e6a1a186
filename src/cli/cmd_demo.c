/* The main job on an embedded default: synthetic data -> training from scratch -> evaluation
 * with and without temporal order -> a table and one JSON line. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/train_print.h"

/* frames: 0 as recorded, 1 shuffled, 2 the middle frame repeated */
static int evaluate(const char *model_path, const char *data, const char *vocab, int frames, struct viclip_eval_result *r) {
    char ann[4200], labels[4200], heldout[4200], templates[4200];
    snprintf(ann, sizeof ann, "%s/eval.jsonl", data);
    snprintf(labels, sizeof labels, "%s/classes.txt", data);
    snprintf(heldout, sizeof heldout, "%s/heldout.jsonl", data);
    snprintf(templates, sizeof templates, "%s/templates.txt", data);
    viclip_error err;
    struct viclip_context_params cp = viclip_context_default_params();
    cp.vocab_path = vocab;
    viclip_context *m = viclip_init_from_file(model_path, cp, &err); /* fp32, as it was trained */
    if (!m) {
        cli_error("demo", err.msg);
        return -1;
    }
    struct viclip_eval_params p = viclip_eval_default_params();
    p.annotations = ann;
    p.labels = labels;
    p.zeroshot_annotations = heldout;
    p.templates = templates;
    p.shuffle_frames = frames == 1;
    p.single_frame = frames == 2;
    int rc = viclip_evaluate(m, &p, r, &err);
    if (rc) cli_error("demo", err.msg);
    viclip_free(m);
    return rc;
}

int cmd_demo(int argc, char **argv) {
    const char *out = "runs/demo", *vocab = NULL, *device = NULL, *precision = "fp32";
    int threads = 0;
    struct viclip_synth_params sp = viclip_synth_default_params();
    struct viclip_train_run_params tp = viclip_train_run_default_params();
    viclip_error err;
    if (viclip_config_preset("demo", &tp.config, &err)) return cli_error("demo", err.msg), 1;
    tp.batch_size = 48;
    tp.steps = 800;
    tp.warmup = 50;
    tp.lr = 1e-3;
    tp.min_lr = 1e-5;
    tp.weight_decay = 0.05;
    tp.mask_ratio = 0.5;
    tp.unmasked_steps = 100;
    tp.drop_path = 0.05;
    tp.temp_init = 0.07;
    /* clips of the same attribute combination are positives, whatever the caption's wording */
    tp.positives = "label";
    /* From scratch (no image model to inflate) the frames must start distinguishable, and by
     * enough: with the temporal embedding comparable to the patch embeddings (std 0.5) the
     * model learns the order of the frames (left from right); at std 0.09 or 0.3 it settles on a
     * bag of frames that shuffling does not change (measurements in the README's demo section). */
    tp.temporal_init_std = 0.5;
    tp.seed = 0;
    tp.progress_every = 50;
    tp.precision = "fp32";
    const arg_spec specs[] = {
        {'o', "out", ARG_STR, &out, "DIR", "run folder (data/, model, log, loss curve)"},
        {'s', "steps", ARG_I64, &tp.steps, "N", "training steps"},
        {'b', "batch-size", ARG_INT, &tp.batch_size, "N", "clips per step"},
        {0, "lr", ARG_DOUBLE, &tp.lr, "X", "peak learning rate"},
        {0, "mask-ratio", ARG_DOUBLE, &tp.mask_ratio, "X", "patch-token masking ratio while masked"},
        {0, "unmasked-steps", ARG_I64, &tp.unmasked_steps, "N", "final unmasked steps"},
        {0, "temporal-init-std", ARG_DOUBLE, &tp.temporal_init_std, "X", "std of the initial temporal embedding (0: zero)"},
        {0, "lock-text", ARG_FLAG, &tp.freeze_text, NULL, "freeze the (randomly initialised) text tower"},
        {0, "drop-path", ARG_DOUBLE, &tp.drop_path, "X", "max drop-path rate"},
        CLI_ALIGN_SPECS(tp.align, tp.align_weights),
        {0, "n-train", ARG_INT, &sp.n_train, "N", "synthetic training clips"},
        {0, "seed", ARG_U64, &tp.seed, "N", "training seed"},
        {0, "init", ARG_STR, &tp.init_model, "FILE", "start from this model file instead of a random init (e.g. viclip pretrain's)"},
        CLI_VOCAB_SPEC(vocab),
        CLI_THREADS_SPEC(threads),
        {'d', "device", ARG_STR, &device, "D", CLI_TRAIN_DEVICE_HELP},
        {0, "precision", ARG_STR, &precision, "P", "fp32 or bf16 matrix products while training (default fp32; evaluation is fp32)"},
        {0, "grad-checkpointing", ARG_FLAG, &tp.grad_checkpointing, NULL, CLI_GRAD_CHECKPOINTING_HELP},
    };
    int rc = args_parse("usage: viclip demo [options]\n\nGenerates the synthetic moving-shapes set, trains a small ViCLIP from scratch,\n"
                        "evaluates retrieval and zero-shot classification on held-out clips and held-out\n"
                        "attribute combinations, with and without temporal order, and prints a table.",
                        specs, (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, NULL);
    if (rc) return rc > 0 ? 0 : 2;
    if (cli_training_device(device, "demo") || cli_check_precision(precision, "demo")) return 2;
    tp.device = device;
    tp.precision = precision;
    if (viclip_train_run_check(&tp, &err)) { /* --align, --align-weights */
        cli_error("demo", err.msg);
        return 2;
    }
    cli_set_threads(threads);
    const double t0 = cli_now_s();
    char data[4096], model[4096];
    snprintf(data, sizeof data, "%s/data", out);
    if (viclip_make_dirs(out, &err)) {
        cli_error("demo", err.msg);
        return 1;
    }
    viclip_tokenizer *tok = viclip_tokenizer_load(vocab, &err);
    if (!tok) {
        cli_error("tokenizer", err.msg);
        return 1;
    }
    printf("[1/3] writing the synthetic set to %s (%d training clips)\n", data, sp.n_train);
    fflush(stdout);
    if (viclip_synth_generate(data, &sp, &err)) {
        cli_error("demo", err.msg);
        viclip_tokenizer_free(tok);
        return 1;
    }
    char train_ann[4200];
    snprintf(train_ann, sizeof train_ann, "%s/train.jsonl", data);
    tp.train_data = train_ann;
    tp.out_dir = out;
    tp.tokenizer = tok;
    tp.cb = (struct viclip_run_callbacks){.on_progress = cli_print_train_progress};
    printf("[2/3] training ViCLIP (%s) %s: %lld steps of %d clips, %.0f%% patch masking then %lld unmasked steps\n",
           tp.init_model ? tp.init_model : "demo config", tp.init_model ? "from a model file" : "from scratch", (long long)tp.steps, tp.batch_size, 100 * tp.mask_ratio, (long long)tp.unmasked_steps);
    fflush(stdout);
    const double t_train = cli_now_s();
    if (viclip_train_run(&tp, NULL, &err)) {
        cli_error("demo", err.msg);
        viclip_tokenizer_free(tok);
        return 1;
    }
    viclip_tokenizer_free(tok);
    const double train_s = cli_now_s() - t_train;
    printf("[3/3] evaluating on held-out clips\n");
    fflush(stdout);
    snprintf(model, sizeof model, "%s/model.safetensors", out);
    struct viclip_eval_result r, shuf, base;
    if (evaluate(model, data, vocab, 0, &r) || evaluate(model, data, vocab, 1, &shuf) || evaluate(model, data, vocab, 2, &base))
        return 1;
    const double secs = cli_now_s() - t0;
    /* Two baselines: the same model fed the middle frame 8 times (no temporal information, what an
     * image model sees) and fed the clip's frames in a random order (no temporal order). */
    printf("\n%-36s %8s %14s %14s\n", "held-out metric (%)", "ViCLIP", "single frame", "shuffled");
#define ROW(name, f) printf("%-36s %8.1f %14.1f %14.1f\n", name, 100 * r.f, 100 * base.f, 100 * shuf.f)
    ROW("text->video R@1", t2v.r1);
    ROW("text->video R@5", t2v.r5);
    ROW("text->video R@10", t2v.r10);
    ROW("video->text R@1", v2t.r1);
    ROW("video->text R@5", v2t.r5);
    ROW("video->text R@10", v2t.r10);
    ROW("zero-shot top-1, unseen combinations", zeroshot_top1);
    ROW("zero-shot top-5, unseen combinations", zeroshot_top5);
#undef ROW
    printf("chance: retrieval R@1 %.1f%% (%d clips, one per combination), zero-shot top-1 %.1f%% (%d classes, %d clips)\n",
           100.0 / r.n_videos, r.n_videos, 100.0 / r.n_classes, r.n_classes, r.n_zeroshot_clips);
    printf("training %.0f s, total %.0f s; loss curve: %s/loss.svg, log: %s/train_log.jsonl\n\n", train_s,
           secs, out, out);
    printf("{\"t2v_r1\":%.4f,\"t2v_r5\":%.4f,\"t2v_r10\":%.4f,\"v2t_r1\":%.4f,\"v2t_r5\":%.4f,\"v2t_r10\":%.4f,"
           "\"t2v_median_rank\":%.1f,\"v2t_median_rank\":%.1f,\"zeroshot_top1\":%.4f,\"zeroshot_top5\":%.4f,"
           "\"baseline\":\"single_frame\",\"baseline_t2v_r1\":%.4f,\"baseline_v2t_r1\":%.4f,\"baseline_zeroshot_top1\":%.4f,"
           "\"shuffled_t2v_r1\":%.4f,\"shuffled_v2t_r1\":%.4f,\"shuffled_zeroshot_top1\":%.4f,"
           "\"n_eval_clips\":%d,\"n_zeroshot_clips\":%d,\"n_classes\":%d,\"train_seconds\":%.1f,\"seconds\":%.1f}\n",
           r.t2v.r1, r.t2v.r5, r.t2v.r10, r.v2t.r1, r.v2t.r5, r.v2t.r10, r.t2v.median_rank, r.v2t.median_rank,
           r.zeroshot_top1, r.zeroshot_top5, base.t2v.r1, base.v2t.r1, base.zeroshot_top1, shuf.t2v.r1, shuf.v2t.r1,
           shuf.zeroshot_top1, r.n_clips, r.n_zeroshot_clips, r.n_classes, train_s, secs);
    return 0;
}
