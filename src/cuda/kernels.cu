// CUDA kernels of the inference forward; each mirrors a CPU op (see kernels.h).
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <math.h>

#include "cuda/kernels.h"

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(size_t n, int per = kThreads) { return (unsigned)((n + per - 1) / per); }

__device__ double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return __shfl_sync(0xffffffffu, v, 0);
}

// One warp per row: mean and variance in two passes in double, as the CPU does.
__global__ void layernorm_kernel(float *out, const float *inp, const float *w, const float *b, int N, int C,
                                 float eps) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float *x = inp + (size_t)row * C;
    float *y = out + (size_t)row * C;
    double m = 0;
    for (int i = lane; i < C; i += 32) m += x[i];
    m = warp_sum(m) / C;
    double v = 0;
    for (int i = lane; i < C; i += 32) {
        double d = x[i] - m;
        v += d * d;
    }
    v = warp_sum(v) / C;
    const double r = 1.0 / sqrt(v + (double)eps);
    for (int i = lane; i < C; i += 32) y[i] = (float)((x[i] - m) * r) * w[i] + b[i];
}

__global__ void broadcast_rows_kernel(float *out, const float *b, int N, int C) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < (size_t)N * C) out[i] = b[i % C];
}

__global__ void quickgelu_kernel(float *out, const float *inp, size_t n) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n) {
        float x = inp[i];
        out[i] = x / (1.0f + expf(-1.702f * x));
    }
}

__global__ void add_kernel(float *x, const float *y, size_t n) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n) x[i] += y[i];
}

__global__ void to_bf16_kernel(__nv_bfloat16 *dst, const float *src, size_t n) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n) dst[i] = __float2bfloat16_rn(src[i]);
}

__global__ void gather_patches_kernel(float *patches, const float *video, int B, int T, int S, int p) {
    const int G = S / p, K = T * G * G, P3 = 3 * p * p;
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)B * K * P3) return;
    const int r = (int)(i % P3);
    const size_t bk = i / P3;
    const int k = (int)(bk % K), b = (int)(bk / K);
    const int ch = r / (p * p), ky = (r / p) % p, kx = r % p;
    const int n = k / T, t = k % T, py = n / G, px = n % G;
    patches[i] = video[(((size_t)b * T + t) * 3 + ch) * S * S + (size_t)(py * p + ky) * S + px * p + kx];
}

__global__ void vision_embed_kernel(float *x, const float *tok, const float *class_emb, const float *pos,
                                    const float *temporal, int B, int K, int T, int W) {
    const int L = K + 1;
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)B * L * W) return;
    const int c = (int)(i % W);
    const size_t bl = i / W;
    const int l = (int)(bl % L), b = (int)(bl / L);
    if (l == 0) {
        x[i] = class_emb[c] + pos[c];
        return;
    }
    const int j = l - 1;
    // The CPU adds pos + temporal to the token in that order: x += pos[i] + tem[i].
    x[i] = tok[((size_t)b * K + j) * W + c] + (pos[(size_t)(1 + j / T) * W + c] + temporal[(size_t)(j % T) * W + c]);
}

__global__ void text_embed_kernel(float *x, const int32_t *tokens, const float *token_emb, const float *pos, int B,
                                  int L, int ctx, int W) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)B * L * W) return;
    const int c = (int)(i % W);
    const size_t bl = i / W;
    const int l = (int)(bl % L), b = (int)(bl / L);
    x[i] = token_emb[(size_t)tokens[(size_t)b * ctx + l] * W + c] + pos[(size_t)l * W + c];
}

__global__ void gather_rows_kernel(float *dst, const float *src, const int32_t *row, int B, int L, int W) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)B * W) return;
    const int c = (int)(i % W), b = (int)(i / W);
    dst[i] = src[((size_t)b * L + (row ? row[b] : 0)) * W + c];
}

// Attention: one thread per query, HDMAX >= head dim, KT keys staged in shared memory at a time;
// softmax online (running maximum m and sum l, the accumulator rescaled when m grows), so only
// O(L * hd) memory. Scores in fp32 like the CPU's; the query is pre-scaled by 1/sqrt(hd).
template <int HDMAX, int KT>
__global__ void attention_kernel(float *out, const float *qkv, int L, int C, int H, int hd, int causal, float scale) {
    __shared__ float ks[KT][HDMAX], vs[KT][HDMAX];
    const int bh = blockIdx.y, b = bh / H, h = bh % H, C3 = 3 * C;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const float *base = qkv + (size_t)b * L * C3 + (size_t)h * hd;
    const bool active = i < L;
    float q[HDMAX], acc[HDMAX];
#pragma unroll
    for (int d = 0; d < HDMAX; d++) {
        q[d] = (active && d < hd) ? base[(size_t)i * C3 + d] * scale : 0.0f;
        acc[d] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    const int last_query = min(L, (int)(blockIdx.x * blockDim.x + blockDim.x)) - 1;
    const int keys = causal ? last_query + 1 : L;
    for (int j0 = 0; j0 < keys; j0 += KT) {
        for (int e = threadIdx.x; e < KT * HDMAX; e += blockDim.x) {
            const int jj = e / HDMAX, d = e % HDMAX, j = j0 + jj;
            const bool ok = j < L && d < hd;
            ks[jj][d] = ok ? base[(size_t)j * C3 + C + d] : 0.0f;
            vs[jj][d] = ok ? base[(size_t)j * C3 + 2 * C + d] : 0.0f;
        }
        __syncthreads();
        if (active) {
            int n = min(KT, L - j0);
            if (causal) n = min(n, i - j0 + 1);
            for (int jj = 0; jj < n; jj++) {
                float s = 0.0f;
#pragma unroll
                for (int d = 0; d < HDMAX; d++) s += q[d] * ks[jj][d];
                if (s > m) {
                    const float corr = expf(m - s);  // 0 on the first key (m = -inf)
                    l *= corr;
#pragma unroll
                    for (int d = 0; d < HDMAX; d++) acc[d] *= corr;
                    m = s;
                }
                const float pr = expf(s - m);
                l += pr;
#pragma unroll
                for (int d = 0; d < HDMAX; d++) acc[d] += pr * vs[jj][d];
            }
        }
        __syncthreads();
    }
    if (!active) return;
    float *o = out + ((size_t)b * L + i) * C + (size_t)h * hd;
    const float inv = 1.0f / l;
#pragma unroll
    for (int d = 0; d < HDMAX; d++)
        if (d < hd) o[d] = acc[d] * inv;
}

template <int HDMAX, int KT>
void launch_attention(float *out, const float *qkv, int B, int L, int C, int H, int causal, cudaStream_t s) {
    constexpr int Q = 64;
    const int hd = C / H;
    dim3 grid((unsigned)((L + Q - 1) / Q), (unsigned)(B * H));
    attention_kernel<HDMAX, KT><<<grid, Q, 0, s>>>(out, qkv, L, C, H, hd, causal, (float)(1.0 / sqrt((double)hd)));
}

}  // namespace

extern "C" {

void vc_cu_layernorm(float *out, const float *inp, const float *w, const float *b, int N, int C, float eps,
                     cudaStream_t s) {
    const int rows_per_block = kThreads / 32;
    layernorm_kernel<<<blocks_for((size_t)N, rows_per_block), kThreads, 0, s>>>(out, inp, w, b, N, C, eps);
}

void vc_cu_broadcast_rows(float *out, const float *b, int N, int C, cudaStream_t s) {
    broadcast_rows_kernel<<<blocks_for((size_t)N * C), kThreads, 0, s>>>(out, b, N, C);
}

void vc_cu_quickgelu(float *out, const float *inp, size_t n, cudaStream_t s) {
    quickgelu_kernel<<<blocks_for(n), kThreads, 0, s>>>(out, inp, n);
}

void vc_cu_add(float *x, const float *y, size_t n, cudaStream_t s) {
    add_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, y, n);
}

void vc_cu_to_bf16(uint16_t *dst, const float *src, size_t n, cudaStream_t s) {
    to_bf16_kernel<<<blocks_for(n), kThreads, 0, s>>>(reinterpret_cast<__nv_bfloat16 *>(dst), src, n);
}

void vc_cu_gather_patches(float *patches, const float *video, int B, int T, int S, int p, cudaStream_t s) {
    const size_t n = (size_t)B * T * (S / p) * (S / p) * 3 * p * p;
    gather_patches_kernel<<<blocks_for(n), kThreads, 0, s>>>(patches, video, B, T, S, p);
}

void vc_cu_vision_embed(float *x, const float *tok, const float *class_emb, const float *pos, const float *temporal,
                        int B, int K, int T, int W, cudaStream_t s) {
    vision_embed_kernel<<<blocks_for((size_t)B * (K + 1) * W), kThreads, 0, s>>>(x, tok, class_emb, pos, temporal, B,
                                                                                  K, T, W);
}

void vc_cu_text_embed(float *x, const int32_t *tokens, const float *token_emb, const float *pos, int B, int L,
                      int ctx, int W, cudaStream_t s) {
    text_embed_kernel<<<blocks_for((size_t)B * L * W), kThreads, 0, s>>>(x, tokens, token_emb, pos, B, L, ctx, W);
}

void vc_cu_gather_rows(float *dst, const float *src, const int32_t *row, int B, int L, int W, cudaStream_t s) {
    gather_rows_kernel<<<blocks_for((size_t)B * W), kThreads, 0, s>>>(dst, src, row, B, L, W);
}

int vc_cu_attention(float *out, const float *qkv, int B, int L, int C, int H, int causal, cudaStream_t s) {
    const int hd = C / H;
    if (hd <= 32) launch_attention<32, 64>(out, qkv, B, L, C, H, causal, s);
    else if (hd <= 64) launch_attention<64, 64>(out, qkv, B, L, C, H, causal, s);
    else if (hd <= 128) launch_attention<128, 32>(out, qkv, B, L, C, H, causal, s);
    else return -1;
    return 0;
}

}  // extern "C"
