#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/train_print.h"

static void print_progress(const struct viclip_run_progress *p, void *user) {
    char eta[32];
    cli_format_duration(p->eta_s, eta, sizeof eta);
    printf("step %6lld/%lld | %s loss %.4f | lr %.2e | |g| %.3f | %7.1f clips/s | eta %s\n", (long long)p->step,
           (long long)p->steps, (const char *)user, p->loss, p->lr, p->grad_norm, p->samples_per_s, eta);
    fflush(stdout);
}

int cmd_pretrain(int argc, char **argv) {
    struct viclip_pretrain_params p = viclip_pretrain_default_params();
    const char *model_config = "demo", *vocab = NULL;
    int threads = 0, no_augment = 0;
    p.objective = "mae", p.umt_loss = "cosine", p.umt_masking = "semantic", p.train.sampling = "rand";
    const arg_spec specs[] = {
        {0, "train-data", ARG_STR, &p.train.train_data, "FILE", "clips (JSONL or CSV annotations; captions unused)"},
        {'j', "workers", ARG_INT, &p.train.workers, "N", "decoding threads streaming clips (0: decode each clip once, keep in memory)"},
        {0, "sampling", ARG_STR, &p.train.sampling, "MODE", "frame sampling when streaming: rand, middle or demo"},
        {0, "no-augment", ARG_FLAG, &no_augment, NULL, "no RandomResizedCrop + flip when streaming"},
        {'o', "out", ARG_STR, &p.train.out_dir, "DIR", "output folder: model.safetensors (pretrained video tower), train_log.jsonl, loss.svg"},
        {0, "objective", ARG_STR, &p.objective, "NAME", "mae: VideoMAE (tube masking, pixel decoder, loss on hidden patches); umt: Unmasked Teacher"},
        {'m', "model-config", ARG_STR, &model_config, "NAME", "architecture when starting from scratch: tiny, demo, b16, l14"},
        {0, "init", ARG_STR, &p.train.init_model, "FILE", "start from this model file instead of a random init"},
        {0, "mask-ratio", ARG_DOUBLE, &p.mask_ratio, "X", "fraction of each frame's patches hidden, the same in every frame"},
        {0, "decoder-width", ARG_INT, &p.decoder_width, "N", "MAE decoder width"},
        {0, "decoder-depth", ARG_INT, &p.decoder_depth, "N", "MAE decoder blocks"},
        {0, "decoder-heads", ARG_INT, &p.decoder_heads, "N", "MAE decoder attention heads"},
        {0, "teacher", ARG_STR, &p.teacher, "FILE", "UMT: frozen teacher (viclip or imported image-CLIP model file), run frame by frame"},
        {0, "umt-loss", ARG_STR, &p.umt_loss, "NAME", "UMT alignment of projected visible tokens to the teacher's: cosine or mse"},
        {0, "umt-masking", ARG_STR, &p.umt_masking, "NAME", "UMT: semantic (keep the patches the teacher attends to most) or random"},
        {'b', "batch-size", ARG_INT, &p.train.batch_size, "N", "clips per step"},
        {'s', "steps", ARG_I64, &p.train.steps, "N", "optimizer steps"},
        {0, "warmup", ARG_I64, &p.train.warmup, "N", "linear warmup steps"},
        {0, "lr", ARG_DOUBLE, &p.train.lr, "X", "peak learning rate"},
        {0, "min-lr", ARG_DOUBLE, &p.train.min_lr, "X", "cosine schedule floor"},
        {0, "wd", ARG_DOUBLE, &p.train.weight_decay, "X", "AdamW weight decay (matrices only)"},
        {0, "beta1", ARG_DOUBLE, &p.train.beta1, "X", "AdamW beta1"},
        {0, "beta2", ARG_DOUBLE, &p.train.beta2, "X", "AdamW beta2"},
        {0, "grad-clip-norm", ARG_DOUBLE, &p.train.grad_clip_norm, "X", "clip the global gradient norm (0: off)"},
        {0, "temporal-init-std", ARG_DOUBLE, &p.train.temporal_init_std, "X", "random init only: std of the temporal embedding"},
        {0, "seed", ARG_U64, &p.train.seed, "N", "seed of the init, data order and masks"},
        {0, "log-every", ARG_INT, &p.train.progress_every, "N", "print progress every N steps"},
        {0, "vocab", ARG_STR, &vocab, "FILE", "CLIP BPE vocabulary (the data set reader tokenises captions)"},
        CLI_THREADS_SPEC(threads),
        {0, "grad-checkpointing", ARG_FLAG, &p.train.grad_checkpointing, NULL, CLI_GRAD_CHECKPOINTING_HELP " (the tower's and the MAE decoder's blocks)"},
    };
    int rc = args_parse("usage: viclip pretrain --train-data FILE --out DIR [--objective mae|umt [--teacher FILE]] [options]\n\n"
                        "Vision-first pretraining of the video tower without text. Writes a whole model file\n"
                        "(the text tower as initialised) for `viclip train --init-vision` or `--init`.",
                        specs, (int)(sizeof specs / sizeof specs[0]), argc, argv, 2, NULL);
    if (rc) return rc > 0 ? 0 : 2;
    viclip_error err;
    enum viclip_sampling smode;
    if (viclip_sampling_from_name(p.train.sampling, &smode, &err)) {
        cli_error("pretrain", err.msg);
        return 2;
    }
    if (strcmp(p.umt_loss, "cosine") && strcmp(p.umt_loss, "mse")) {
        cli_error("pretrain", "--umt-loss: expected cosine or mse");
        return 2;
    }
    if (strcmp(p.umt_masking, "semantic") && strcmp(p.umt_masking, "random")) {
        cli_error("pretrain", "--umt-masking: expected semantic or random");
        return 2;
    }
    /* the objective's name, then the architecture of a new model */
    if (viclip_pretrain_check(&p, &err) || (!p.train.init_model && viclip_config_preset(model_config, &p.train.config, &err))) {
        cli_error("pretrain", err.msg);
        return 2;
    }
    cli_set_threads(threads);
    viclip_tokenizer *tok = viclip_tokenizer_load(vocab, &err);
    if (!tok) {
        cli_error("tokenizer", err.msg);
        return 1;
    }
    p.train.tokenizer = tok;
    p.train.cb = (struct viclip_run_callbacks){.on_progress = print_progress, .on_warning = cli_print_warning,
                                               .user = (void *)p.objective};
    p.train.augment = !no_augment;
    struct viclip_run_summary sum;
    rc = viclip_pretrain(&p, &sum, &err);
    viclip_tokenizer_free(tok);
    if (rc) {
        cli_error("pretrain", err.msg);
        return 1;
    }
    cli_print_train_summary(&sum, stdout);
    printf("wrote %s/model.safetensors, %s/train_log.jsonl and %s/loss.svg\n", p.train.out_dir, p.train.out_dir, p.train.out_dir);
    return 0;
}
