#include "core/features.h"

#include <stdio.h>

#ifdef VC_HAVE_VIDEO
int vc_have_video(void) { return 1; }
#else
int vc_have_video(void) { return 0; }
#endif
#ifdef VC_HAVE_MHD
int vc_have_serve(void) { return 1; }
#else
int vc_have_serve(void) { return 0; }
#endif
#ifdef VC_HAVE_ZLIB
int vc_have_zlib(void) { return 1; }
#else
int vc_have_zlib(void) { return 0; }
#endif
#ifdef VC_HAVE_CUDA
int vc_have_cuda(void) { return 1; }
#else
int vc_have_cuda(void) { return 0; }
#endif

void vc_features_describe(char *buf, size_t cap) {
#ifdef VC_HAVE_MPI
    const int mpi = 1;
#else
    const int mpi = 0;
#endif
#ifdef VC_HAVE_DNNL
    const char *blas = "oneDNN";
#else
    const char *blas = "plain";
#endif
    snprintf(buf, cap, "video=%s serve=%s zlib=%s mpi=%s cuda=%s gemm=%s",
             vc_have_video() ? "ffmpeg" : "none(.npy clips only)", vc_have_serve() ? "yes" : "no",
             vc_have_zlib() ? "yes" : "no", mpi ? "yes" : "no", vc_have_cuda() ? "built" : "no", blas);
}
