/* The training loop: contrastive training of both towers (or the video tower with the text
 * tower frozen, as ViCLIP does), FLIP-style patch masking with a final unmasked phase, AdamW
 * with a cosine schedule, gradient accumulation and clipping, checkpoints and exact resume. */
#ifndef VC_TRAIN_TRAINER_H
#define VC_TRAIN_TRAINER_H

#include <signal.h>
#include <stdint.h>

#include "io/annotations.h"
#include "model/align.h"
#include "model/config.h"
#include "text/tokenizer.h"

typedef struct vc_train_progress {
    int64_t step, steps;   /* completed optimizer steps, total */
    double loss, lr, grad_norm, temp;
    double samples_per_s, elapsed_s, eta_s;
    int masked;            /* this step used patch masking */
    double data_wait_s;    /* total time spent waiting for decoded clips so far */
} vc_train_progress;

/* What a finished (or stopped) run did, for the summary line. */
typedef struct vc_train_summary {
    int64_t first_step, last_step; /* steps run: [first_step, last_step) */
    int n_clips;                   /* readable clips in the training set */
    int n_skipped;                 /* clips left out or replaced because they could not be read */
    double elapsed_s, data_wait_s; /* wall time of the loop, and of it waiting for decoding */
    double final_loss;
    int stopped;                   /* the run stopped early because *stop_requested was set */
    int ranks;                     /* data-parallel processes (1: none) */
    double comm_wait_s;            /* time the loop waited for collectives (communication not hidden) */
    double comm_busy_s;            /* time gradient all-reduces ran, overlapped with the backward or not */
} vc_train_summary;

/* What a run plans, told once before its first step. */
typedef struct vc_train_start {
    int64_t first_step, steps;     /* resumed after first_step steps; total */
    size_t parameters;             /* elements of the model's parameter buffer */
    int batch;                     /* clips per micro-batch (per rank) */
    /* Bytes of the training workspace a micro-batch plans (vc_model_training_bytes): in the
     * masked phase and in the unmasked one (0: the run has no such step). */
    size_t masked_bytes, unmasked_bytes;
    int kept_tokens, all_tokens;   /* patch tokens per clip kept while masked, and in all */
    int grad_checkpointing;
} vc_train_start;

struct vc_dist;

typedef struct vc_train_params {
    const char *train_annotations;  /* JSONL (see io/annotations.h) */
    vc_annotation_opts annotation;  /* its format, video root and file-name pattern */
    const char *out_dir;            /* model.safetensors, checkpoint.safetensors, train_log.jsonl, loss.svg */
    const char *init_model;         /* start from this model file (else random init with cfg) */
    const char *init_vision;        /* or: the video tower from this file (train/start_model.h) */
    const char *init_text;          /* and the text tower from this file, or "random" / NULL */
    const char *resume;             /* continue from this training checkpoint */
    vc_config cfg;
    int batch_size;
    int accum_freq;
    int64_t steps;                  /* optimizer steps in total */
    int64_t warmup;
    double lr, min_lr, weight_decay, grad_clip_norm; /* clip <= 0: off */
    double beta1, beta2, eps;
    double mask_ratio;              /* fraction of patch tokens dropped (0.9 in ViCLIP) */
    int64_t unmasked_steps;         /* last steps trained without masking */
    double drop_path;               /* max drop-path rate (linear over layers) */
    double lr_mult_vision, lr_mult_text;
    int balance;                    /* 1: adapt both multipliers to keep the update ratios at balance_target (train/balance.h) */
    double balance_target;          /* (update/weight of text) / (update/weight of vision); 0: 1 */
    int64_t new_branch_warmup;      /* steps a pretrained tower is held while a new one (start_model.h) trains */
    int freeze_text;
    double temp_init, temp_min;
    double temporal_init_std;       /* random init only: 0 keeps ViCLIP's zero temporal embedding */
    /* Data. workers = 0 decodes every clip once at the start ('middle' sampling, no
     * augmentation) and keeps the frames in memory (small sets, the synthetic demo); workers > 0
     * streams: each step's clips are decoded anew by that many threads, ahead of the model,
     * with `sampling` (ViCLIP: rand) and, if augment, RandomResizedCrop + flip. */
    int workers, prefetch;
    int sampling;                   /* vc_sampling for streaming */
    int augment;
    int clean_captions;             /* ViCLIP's caption cleaning before tokenising */
    int positives;                  /* vc_positives: which clips are positives of each other */
    /* Multi-level alignment: loss = align_global * InfoNCE(clip, caption) + align_frame * FILIP
     * between frames and words (model/align.h); align_frame 0 (the default) is the global loss
     * alone. The frame level needs accum_freq 1. */
    double align_global, align_frame;
    /* The layer level (model/align_layers.h): an InfoNCE per block align_layers[i] (1-based, both
     * towers, ascending) weighted align_layer_weights[i], each through its own heads, which the
     * model gains (copies of the final heads) or keeps (a model file or checkpoint that has them);
     * heads at other layers are dropped. Needs accum_freq 1 and one process. */
    int align_n_layers;
    int align_layers[VC_ALIGN_MAX_LAYERS];
    double align_layer_weights[VC_ALIGN_MAX_LAYERS];
    /* The --align / --align-weights strings as given (NULL: "global" / none), recorded in the
     * checkpoint's train_args so that a resumed run keeps them. */
    const char *align_spec, *align_weights_spec;
    uint64_t seed;
    int64_t save_every;             /* checkpoint every N steps (0: only at the end) */
    int64_t stop_after;             /* stop after this step, writing a checkpoint (0: run to the end) */
    /* Owned by the caller (e.g. set by its signal handler): when non-zero at the end of a step,
     * training writes a checkpoint, closes the log and returns 0 with summary->stopped = 1. */
    const volatile sig_atomic_t *stop_requested;
    /* Data-parallel training (dist/collectives.h; NULL: one process). batch_size is per rank;
     * the global batch is batch_size * ranks, its sample order a function of (seed, step)
     * only, so a run (and a resumed run) sees the same data whatever the number of ranks.
     * Rank 0 writes the log, the checkpoints and the model; on_progress is called on rank 0. */
    struct vc_dist *dist;
    int local_loss;                 /* 1: each rank the loss rows of its own clips (open_clip's --local-loss) */
    void (*on_progress)(const vc_train_progress *p, void *user);
    void (*on_warning)(const char *msg, void *user); /* e.g. a clip left out because it cannot be read */
    void *user;
    int progress_every;             /* call on_progress every N steps */
    int precision;                  /* vc_precision of the matrix products (0: fp32) */
    /* vc_device_kind where the steps compute (0: the CPU). VC_DEVICE_CUDA keeps parameters,
     * gradients and AdamW moments on the GPU, copied back for checkpoints and the final model;
     * it needs accum_freq 1, one process and the global alignment alone. */
    int device;
    /* Activation recomputation (vc_model_set_grad_checkpointing): the same steps bit for bit
     * with less memory, so a resumed run may turn it on or off (checkpoints do not record it). */
    int grad_checkpointing;
    void (*on_start)(const vc_train_start *s, void *user); /* rank 0, before the first step; may be NULL */
} vc_train_params;

vc_train_params vc_train_default_params(void);

/* Runs training. The tokenizer must match the config's vocabulary. summary may be NULL. */
int vc_train(const vc_train_params *p, const vc_tokenizer *tok, vc_train_summary *summary, vc_error *err);

#endif
