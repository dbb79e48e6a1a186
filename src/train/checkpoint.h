/* Training checkpoints: one safetensors file holding the model parameters under their
 * official names (so a checkpoint is also a loadable model), both AdamW moments under
 * "optimizer.exp_avg.<name>" / "optimizer.exp_avg_sq.<name>", and in the metadata the config,
 * the completed step and the seed. All other randomness is a function of (seed, step), so
 * this is the whole state a bit-identical resume needs. Written atomically, and never with a
 * non-finite value (the save is refused, so the last good checkpoint stays); loading checks
 * every parameter and moment for finiteness too. */
#ifndef VC_TRAIN_CHECKPOINT_H
#define VC_TRAIN_CHECKPOINT_H

#include <stdint.h>

#include "model/model.h"
#include "train/optimizer.h"

int vc_checkpoint_save(const char *path, const vc_model *m, const vc_adamw *opt, int64_t step,
                       uint64_t seed, const char *train_args_json, vc_error *err);

/* Loads a checkpoint: returns a new model, fills the optimizer moments (opt must be
 * initialised for the model's table), the step and the seed. */
vc_model *vc_checkpoint_load(const char *path, vc_adamw *opt, const vc_adamw_params *opt_params,
                             int64_t *step, uint64_t *seed, vc_error *err);

#endif
