/* Fine-tuning a classifier (the UMT / VideoMAE recipe on ViCLIP's video tower): the video
 * tower plus a linear head over the classes (train/classifier_model.h), cross-entropy with
 * label smoothing, optional mixup, layer-wise learning-rate decay, drop-path, AdamW with a
 * cosine schedule; or a linear probe (the tower frozen, the head alone). The text tower is
 * used only to initialise the head from the class prompts. */
#ifndef VC_TRAIN_FINETUNE_H
#define VC_TRAIN_FINETUNE_H

#include <stdint.h>

#include "text/tokenizer.h"
#include "train/trainer.h"

typedef enum { VC_HEAD_ZEROSHOT = 0, VC_HEAD_RANDOM = 1 } vc_head_init;

typedef struct vc_finetune_params {
    const char *train_annotations;  /* clips with a "label" (or the class as caption) */
    const char *labels;             /* class names, one per line: the head's outputs in order */
    const char *init_model;         /* the model to fine-tune (required) */
    const char *out_dir;            /* model.safetensors (with head and classes), train_log.jsonl, loss.svg */
    const char *templates;          /* prompt templates for the zero-shot head (NULL: ViCLIP's 16) */
    int head_init;                  /* vc_head_init */
    int linear_probe;               /* 1: tower frozen, only the head trains */
    int grad_checkpointing;         /* recompute the tower's block activations in backward (vc_model_set_grad_checkpointing) */
    int batch_size;
    int64_t steps, warmup;
    double lr, min_lr, weight_decay, grad_clip_norm, beta1, beta2, eps;
    double layer_decay;             /* 1: none; UMT uses 0.65-0.75 */
    double drop_path;
    double label_smoothing;         /* 0.1 in UMT / VideoMAE */
    double mixup_alpha;             /* Beta(alpha, alpha) mixing weights; 0: no mixup */
    double mixup_prob;              /* share of steps mixed */
    double head_std;                /* random head init std */
    int workers, prefetch, sampling, augment, clean_captions; /* as vc_train_params */
    uint64_t seed;
    void (*on_progress)(const vc_train_progress *p, void *user);
    void (*on_warning)(const char *msg, void *user);
    void *user;
    int progress_every;
    void (*on_start)(const vc_train_start *s, void *user); /* before the first step; may be NULL */
} vc_finetune_params;

vc_finetune_params vc_finetune_default_params(void);

int vc_finetune(const vc_finetune_params *p, const vc_tokenizer *tok, vc_train_summary *summary, vc_error *err);

#endif
