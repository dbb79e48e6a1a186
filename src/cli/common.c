#include <omp.h>
#include <stdio.h>

#include "cli/commands.h"
#include "train/trainer.h"

void openblas_set_num_threads(int n);

void cli_set_threads(int threads) {
    if (threads <= 0) return;
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
}

void cli_error(const char *what, const char *msg) { fprintf(stderr, "viclip %s: error: %s\n", what, msg); }

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
    printf("step %6lld/%lld | loss %.4f | lr %.2e | temp %.4f | |g| %.3f | %7.1f clips/s | eta %s%s\n",
           (long long)p->step, (long long)p->steps, p->loss, p->lr, p->temp, p->grad_norm,
           p->samples_per_s, eta, p->masked ? "" : " | unmasked");
    fflush(stdout);
}

void cli_print_warning(const char *msg, void *user) {
    fprintf(stderr, "viclip %s: warning: %s\n", user ? (const char *)user : "", msg);
}
