/* Filesystem helpers. */
#ifndef VC_IO_FS_H
#define VC_IO_FS_H

#include "core/error.h"

/* Creates a folder and any missing parents (like `mkdir -p`); an existing folder is fine. */
int vc_mkdir_p(const char *path, vc_error *err);

#include <stddef.h>

/* The whole file, NUL-terminated (*len excludes the terminator); *text is malloc'ed. */
int vc_read_file(const char *path, char **text, size_t *len, vc_error *err);

/* Before a command writes its outputs: an error when one of outputs[0..n_out) is the same file
 * as one of inputs[0..n_in) (the same device and inode, so another spelling of the path, a hard
 * link or a symbolic link is caught too: writing it would destroy the input); else removes
 * what interrupted earlier writes of each output left behind (vc_atomic_remove_stale) and
 * returns 0. NULL entries are skipped; an output that does not exist yet is no input. */
int vc_prepare_outputs(const char *const *outputs, int n_out, const char *const *inputs, int n_in, vc_error *err);

#endif
