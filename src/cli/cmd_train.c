#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/train_resume.h"
#include "cli/train_print.h"

/* The one piece of process state: which signal asked training to stop (0: none). The first
 * SIGINT/SIGTERM lets the current step finish and a checkpoint be written; a second one ends
 * the process at once with the default action. Only async-signal-safe calls in the handler. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) {
    if (stop_signal) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
}

static void install_stop_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART; /* decoding and file I/O carry on through the first signal */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cmd_train(int argc, char **argv) {
    struct viclip_train_run_params p = viclip_train_run_default_params();
    const char *model_config = NULL, *vocab = NULL, *balance = "off";
    p.positives = "caption", p.sampling = "rand", p.format = "auto", p.align = "global", p.align_weights = NULL;
    int threads = 0, lock_text = 0, no_augment = 0, raw_captions = 0, full_loss = 0;
    double dist_timeout = 300;
    p.workers = 2;
    /* architecture overrides on top of --model-config (0: keep the preset's value) */
    struct viclip_config over = {0};
    const char *precision = NULL, *device = NULL;
    const arg_spec specs[] = {
        {0, "train-data", ARG_STR, &p.train_data, "FILE", "training annotations (JSONL or CSV: video, caption[, start, end])"},
        {'j', "workers", ARG_INT, &p.workers, "N", "decoding threads streaming clips ahead of the model (0: decode each clip once, keep in memory)"},
        CLI_ANNOTATION_SPECS(p.format, p),
        {0, "prefetch", ARG_INT, &p.prefetch, "N", "batches decoded ahead"},
        {0, "sampling", ARG_STR, &p.sampling, "MODE", "frame sampling when streaming: rand (ViCLIP training), middle or demo"},
        {0, "no-augment", ARG_FLAG, &no_augment, NULL, "no RandomResizedCrop + flip when streaming (e.g. direction-labelled data)"},
        {0, "raw-captions", ARG_FLAG, &raw_captions, NULL, "tokenise captions as written (default: ViCLIP's cleaning)"},
        {'o', "out", ARG_STR, &p.out_dir, "DIR", "output folder (model, checkpoint, log, loss curve)"},
        {'m', "model-config", ARG_STR, &model_config, "NAME", "architecture when training from scratch: tiny, demo, b16, l14 (default: demo)"},
        {0, "image-size", ARG_INT, &over.image_size, "N", "override: input resolution"},
        {0, "patch-size", ARG_INT, &over.patch_size, "N", "override: patch size"},
        {0, "frames", ARG_INT, &over.num_frames, "N", "override: frames per clip"},
        {0, "vision-width", ARG_INT, &over.vision_width, "N", "override: video tower width"},
        {0, "vision-layers", ARG_INT, &over.vision_layers, "N", "override: video tower layers"},
        {0, "vision-heads", ARG_INT, &over.vision_heads, "N", "override: video tower heads"},
        {0, "text-width", ARG_INT, &over.text_width, "N", "override: text tower width"},
        {0, "text-layers", ARG_INT, &over.text_layers, "N", "override: text tower layers"},
        {0, "text-heads", ARG_INT, &over.text_heads, "N", "override: text tower heads"},
        {0, "context-length", ARG_INT, &over.context_length, "N", "override: text context"},
        {0, "embed-dim", ARG_INT, &over.embed_dim, "N", "override: embedding size"},
        {0, "init", ARG_STR, &p.init_model, "FILE", "start from this model file instead of a random init"},
        {0, "init-vision", ARG_STR, &p.init_vision, "FILE", "the video tower from this file (viclip model, checkpoint or CLIP; its video config wins)"},
        {0, "init-text", ARG_STR, &p.init_text, "FILE|random", "the text tower from this file (viclip model or CLIP, imported as convert does), or random"},
        {0, "resume", ARG_STR, &p.resume, "FILE", "resume from this training checkpoint"},
        {'b', "batch-size", ARG_INT, &p.batch_size, "N", "clips per micro-batch"},
        {0, "accum-freq", ARG_INT, &p.accum_freq, "N", "micro-batches per optimizer step; negatives come from all of them (as open_clip)"},
        {'s', "steps", ARG_I64, &p.steps, "N", "optimizer steps"},
        {0, "warmup", ARG_I64, &p.warmup, "N", "linear warmup steps"},
        {0, "lr", ARG_DOUBLE, &p.lr, "X", "peak learning rate"},
        {0, "min-lr", ARG_DOUBLE, &p.min_lr, "X", "cosine schedule floor"},
        {0, "wd", ARG_DOUBLE, &p.weight_decay, "X", "AdamW weight decay (matrices only)"},
        {0, "beta1", ARG_DOUBLE, &p.beta1, "X", "AdamW beta1"},
        {0, "beta2", ARG_DOUBLE, &p.beta2, "X", "AdamW beta2"},
        {0, "eps", ARG_DOUBLE, &p.eps, "X", "AdamW epsilon"},
        {0, "grad-clip-norm", ARG_DOUBLE, &p.grad_clip_norm, "X", "clip the global gradient norm (0: off)"},
        {0, "mask-ratio", ARG_DOUBLE, &p.mask_ratio, "X", "fraction of patch tokens dropped while masked"},
        {0, "unmasked-steps", ARG_I64, &p.unmasked_steps, "N", "final steps trained without masking"},
        {0, "drop-path", ARG_DOUBLE, &p.drop_path, "X", "max drop-path rate of the video tower"},
        {0, "lr-mult-vision", ARG_DOUBLE, &p.lr_mult_vision, "X", "learning-rate multiplier of the video tower"},
        {0, "lr-mult-text", ARG_DOUBLE, &p.lr_mult_text, "X", "learning-rate multiplier of the text tower"},
        {0, "balance", ARG_STR, &balance, "MODE", "off, or auto: adapt both multipliers so the towers' update/weight ratios stay at --balance-target"},
        {0, "balance-target", ARG_DOUBLE, &p.balance_target, "X", "target (update/weight of text) / (update/weight of video) for --balance auto"},
        {0, "new-branch-warmup", ARG_I64, &p.new_branch_warmup, "N", "hold a pretrained tower for N steps while a randomly initialised one trains, then ramp it up over --warmup"},
        {0, "lock-text", ARG_FLAG, &lock_text, NULL, "freeze the text tower (ViCLIP's setting; alias --freeze-text)"},
        {0, "freeze-text", ARG_FLAG, &p.freeze_text, NULL, "freeze the text tower"},
        CLI_ALIGN_SPECS(p.align, p.align_weights),
        {0, "positives", ARG_STR, &p.positives, "RULE", "clips that are positives of each other: caption, video or label"},
        {0, "temp-init", ARG_DOUBLE, &p.temp_init, "X", "initial temperature (random init only)"},
        {0, "temporal-init-std", ARG_DOUBLE, &p.temporal_init_std, "X", "random init only: std of the temporal embedding (0: zero, as ViCLIP inflating CLIP; from scratch 0.5 learns frame order)"},
        {0, "temp-min", ARG_DOUBLE, &p.temp_min, "X", "temperature floor"},
        {0, "seed", ARG_U64, &p.seed, "N", "seed of the init, data order, masks and drop-path"},
        {0, "save-every", ARG_I64, &p.save_every, "N", "write a checkpoint every N steps (0: at the end)"},
        {0, "stop-after", ARG_I64, &p.stop_after, "N", "stop after step N with a checkpoint (for resuming later)"},
        {0, "log-every", ARG_INT, &p.progress_every, "N", "print progress every N steps"},
        {0, "vocab", ARG_STR, &vocab, "FILE", "CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt.gz)"},
        {'t', "threads", ARG_INT, &threads, "N", "threads per process (default: the cores, shared by the ranks on a node)"},
        {0, "precision", ARG_STR, &precision, "P", CLI_PRECISION_HELP},
        {0, "grad-checkpointing", ARG_FLAG, &p.grad_checkpointing, NULL, CLI_GRAD_CHECKPOINTING_HELP},
        {'d', "device", ARG_STR, &device, "D", CLI_TRAIN_DEVICE_HELP},
        {0, "full-loss", ARG_FLAG, &full_loss, NULL, "under mpirun: every rank computes the whole global-batch loss (default: its own rows, as open_clip's --local-loss)"},
        {0, "dist-timeout", ARG_DOUBLE, &dist_timeout, "S", "under mpirun: a collective waiting longer fails, naming the ranks that do not answer"},
    };
    const int n_specs = (int)(sizeof specs / sizeof specs[0]);
    int rc = args_parse("usage: viclip train --train-data FILE --out DIR [options]\n"
                        "       mpirun -np N viclip train ...   (data-parallel: --batch-size clips per rank)\n\n"
                        "SIGINT/SIGTERM: the current step finishes, a checkpoint is written, exit 130/143; a second\n"
                        "signal ends it at once. --resume continues a checkpoint: its architecture, seed and the\n"
                        "settings that change what a step computes (--batch-size --accum-freq --mask-ratio\n"
                        "--unmasked-steps --drop-path --beta1 --beta2 --eps --temp-min --positives --raw-captions\n"
                        "--lock-text/--freeze-text --align --align-weights, preloaded or streamed clips and,\n"
                        "streamed, --sampling --no-augment) are the checkpoint's: left out they are taken from it,\n"
                        "contradicted they are refused. These may change on resume: --steps --lr --min-lr --warmup\n"
                        "--wd --grad-clip-norm --lr-mult-vision --lr-mult-text (left out, also the checkpoint's, so the\n"
                        "schedule goes on as started) and --workers N>0 --prefetch --save-every --stop-after\n"
                        "--log-every --threads --train-data --out --vocab --grad-checkpointing (it changes memory,\n"
                        "not the steps). The log is cut back to the checkpoint's step.",
                        specs, n_specs, argc, argv, 2, NULL);
    if (rc) return rc > 0 ? 0 : 2;
    viclip_error err;
    viclip_checkpoint *train_args = NULL; /* a resumed checkpoint's settings; string flags may point into it */
    viclip_tokenizer *tok = NULL;
    viclip_dist *dist = NULL;
    /* the ranks first: a resumed checkpoint's global batch is shared by them */
    if (!(dist = viclip_dist_init(&argc, &argv, dist_timeout, &err))) {
        cli_error("train", err.msg);
        return 1;
    }
    const int rank = viclip_dist_rank(dist);
    rc = 2;
    const cli_flags flags = {specs, n_specs, argc, 2, argv, viclip_dist_size(dist)};
    if (p.resume || p.init_model) {
        if (cli_train_reconcile(&flags, p.resume ? p.resume : p.init_model, p.resume != NULL, &train_args, &err)) goto fail;
    } else if (p.init_vision && cli_flag_given(&flags, "temporal-init-std")) {
        /* as with --init and --resume (cli_train_reconcile): the file's tower brings its temporal embedding */
        fprintf(stderr, "viclip train: error: --temporal-init-std applies to a random video tower, not to --init-vision %s "
                        "(its temporal embedding is the file's)\n", p.init_vision);
        goto fail_quiet;
    }
    p.freeze_text |= lock_text;
    if (strcmp(balance, "off") && strcmp(balance, "auto")) {
        fprintf(stderr, "viclip train: error: --balance '%s': expected off or auto\n", balance);
        return 2;
    }
    p.balance = !strcmp(balance, "auto");
    p.augment = !no_augment;
    p.clean_captions = !raw_captions;
    if (!p.init_model && !p.resume && viclip_config_preset(model_config ? model_config : "demo", &p.config, &err)) goto fail;
#define OVERRIDE(f) if (over.f > 0) p.config.f = over.f;
    OVERRIDE(image_size) OVERRIDE(patch_size) OVERRIDE(num_frames) OVERRIDE(vision_width)
    OVERRIDE(vision_layers) OVERRIDE(vision_heads) OVERRIDE(text_width) OVERRIDE(text_layers)
    OVERRIDE(text_heads) OVERRIDE(context_length) OVERRIDE(embed_dim)
#undef OVERRIDE
    /* names (sampling, positives, format, alignment) and the architecture */
    if (viclip_train_run_check(&p, &err)) goto fail;
    if (cli_prepare_train_outputs(&p, vocab)) goto fail_quiet;
    if (cli_check_precision(precision, "train") || cli_training_device(device, "train")) goto fail_quiet;
    p.precision = precision;
    p.device = device;
    rc = 1;
    /* ranks sharing a node share its cores */
    if (threads <= 0 && viclip_dist_local_size(dist) > 1) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores / viclip_dist_local_size(dist) > 0 ? (int)(cores / viclip_dist_local_size(dist)) : 1;
    }
    cli_set_threads(threads);
    if (!(tok = viclip_tokenizer_load(vocab, &err))) {
        cli_error("tokenizer", err.msg);
        goto out;
    }
    p.tokenizer = tok;
    p.dist = dist;
    p.local_loss = !full_loss;
    p.cb = (struct viclip_run_callbacks){.on_progress = cli_print_train_progress, .on_warning = cli_print_warning,
                                         .user = "train", .on_start = cli_print_train_start};
    p.stop_requested = &stop_signal;
    install_stop_handlers();
    struct viclip_run_summary sum;
    const int failed = viclip_train_run(&p, &sum, &err);
    if (rank == 0) cli_print_train_summary(&sum, stdout);
    if (failed) goto fail;
    if (sum.stopped) {
        /* every rank stops after the same step; one that got no signal itself reports SIGTERM */
        const int sig = stop_signal ? stop_signal : SIGTERM;
        if (rank == 0)
            printf("stopped by %s after step %lld: wrote %s/checkpoint.safetensors and %s/train_log.jsonl (resume with --resume)\n",
                   sig == SIGINT ? "SIGINT" : "SIGTERM", (long long)sum.last_step, p.out_dir, p.out_dir);
        rc = 128 + sig;
        goto out;
    }
    if (rank == 0)
        printf("wrote %s/%s, %s/train_log.jsonl and %s/loss.svg\n", p.out_dir,
           p.stop_after > 0 && p.stop_after < p.steps ? "checkpoint.safetensors" : "model.safetensors", p.out_dir, p.out_dir);
    rc = 0;
    goto out;
fail:
    cli_error("train", err.msg);
    goto out;
fail_quiet: /* the helper printed its error */
    rc = 2;
out:
    if (dist) {
        if (rc && rc < 128) viclip_dist_abort(dist, rc); /* ends the other ranks of an MPI run */
        viclip_dist_free(dist);
    }
    viclip_tokenizer_free(tok);
    viclip_checkpoint_close(train_args);
    return rc;
}
