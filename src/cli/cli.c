/* The helpers every command shares: errors, progress, models, videos (public API only). */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double cli_now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void cli_set_threads(int threads) {
    if (threads > 0) viclip_set_threads(threads);
}

void cli_error(const char *what, const char *msg) { fprintf(stderr, "viclip %s: error: %s\n", what, msg); }

void cli_print_warning(const char *msg, void *user) {
    fprintf(stderr, "viclip %s: warning: %s\n", user ? (const char *)user : "", msg);
}

int cli_prepare_outputs(const char *what, const char *const *outputs, int n_out, const char *const *inputs, int n_in) {
    viclip_error err;
    if (!viclip_prepare_outputs(outputs, n_out, inputs, n_in, &err)) return 0;
    cli_error(what, err.msg);
    return 1;
}

void cli_format_duration(double s, char *buf, size_t cap) {
    if (s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, cap, "%lds", t);
}

int cli_check_precision(const char *name, const char *what) {
    if (!name || viclip_precision_valid(name)) return 0;
    char msg[256];
    snprintf(msg, sizeof msg, "--precision %s: expected fp32 or bf16", name);
    cli_error(what, msg);
    return -1;
}

int cli_training_device(const char *name, const char *what) {
    viclip_error err;
    if (!viclip_device_valid(name, &err)) return 0;
    cli_error(what, err.msg);
    return -1;
}

viclip_context *cli_open_model(const char *path, const char *precision, const char *device, const char *vocab,
                               int clean_captions, const char *what) {
    if (cli_check_precision(precision, what)) return NULL;
    viclip_error err;
    if (viclip_device_valid(device, &err)) {
        cli_error(what, err.msg);
        return NULL;
    }
    struct viclip_context_params cp = viclip_context_default_params();
    cp.vocab_path = vocab, cp.clean_captions = clean_captions;
    viclip_context *ctx = viclip_init_from_file(path, cp, &err);
    if (!ctx) { /* the model is read first: a vocabulary error means the model was fine */
        viclip_error terr;
        viclip_tokenizer *tok = viclip_tokenizer_load(vocab, &terr);
        cli_error(!tok && !strcmp(terr.msg, err.msg) ? "tokenizer" : what, err.msg);
        viclip_tokenizer_free(tok);
        return NULL;
    }
    if (viclip_set_precision(ctx, precision, &err) || viclip_set_device(ctx, device, &err)) {
        cli_error(what, err.msg);
        viclip_free(ctx);
        return NULL;
    }
    if (viclip_model_imported(ctx)) fprintf(stderr, "viclip %s: %s\n", what, viclip_model_description(ctx));
    return ctx;
}

void cli_json_string(FILE *f, const char *s) {
    char *q = viclip_json_quote(s);
    fputs(q ? q : "\"\"", f);
    viclip_free_string(q);
}

cli_progress cli_progress_begin(const char *what) {
    return (cli_progress){.what = what, .t0 = cli_now_s(), .tty = isatty(fileno(stderr))};
}

void cli_progress_update(int done, int total, void *user) {
    cli_progress *p = user;
    if (!p || !p->tty || total <= 0) return; /* a bar only for a person watching a terminal */
    enum { WIDTH = 30 };
    const double elapsed = cli_now_s() - p->t0, rate = elapsed > 0 ? done / elapsed : 0;
    const int fill = (int)((double)WIDTH * done / total);
    char bar[WIDTH + 1], eta[32];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = 0;
    cli_format_duration(rate > 0 ? (total - done) / rate : 0, eta, sizeof eta);
    fprintf(stderr, "\r%s [%s] %d/%d %.1f/s eta %s ", p->what, bar, done, total, rate, eta);
    if (done >= total) fprintf(stderr, "\n");
    fflush(stderr);
}

int cli_video_flags(const char *what, const char *sampling, const char *interp, struct viclip_video_params *p) {
    viclip_error err;
    if (viclip_sampling_from_name(sampling, &p->sampling, &err) || viclip_interp_from_name(interp, &p->interp, &err)) {
        cli_error(what, err.msg);
        return 2;
    }
    return 0;
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

int cli_encode_video_files(const char *what, viclip_context *ctx, const char *const *paths, int n,
                           const struct viclip_video_params *p, float *emb, unsigned char *ok, int *n_ok) {
    encode_ctx c = {what, cli_progress_begin("encoding")};
    const struct viclip_callbacks cb = {encode_progress, warn_unreadable, &c};
    viclip_error err;
    if (viclip_encode_video_files_cb(ctx, paths, n, p, &cb, emb, ok, n_ok, &err)) {
        cli_error(what, err.msg);
        return 1;
    }
    if (n_ok && *n_ok == 0) {
        cli_error(what, "none of the videos could be read");
        return 1;
    }
    return 0;
}
