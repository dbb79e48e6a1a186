#include "cli/train_print.h"

#include "cli/cli.h"

int cli_prepare_train_outputs(const struct viclip_train_run_params *p, const char *vocab) {
    static const char *const names[] = {"model.safetensors", "train_log.jsonl", "loss.svg", "checkpoint.safetensors"};
    enum { N = sizeof names / sizeof names[0] };
    char paths[N][4200];
    const char *outs[N];
    for (int i = 0; i < N; i++) snprintf(paths[i], sizeof paths[i], "%s/%s", p->out_dir, names[i]), outs[i] = paths[i];
    /* --resume DIR/checkpoint.safetensors --out DIR continues a run: its checkpoint (read whole
     * before it is replaced atomically) is the one input a run may overwrite */
    const char *ins[] = {p->train_data, p->init_model, vocab, p->resume};
    return p->out_dir ? cli_prepare_outputs("train", outs, N - 1, ins, 4) ||
                            cli_prepare_outputs("train", outs + N - 1, 1, ins, 3)
                      : 0;
}

static double mib(size_t bytes) { return (double)bytes / (1024.0 * 1024.0); }
static int digits(size_t bytes) { return mib(bytes) < 10 ? 3 : 1; } /* small models show a difference too */

void cli_print_train_start(const struct viclip_run_start *s, void *user) {
    (void)user;
    char phases[160] = "", *at = phases;
    const char *end = phases + sizeof phases;
    if (s->masked_activation_bytes)
        at += snprintf(at, (size_t)(end - at), "%.*f MiB masked (%d of %d tokens)", digits(s->masked_activation_bytes),
                       mib(s->masked_activation_bytes), s->kept_tokens, s->all_tokens);
    if (s->unmasked_activation_bytes)
        snprintf(at, (size_t)(end - at), "%s%.*f MiB%s", phases[0] ? ", " : "", digits(s->unmasked_activation_bytes),
                 mib(s->unmasked_activation_bytes), s->masked_activation_bytes ? " unmasked" : "");
    char resumed[48] = "";
    if (s->first_step > 0) snprintf(resumed, sizeof resumed, " | resuming after step %lld", (long long)s->first_step);
    printf("start: %.1fM parameters | %d clips per micro-batch | activations planned: %s | grad checkpointing %s%s\n",
           (double)s->parameters / 1e6, s->batch, phases[0] ? phases : "none (tower frozen)",
           s->grad_checkpointing ? "on" : "off", resumed);
    fflush(stdout);
}

void cli_print_train_progress(const struct viclip_run_progress *p, void *user) {
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

void cli_print_train_summary(const struct viclip_run_summary *s, FILE *f) {
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
