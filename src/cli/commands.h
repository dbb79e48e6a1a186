/* Helpers over the library's internals for the commands not yet ported to the public API
 * (tests/test_public_api.c lists them). A ported command includes only cli/cli.h. */
#ifndef VC_CLI_COMMANDS_H
#define VC_CLI_COMMANDS_H

#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"
#include "kernels/gemm.h"
#include "text/tokenizer.h"

struct vc_model;

vc_tokenizer *cli_load_tokenizer(const char *path_or_null); /* prints the error */
/* --align LEVELS / --align-weights W,.. into the training parameters (a vc_train_params *);
 * prints the error as `cmd` and returns nonzero on bad options. */
struct vc_train_params;
int cli_align_options(const char *cmd, const char *levels, const char *weights, struct vc_train_params *p);
/* A model file (its optimizer state, if a checkpoint, skipped); prints the error as `what`. */
struct vc_model *cli_load_model(const char *path, const char *precision, const char *what);
/* --precision NAME (NULL: the default for this CPU) -> *p; prints the error and returns -1. */
int cli_precision(const char *name, vc_precision *p, const char *what);
/* cli_prepare_outputs for the files a training run writes into p->out_dir. */
int cli_prepare_train_outputs(const struct vc_train_params *p, const char *vocab);

struct vc_eval_result;
struct vc_train_progress;
/* The training progress line (train and demo). */
void cli_print_train_progress(const struct vc_train_progress *p, void *user);
struct vc_train_summary;
/* One line: steps run, time, final loss, clips and unreadable ones, time waiting for data. */
void cli_print_train_summary(const struct vc_train_summary *s, FILE *f);
/* One JSON object with the evaluation metrics (fractions in [0, 1]). */
void cli_print_eval_json(const struct vc_eval_result *r, FILE *f);

struct vc_loader_item;
struct vc_clip_opts;
/* Encodes videos with a progress bar, one warning per unreadable input (command name `what`).
 * emb [n, E] normalised, ok[i] = 0 for unreadable inputs. Prints errors; returns 0 or 1. */
int cli_encode_videos(const char *what, struct vc_model *m, const struct vc_loader_item *items, int n, int workers,
                      const struct vc_clip_opts *clip, float *emb, unsigned char *ok, int *n_ok);

struct vc_annotation_opts;
/* Fill o from the flag values; print the error and return 2 when a name is unknown. */
int cli_parse_clip_flags(const char *what, const char *sampling, const char *interp, struct vc_clip_opts *o);
int cli_parse_annotation_format(const char *what, const char *format, struct vc_annotation_opts *o);

#endif
