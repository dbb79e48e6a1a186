#include "kernels/reduce.h"

void vc_colsum_accumulate(vc_real *dst, const vc_real *src, int N, int C) {
    /* Threads own blocks of columns and walk rows in order: cache-friendly and the sums
     * do not depend on the thread count. */
    enum { BLK = 64 };
    int nblk = (C + BLK - 1) / BLK;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < nblk; blk++) {
        int c0 = blk * BLK, c1 = c0 + BLK < C ? c0 + BLK : C;
        double acc[BLK] = {0};
        for (int n = 0; n < N; n++) {
            const vc_real *row = src + (size_t)n * C;
            for (int c = c0; c < c1; c++) acc[c - c0] += row[c];
        }
        for (int c = c0; c < c1; c++) dst[c] += (vc_real)acc[c - c0];
    }
}
