/* `viclip train --resume/--init`: the flags against the file. A checkpoint or init model fixes
 * the architecture: a flag may repeat it, never contradict it (the error names the flag). On
 * resume the checkpoint also fixes the seed and the settings that change what the remaining
 * steps compute (batch, accumulation, masking, drop-path, AdamW betas/eps, temperature floor,
 * positives, caption cleaning, frozen text tower, preloaded vs streamed clips and, streamed,
 * sampling and augmentation): left out they are taken from its train_args, contradicted they
 * are refused. The schedule (--steps --lr --min-lr --warmup --wd --grad-clip-norm
 * --lr-mult-*) and the run's plumbing (workers, prefetch, threads, logging, saving, paths)
 * may change. */
#ifndef VC_CLI_TRAIN_RESUME_H
#define VC_CLI_TRAIN_RESUME_H

#include "cli/args.h"
#include "viclip.h"

/* The parsed command line: the spec table (whose targets hold the values) and argv. */
typedef struct cli_flags {
    const arg_spec *specs;
    int n_specs;
    int argc, first;
    char **argv;
    int ranks;      /* data-parallel processes of this run: checkpoints record the global batch */
} cli_flags;

/* Whether argv names the option (parsed the way args_parse parses it). */
int cli_flag_given(const cli_flags *f, const char *long_name);

/* Checks (and, on resume, completes) the flags against the file at path (resume: a training
 * checkpoint; else an --init model). *ck receives the open checkpoint (string flags may point
 * into it: close it after training), or NULL. 0 or -1 with err naming the flag. */
int cli_train_reconcile(const cli_flags *f, const char *path, int resume, viclip_checkpoint **ck, viclip_error *err);

#endif
