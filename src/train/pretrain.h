/* Vision-first pretraining of the video tower, before contrastive training: VideoMAE-style
 * masked reconstruction (tube masking, a small pixel decoder, loss on the hidden patches) or
 * Unmasked Teacher distillation (a frozen teacher's per-frame token features, semantic or
 * random masking, cosine or MSE alignment of the student's visible tokens).
 * Writes a whole model file whose video tower is pretrained (the text tower keeps its
 * initialisation), so `viclip train --init-vision` / `--init` can start from it. */
#ifndef VC_TRAIN_PRETRAIN_H
#define VC_TRAIN_PRETRAIN_H

#include <stdint.h>

#include "model/config.h"
#include "text/tokenizer.h"
#include "train/trainer.h"

typedef enum { VC_PRETRAIN_MAE = 0, VC_PRETRAIN_UMT = 1 } vc_pretrain_objective;

int vc_pretrain_objective_parse(const char *s, vc_pretrain_objective *out, vc_error *err);

typedef struct vc_pretrain_params {
    const char *train_annotations;  /* JSONL/CSV; captions are read but not used */
    const char *out_dir;            /* model.safetensors, train_log.jsonl */
    const char *init_model;         /* start from this model file (else random init with cfg) */
    vc_config cfg;
    int objective;                  /* vc_pretrain_objective */
    int batch_size;
    int64_t steps, warmup;
    double lr, min_lr, weight_decay, grad_clip_norm, beta1, beta2, eps;
    double mask_ratio;              /* fraction of each frame's patches hidden (MAE: the same in every frame) */
    int decoder_width, decoder_depth, decoder_heads; /* MAE */
    const char *teacher;            /* UMT: the frozen teacher's model file */
    int umt_loss;                   /* vc_umt_loss */
    int umt_masking;                /* vc_umt_masking */
    double temporal_init_std;       /* random init only (0: zero, as ViCLIP) */
    uint64_t seed;
    int clean_captions;
    void (*on_progress)(const vc_train_progress *p, void *user);
    void (*on_warning)(const char *msg, void *user);
    void *user;
    int progress_every;
} vc_pretrain_params;

vc_pretrain_params vc_pretrain_default_params(void);

/* Runs pretraining on the clips of train_annotations (decoded once and kept in memory). */
int vc_pretrain(const vc_pretrain_params *p, const vc_tokenizer *tok, vc_train_summary *summary, vc_error *err);

#endif
