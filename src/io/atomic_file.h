/* Writes a file so that readers see either the old contents or the complete new contents,
 * never a partial file, even if the process dies or the machine loses power mid-write:
 * data goes to "<path>.tmp.<pid>", is fsync'ed, renamed over path, and the directory is
 * fsync'ed so the rename itself is durable.
 *
 *   vc_atomic_file *f = vc_atomic_open(path, err);
 *   if (!f) return -1;
 *   if (vc_atomic_write(f, buf, n, err)) { vc_atomic_abort(f); return -1; }
 *   return vc_atomic_commit(f, err);
 *
 * commit and abort both free the handle. After a failed write the temp file is already
 * removed; the caller still calls vc_atomic_abort to free the handle. A writer killed mid-way
 * leaves its "<path>.tmp.<pid>"; the next vc_atomic_open of path (or vc_atomic_remove_stale)
 * removes those whose process is gone. */
#ifndef VC_IO_ATOMIC_FILE_H
#define VC_IO_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

typedef struct vc_atomic_file vc_atomic_file;

vc_atomic_file *vc_atomic_open(const char *path, vc_error *err);
int vc_atomic_write(vc_atomic_file *f, const void *data, size_t n, vc_error *err);
/* A stdio stream on the temp file, for writers that format their output; write through it
 * only (not vc_atomic_write). Commit flushes it and fails if any write through it failed. */
FILE *vc_atomic_stream(vc_atomic_file *f, vc_error *err);
/* Makes the written bytes the contents of path. Frees f whatever the outcome; on failure the
 * temp file is removed and path is left as it was. */
int vc_atomic_commit(vc_atomic_file *f, vc_error *err);
/* Discards the temp file and frees f (NULL is fine). */
void vc_atomic_abort(vc_atomic_file *f);

/* Removes the temp files of path left by writers that died (no process has their pid). */
void vc_atomic_remove_stale(const char *path);

/* The whole sequence above for one buffer. */
int vc_atomic_write_file(const char *path, const void *data, size_t n, vc_error *err);

#endif
