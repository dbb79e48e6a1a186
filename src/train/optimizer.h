/* AdamW with decoupled weight decay (torch.optim.AdamW semantics), per-tower learning-rate
 * multipliers and frozen towers, plus global-norm gradient clipping. The two moments use
 * the parameter layout, one buffer each. */
#ifndef VC_TRAIN_OPTIMIZER_H
#define VC_TRAIN_OPTIMIZER_H

#include <stdint.h>

#include "model/params.h"

typedef struct vc_adamw_params {
    double beta1, beta2, eps, weight_decay;
    double lr_mult[3];   /* per vc_tower: vision, text, shared (temperature) */
    int frozen[3];       /* 1: the tower is not updated */
    double temp_min;     /* temperature floor applied after each step */
} vc_adamw_params;

vc_adamw_params vc_adamw_default_params(void);

typedef struct vc_adamw {
    vc_adamw_params p;
    vc_real *m, *v;      /* [total] each */
    size_t total;
    int64_t t;           /* completed steps */
    double *lr_scale;    /* [table count] per-tensor multiplier (layer decay), or NULL for all 1 */
    /* Filled by every step, per vc_tower: sums of squares of the applied updates and of the
     * updated weights, so update / weight norms compare how fast each tower moves. */
    double update_sq[3], weight_sq[3];
} vc_adamw;

int vc_adamw_init(vc_adamw *opt, const vc_param_table *table, const vc_adamw_params *p, vc_error *err);
void vc_adamw_free(vc_adamw *opt);

/* Layer-wise learning-rate decay of the video tower (BEiT / VideoMAE / UMT fine-tuning): a
 * tensor of layer id l gets decay^(L + 1 - l), where the patch, class, position and temporal
 * embeddings and ln_pre are layer 0, block i is layer i + 1 and ln_post / proj are layer L + 1
 * (scale 1, as a classification head). Other towers keep 1. decay = 1 removes the scales. */
int vc_adamw_set_layer_decay(vc_adamw *opt, const vc_param_table *table, int vision_layers, double decay,
                             vc_error *err);

/* ||update|| / ||weight|| of a tower's last step (0 when it was frozen or has no weights). */
double vc_adamw_update_ratio(const vc_adamw *opt, vc_tower tower);

/* L2 norm of the gradients of the trainable (non-frozen) parameters. */
double vc_grad_norm(const vc_adamw *opt, const vc_param_table *table, const vc_real *grads);

/* One update with learning rate lr; grads are multiplied by grad_scale first (clipping). */
void vc_adamw_step(vc_adamw *opt, const vc_param_table *table, vc_real *params,
                   const vc_real *grads, double lr, double grad_scale, vc_real *temp);

/* Learning rate at `step` (0-based): linear warmup from 0 over `warmup` steps, then cosine
 * decay from base to min_lr at `total` steps. */
double vc_cosine_lr(int64_t step, int64_t warmup, int64_t total, double base, double min_lr);

#endif
