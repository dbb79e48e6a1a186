/* Helpers over the internals for the commands not yet ported to the public API. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "eval/encode_videos.h"
#include "model/align.h"
#include "model/model_io.h"
#include "model/model_open.h"
#include "io/fs.h"
#include "io/annotations.h"

#include "cli/commands.h"
#include "train/trainer.h"

int cli_prepare_train_outputs(const vc_train_params *p, const char *vocab) {
    static const char *const names[] = {"model.safetensors", "train_log.jsonl", "loss.svg", "checkpoint.safetensors"};
    enum { N = sizeof names / sizeof names[0] };
    char paths[N][4200];
    const char *outs[N];
    for (int i = 0; i < N; i++) snprintf(paths[i], sizeof paths[i], "%s/%s", p->out_dir, names[i]), outs[i] = paths[i];
    /* --resume DIR/checkpoint.safetensors --out DIR continues a run: its checkpoint (read whole
     * before it is replaced atomically) is the one input a run may overwrite */
    const char *ins[] = {p->train_annotations, p->init_model, vocab, p->resume};
    return p->out_dir ? cli_prepare_outputs("train", outs, N - 1, ins, 4) ||
                            cli_prepare_outputs("train", outs + N - 1, 1, ins, 3)
                      : 0;
}

int cli_precision(const char *name, vc_precision *p, const char *what) {
    if (!name) {
        *p = vc_default_precision();
        return 0;
    }
    if (vc_precision_from_name(name, p)) {
        char msg[256];
        snprintf(msg, sizeof msg, "--precision %s: expected fp32 or bf16", name);
        cli_error(what, msg);
        return -1;
    }
    return 0;
}

vc_model *cli_load_model(const char *path, const char *precision, const char *what) {
    vc_precision prec;
    if (cli_precision(precision, &prec, what)) return NULL;
    vc_error err;
    vc_model_source src;
    vc_model *m = vc_model_open(path, NULL, &src, &err); /* any checkpoint format, training checkpoints too */
    if (!m) cli_error(what, err.msg);
    if (m) vc_model_set_precision(m, prec);
    if (m && src.imported) {
        char line[1024];
        vc_model_source_describe(path, &src, line, sizeof line);
        fprintf(stderr, "viclip %s: %s\n", what, line);
    }
    return m;
}

int cli_align_options(const char *cmd, const char *levels, const char *weights, vc_train_params *p) {
    vc_align_weights w;
    vc_error err;
    if (vc_align_weights_parse(levels, weights, &w, &err)) {
        cli_error(cmd, err.msg);
        return -1;
    }
    p->align_global = w.global, p->align_frame = w.frame;
    return 0;
}

vc_tokenizer *cli_load_tokenizer(const char *path) {
    vc_error err;
    char found[4096];
    if (!path) {
        if (vc_tokenizer_find_vocab(found, sizeof found, &err)) {
            cli_error("tokenizer", err.msg);
            return NULL;
        }
        path = found;
    }
    vc_tokenizer *t = vc_tokenizer_load(path, &err);
    if (!t) cli_error("tokenizer", err.msg);
    return t;
}

void cli_print_train_progress(const vc_train_progress *p, void *user) {
    (void)user;
    char eta[32];
    cli_format_duration(p->eta_s, eta, sizeof eta);
    char wait[48] = "";
    if (p->data_wait_s > 0 && p->elapsed_s > 0) snprintf(wait, sizeof wait, " | data wait %.0f%%", 100 * p->data_wait_s / p->elapsed_s);
    printf("step %6lld/%lld | loss %.4f | lr %.2e | temp %.4f | |g| %.3f | %7.1f clips/s | eta %s%s%s\n",
           (long long)p->step, (long long)p->steps, p->loss, p->lr, p->temp, p->grad_norm,
           p->samples_per_s, eta, wait, p->masked ? "" : " | unmasked");
    fflush(stdout);
}

void cli_print_train_summary(const vc_train_summary *s, FILE *f) {
    const int64_t steps = s->last_step - s->first_step;
    if (steps <= 0) return;
    char took[32];
    cli_format_duration(s->elapsed_s, took, sizeof took);
    fprintf(f, "summary: steps %lld-%lld in %s | final loss %.4f | %d clips, %d unreadable%s | waited for decoding %.1f s (%.1f%%)\n",
            (long long)s->first_step + 1, (long long)s->last_step, took, s->final_loss, s->n_clips, s->n_skipped,
            s->n_skipped ? " (left out or replaced, see the warnings)" : "", s->data_wait_s,
            s->elapsed_s > 0 ? 100 * s->data_wait_s / s->elapsed_s : 0.0);
    if (s->ranks > 1)
        fprintf(f, "communication (%d ranks): waited %.2f s (%.1f%% of the run), gradient all-reduce ran %.2f s "
                   "(overlapped with the backward where the wait is shorter)\n",
                s->ranks, s->comm_wait_s, s->elapsed_s > 0 ? 100 * s->comm_wait_s / s->elapsed_s : 0.0, s->comm_busy_s);
}

typedef struct {
    const char *what;
    cli_progress bar;
} encode_ctx;

static void warn_unreadable(int item, const char *msg, void *user) {
    const encode_ctx *c = user;
    if (c->bar.tty) fprintf(stderr, "\n");
    fprintf(stderr, "viclip %s: warning: skipping %s\n", c->what, msg); /* msg names the file */
}

static void encode_progress(int done, int total, void *user) { cli_progress_update(done, total, &((encode_ctx *)user)->bar); }

int cli_parse_clip_flags(const char *what, const char *sampling, const char *interp, vc_clip_opts *o) {
    vc_error err;
    if (vc_sampling_parse(sampling, &o->sampling, &err) || vc_interp_parse(interp, &o->interp, &err)) {
        cli_error(what, err.msg);
        return 2;
    }
    return 0;
}

int cli_parse_annotation_format(const char *what, const char *format, vc_annotation_opts *o) {
    vc_error err;
    if (vc_annotation_format_parse(format, &o->format, &err)) {
        cli_error(what, err.msg);
        return 2;
    }
    return 0;
}

int cli_encode_videos(const char *what, vc_model *m, const vc_loader_item *items, int n, int workers,
                      const vc_clip_opts *clip, float *emb, unsigned char *ok, int *n_ok) {
    encode_ctx c = {what, cli_progress_begin("encoding")};
    vc_video_encode_params p = vc_video_encode_default_params();
    if (clip) p.clip = *clip;
    if (workers > 0) p.workers = workers;
    p.on_failure = warn_unreadable, p.on_progress = encode_progress, p.user = &c;
    vc_error err;
    if (vc_encode_videos(m, items, n, &p, emb, ok, n_ok, &err)) {
        cli_error(what, err.msg);
        return 1;
    }
    if (n_ok && *n_ok == 0) {
        cli_error(what, "none of the videos could be read");
        return 1;
    }
    return 0;
}
