/* The CUDA backend of a build without it (no nvcc found, or `make CUDA=0`). */
#include <stdio.h>

#include "cuda/cuda.h"

#define NOT_BUILT "viclip was built without CUDA (no nvcc/cuBLAS found at build time, or make CUDA=0)"

vc_device *vc_cuda_open(const struct vc_model *m, vc_error *err) {
    (void)m;
    vc_fail(err, "--device cuda: %s", NOT_BUILT);
    return NULL;
}

int vc_cuda_probe(char *desc, size_t cap) {
    if (desc && cap) snprintf(desc, cap, "%s", NOT_BUILT);
    return 0;
}

int vc_cuda_check_ops(char *report, size_t cap, vc_error *err) {
    if (report && cap) report[0] = 0;
    return vc_fail(err, "--device cuda: %s", NOT_BUILT);
}
