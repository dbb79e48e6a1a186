/* Symmetric InfoNCE over L2-normalised embeddings with a learnable temperature (the ViCLIP
 * VTC loss). Rows sharing a group id (e.g. the same video) are all positives, with targets
 * spread evenly over them; without ids the positives are the diagonal. */
#ifndef VC_MODEL_CONTRASTIVE_H
#define VC_MODEL_CONTRASTIVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/real.h"

/* Scratch elements needed for a batch of B rows and Bt columns of dimension E. */
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
