/* The viclip subcommands. Each returns the process exit status. */
#ifndef VC_CLI_COMMANDS_H
#define VC_CLI_COMMANDS_H

#include <stdint.h>
#include <stdio.h>

#include "text/tokenizer.h"

int cmd_synth(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_pretrain(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_frames(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_eval_moments(int argc, char **argv); /* viclip eval moments */

struct vc_model;

/* Shared helpers. */
void cli_set_threads(int threads);            /* <= 0: leave the OpenMP default */
vc_tokenizer *cli_load_tokenizer(const char *path_or_null); /* prints the error */
/* A model file (its optimizer state, if a checkpoint, skipped); prints the error as `what`. */
struct vc_model *cli_load_model(const char *path, const char *what);
void cli_error(const char *what, const char *msg);
void cli_format_duration(double s, char *buf, size_t cap);

struct vc_eval_result;
struct vc_train_progress;
/* The training progress line (train and demo). */
/* Prints a library warning to stderr; user is the command name. */
void cli_print_warning(const char *msg, void *user);
void cli_print_train_progress(const struct vc_train_progress *p, void *user);
struct vc_train_summary;
/* One line: steps run, time, final loss, clips and unreadable ones, time waiting for data. */
void cli_print_train_summary(const struct vc_train_summary *s, FILE *f);
/* One JSON object with the evaluation metrics (fractions in [0, 1]). */
void cli_print_eval_json(const struct vc_eval_result *r, FILE *f);

/* The k best of scores[0..n) (k <= n), best first. */
void cli_top_k(const float *scores, int n, int k, int *best);

struct vc_import_report;
/* What a checkpoint was imported as: format, kind, config, parameters, dtype conversions, notes. */
void cli_print_import_report(const char *path, const struct vc_model *m, const struct vc_import_report *rep);

/* s as a JSON string literal. */
void cli_json_string(FILE *f, const char *s);

/* A progress bar on stderr, drawn only when stderr is a terminal. */
typedef struct cli_progress {
    const char *what;
    double t0;
    int tty;
} cli_progress;
cli_progress cli_progress_begin(const char *what);
void cli_progress_update(int done, int total, void *user); /* user: cli_progress* */

struct vc_loader_item;
/* Encodes videos with a progress bar, one warning per unreadable input (command name `what`).
 * emb [n, E] normalised, ok[i] = 0 for unreadable inputs. Prints errors; returns 0 or 1. */
int cli_encode_videos(const char *what, struct vc_model *m, const struct vc_loader_item *items, int n, int workers,
                      float *emb, unsigned char *ok, int *n_ok);

#endif
