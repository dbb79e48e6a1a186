/* The frame-level alignment loss: FILIP's token-wise late interaction between the frames of a
 * clip and the words of a caption, then the same symmetric InfoNCE as the global loss.
 *   cos(f, w)  = <v_f / |v_f|, t_w / |t_w|>
 *   s(i, j)    = ½ (mean_{valid f of i} max_{valid w of j} cos  +  mean_{valid w of j} max_{valid f of i} cos)
 *   loss       = ½ (InfoNCE over rows of s/temp  +  InfoNCE over rows of (s/temp)ᵀ), each a mean over rows.
 * The max routes its gradient to the first maximiser (a subgradient; exact away from ties). */
#ifndef VC_MODEL_FILIP_H
#define VC_MODEL_FILIP_H

#include <stddef.h>
#include <stdint.h>

#include "core/real.h"

/* Scratch elements vc_filip_loss needs. */
size_t vc_filip_scratch_elems(int B, int Tv, int Lt, int E);

/* v [B, Tv, E] per-frame video embeddings, t [B, Lt, E] per-word text embeddings (raw; normalised
 * inside); vmask [B, Tv] and tmask [B, Lt] mark the valid frames / words (every row needs at least
 * one). ids [B] positive groups or NULL for the diagonal. Returns the loss; dv, dt, dtemp (any may
 * be NULL) receive the gradients, overwritten. */
double vc_filip_loss(const vc_real *v, const unsigned char *vmask, int Tv, const vc_real *t,
                     const unsigned char *tmask, int Lt, const int32_t *ids, int B, int E, vc_real temp,
                     vc_real *dv, vc_real *dt, vc_real *dtemp, vc_real *scratch);

#endif
