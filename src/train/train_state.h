/* One training run's state and the steps of its loop, in the llm.c manner: vc_train (trainer.c)
 * is open, then per step load_batch -> forward_backward -> update -> log (-> checkpoint), then
 * finish. Other loops (data-parallel, fine-tuning) reuse these steps instead of copying them.
 * Internal to the library. */
#ifndef VC_TRAIN_TRAIN_STATE_H
#define VC_TRAIN_TRAIN_STATE_H

#include <stdint.h>
#include <stdio.h>

#include "io/jsonl_log.h"
#include "model/model.h"
#include "train/data_parallel.h"
#include "train/balance.h"
#include "train/dataset.h"
#include "train/optimizer.h"
#include "train/trainer.h"
#include "video/loader.h"

/* Sample order: epoch e visits a permutation drawn from (seed, e); the g-th sample drawn since
 * the start of training is a pure function of g, so resuming needs only the step. */
typedef struct vc_sample_order {
    uint64_t seed;
    int n;
    int64_t epoch;
    int32_t *perm;
} vc_sample_order;

int vc_sample_order_index(vc_sample_order *o, int64_t g);

/* The next batch of a training loader over d: the wait is added to *wait_s, each clip the
 * loader replaced is reported through on_warning ("FILE:LINE: reason (replaced ...)") and
 * counted in *n_skipped; a batch of other than B clips is an error. */
int vc_train_next_streamed(vc_loader *l, const vc_dataset *d, int B, void (*on_warning)(const char *, void *),
                           void *user, double *wait_s, int *n_skipped, vc_loader_batch *lb, vc_error *err);

typedef struct vc_train_state {
    const vc_train_params *p;
    vc_dataset data;
    vc_loader *loader;              /* streaming only */
    vc_model *model;
    vc_adamw opt;
    vc_preprocess pp;
    uint64_t seed;
    int64_t start;                  /* first step to run: 0, or the resumed checkpoint's step */
    int new_towers;                 /* bits 1 << vc_tower of the randomly initialised towers (start_model.h) */
    vc_balance balance;             /* the towers' current lr multipliers and smoothed update ratios */
    int B, A, N_tok, K_masked;      /* micro-batch, micro-batches per step, tokens, kept when masked */
    size_t clip;                    /* elements of one clip */
    vc_real *video;                 /* [A * B] clips: every micro-batch of a step */
    int32_t *tokens, *ids, *keep;
    /* Data-parallel runs (p->dist with more than one rank): this rank, the rank count, "rank R: "
     * for warnings, the masks of the whole global batch (this rank's rows are copied), and the
     * global-batch loss and gradient sum. Rank 0 alone writes files (log, checkpoints, model). */
    int rank, ranks;
    char who[32];
    int32_t *keep_global;           /* [ranks * B, N_tok] */
    vc_data_parallel dp;
    vc_real *emb, *demb, *loss_scratch; /* accumulation: embeddings and their gradients, video then text */
    vc_step_inputs *micro;          /* [A] the step's micro-batches */
    vc_align_weights align;         /* the loss terms' weights */
    double *rates;                  /* drop-path rate per vision layer */
    vc_sample_order order;
    vc_jsonl_log log;               /* train_log.jsonl (cut back to `start` on resume) */
    int n_skipped;                  /* clips left out or replaced so far */
    double data_wait_s;             /* time spent waiting for decoded clips so far */
    char args[2048];                /* the run's arguments as JSON, stored in checkpoints */
} vc_train_state;

/* Validates the parameters, builds or resumes the model and optimizer, opens the data (and the
 * streaming loader at the resumed step), plans the batch buffers and opens the log. On failure
 * the state is still safe to free. */
int vc_train_state_open(vc_train_state *s, const vc_train_params *p, const vc_tokenizer *tok, vc_error *err);
void vc_train_state_free(vc_train_state *s);

/* Fills every micro-batch of `step`: clips (from the loader or the preloaded set), tokens,
 * positive groups, and the patch masks when `masked`. Warns about clips the loader replaced. */
int vc_train_load_batch(vc_train_state *s, int64_t step, int masked, vc_error *err);

/* Zeroes the gradients, then forward, loss and backward over the step's micro-batches; with
 * accumulation the loss sees every clip of the step as a negative of every other. With a
 * training device (p->device) this and the two steps below run there (backend/device.h). */
int vc_train_forward_backward(vc_train_state *s, double *loss, vc_error *err);

/* The global gradient norm (before clipping) of the parameters trainable at `step`. */
int vc_train_grad_norm(vc_train_state *s, int64_t step, double *norm, vc_error *err);

/* Stops a diverging run before its update: 0 when the loss and the gradient norm of `step`
 * (0-based) are finite, else -1 with a message naming the step and what became non-finite. */
int vc_train_check_finite(const vc_train_state *s, int64_t step, double loss, double grad_norm, double lr,
                          vc_error *err);

/* Global-norm clipping (of grad_norm, from vc_train_grad_norm) and one AdamW update at learning
 * rate lr of `step`, with the towers' multipliers from the balance (and a pretrained tower held
 * or ramping while a new one warms up); then feeds the towers' update ratios to the balance. */
int vc_train_update(vc_train_state *s, int64_t step, double lr, double grad_norm, vc_error *err);

/* Appends the step's line to train_log.jsonl. */
int vc_train_log_step(vc_train_state *s, const vc_train_progress *pr, vc_error *err);

/* The device's parameters and moments copied back into the model and optimizer (a checkpoint,
 * the final model); nothing to do on the CPU. */
int vc_train_pull(vc_train_state *s, vc_error *err);

/* Writes OUT/checkpoint.safetensors (atomically) after `step` completed steps; refused (the
 * previous checkpoint kept) when the updated model is not finite or gives a non-finite loss on
 * the step's last micro-batch, i.e. the run diverged with finite numbers so far. */
int vc_train_checkpoint(vc_train_state *s, int64_t step, vc_error *err);

/* After the loop: the final model (when the run reached its last step; checked as a
 * checkpoint is) and the loss plot. */
int vc_train_finish(vc_train_state *s, int reached_end, vc_error *err);

#endif
