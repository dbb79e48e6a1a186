/* What the training commands (train, pretrain, finetune, demo) share: the outputs a run writes
 * and the lines it prints. */
#ifndef VC_CLI_TRAIN_PRINT_H
#define VC_CLI_TRAIN_PRINT_H

#include <stdio.h>

#include "viclip.h"

/* cli_prepare_outputs for the files a training run writes into p->out_dir. */
int cli_prepare_train_outputs(const struct viclip_train_run_params *p, const char *vocab);
/* One line before the first step: the model's parameters, the micro-batch, the activation
 * memory its steps plan (masked and unmasked phases), whether --grad-checkpointing is on. */
void cli_print_train_start(const struct viclip_run_start *s, void *user);
/* The --grad-checkpointing flag's help (train, pretrain, finetune, demo). */
#define CLI_GRAD_CHECKPOINTING_HELP                                                                                    \
    "recompute each block's activations in the backward (open_clip's name): the same steps bit for bit, "             \
    "activation memory of one block plus each block's input, about one more forward per step (CPU training)"
/* The training progress line (train, finetune and demo); user is unused. */
void cli_print_train_progress(const struct viclip_run_progress *p, void *user);
/* One line: steps run, time, final loss, clips and unreadable ones, time waiting for data. */
void cli_print_train_summary(const struct viclip_run_summary *s, FILE *f);

#endif
