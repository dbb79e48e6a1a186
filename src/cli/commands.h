/* The viclip subcommands. Each returns the process exit status. */
#ifndef VC_CLI_COMMANDS_H
#define VC_CLI_COMMANDS_H

#include <stdint.h>
#include <stdio.h>

#include "kernels/gemm.h"
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
/* --align LEVELS / --align-weights W,.. into the training parameters (a vc_train_params *);
 * prints the error as `cmd` and returns nonzero on bad options. */
struct vc_train_params;
int cli_align_options(const char *cmd, const char *levels, const char *weights, struct vc_train_params *p);
/* A model file (its optimizer state, if a checkpoint, skipped); prints the error as `what`. */
struct vc_model *cli_load_model(const char *path, const char *precision, const char *what);
/* --precision NAME (NULL: the default for this CPU) -> *p; prints the error and returns -1. */
int cli_precision(const char *name, vc_precision *p, const char *what);
#define CLI_PRECISION_HELP "fp32 or bf16 matrix products (bf16 x bf16 -> fp32; default: the fastest accurate one on this CPU, see viclip info --system)"
void cli_error(const char *what, const char *msg);
void cli_format_duration(double s, char *buf, size_t cap);
/* vc_prepare_outputs (io/fs.h) before a command writes: no output may be one of its inputs;
 * stale temp files of the outputs go. Prints the error; returns 0 or 1. */
int cli_prepare_outputs(const char *what, const char *const *outputs, int n_out, const char *const *inputs, int n_in);
struct vc_train_params;
/* cli_prepare_outputs for the files a training run writes into p->out_dir. */
int cli_prepare_train_outputs(const struct vc_train_params *p, const char *vocab);

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
struct vc_clip_opts;
/* Encodes videos with a progress bar, one warning per unreadable input (command name `what`).
 * emb [n, E] normalised, ok[i] = 0 for unreadable inputs. Prints errors; returns 0 or 1. */
int cli_encode_videos(const char *what, struct vc_model *m, const struct vc_loader_item *items, int n, int workers,
                      const struct vc_clip_opts *clip, float *emb, unsigned char *ok, int *n_ok);

/* How clips are made (--sampling, --interp) and where annotated videos are (--format,
 * --video-root, --video-pattern): the same flags in every command that reads videos. */
#define CLI_CLIP_SPECS(sampling, interp)                                                                              \
    {0, "sampling", ARG_STR, &(sampling), "middle|rand|demo",                                                         \
     "frame sampling: middle (segment midpoints, the official evaluation), rand, demo (every n/T-th frame, the official demo)"}, \
    {0, "interp", ARG_STR, &(interp), "bicubic|bilinear", "frame resize: bicubic (the official evaluation) or bilinear (the official demo)"}
#define CLI_ANNOTATION_SPECS(format, opts)                                                                            \
    {0, "format", ARG_STR, &(format), "NAME", "annotation format: auto, viclip, internvid, msrvtt, kinetics or webvid"}, \
    {0, "video-root", ARG_STR, &(opts).video_root, "DIR", "folder the annotated videos are in (default: the annotation file's)"}, \
    {0, "video-pattern", ARG_STR, &(opts).video_pattern, "PATTERN",                                                   \
     "file name from the record's fields, e.g. '{id}_{start:06d}_{end:06d}.mp4' (default: the format's)"}
struct vc_annotation_opts;
/* Fill o from the flag values; print the error and return 2 when a name is unknown. */
int cli_parse_clip_flags(const char *what, const char *sampling, const char *interp, struct vc_clip_opts *o);
int cli_parse_annotation_format(const char *what, const char *format, struct vc_annotation_opts *o);

#endif
