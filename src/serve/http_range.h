/* HTTP byte ranges (RFC 9110 14.1.2) for serving video files: one range of a Range header. */
#ifndef VC_SERVE_HTTP_RANGE_H
#define VC_SERVE_HTTP_RANGE_H

#include <stdint.h>

/* Parses header (may be NULL) against a file of `size` bytes. Returns 0: no usable range
 * (absent, not bytes, several ranges: serve the whole file), 1: *first..*last (inclusive) to
 * serve as 206, -1: unsatisfiable (416). */
int vc_http_range(const char *header, int64_t size, int64_t *first, int64_t *last);

#endif
