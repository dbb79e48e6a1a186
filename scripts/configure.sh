#!/usr/bin/env bash
# Probes the optional dependencies and prints make assignments (build/config.mk). Each is
# `?=`, so `make VIDEO=0` (or DNNL=0, OPENBLAS=0, MHD=0, ZLIB=0, MPI=0, CUDA=0) overrides it.
#   DNNL      oneDNN: the float GEMMs (AVX2/AVX-512/BF16/AMX kernels); else a plain OpenMP GEMM
#   OPENBLAS  OpenBLAS (OpenMP build): the double GEMMs of the gradient checks; else the same plain GEMM
#   VIDEO     FFmpeg libraries (libavformat, libavcodec, libavutil, libswscale): video decoding;
#             else clips come only as .npy arrays and decoding commands say so
#   MHD       libmicrohttpd: viclip serve; else serve says it was not built
#   ZLIB      zlib: gzip vocabulary and deflated .pth entries; else uncompressed ones only
#   MPI       mpicc: data-parallel training
#   CUDA      nvcc + cuBLASLt: the --device cuda backend (src/cuda/)
# Usage: scripts/configure.sh CC MPICC BLAS_DIR
set -u
CC=${1:-cc}; MPICC=${2:-mpicc}; BLAS_DIR=${3:-}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# links HEADER LIBS...: a program including HEADER links against LIBS
links() {
    local header=$1; shift
    printf '#include <%s>\nint main(void) { return 0; }\n' "$header" >"$tmp/p.c"
    "$CC" "$tmp/p.c" -o "$tmp/p" "$@" >/dev/null 2>&1
}
yes_no() { if "$@" >/dev/null 2>&1; then echo 1; else echo 0; fi; }

echo "DNNL ?= $(yes_no links oneapi/dnnl/dnnl.h -ldnnl)"
echo "OPENBLAS ?= $(yes_no links cblas.h ${BLAS_DIR:+-L$BLAS_DIR} -lopenblas)"
video=0
if pkg-config --exists libavformat libavcodec libavutil libswscale 2>/dev/null &&
   links libavformat/avformat.h $(pkg-config --cflags --libs libavformat libavcodec libavutil libswscale); then
    video=1
fi
echo "VIDEO ?= $video"
echo "MHD ?= $(yes_no links microhttpd.h -lmicrohttpd)"
echo "ZLIB ?= $(yes_no links zlib.h -lz)"
echo "MPI ?= $(yes_no command -v "$MPICC")"
nvcc=$(command -v nvcc || true)
for cand in /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc; do
    [ -z "$nvcc" ] && [ -x "$cand" ] && nvcc=$cand
done
cuda=0
if [ -n "$nvcc" ]; then
    home=$(dirname "$(dirname "$nvcc")")
    [ -f "$home/include/cublasLt.h" ] && cuda=1
    echo "NVCC ?= $nvcc"
    echo "CUDA_HOME ?= $home"
fi
echo "CUDA ?= $cuda"
