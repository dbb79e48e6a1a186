/* Vision-first pretraining of the video tower, before contrastive training: VideoMAE-style
 * masked reconstruction (tube masking, a small pixel decoder, loss on the hidden patches) or
 * Unmasked Teacher distillation (a frozen teacher's per-frame token features, semantic or
 * random masking, cosine or MSE alignment of the student's visible tokens). The loop is the
 * training loop's steps (train_state.h: data, model, optimizer, log, final model) with the
 * objective's step in place of the contrastive one; the text tower is frozen and carried along,
 * so the written model file has a pretrained video tower and the text tower as initialised,
 * for `viclip train --init-vision` / `--init`. */
#ifndef VC_TRAIN_PRETRAIN_H
#define VC_TRAIN_PRETRAIN_H

#include "train/trainer.h"

typedef enum { VC_PRETRAIN_MAE = 0, VC_PRETRAIN_UMT = 1 } vc_pretrain_objective;

int vc_pretrain_objective_parse(const char *s, vc_pretrain_objective *out, vc_error *err);

typedef struct vc_pretrain_params {
    /* data, output, init, schedule, optimizer, workers, seed and callbacks as for training
     * (captions are read but unused; mask_ratio, accum_freq, drop_path, resume: not used) */
    vc_train_params train;
    int objective;                  /* vc_pretrain_objective */
    double mask_ratio;              /* fraction of each frame's patches hidden (MAE: the same in every frame) */
    int decoder_width, decoder_depth, decoder_heads; /* MAE */
    const char *teacher;            /* UMT: the frozen teacher's model file */
    int umt_loss;                   /* vc_umt_loss */
    int umt_masking;                /* vc_umt_masking */
} vc_pretrain_params;

vc_pretrain_params vc_pretrain_default_params(void);

int vc_pretrain(const vc_pretrain_params *p, const vc_tokenizer *tok, vc_train_summary *summary, vc_error *err);

#endif
