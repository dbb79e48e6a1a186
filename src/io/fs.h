/* Filesystem helpers. */
#ifndef VC_IO_FS_H
#define VC_IO_FS_H

#include "core/error.h"

/* Creates a folder and any missing parents (like `mkdir -p`); an existing folder is fine. */
int vc_mkdir_p(const char *path, vc_error *err);

#include <stddef.h>

/* The whole file, NUL-terminated (*len excludes the terminator); *text is malloc'ed. */
int vc_read_file(const char *path, char **text, size_t *len, vc_error *err);

#endif
