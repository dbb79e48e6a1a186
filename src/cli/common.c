#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "eval/encode_videos.h"
#include "model/model_io.h"
#include "io/strbuf.h"

#include "cli/commands.h"
#include "train/trainer.h"

void openblas_set_num_threads(int n);

void cli_set_threads(int threads) {
    if (threads <= 0) return;
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
}

void cli_error(const char *what, const char *msg) { fprintf(stderr, "viclip %s: error: %s\n", what, msg); }

vc_model *cli_load_model(const char *path, const char *what) {
    vc_error err;
    vc_model *m = vc_model_load(path, (const char *const[]){"optimizer.", "head.", NULL}, &err); /* checkpoints, fine-tuned classifiers */
    if (!m) cli_error(what, err.msg);
    return m;
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

void cli_format_duration(double s, char *buf, size_t cap) {
    if (s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, cap, "%lds", t);
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

void cli_print_warning(const char *msg, void *user) {
    fprintf(stderr, "viclip %s: warning: %s\n", user ? (const char *)user : "", msg);
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
}

cli_progress cli_progress_begin(const char *what) {
    return (cli_progress){.what = what, .t0 = vc_now_s(), .tty = isatty(fileno(stderr))};
}

void cli_progress_update(int done, int total, void *user) {
    cli_progress *p = user;
    if (!p || !p->tty || total <= 0) return; /* a bar only for a person watching a terminal */
    enum { WIDTH = 30 };
    const double elapsed = vc_now_s() - p->t0, rate = elapsed > 0 ? done / elapsed : 0;
    const int fill = (int)((double)WIDTH * done / total);
    char bar[WIDTH + 1], eta[32];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = 0;
    cli_format_duration(rate > 0 ? (total - done) / rate : 0, eta, sizeof eta);
    fprintf(stderr, "\r%s [%s] %d/%d %.1f/s eta %s ", p->what, bar, done, total, rate, eta);
    if (done >= total) fprintf(stderr, "\n");
    fflush(stderr);
}

void cli_json_string(FILE *f, const char *s) {
    vc_strbuf sb = {0};
    vc_error err;
    if (vc_sb_append_json_string(&sb, s, strlen(s), &err)) fputs("\"\"", f);
    else fwrite(sb.data, 1, sb.len, f);
    vc_sb_free(&sb);
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

int cli_encode_videos(const char *what, vc_model *m, const vc_loader_item *items, int n, int workers, float *emb,
                      unsigned char *ok, int *n_ok) {
    encode_ctx c = {what, cli_progress_begin("encoding")};
    vc_video_encode_params p = vc_video_encode_default_params();
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
