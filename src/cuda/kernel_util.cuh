// Device helpers both kernel files (kernels.cu: inference, train_kernels.cu: training) use:
// launch sizes, the warp sum, and the key/value tile loop of the exact (fp32) attention, which
// its forward and its dQ backward walk the same way (keys KT at a time through shared memory).
#ifndef VC_CUDA_KERNEL_UTIL_CUH
#define VC_CUDA_KERNEL_UTIL_CUH

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(size_t n, int per = kThreads) { return (unsigned)((n + per - 1) / per); }

// The sum over the warp's 32 lanes (all active), in every lane.
__device__ double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return __shfl_sync(0xffffffffu, v, 0);
}

}  // namespace

// Keys j0 .. j0+KT-1 of one head into ks/vs; rows past L and columns past hd are zero, so the
// unrolled HDMAX loops may read them. `base` is the head's slice of the packed [L, 3C] qkv.
template <int HDMAX, int KT>
__device__ __forceinline__ void vc_stage_kv_tile(float (*ks)[HDMAX], float (*vs)[HDMAX], const float *base, int j0,
                                                 int L, int C, int hd) {
    const int C3 = 3 * C;
    for (int e = threadIdx.x; e < KT * HDMAX; e += blockDim.x) {
        const int jj = e / HDMAX, d = e % HDMAX, j = j0 + jj;
        const bool ok = j < L && d < hd;
        ks[jj][d] = ok ? base[(size_t)j * C3 + C + d] : 0.0f;
        vs[jj][d] = ok ? base[(size_t)j * C3 + 2 * C + d] : 0.0f;
    }
}

// How many keys of the tile starting at j0 query i attends to (causal: keys up to i only).
template <int KT>
__device__ __forceinline__ int vc_tile_keys(int i, int j0, int L, int causal) {
    const int n = min(KT, L - j0);
    return causal ? min(n, i - j0 + 1) : n;
}

// Keys the block's queries need in all: every one, or (causal) up to its last query.
__device__ __forceinline__ int vc_block_keys(int L, int causal) {
    const int last_query = min(L, (int)(blockIdx.x * blockDim.x + blockDim.x)) - 1;
    return causal ? last_query + 1 : L;
}

#endif
