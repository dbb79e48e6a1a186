/* What this build of viclip was built with (the optional dependencies of scripts/configure.sh),
 * for `viclip info --system` and for tests that skip what is absent. */
#ifndef VC_CORE_FEATURES_H
#define VC_CORE_FEATURES_H

#include <stddef.h>

int vc_have_video(void);  /* FFmpeg decoding (else clips come as .npy only) */
int vc_have_serve(void);  /* libmicrohttpd: viclip serve */
int vc_have_zlib(void);   /* gzip vocabularies, deflated .pth entries */
int vc_have_cuda(void);   /* the CUDA backend is built (a GPU may still be absent) */
/* One line, e.g. "video=ffmpeg serve=yes zlib=yes mpi=no cuda=built blas=oneDNN". */
void vc_features_describe(char *buf, size_t cap);

#endif
