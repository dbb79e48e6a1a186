/* A small, defensive ZIP reader for PyTorch archives (torch.save since 1.6, TorchScript .pt).
 *
 * It reads the central directory (ZIP64 included, for archives and entries past 4 GiB), checks
 * every offset and length against the buffer, and hands out entry data: stored entries as a
 * pointer into the buffer (no copy; torch stores tensor data uncompressed), deflated ones
 * inflated with zlib into a new buffer. CRC-32 is verified on every read. Encrypted entries,
 * multi-disk archives and compression methods other than stored/deflate are refused.
 * Errors name the archive, the entry and the byte offset at fault. */
#ifndef VC_IO_ZIP_H
#define VC_IO_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    char *name;              /* NUL-terminated (names containing NUL bytes are refused) */
    uint16_t method;         /* 0 stored, 8 deflate */
    uint32_t crc32;
    uint64_t comp_size, size;
    uint64_t local_offset;   /* of the local file header */
} vc_zip_entry;

typedef struct vc_zip vc_zip;

/* Parses an archive held in memory; `data` is borrowed and must outlive the reader. `label`
 * (copied) names it in messages. */
vc_zip *vc_zip_open_mem(const void *data, size_t size, const char *label, vc_error *err);
/* Maps a file read-only and parses it. */
vc_zip *vc_zip_open(const char *path, vc_error *err);
void vc_zip_close(vc_zip *z);

int vc_zip_count(const vc_zip *z);
const vc_zip_entry *vc_zip_at(const vc_zip *z, int i);
const vc_zip_entry *vc_zip_find(const vc_zip *z, const char *name);
/* The common top-level folder of all entries ("archive/" or "name/"), or "" if none. */
const char *vc_zip_prefix(const vc_zip *z);
const char *vc_zip_label(const vc_zip *z);

/* Gives entry e's bytes. Stored: *data points into the archive, *owned = NULL. Deflate: the
 * inflated bytes are malloc'ed into *owned (free it) and *data == *owned. *size = e->size. */
int vc_zip_read(const vc_zip *z, const vc_zip_entry *e, const void **data, size_t *size,
                void **owned, vc_error *err);

#endif
