/* The ViCLIP contrastive (VTC) loss as forward/backward pairs, kept apart as open_clip's ClipLoss
 * keeps logits apart from the loss, so that a data-parallel or multi-level loss is a composition:
 *   l2norm:  x -> x / max(|x|, 1e-12)                      (F.normalize)
 *   logits:  S[R,N] = a[R,E] · b[N,E]ᵀ / temp               (a block: own rows against any columns)
 *   infonce: row-wise cross-entropy of softmax(S_r) against targets spread evenly over the
 *            row's positives (columns with the same group id; without ids, column r + offset).
 * vc_contrastive_loss composes them into the symmetric InfoNCE over one batch: rows sharing a
 * group id (e.g. the same video) are all positives; without ids the positives are the diagonal. */
#ifndef VC_MODEL_CONTRASTIVE_H
#define VC_MODEL_CONTRASTIVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/real.h"

/* L2 normalisation of N rows: xn = x / norm (norm kept for backward). In place (xn == x) is fine. */
void vc_l2norm_forward(vc_real *xn, vc_real *norm, const vc_real *x, int N, int E);
/* dx = (dxn - xn (xn·dxn)) / norm, overwriting dx; dx == dxn is fine. */
void vc_l2norm_backward(vc_real *dx, const vc_real *dxn, const vc_real *xn, const vc_real *norm, int N, int E);

/* S[R,N] = a[R,E] @ b[N,E]ᵀ / temp. */
void vc_logits_forward(vc_real *S, const vc_real *a, const vc_real *b, int R, int N, int E, vc_real temp);
/* da[R,E] += dS @ b / temp and db[N,E] += dSᵀ @ a / temp (either may be NULL).
 * Returns d loss / d temp = -sum(dS * S) / temp. */
double vc_logits_backward(vc_real *da, vc_real *db, const vc_real *dS, const vc_real *S, const vc_real *a,
                          const vc_real *b, int R, int N, int E, vc_real temp);

/* Row-wise InfoNCE over S[R,N]: returns sum_r -mean_{j in pos(r)} log softmax(S_r)_j and stores the
 * softmax in P[R,N]. pos(r) = {j : col_ids[j] == row_ids[r]}, or {r + row_offset} when the ids are
 * NULL (row r of this block is row r + row_offset of the whole batch). Every row needs a positive. */
double vc_infonce_rows_forward(vc_real *P, const vc_real *S, int R, int N, const int32_t *row_ids,
                               const int32_t *col_ids, int row_offset);
/* dS = weight * (P - targets); dS == P (in place) is fine. */
void vc_infonce_rows_backward(vc_real *dS, const vc_real *P, int R, int N, const int32_t *row_ids,
                              const int32_t *col_ids, int row_offset, double weight);

/* Scratch elements vc_contrastive_loss needs for B rows and Bt columns of dimension E. */
size_t vc_contrastive_scratch_elems(int B, int Bt, int E);

/* v [B, E] video embeddings, t [B, E] text embeddings (raw, normalised inside), temp > 0.
 * ids [B] or NULL. Returns the loss (double); if dv/dt/dtemp are non-NULL they receive the
 * gradients (overwritten, not accumulated). */
double vc_contrastive_loss(const vc_real *v, const vc_real *t, const int32_t *ids, int B, int E,
                           vc_real temp, vc_real *dv, vc_real *dt, vc_real *dtemp,
                           vc_real *scratch);

/* L2 normalisation of rows in place (eps 1e-12 on the norm, as F.normalize). */
void vc_l2_normalize_rows(vc_real *x, int N, int E);

#endif
