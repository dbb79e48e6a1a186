/* viclip finetune: a classifier from a ViCLIP model (train/finetune.h), then, with
 * --eval-data, its top-1 / top-5 under the test-time views. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/train_print.h"

int cmd_finetune(int argc, char **argv) {
    struct viclip_finetune_params p = viclip_finetune_default_params();
    const char *vocab = NULL, *eval_data = NULL;
    p.head_init = "zeroshot", p.sampling = "rand";
    int threads = 0, no_augment = 0, raw_captions = 0, test_clips = 1, test_crops = 1;
    const arg_spec specs[] = {
        {0, "init", ARG_STR, &p.init_model, "FILE", "the ViCLIP model to fine-tune"},
        {0, "train-data", ARG_STR, &p.train_data, "FILE", "training clips with a 'label' (or the class as caption)"},
        {'l', "labels", ARG_STR, &p.labels, "FILE", "class names, one per line: the head's outputs"},
        {'o', "out", ARG_STR, &p.out_dir, "DIR", "output folder (model.safetensors with head and classes, log, loss curve)"},
        {0, "head-init", ARG_STR, &p.head_init, "HOW", "zeroshot (the class prompts' text embeddings) or random"},
        {0, "templates", ARG_STR, &p.templates, "FILE", "prompt templates for the zero-shot head (default: ViCLIP's 16)"},
        {0, "linear-probe", ARG_FLAG, &p.linear_probe, NULL, "freeze the video tower: train the head only"},
        {0, "grad-checkpointing", ARG_FLAG, &p.grad_checkpointing, NULL, CLI_GRAD_CHECKPOINTING_HELP " (not with --linear-probe)"},
        {'b', "batch-size", ARG_INT, &p.batch_size, "N", "clips per step"},
        {'s', "steps", ARG_I64, &p.steps, "N", "optimizer steps"},
        {0, "warmup", ARG_I64, &p.warmup, "N", "linear warmup steps"},
        {0, "lr", ARG_DOUBLE, &p.lr, "X", "peak learning rate (the head's; lower layers get layer-decayed rates)"},
        {0, "min-lr", ARG_DOUBLE, &p.min_lr, "X", "cosine schedule floor"},
        {0, "wd", ARG_DOUBLE, &p.weight_decay, "X", "AdamW weight decay (matrices only)"},
        {0, "layer-decay", ARG_DOUBLE, &p.layer_decay, "X", "layer-wise lr decay: layer l of L gets X^(L+1-l) (1: off)"},
        {0, "drop-path", ARG_DOUBLE, &p.drop_path, "X", "max drop-path rate of the video tower"},
        {0, "smoothing", ARG_DOUBLE, &p.label_smoothing, "X", "label smoothing of the cross-entropy"},
        {0, "mixup", ARG_DOUBLE, &p.mixup_alpha, "ALPHA", "mixup with Beta(ALPHA, ALPHA) weights (0: off; UMT uses 0.8)"},
        {0, "mixup-prob", ARG_DOUBLE, &p.mixup_prob, "P", "share of steps mixed"},
        {0, "grad-clip-norm", ARG_DOUBLE, &p.grad_clip_norm, "X", "clip the global gradient norm (0: off)"},
        {'j', "workers", ARG_INT, &p.workers, "N", "decoding threads streaming clips (0: decode each clip once, keep in memory)"},
        {0, "sampling", ARG_STR, &p.sampling, "MODE", "frame sampling when streaming: rand, middle or demo"},
        {0, "no-augment", ARG_FLAG, &no_augment, NULL, "no RandomResizedCrop + flip when streaming"},
        {0, "raw-captions", ARG_FLAG, &raw_captions, NULL, "tokenise prompts as written"},
        {0, "eval-data", ARG_STR, &eval_data, "FILE", "after training, classify these clips: top-1 / top-5"},
        {0, "test-clips", ARG_INT, &test_clips, "K", "test-time temporal views per clip (scores averaged)"},
        {0, "test-crops", ARG_INT, &test_crops, "N", "test-time spatial crops per view: 1 (whole frame) or 3"},
        {0, "seed", ARG_U64, &p.seed, "N", "seed of the head init, data order, mixup and drop-path"},
        {0, "log-every", ARG_INT, &p.progress_every, "N", "print progress every N steps"},
        CLI_VOCAB_SPEC(vocab),
        CLI_THREADS_SPEC(threads),
    };
    int rc = args_parse("usage: viclip finetune --init MODEL --train-data FILE --labels FILE --out DIR [options]\n\n"
                        "Fine-tunes the video tower and a linear classification head (cross-entropy with label\n"
                        "smoothing, layer-wise lr decay, drop-path, optional mixup), or trains the head alone\n"
                        "(--linear-probe). The output model records its class names; evaluate it with\n"
                        "`viclip eval classify --model DIR/model.safetensors --annotations FILE`.",
                        specs, (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, NULL);
    if (rc) return rc > 0 ? 0 : 2;
    viclip_error err;
    if (strcmp(p.head_init, "zeroshot") && strcmp(p.head_init, "random")) {
        snprintf(err.msg, sizeof err.msg, "--head-init '%s': expected zeroshot or random", p.head_init);
        cli_error("finetune", err.msg);
        return 2;
    }
    enum viclip_sampling smode;
    if (viclip_sampling_from_name(p.sampling, &smode, &err)) {
        cli_error("finetune", err.msg);
        return 2;
    }
    p.augment = !no_augment;
    p.clean_captions = !raw_captions;
    cli_set_threads(threads);
    viclip_tokenizer *tok = viclip_tokenizer_load(vocab, &err);
    if (!tok) {
        cli_error("tokenizer", err.msg);
        return 1;
    }
    p.tokenizer = tok;
    p.cb = (struct viclip_run_callbacks){.on_progress = cli_print_train_progress, .on_warning = cli_print_warning,
                                         .user = "finetune", .on_start = cli_print_train_start};
    struct viclip_run_summary sum;
    rc = viclip_finetune(&p, &sum, &err);
    viclip_tokenizer_free(tok);
    cli_print_train_summary(&sum, stdout);
    if (rc) {
        cli_error("finetune", err.msg);
        return 1;
    }
    printf("wrote %s/model.safetensors, %s/train_log.jsonl and %s/loss.svg\n", p.out_dir, p.out_dir, p.out_dir);
    if (!eval_data) return 0;
    char model[4200];
    snprintf(model, sizeof model, "%s/model.safetensors", p.out_dir);
    struct viclip_head_eval_params hp = viclip_head_eval_default_params();
    hp.annotations = eval_data, hp.clips = test_clips, hp.crops = test_crops;
    hp.on_warning = cli_print_warning, hp.user = "finetune";
    struct viclip_head_metrics r;
    if (viclip_evaluate_head(model, &hp, &r, &err)) {
        cli_error("finetune", err.msg);
        return 1;
    }
    printf("head         top-1 %5.1f  top-5 %5.1f  (%d clips, %d classes, %d x %d views, %d unreadable)\n",
           100 * r.top1, 100 * r.top5, r.n_clips, r.n_classes, test_clips, test_crops, r.n_skipped);
    return 0;
}
