/* The ViCLIP model: parameters (one buffer), optional gradients (same layout), and planned
 * workspaces for inference and for training. */
#ifndef VC_MODEL_MODEL_H
#define VC_MODEL_MODEL_H

#include <stdint.h>

#include "backend/device.h"
#include "model/align.h"
#include "model/align_layers.h"
#include "model/contrastive.h"
#include "model/text.h"
#include "model/vision.h"

/* One planned block of memory holding the activations of both towers and the loss. */
typedef struct vc_workspace {
    int planned;
    int Bv, Bt, K;        /* video batch, text batch, kept tokens per clip */
    int training;         /* keeps activations for backward */
    int train_text;       /* text activations kept for backward too */
    int drop_path;
    int align_frame;      /* the frame-level alignment's activations are planned */
    int align_heads;      /* the layer-level heads' activations are planned (the model's heads) */
    int recompute;        /* training towers planned with activation recomputation */
    vc_real *mem;
    size_t elems;
    vc_vision_acts vis;
    vc_text_acts txt;
    int32_t *ints;        /* keep [Bv*K], tokens [Bt*ctx], eot [Bt] */
    vc_real *loss_scratch, *dv, *dt;
    vc_real dtemp_value;  /* d loss / d temp of the last training forward */
    vc_frame_align_acts fa;
    vc_layer_align_acts la;
    double loss_global, loss_frame; /* the last step's terms, unweighted (frame 0 when off); la.loss: each layer's */
} vc_workspace;

typedef struct vc_model {
    vc_config cfg;
    vc_param_table table;
    vc_real *params;
    vc_params_view p;
    vc_real *grads;       /* NULL until vc_model_enable_grads */
    vc_params_view g;
    vc_workspace infer, train;
    int max_threads;
    vc_precision precision; /* of the transformer's matrix products; VC_FP32 unless set */
    vc_device *device;      /* NULL: inference on the CPU; else it runs there (backend/device.h) */
    int grad_checkpointing; /* training recomputes block activations in backward (vc_model_set_grad_checkpointing) */
} vc_model;

vc_model *vc_model_new(const vc_config *cfg, vc_error *err);
void vc_model_free(vc_model *m);
/* Gives the model layer-level alignment heads (model/align_layers.h) at exactly `layers` [n]
 * (ascending, distinct, within both towers' depth; n 0: none): heads it has at those layers are
 * kept, new ones start as copies of the towers' final heads, the others are dropped. Every
 * other parameter keeps its value and offset; gradients and workspaces are released. */
int vc_model_set_align_heads(vc_model *m, const int *layers, int n, vc_error *err);
/* Whether the model's heads are at exactly w's layers; their layers as "4,8" ("(none)"). */
int vc_model_heads_match(const vc_model *m, const vc_align_weights *w);
void vc_model_heads_format(const vc_model *m, char *buf, size_t cap);
int vc_model_enable_grads(vc_model *m, vc_error *err);
/* BF16: the towers' linear layers (patch embedding, q/k/v, out, MLP) multiply in bf16 with fp32
 * accumulation, forward and backward; parameters, gradients, LayerNorm, softmax and the loss
 * stay fp32. Falls back to FP32 where the CPU has no bf16 GEMM (kernels/gemm.h). */
void vc_model_set_precision(vc_model *m, vc_precision p);
void vc_model_zero_grads(vc_model *m);
/* Activation recomputation (open_clip's --grad-checkpointing): each block of a training tower
 * keeps only its input during the forward (the next block's input, and its drop-path draws);
 * its backward first runs the block's forward again into one set of buffers shared by all
 * blocks. Gradients are bit for bit those without it; the training plan shrinks from every
 * block's activations to one block's plus each block's input, for one more forward per block
 * (the last excepted). Applies from the next training call (also MAE/UMT steps). */
void vc_model_set_grad_checkpointing(vc_model *m, int on);
/* How the training towers keep their block activations under the model's setting. */
vc_acts_mode vc_model_training_acts(const vc_model *m);
/* Bytes of the training workspace a step plans (activations of the training towers, their
 * scratch, the loss): video batch Bv with K patch tokens per clip, text batch Bt (0: the video
 * tower alone), text tower trained or frozen, drop-path, alignment levels (NULL: global) as in
 * vc_step_inputs. Counted, nothing allocated. */
size_t vc_model_training_bytes(const vc_model *m, int Bv, int Bt, int K, int train_text, int drop_path,
                               const vc_align_weights *align);
/* Runs vc_model_encode_video/text on device k from now on (VC_DEVICE_CPU: back on the CPU);
 * the model owns the device. Training stays on the CPU. */
int vc_model_use_device(vc_model *m, vc_device_kind k, vc_error *err);

/* CLIP-style initialisation from a seed (temporal embedding zero, temp = temp_init). */
void vc_model_init_random(vc_model *m, uint64_t seed, double temp_init);
/* Redraws the temporal position embedding from N(0, std^2). ViCLIP starts it at zero because
 * it inflates an image model; a video model trained from scratch learns to use time much
 * sooner when frames start out distinguishable. */
void vc_model_init_temporal(vc_model *m, uint64_t seed, double std);

/* Inference: video [N, T, 3, H, W] -> out [N, E]; tokens [N, ctx] -> out [N, E].
 * Embeddings are the raw projections (not normalised). Work is chunked internally. A
 * non-finite embedding is an error naming the input's row. */
int vc_model_encode_video(vc_model *m, const vc_real *video, int N, vc_real *out, vc_error *err);
int vc_model_encode_text(vc_model *m, const int32_t *tokens, int N, vc_real *out, vc_error *err);

typedef struct vc_step_inputs {
    const vc_real *video;    /* [B, T, 3, H, W] */
    const int32_t *tokens;   /* [B, ctx] */
    const int32_t *ids;      /* [B] positive groups, or NULL for the diagonal */
    const int32_t *keep;     /* [B, K] kept token indices, or NULL for no masking (K = all) */
    int B, K;
    const double *drop_rates;/* [vision_layers] or NULL */
    uint64_t seed, step;     /* drive drop-path sampling */
    int row0;                /* these clips are rows row0.. of the step's batch (a data-parallel shard) */
    int train_text;          /* 0: the text tower is frozen (no text gradients) */
    double grad_scale;       /* multiplies all gradients (1/accum_steps) */
    /* Called during the backward pass when the gradients of a tower (vc_tower) at addresses >=
     * from are final: after each video block, and once per tower at its end, so a data-parallel
     * run sends them while the rest of the backward runs; NULL: none. */
    void (*on_grads_ready)(void *user, int tower, const vc_real *from);
    void *hook_user;
    const vc_align_weights *align; /* NULL: the global InfoNCE alone (weight 1); layers must be the model's heads' */
} vc_step_inputs;

/* The checks every training step makes of its inputs (batch, mask, temperature, alignment
 * weights, token ids), naming what is wrong; a training device makes them too. */
int vc_model_check_step(const vc_model *m, const vc_step_inputs *in, vc_error *err);

/* Forward, loss and backward; gradients are ACCUMULATED into m->grads. Returns 0 and sets *loss. */
int vc_model_forward_backward(vc_model *m, const vc_step_inputs *in, double *loss, vc_error *err);

/* Accumulation (the two functions below) uses the global loss only: in->align is ignored.
 * Accumulation with negatives from the whole accumulated batch (open_clip's --accum-freq):
 * first every micro-batch's embeddings (vc_model_step_embeddings: the training forward with
 * the same masks and drop-path draws, raw projections [B, E], no gradients), then the loss over
 * all of them, then per micro-batch vc_model_backward_from: the forward again and backward from
 * the loss's gradients w.r.t. that micro-batch's raw embeddings (dv, dt [B, E], scaled by
 * in->grad_scale), ACCUMULATED into m->grads. The temperature's gradient is the caller's. */
int vc_model_step_embeddings(vc_model *m, const vc_step_inputs *in, vc_real *v_emb, vc_real *t_emb, vc_error *err);
int vc_model_backward_from(vc_model *m, const vc_step_inputs *in, const vc_real *dv, const vc_real *dt, vc_error *err);
/* The same without the second forward: backward from the activations that the last
 * vc_model_step_embeddings call (with the same in) kept. One micro-batch per step (no
 * accumulation) needs the forward only once. */
int vc_model_backward_kept(vc_model *m, const vc_step_inputs *in, const vc_real *dv, const vc_real *dt, vc_error *err);

/* The video tower alone (a classifier over its embedding): the training forward of in->video
 * (in->keep / drop_rates / seed / step as above; tokens, ids and train_text unused), raw
 * embeddings [B, E] into v_emb, activations kept; then backward from dv [B, E] (scaled by
 * in->grad_scale), ACCUMULATED into m->grads, for the same inputs. */
int vc_model_video_forward_train(vc_model *m, const vc_step_inputs *in, vc_real *v_emb, vc_error *err);
int vc_model_video_backward(vc_model *m, const vc_step_inputs *in, const vc_real *dv, vc_error *err);

/* Loss only (no gradients), same inputs; used by tests. */
int vc_model_loss(vc_model *m, const vc_step_inputs *in, double *loss, vc_error *err);

/* Per-layer drop-path rates rising linearly from 0 to max_rate (torch.linspace(0, max, L)). */
void vc_drop_path_schedule(double *rates, int layers, double max_rate);

#endif
