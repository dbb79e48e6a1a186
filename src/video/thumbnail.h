/* A JPEG thumbnail of a video at a time: the first frame at or after t (decoded from a seek
 * near t, never from the start), scaled to at most max_width pixels wide keeping the aspect
 * ratio, encoded with FFmpeg's MJPEG encoder. */
#ifndef VC_VIDEO_THUMBNAIL_H
#define VC_VIDEO_THUMBNAIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* *jpeg is malloc'ed (free it); *n its size. */
int vc_thumbnail_jpeg(const char *path, double t, int max_width, uint8_t **jpeg, size_t *n, vc_error *err);

#endif
