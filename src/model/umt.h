/* Unmasked Teacher (UMT) pretraining of the video tower: a frozen teacher (any viclip or
 * image-CLIP video tower) sees every frame on its own, unmasked, and gives one feature per
 * patch (its ln_post and projection applied to every token); the student (the video tower
 * being trained) sees a masked clip, and its visible tokens, after a LayerNorm and a linear
 * projection, are aligned to the teacher's features of the same frame and patch, by cosine
 * distance or mean squared error. Semantic masking keeps, in each frame, the patches the
 * teacher's class token attends to most in its last block (averaged over heads); random
 * masking keeps a uniform draw per frame. */
#ifndef VC_MODEL_UMT_H
#define VC_MODEL_UMT_H

#include <stdint.h>

#include "model/model.h"

typedef enum { VC_UMT_COSINE = 0, VC_UMT_MSE = 1 } vc_umt_loss;
typedef enum { VC_UMT_SEMANTIC = 0, VC_UMT_RANDOM = 1 } vc_umt_masking;

/* Alignment loss over n rows of dimension E: cosine: mean(1 - cos(s_i, t_i)); mse: mean of
 * (s - t)^2 over all n*E values. ds (if not NULL) receives d loss / d s. */
double vc_umt_align_loss(vc_umt_loss kind, const vc_real *s, const vc_real *t, int n, int E, vc_real *ds);

/* The frozen teacher, applied frame by frame: a one-frame copy of a model's video tower (its
 * temporal embedding replaced by the mean over its frames, as ViCLIP encodes a single image). */
typedef struct vc_umt_teacher {
    vc_model *frame_model;   /* num_frames = 1 */
    int T;                   /* frames per student clip */
    int planned_B;
    vc_real *mem;
    vc_vision_acts acts;
    vc_real *tokens;            /* [B*T*P, W] every frame's patch tokens after the last block */
    vc_ln_head_acts head;       /* their ln_post + proj: head.out [B*T*P, E] are the teacher's
                                 * features (the targets), frame-major: (clip, frame, patch) */
    vc_real *attention;         /* [B*T, P] class-token attention of the last block, head mean */
} vc_umt_teacher;

/* teacher: any model whose frames have the student's resolution and patch grid (`frames` is
 * the student's frame count). */
vc_umt_teacher *vc_umt_teacher_new(const vc_model *teacher, int frames, vc_error *err);
void vc_umt_teacher_free(vc_umt_teacher *t);
/* Runs the teacher on every frame of video [B, T, 3, H, W]: fills features and attention. */
int vc_umt_teacher_forward(vc_umt_teacher *t, const vc_real *video, int B, vc_error *err);

/* Per frame keep `keep_per_frame` of the P patches: the highest teacher attention (semantic),
 * or a uniform draw from (seed, step, clip). keep [B, keep_per_frame*T] ascending tokens n*T+t. */
void vc_umt_select(int32_t *keep, const vc_real *attention, vc_umt_masking how, int B, int T, int P,
                   int keep_per_frame, uint64_t seed, uint64_t step);

/* The student's projection head: LayerNorm(W) then Linear(W -> E teacher). */
typedef struct vc_umt_head {
    int W, E;
    vc_param_table table;
    vc_real *params, *grads;
    vc_ln_head p, g;         /* views of params and grads: norm, nn.Linear proj with bias */
} vc_umt_head;

vc_umt_head *vc_umt_head_new(int W, int E, vc_error *err);
void vc_umt_head_init(vc_umt_head *h, uint64_t seed);
void vc_umt_head_free(vc_umt_head *h);

typedef struct vc_umt_work {
    int B, K, planned;
    vc_acts_mode mode;      /* of the student's blocks (the model's setting) */
    vc_real *mem;
    int32_t *keep;
    vc_vision_acts vis;
    vc_real *tok;           /* kept tokens [B*K, W] */
    vc_ln_head_acts head;   /* the student head: head.out [B*K, E] */
    vc_real *target;        /* [B*K, E] the teacher's features of the same frames and patches */
    vc_real *d_out, *d_tok;
} vc_umt_work;

void vc_umt_work_free(vc_umt_work *w);

/* One UMT step: student on video with keep [B, K] (ascending), aligned to the teacher's
 * features of the last vc_umt_teacher_forward on the same video. With backward, gradients are
 * ACCUMULATED into m->grads (video tower) and h->grads, scaled by grad_scale. */
int vc_umt_step(vc_umt_work *w, vc_model *m, vc_umt_head *h, const vc_umt_teacher *t, const vc_real *video,
                const int32_t *keep, int B, int K, vc_umt_loss kind, int backward, double grad_scale,
                double *loss, vc_error *err);

#endif
