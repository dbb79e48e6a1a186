/* Reading and writing models as safetensors with the official ViCLIP tensor names and the
 * config in the "config" metadata entry. */
#ifndef VC_MODEL_MODEL_IO_H
#define VC_MODEL_MODEL_IO_H

#include "io/dtype.h"
#include "io/safetensors.h"
#include "model/model.h"

/* Opens a model file: config from metadata, every parameter present with the right shape and
 * finite (a NaN or Inf is an error naming the file and tensor).
 * Tensors whose names start with one of `extra_prefixes` (NULL-terminated list, may be NULL)
 * are allowed besides the parameters; any other unknown tensor is an error. */
vc_model *vc_model_load(const char *path, const char *const *extra_prefixes, vc_error *err);

/* Same, from an already opened file. */
vc_model *vc_model_from_safetensors(const vc_safetensors *st, const char *const *extra_prefixes,
                                    vc_error *err);

/* Copies every parameter of m from st (names and shapes must match m's config; values finite). */
int vc_model_read_params(vc_model *m, const vc_safetensors *st, vc_error *err);

/* Adds m's parameters to a writer (refused when one is not finite; borrowing m->params; dtype F32, or F16/BF16 converted into
 * buffers owned by *owned, which the caller frees after writing) and the config metadata. */
int vc_model_add_to_writer(const vc_model *m, vc_st_writer *w, vc_dtype dtype, void **owned,
                           vc_error *err);

/* Writes a model file (atomically; a model with a non-finite parameter is refused). */
int vc_model_save(const vc_model *m, const char *path, vc_dtype dtype, vc_error *err);

#endif
