/* Fine-tuned classification: a linear head over the video embedding, and cross-entropy
 * against soft targets (label smoothing, mixup), each a forward/backward pair.
 *
 * The head reads the L2-normalised embedding scaled by sqrt(E), x = sqrt(E) v / |v|, so its
 * input has unit variance per coordinate whatever the tower: a randomly initialised head then
 * learns at ordinary learning rates, and a zero-shot head is exact: with rows
 * w_c = mean_t(prompt_ct) / (temp sqrt(E)) (the template-averaged normalised prompt
 * embeddings) the logits are ViCLIP's zero-shot similarities divided by the temperature. */
#ifndef VC_MODEL_CLASSIFIER_H
#define VC_MODEL_CLASSIFIER_H

#include <stdint.h>

#include "core/real.h"

/* emb [B, E] raw embeddings, w [C, E], b [C] -> logits [B, C]; x [B, E] receives the head's
 * input (kept for backward). */
void vc_head_forward(const vc_real *w, const vc_real *b, const vc_real *emb, int B, int E, int C, vc_real *x,
                     vc_real *logits);
/* dlogits [B, C] -> dw [C, E], db [C] ACCUMULATED; demb [B, E] (may be NULL) OVERWRITTEN with
 * the gradient w.r.t. the raw embedding (through the normalisation). */
void vc_head_backward(const vc_real *w, const vc_real *emb, const vc_real *x, const vc_real *dlogits, int B, int E,
                      int C, vc_real *dw, vc_real *db, vc_real *demb);

/* Mean over rows of -sum_c targets[c] log softmax(logits)[c]. dlogits [B, C] (may be NULL)
 * OVERWRITTEN with d loss / d logits = (softmax - targets) / B. */
double vc_soft_cross_entropy(const vc_real *logits, const vc_real *targets, int B, int C, vc_real *dlogits);

/* targets [B, C]: lam * onehot(y) + (1 - lam) * onehot(y2) (y2 NULL: lam = 1), each one-hot
 * smoothed as timm does: 1 - smoothing + smoothing / C on the class, smoothing / C elsewhere. */
void vc_soft_targets(const int32_t *y, const int32_t *y2, double lam, int B, int C, double smoothing,
                     vc_real *targets);

/* Mixup (Zhang et al.; timm's batch mode): x[i] = lam x[i] + (1 - lam) x[B-1-i] in place over
 * rows of n elements, with partner labels y2[i] = y[B-1-i]. Rows are read from a copy so the
 * pairs mix the original clips. scratch [B * n]. */
void vc_mixup_rows(vc_real *x, int B, size_t n, double lam, const int32_t *y, int32_t *y2, vc_real *scratch);

/* A draw from Beta(alpha, alpha) as G1 / (G1 + G2) of two Gamma(alpha) draws (Marsaglia-Tsang),
 * from the caller's uniform [0, 1) and standard normal generators. */
double vc_beta_sample(double alpha, double (*uniform)(void *), double (*normal)(void *), void *rng);

#endif
