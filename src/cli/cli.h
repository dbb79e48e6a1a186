/* The viclip subcommands and the helpers they share. The CLI is a client of the public library
 * (include/viclip.h) and of nothing else; tests/test_public_api.c checks that. Each command
 * returns the process exit status. */
#ifndef VC_CLI_CLI_H
#define VC_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "viclip.h"

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

void cli_set_threads(int threads); /* <= 0: leave the OpenMP default */
double cli_now_s(void);            /* a monotonic clock, seconds */
/* "viclip WHAT: error: MSG" on stderr. */
void cli_error(const char *what, const char *msg);
/* Prints a library warning to stderr; user is the command name. */
void cli_print_warning(const char *msg, void *user);
void cli_format_duration(double s, char *buf, size_t cap);
/* viclip_prepare_outputs before a command writes: no output may be one of its inputs; stale
 * temp files of the outputs go. Prints the error; returns 0 or 1. */
int cli_prepare_outputs(const char *what, const char *const *outputs, int n_out, const char *const *inputs, int n_in);

#define CLI_PRECISION_HELP "fp32 or bf16 matrix products (bf16 x bf16 -> fp32; default: the fastest accurate one on this CPU, see viclip info --system)"
/* --precision NAME (NULL: the default): prints the error and returns -1 when unknown. */
int cli_check_precision(const char *name, const char *what);
/* A model file of any format (a training checkpoint's optimizer state skipped) with the CLIP
 * tokenizer (vocab NULL: the installed one) at --precision (NULL: the CPU's default) on
 * --device (NULL: the CPU); says so when the file was imported in memory. Prints the error as
 * `what`. */
viclip_context *cli_open_model(const char *path, const char *precision, const char *device, const char *vocab,
                               int clean_captions, const char *what);
#define CLI_DEVICE_HELP "cpu or cuda: where the towers run (default cpu; cuda needs a build with nvcc and a GPU)"
#define CLI_TRAIN_DEVICE_HELP "cpu or cuda: where training computes (default cpu; cuda keeps parameters, gradients and AdamW on the GPU, needs a build with nvcc and a GPU, --accum-freq 1, one process, --align global)"
/* --device of the training commands (NULL: cpu): prints the error and returns -1 when the name
 * is unknown. */
int cli_training_device(const char *name, const char *what);

/* s as a JSON string literal ("" when it is not valid UTF-8). */
void cli_json_string(FILE *f, const char *s);
/* The k best of scores[0..n) (k <= n), best first. */
void cli_top_k(const float *scores, int n, int k, int *best);

/* A progress bar on stderr, drawn only when stderr is a terminal. */
typedef struct cli_progress {
    const char *what;
    double t0;
    int tty;
} cli_progress;
cli_progress cli_progress_begin(const char *what);
void cli_progress_update(int done, int total, void *user); /* user: cli_progress* */

/* --vocab and --threads, and with --precision and --device the flags of every command that
 * runs a model file: one spelling and one help text for all of them. */
#define CLI_VOCAB_SPEC(vocab) {0, "vocab", ARG_STR, &(vocab), "FILE", "CLIP BPE vocabulary"}
#define CLI_THREADS_SPEC(threads) {'t', "threads", ARG_INT, &(threads), "N", "threads (default: all cores)"}
#define CLI_MODEL_RUN_SPECS(vocab, threads, precision, device)                                                        \
    CLI_VOCAB_SPEC(vocab), CLI_THREADS_SPEC(threads), {0, "precision", ARG_STR, &(precision), "P", CLI_PRECISION_HELP}, \
    {'d', "device", ARG_STR, &(device), "D", CLI_DEVICE_HELP}
/* --align and --align-weights of the contrastive trainers (train, demo). */
#define CLI_ALIGN_SPECS(levels, weights)                                                                              \
    {0, "align", ARG_STR, &(levels), "LEVELS",                                                                        \
     "alignment losses: global (clip/caption InfoNCE), frame (FILIP frames/words), layers=L1,L2,.. (class/EOT tokens after those blocks, each with its own LayerNorm + projection and InfoNCE), e.g. global,frame,layers=2,3"}, \
    {0, "align-weights", ARG_STR, &(weights), "W,..",                                                                 \
     "weights of the --align levels, in order (default 1 each); layers= takes one weight for each of its layers or one per layer"}

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
/* --sampling and --interp into p; prints the error and returns 2 when a name is unknown. */
int cli_video_flags(const char *what, const char *sampling, const char *interp, struct viclip_video_params *p);
/* Encodes videos with a progress bar, one warning per unreadable input (command name `what`):
 * emb [n, dim] normalised, ok[i] = 0 for unreadable inputs. Prints errors (also when none could
 * be read); returns 0 or 1. */
int cli_encode_video_files(const char *what, viclip_context *ctx, const char *const *paths, int n,
                           const struct viclip_video_params *p, float *emb, unsigned char *ok, int *n_ok);

#endif
