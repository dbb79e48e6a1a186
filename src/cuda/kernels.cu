// CUDA kernels of the inference forward; each mirrors a CPU op (see kernels.h).
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <mma.h>

#include "cuda/kernel_util.cuh"

#include "cuda/kernels.h"

namespace {

__device__ void store(float *p, float v) { *p = v; }
__device__ void store(__nv_bfloat16 *p, float v) { *p = __float2bfloat16_rn(v); }

// One warp per row: mean and variance in two passes in double, as the CPU does. T = float, or
// bf16 when the output only feeds a bf16 GEMM (the value rounded is the fp32 one).
template <typename T>
__global__ void layernorm_kernel(T *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                                 int N, int C, float eps) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float *x = inp + (size_t)row * C;
    T *y = out + (size_t)row * C;
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
    // __fmul_rn: the CPU's unfused xhat * w + b (nvcc would contract it into an FMA)
    for (int i = lane; i < C; i += 32) store(&y[i], __fmul_rn((float)((x[i] - m) * r), w[i]) + b[i]);
    if (lane == 0 && mean) mean[row] = (float)m, rstd[row] = (float)r; // kept for backward, as the CPU's
}

__global__ void broadcast_rows_kernel(float *out, const float *b, int N, int C) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < (size_t)N * C) out[i] = b[i % C];
}

template <typename T>
__global__ void quickgelu_kernel(T *out, const float *inp, size_t n) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n) {
        float x = inp[i];
        store(&out[i], x / (1.0f + expf(-1.702f * x)));
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

__global__ void gather_patches_kernel(float *patches, const float *video, const int32_t *keep, int B, int K, int T,
                                      int S, int p) {
    const int G = S / p, P3 = 3 * p * p;
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)B * K * P3) return;
    const int r = (int)(i % P3);
    const size_t bk = i / P3;
    const int k = (int)(bk % K), b = (int)(bk / K), j = keep ? keep[bk] : k;
    const int ch = r / (p * p), ky = (r / p) % p, kx = r % p;
    const int n = j / T, t = j % T, py = n / G, px = n % G;
    patches[i] = video[(((size_t)b * T + t) * 3 + ch) * S * S + (size_t)(py * p + ky) * S + px * p + kx];
}

__global__ void vision_embed_kernel(float *x, const float *tok, const float *class_emb, const float *pos,
                                    const float *temporal, const int32_t *keep, int B, int K, int T, int W) {
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
    const int j = keep ? keep[(size_t)b * K + l - 1] : l - 1;
    // The CPU adds pos + temporal to the token in that order: x += pos[i] + tem[i].
    x[i] = tok[((size_t)b * K + l - 1) * W + c] + (pos[(size_t)(1 + j / T) * W + c] + temporal[(size_t)(j % T) * W + c]);
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
__global__ void attention_kernel(float *out, float *lse, const float *qkv, int L, int C, int H, int hd, int causal,
                                 float scale) {
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
    const int keys = vc_block_keys(L, causal);
    for (int j0 = 0; j0 < keys; j0 += KT) {
        vc_stage_kv_tile<HDMAX, KT>(ks, vs, base, j0, L, C, hd);
        __syncthreads();
        if (active) {
            const int n = vc_tile_keys<KT>(i, j0, L, causal);
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
    if (lse) lse[(size_t)bh * L + i] = m + logf(l); // the row's log-sum-exp, as the CPU keeps it
}


// Tensor-core attention for --precision bf16, head dim 64, no causal mask (the video tower):
// FlashAttention-2's loop with WMMA bf16 products and fp32 accumulation. A block of 4 warps
// takes 64 queries of one (sample, head); each warp owns 16 of them. For each tile of 32 keys:
// S = Q K^T (Q pre-scaled by 1/8, exact in bf16), the online softmax in fp32 (row max m, sum l,
// the accumulator rescaled by exp(m_old - m_new)), P rounded to bf16, O += P V. The accumulator
// lives in WMMA fragments and passes through shared memory only to be rescaled row by row.
namespace tc {
constexpr int HD = 64, QB = 64, KT = 32, WARPS = 4;
constexpr int LDH = HD + 8;   // bf16 rows (a multiple of 8 elements, 16-byte steps for WMMA)
constexpr int LDP = KT + 8;
constexpr int LDF = HD + 4;   // fp32 rows (a multiple of 4)
using namespace nvcuda;
}  // namespace tc

__global__ void __launch_bounds__(128) attention_tc_kernel(float *out, float *lse, const float *qkv, int L, int C,
                                                           int H) {
    using namespace tc;
    __shared__ __align__(32) __nv_bfloat16 qs[QB][LDH];
    __shared__ __align__(32) __nv_bfloat16 ks[KT][LDH];
    __shared__ __align__(32) __nv_bfloat16 vs[KT][LDH];
    __shared__ __align__(32) float so[WARPS][16][LDF];      // S, then the accumulator being rescaled
    __shared__ __align__(32) __nv_bfloat16 ps[WARPS][16][LDP];
    const int bh = blockIdx.y, b = bh / H, h = bh % H, C3 = 3 * C;
    const int q0 = blockIdx.x * QB, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const float *base = qkv + (size_t)b * L * C3 + (size_t)h * HD;
    for (int e = threadIdx.x; e < QB * HD; e += blockDim.x) {
        const int r = e / HD, d = e % HD, i = q0 + r;
        qs[r][d] = __float2bfloat16_rn(i < L ? base[(size_t)i * C3 + d] * 0.125f : 0.0f);
    }
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[HD / 16];
    for (int n = 0; n < HD / 16; n++) wmma::fill_fragment(acc[n], 0.0f);
    // lanes 2r and 2r+1 keep row r's running max and sum (the same values in both)
    const int row = lane / 2, half = lane % 2;
    float m = -INFINITY, l = 0.0f;
    for (int j0 = 0; j0 < L; j0 += KT) {
        __syncthreads();  // the previous tile's K and V are no longer read
        for (int e = threadIdx.x; e < KT * HD; e += blockDim.x) {
            const int r = e / HD, d = e % HD, j = j0 + r;
            const bool ok = j < L;
            ks[r][d] = __float2bfloat16_rn(ok ? base[(size_t)j * C3 + C + d] : 0.0f);
            vs[r][d] = __float2bfloat16_rn(ok ? base[(size_t)j * C3 + 2 * C + d] : 0.0f);
        }
        __syncthreads();
        // S = Q_w K^T: [16, KT]
        for (int n = 0; n < KT / 16; n++) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> s;
            wmma::fill_fragment(s, 0.0f);
            for (int k = 0; k < HD / 16; k++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> kb;
                wmma::load_matrix_sync(a, &qs[warp * 16][k * 16], LDH);
                wmma::load_matrix_sync(kb, &ks[n * 16][k * 16], LDH);
                wmma::mma_sync(s, a, kb, s);
            }
            wmma::store_matrix_sync(&so[warp][0][n * 16], s, LDF, wmma::mem_row_major);
        }
        __syncwarp();
        // online softmax of row `row`, this lane's half of the KT columns
        const int c0 = half * (KT / 2);
        float tmax = -INFINITY;
        for (int c = c0; c < c0 + KT / 2; c++)
            if (j0 + c < L) tmax = fmaxf(tmax, so[warp][row][c]);
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
        const float m_new = fmaxf(m, tmax);  // finite: key j0 < L is in every tile
        const float corr = expf(m - m_new);  // 0 on the first tile
        float sum = 0.0f;
        for (int c = c0; c < c0 + KT / 2; c++) {
            const float p = j0 + c < L ? expf(so[warp][row][c] - m_new) : 0.0f;
            const __nv_bfloat16 pb = __float2bfloat16_rn(p);
            ps[warp][row][c] = pb;
            sum += __bfloat162float(pb);  // the sum of what is multiplied, as P is rounded
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l = l * corr + sum;
        m = m_new;
        __syncwarp();
        // rescale the accumulator's rows by corr (through shared memory), then O += P V
        for (int n = 0; n < HD / 16; n++) wmma::store_matrix_sync(&so[warp][0][n * 16], acc[n], LDF, wmma::mem_row_major);
        __syncwarp();
        for (int c = half * (HD / 2); c < (half + 1) * (HD / 2); c++) so[warp][row][c] *= corr;
        __syncwarp();
        for (int n = 0; n < HD / 16; n++) {
            wmma::load_matrix_sync(acc[n], &so[warp][0][n * 16], LDF, wmma::mem_row_major);
            for (int k = 0; k < KT / 16; k++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> pa;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> vb;
                wmma::load_matrix_sync(pa, &ps[warp][0][k * 16], LDP);
                wmma::load_matrix_sync(vb, &vs[k * 16][n * 16], LDH);
                wmma::mma_sync(acc[n], pa, vb, acc[n]);
            }
        }
    }
    for (int n = 0; n < HD / 16; n++) wmma::store_matrix_sync(&so[warp][0][n * 16], acc[n], LDF, wmma::mem_row_major);
    __syncwarp();
    const int i = q0 + warp * 16 + row;
    if (i < L) {
        const float inv = 1.0f / l;
        float *o = out + ((size_t)b * L + i) * C + (size_t)h * HD;
        for (int c = half * (HD / 2); c < (half + 1) * (HD / 2); c++) o[c] = so[warp][row][c] * inv;
        // training: the row's log-sum-exp of the scores as computed here (bf16 Q and K)
        if (lse && half == 0) lse[(size_t)bh * L + i] = m + logf(l);
    }
}

template <int HDMAX, int KT>
void launch_attention(float *out, float *lse, const float *qkv, int B, int L, int C, int H, int causal,
                      cudaStream_t s) {
    constexpr int Q = 64;
    const int hd = C / H;
    dim3 grid((unsigned)((L + Q - 1) / Q), (unsigned)(B * H));
    attention_kernel<HDMAX, KT><<<grid, Q, 0, s>>>(out, lse, qkv, L, C, H, hd, causal,
                                                   (float)(1.0 / sqrt((double)hd)));
}

}  // namespace

extern "C" {

void vc_cu_layernorm(float *out, const float *inp, const float *w, const float *b, int N, int C, float eps,
                     cudaStream_t s) {
    const int rows_per_block = kThreads / 32;
    layernorm_kernel<float><<<blocks_for((size_t)N, rows_per_block), kThreads, 0, s>>>(out, nullptr, nullptr, inp, w, b,
                                                                                      N, C, eps);
}

void vc_cu_layernorm_bf16(uint16_t *out, const float *inp, const float *w, const float *b, int N, int C, float eps,
                          cudaStream_t s) {
    const int rows_per_block = kThreads / 32;
    layernorm_kernel<__nv_bfloat16><<<blocks_for((size_t)N, rows_per_block), kThreads, 0, s>>>(
        reinterpret_cast<__nv_bfloat16 *>(out), nullptr, nullptr, inp, w, b, N, C, eps);
}

void vc_cu_layernorm_train(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                           int N, int C, float eps, cudaStream_t s) {
    const int rows_per_block = kThreads / 32;
    layernorm_kernel<float><<<blocks_for((size_t)N, rows_per_block), kThreads, 0, s>>>(out, mean, rstd, inp, w, b, N,
                                                                                      C, eps);
}

void vc_cu_broadcast_rows(float *out, const float *b, int N, int C, cudaStream_t s) {
    broadcast_rows_kernel<<<blocks_for((size_t)N * C), kThreads, 0, s>>>(out, b, N, C);
}

void vc_cu_quickgelu(float *out, const float *inp, size_t n, cudaStream_t s) {
    quickgelu_kernel<float><<<blocks_for(n), kThreads, 0, s>>>(out, inp, n);
}

void vc_cu_quickgelu_bf16(uint16_t *out, const float *inp, size_t n, cudaStream_t s) {
    quickgelu_kernel<__nv_bfloat16><<<blocks_for(n), kThreads, 0, s>>>(reinterpret_cast<__nv_bfloat16 *>(out), inp, n);
}

void vc_cu_add(float *x, const float *y, size_t n, cudaStream_t s) {
    add_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, y, n);
}

void vc_cu_to_bf16(uint16_t *dst, const float *src, size_t n, cudaStream_t s) {
    to_bf16_kernel<<<blocks_for(n), kThreads, 0, s>>>(reinterpret_cast<__nv_bfloat16 *>(dst), src, n);
}

void vc_cu_gather_patches(float *patches, const float *video, int B, int T, int S, int p, cudaStream_t s) {
    vc_cu_gather_patches_keep(patches, video, nullptr, B, T * (S / p) * (S / p), T, S, p, s);
}

void vc_cu_gather_patches_keep(float *patches, const float *video, const int32_t *keep, int B, int K, int T, int S,
                               int p, cudaStream_t s) {
    const size_t n = (size_t)B * K * 3 * p * p;
    gather_patches_kernel<<<blocks_for(n), kThreads, 0, s>>>(patches, video, keep, B, K, T, S, p);
}

void vc_cu_vision_embed(float *x, const float *tok, const float *class_emb, const float *pos, const float *temporal,
                        int B, int K, int T, int W, cudaStream_t s) {
    vc_cu_vision_embed_keep(x, tok, class_emb, pos, temporal, nullptr, B, K, T, W, s);
}

void vc_cu_vision_embed_keep(float *x, const float *tok, const float *class_emb, const float *pos,
                             const float *temporal, const int32_t *keep, int B, int K, int T, int W, cudaStream_t s) {
    vision_embed_kernel<<<blocks_for((size_t)B * (K + 1) * W), kThreads, 0, s>>>(x, tok, class_emb, pos, temporal,
                                                                                  keep, B, K, T, W);
}

void vc_cu_text_embed(float *x, const int32_t *tokens, const float *token_emb, const float *pos, int B, int L,
                      int ctx, int W, cudaStream_t s) {
    text_embed_kernel<<<blocks_for((size_t)B * L * W), kThreads, 0, s>>>(x, tokens, token_emb, pos, B, L, ctx, W);
}

void vc_cu_gather_rows(float *dst, const float *src, const int32_t *row, int B, int L, int W, cudaStream_t s) {
    gather_rows_kernel<<<blocks_for((size_t)B * W), kThreads, 0, s>>>(dst, src, row, B, L, W);
}

int vc_cu_attention_bf16(float *out, const float *qkv, int B, int L, int C, int H, int causal, cudaStream_t s) {
    if (causal || C / H != tc::HD || C % H) return vc_cu_attention(out, qkv, B, L, C, H, causal, s);
    dim3 grid((unsigned)((L + tc::QB - 1) / tc::QB), (unsigned)(B * H));
    attention_tc_kernel<<<grid, 32 * tc::WARPS, 0, s>>>(out, nullptr, qkv, L, C, H);
    return 0;
}

int vc_cu_attention_bf16_train(float *out, float *lse, const float *qkv, int B, int L, int C, int H, int causal,
                               cudaStream_t s) {
    if (causal || C / H != tc::HD || C % H) return -1;
    dim3 grid((unsigned)((L + tc::QB - 1) / tc::QB), (unsigned)(B * H));
    attention_tc_kernel<<<grid, 32 * tc::WARPS, 0, s>>>(out, lse, qkv, L, C, H);
    return 0;
}

int vc_cu_attention(float *out, const float *qkv, int B, int L, int C, int H, int causal, cudaStream_t s) {
    return vc_cu_attention_train(out, nullptr, qkv, B, L, C, H, causal, s);
}

int vc_cu_attention_train(float *out, float *lse, const float *qkv, int B, int L, int C, int H, int causal,
                          cudaStream_t s) {
    const int hd = C / H;
    if (hd <= 32) launch_attention<32, 64>(out, lse, qkv, B, L, C, H, causal, s);
    else if (hd <= 64) launch_attention<64, 64>(out, lse, qkv, B, L, C, H, causal, s);
    else if (hd <= 128) launch_attention<128, 32>(out, lse, qkv, B, L, C, H, causal, s);
    else return -1;
    return 0;
}

}  // extern "C"
