/* The viclip subcommands. Each returns the process exit status. */
#ifndef VC_CLI_COMMANDS_H
#define VC_CLI_COMMANDS_H

#include <stdio.h>

#include "text/tokenizer.h"

int cmd_synth(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_frames(int argc, char **argv);

/* Shared helpers. */
void cli_set_threads(int threads);            /* <= 0: leave the OpenMP default */
vc_tokenizer *cli_load_tokenizer(const char *path_or_null); /* prints the error */
void cli_error(const char *what, const char *msg);
void cli_format_duration(double s, char *buf, size_t cap);

struct vc_eval_result;
struct vc_train_progress;
/* The training progress line (train and demo). */
/* Prints a library warning to stderr; user is the command name. */
void cli_print_warning(const char *msg, void *user);
void cli_print_train_progress(const struct vc_train_progress *p, void *user);
/* One JSON object with the evaluation metrics (fractions in [0, 1]). */
void cli_print_eval_json(const struct vc_eval_result *r, FILE *f);

#endif
