/* The CUDA backend's entry points (the rest of src/cuda/ is private to it). The model and the
 * commands reach it only through backend/device.h. Built when nvcc and cuBLAS are found
 * (`make CUDA=0` leaves it out; none.c then answers for it). */
#ifndef VC_CUDA_CUDA_H
#define VC_CUDA_CUDA_H

#include <stddef.h>

#include "backend/device.h"

/* Uploads m's parameters to the current GPU; fails naming the reason (not built, no GPU, out
 * of memory). */
vc_device *vc_cuda_open(const struct vc_model *m, vc_error *err);
/* 1 when a GPU is usable; desc gets "NVIDIA H200 (sm_90, 139.8 GiB)" or why not. */
int vc_cuda_probe(char *desc, size_t cap);
/* Runs every training kernel against its CPU pair on random data (check_ops.c), one line per
 * op into report; returns the number of ops out of bounds, or -1 with err (no GPU, not built). */
int vc_cuda_check_ops(char *report, size_t cap, vc_error *err);

#endif
