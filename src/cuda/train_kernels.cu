// CUDA kernels of training: each the backward of a forward op, or the optimizer; see
// train_kernels.h. Reductions run in a fixed order (no atomics) so that every run of a step
// computes the same bits.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <mma.h>

#include "cuda/kernel_util.cuh"

#include "backend/train_plan.h"
#include "cuda/train_kernels.h"

namespace {

// Block-wide sum in a fixed tree (blockDim.x == kThreads); the result in thread 0.
__device__ double block_sum(double v, double *sh) {
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int o = kThreads / 2; o > 0; o >>= 1) {
        if ((int)threadIdx.x < o) sh[threadIdx.x] += sh[threadIdx.x + o];
        __syncthreads();
    }
    return sh[0];
}

// One warp per row, as the CPU: g = dy * w, dx += (g - mean(g) - xhat * mean(g * xhat)) * rstd.
__global__ void ln_backward_input_kernel(float *dinp, const float *dout, const float *inp, const float *w,
                                         const float *mean, const float *rstd, int N, int C) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float *x = inp + (size_t)row * C, *dy = dout + (size_t)row * C;
    float *dx = dinp + (size_t)row * C;
    const double m = mean[row], s = rstd[row];
    double sg = 0, sgx = 0;
    for (int i = lane; i < C; i += 32) {
        const double g = (double)dy[i] * w[i];
        sg += g;
        sgx += g * (x[i] - m) * s;
    }
    const double mg = warp_sum(sg) / C, mgx = warp_sum(sgx) / C;
    for (int i = lane; i < C; i += 32) {
        const double xh = (x[i] - m) * s;
        dx[i] += (float)(((double)dy[i] * w[i] - mg - xh * mgx) * s);
    }
}

// Column sums in two passes: chunk y of the rows per (column, y) thread, then the chunks in order.
__global__ void ln_params_partial_kernel(double *partials, const float *dout, const float *inp, const float *mean,
                                         const float *rstd, int N, int C, int rows_per_chunk) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
    if (c >= C) return;
    const int n0 = y * rows_per_chunk, n1 = min(N, n0 + rows_per_chunk);
    double sw = 0, sb = 0;
    for (int n = n0; n < n1; n++) {
        const double dy = dout[(size_t)n * C + c];
        sw += dy * (inp[(size_t)n * C + c] - (double)mean[n]) * rstd[n];
        sb += dy;
    }
    partials[(size_t)y * C + c] = sw;
    partials[(size_t)(gridDim.y + y) * C + c] = sb;
}

__global__ void colsum_partial_kernel(double *partials, const float *src, int N, int C, int rows_per_chunk) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
    if (c >= C) return;
    const int n0 = y * rows_per_chunk, n1 = min(N, n0 + rows_per_chunk);
    double acc = 0;
    for (int n = n0; n < n1; n++) acc += src[(size_t)n * C + c];
    partials[(size_t)y * C + c] = acc;
}

// dst[c] += sum_y partials[y, c] (float); dst NULL: skipped.
__global__ void colsum_finish_kernel(float *dst, const double *partials, int C, int chunks) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C || !dst) return;
    double acc = 0;
    for (int y = 0; y < chunks; y++) acc += partials[(size_t)y * C + c];
    dst[c] += (float)acc;
}

__global__ void quickgelu_backward_kernel(float *dinp, const float *inp, const float *dout, size_t n) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float x = inp[i], sg = 1.0f / (1.0f + expf(-1.702f * x));
    dinp[i] += dout[i] * (sg + x * 1.702f * sg * (1.0f - sg));
}

__global__ void residual_kernel(float *out, const float *x, const float *branch, const float *scale, int B,
                                size_t per) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)B * per) return;
    const float sc = scale ? scale[i / per] : 1.0f;
    // __fmul_rn: never fused into an FMA, so the CPU's x + (s * branch) bits (ISO C: no contraction)
    out[i] = x[i] + __fmul_rn(sc, branch[i]);
}

__global__ void bias_quickgelu_kernel(float *fc, float *gelu, const float *bias, int N, int C) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)N * C) return;
    const float x = fc[i] + bias[i % C];
    fc[i] = x;
    gelu[i] = x / (1.0f + expf(-1.702f * x));
}

// One warp per row: the residual row written, then its LayerNorm in two passes in double.
__global__ void residual_layernorm_kernel(float *res, float *ln, float *mean, float *rstd, const float *x,
                                          const float *branch, const float *scale, const float *w, const float *b,
                                          int N, int L, int C, float eps) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float sc = scale ? scale[row / L] : 1.0f;
    const size_t o = (size_t)row * C;
    double m = 0;
    for (int i = lane; i < C; i += 32) {
        const float r = x[o + i] + __fmul_rn(sc, branch[o + i]);  // unfused, as residual_kernel
        res[o + i] = r;
        m += r;
    }
    m = warp_sum(m) / C;
    double v = 0;
    for (int i = lane; i < C; i += 32) {
        const double d = res[o + i] - m;
        v += d * d;
    }
    v = warp_sum(v) / C;
    const double r = 1.0 / sqrt(v + (double)eps);
    for (int i = lane; i < C; i += 32) ln[o + i] = __fmul_rn((float)((res[o + i] - m) * r), w[i]) + b[i];
    if (lane == 0) mean[row] = (float)m, rstd[row] = (float)r;
}

__global__ void scale_rows_kernel(float *dst, const float *src, const float *scale, int B, size_t per) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)B * per) return;
    dst[i] = (scale ? scale[i / per] : 1.0f) * src[i];
}

__global__ void scatter_rows_add_kernel(float *dst, const float *src, const int32_t *row, int B, int L, int W) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)B * W) return;
    const int c = (int)(i % W), b = (int)(i / W);
    dst[((size_t)b * L + (row ? row[b] : 0)) * W + c] += src[i];
}

__global__ void drop_first_row_kernel(float *dst, const float *src, int B, int L, int W) {
    const int K = L - 1;
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)B * K * W) return;
    const int c = (int)(i % W);
    const size_t bk = i / W;
    const int k = (int)(bk % K), b = (int)(bk / K);
    dst[i] = src[((size_t)b * L + 1 + k) * W + c];
}

__global__ void segment_rows_add_kernel(float *dst, const float *src, int W, const int32_t *dst_row,
                                        const int32_t *start, const int32_t *src_rows) {
    const int seg = blockIdx.x;
    float *d = dst + (size_t)dst_row[seg] * W;
    for (int c = threadIdx.x; c < W; c += blockDim.x) {
        float acc = d[c];
        for (int e = start[seg]; e < start[seg + 1]; e++) acc += src[(size_t)src_rows[e] * W + c];
        d[c] = acc;
    }
}

// ---- attention backward (exact fp32, one thread per query or per key) ----

__global__ void attention_D_kernel(float *D, const float *dout, const float *out, int B, int L, int C, int H) {
    size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (t >= (size_t)B * H * L) return;
    const int i = (int)(t % L), bh = (int)(t / L), b = bh / H, h = bh % H, hd = C / H;
    const float *dO = dout + ((size_t)b * L + i) * C + (size_t)h * hd, *O = out + ((size_t)b * L + i) * C + (size_t)h * hd;
    double dot = 0;
    for (int e = 0; e < hd; e++) dot += (double)dO[e] * O[e];
    D[t] = (float)dot;
}

// dQ of query i: sum_j dS_ij K_j * scale, dS_ij = P_ij (dO_i . V_j - D_i), P_ij = exp(s_ij - lse_i).
template <int HDMAX, int KT>
__global__ void attention_dq_kernel(float *dqkv, const float *qkv, const float *dout, const float *lse,
                                    const float *D, int L, int C, int H, int hd, int causal, float scale) {
    __shared__ float ks[KT][HDMAX], vs[KT][HDMAX];
    const int bh = blockIdx.y, b = bh / H, h = bh % H, C3 = 3 * C;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const bool active = i < L;
    const float *base = qkv + (size_t)b * L * C3 + (size_t)h * hd;
    float q[HDMAX], dO[HDMAX], dq[HDMAX];
#pragma unroll
    for (int d = 0; d < HDMAX; d++) {
        const bool ok = active && d < hd;
        q[d] = ok ? base[(size_t)i * C3 + d] : 0.0f;
        dO[d] = ok ? dout[((size_t)b * L + i) * C + (size_t)h * hd + d] : 0.0f;
        dq[d] = 0.0f;
    }
    const float m = active ? lse[(size_t)bh * L + i] : 0.0f, Di = active ? D[(size_t)bh * L + i] : 0.0f;
    const int keys = vc_block_keys(L, causal);
    for (int j0 = 0; j0 < keys; j0 += KT) {
        vc_stage_kv_tile<HDMAX, KT>(ks, vs, base, j0, L, C, hd);
        __syncthreads();
        if (active) {
            const int n = vc_tile_keys<KT>(i, j0, L, causal);
            for (int jj = 0; jj < n; jj++) {
                float sdot = 0.0f, dp = 0.0f;
#pragma unroll
                for (int d = 0; d < HDMAX; d++) sdot += q[d] * ks[jj][d], dp += dO[d] * vs[jj][d];
                const float p = expf(sdot * scale - m), ds = p * (dp - Di);
#pragma unroll
                for (int d = 0; d < HDMAX; d++) dq[d] += ds * ks[jj][d];
            }
        }
        __syncthreads();
    }
    if (!active) return;
    float *o = dqkv + ((size_t)b * L + i) * C3 + (size_t)h * hd;
#pragma unroll
    for (int d = 0; d < HDMAX; d++)
        if (d < hd) o[d] += scale * dq[d];
}

// dK and dV of key j: dV_j = sum_i P_ij dO_i, dK_j = sum_i dS_ij Q_i * scale (queries i >= j when causal).
template <int HDMAX, int QT>
__global__ void attention_dkv_kernel(float *dqkv, const float *qkv, const float *dout, const float *lse,
                                     const float *D, int L, int C, int H, int hd, int causal, float scale) {
    __shared__ float qs[QT][HDMAX], ds_[QT][HDMAX], ms[QT], Ds[QT];
    const int bh = blockIdx.y, b = bh / H, h = bh % H, C3 = 3 * C;
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    const bool active = j < L;
    const float *base = qkv + (size_t)b * L * C3 + (size_t)h * hd;
    float k[HDMAX], v[HDMAX], dk[HDMAX], dv[HDMAX];
#pragma unroll
    for (int d = 0; d < HDMAX; d++) {
        const bool ok = active && d < hd;
        k[d] = ok ? base[(size_t)j * C3 + C + d] : 0.0f;
        v[d] = ok ? base[(size_t)j * C3 + 2 * C + d] : 0.0f;
        dk[d] = dv[d] = 0.0f;
    }
    const int first_key = blockIdx.x * blockDim.x;
    for (int i0 = causal ? first_key / QT * QT : 0; i0 < L; i0 += QT) {
        for (int e = threadIdx.x; e < QT * HDMAX; e += blockDim.x) {
            const int ii = e / HDMAX, d = e % HDMAX, i = i0 + ii;
            const bool ok = i < L && d < hd;
            qs[ii][d] = ok ? base[(size_t)i * C3 + d] : 0.0f;
            ds_[ii][d] = ok ? dout[((size_t)b * L + i) * C + (size_t)h * hd + d] : 0.0f;
        }
        for (int ii = threadIdx.x; ii < QT; ii += blockDim.x) {
            const int i = i0 + ii;
            ms[ii] = i < L ? lse[(size_t)bh * L + i] : 0.0f;
            Ds[ii] = i < L ? D[(size_t)bh * L + i] : 0.0f;
        }
        __syncthreads();
        if (active) {
            const int n = min(QT, L - i0);
            for (int ii = causal ? max(0, j - i0) : 0; ii < n; ii++) {
                float sdot = 0.0f, dp = 0.0f;
#pragma unroll
                for (int d = 0; d < HDMAX; d++) sdot += qs[ii][d] * k[d], dp += ds_[ii][d] * v[d];
                const float p = expf(sdot * scale - ms[ii]), ds = p * (dp - Ds[ii]);
#pragma unroll
                for (int d = 0; d < HDMAX; d++) dv[d] += p * ds_[ii][d], dk[d] += ds * qs[ii][d];
            }
        }
        __syncthreads();
    }
    if (!active) return;
    float *o = dqkv + ((size_t)b * L + j) * C3 + (size_t)h * hd;
#pragma unroll
    for (int d = 0; d < HDMAX; d++)
        if (d < hd) o[C + d] += scale * dk[d], o[2 * C + d] += dv[d];
}

template <int HDMAX, int KT>
void launch_attention_backward(float *dqkv, const float *D, const float *dout, const float *qkv, const float *lse,
                               int B, int L, int C, int H, int causal, cudaStream_t s) {
    constexpr int Q = 64;
    const int hd = C / H;
    const float scale = (float)(1.0 / sqrt((double)hd));
    dim3 grid((unsigned)((L + Q - 1) / Q), (unsigned)(B * H));
    attention_dq_kernel<HDMAX, KT><<<grid, Q, 0, s>>>(dqkv, qkv, dout, lse, D, L, C, H, hd, causal, scale);
    attention_dkv_kernel<HDMAX, KT><<<grid, Q, 0, s>>>(dqkv, qkv, dout, lse, D, L, C, H, hd, causal, scale);
}

// ---- attention backward on tensor cores (--precision bf16, head dim 64, no mask, L <= 256) ----
//
// One block of 4 warps per (sample, head) holds its Q (pre-scaled by 1/8, exact in bf16), K, V
// and dO in shared memory as bf16, with each query's lse (of the tensor-core forward) and D.
// Phase 1, dQ: each warp takes query tiles of 16 and walks the keys in chunks of 64:
// S = Q K^T and dP = dO V^T by WMMA (fp32 accumulation), P = exp(S - lse) and
// dS = P (dP - D) in fp32, dS rounded to bf16, dQ += dS K. Phase 2, dK and dV: each warp takes
// key tiles of 16 and walks the queries: S^T = K Q^T, dP^T = V dO^T, then dV += P^T dO and
// dK += dS^T Q. Every sum is a warp's own (no atomics, no L x L matrix: 16 x 64 tiles).
namespace tcb {
constexpr int HD = 64, LMAX = 256, WARPS = 4, CH = 64;
constexpr int LDH = HD + 8;   // bf16 rows
constexpr int LDF = CH + 4;   // fp32 rows
constexpr int LDB = CH + 8;   // bf16 rows of P and dS
using namespace nvcuda;
// dynamic shared memory: Q, K, V, dO [Lp][LDH] bf16; lse, D [Lp]; per warp S, dP [16][LDF] fp32, P, dS [16][LDB] bf16
inline size_t smem_bytes(int Lp) {
    return 4 * (size_t)Lp * LDH * 2 + 2 * (size_t)Lp * 4 + WARPS * (2 * 16 * LDF * 4 + 2 * 16 * LDB * 2);
}
}  // namespace tcb

// One warp: S = A1 B1^T and dP = A2 B2^T for 16 rows of A (bf16, ld LDH, head dim deep) against
// n tiles of 16 rows of B, into the warp's fp32 tiles S and dP [16][LDF].
__device__ void two_products(float *S, float *dP, const __nv_bfloat16 *A1, const __nv_bfloat16 *A2,
                             const __nv_bfloat16 *B1, const __nv_bfloat16 *B2, int n_tiles) {
    using namespace tcb;
    for (int n = 0; n < n_tiles; n++) {
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> sf, pf;
        wmma::fill_fragment(sf, 0.0f);
        wmma::fill_fragment(pf, 0.0f);
        for (int kk = 0; kk < HD / 16; kk++) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a1, a2;
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b1, b2;
            wmma::load_matrix_sync(a1, A1 + kk * 16, LDH);
            wmma::load_matrix_sync(a2, A2 + kk * 16, LDH);
            wmma::load_matrix_sync(b1, B1 + (size_t)n * 16 * LDH + kk * 16, LDH);
            wmma::load_matrix_sync(b2, B2 + (size_t)n * 16 * LDH + kk * 16, LDH);
            wmma::mma_sync(sf, a1, b1, sf);
            wmma::mma_sync(pf, a2, b2, pf);
        }
        wmma::store_matrix_sync(S + n * 16, sf, LDF, wmma::mem_row_major);
        wmma::store_matrix_sync(dP + n * 16, pf, LDF, wmma::mem_row_major);
    }
}

__global__ void __launch_bounds__(128) attention_backward_tc_kernel(float *dqkv, const float *qkv, const float *dout,
                                                                    const float *lse, const float *D, int L, int C,
                                                                    int H) {
    using namespace tcb;
    extern __shared__ __align__(128) unsigned char smem[];
    const int Lp = (L + 15) / 16 * 16;
    __nv_bfloat16 *qs = reinterpret_cast<__nv_bfloat16 *>(smem), *ks = qs + (size_t)Lp * LDH,
                  *vs = ks + (size_t)Lp * LDH, *os = vs + (size_t)Lp * LDH;
    float *ls = reinterpret_cast<float *>(os + (size_t)Lp * LDH), *Dsh = ls + Lp;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, row = lane / 2, half = lane % 2;
    float *Sw = Dsh + Lp + (size_t)warp * 2 * 16 * LDF, *dPw = Sw + 16 * LDF;
    __nv_bfloat16 *Pw = reinterpret_cast<__nv_bfloat16 *>(Dsh + Lp + (size_t)WARPS * 2 * 16 * LDF) +
                        (size_t)warp * 2 * 16 * LDB,
                  *dSw = Pw + 16 * LDB;
    const int bh = blockIdx.x, b = bh / H, h = bh % H, C3 = 3 * C;
    const float *base = qkv + (size_t)b * L * C3 + (size_t)h * HD;
    const float *obase = dout + (size_t)b * L * C + (size_t)h * HD;
    for (int e = threadIdx.x; e < Lp * HD; e += blockDim.x) {
        const int r = e / HD, d = e % HD;
        const bool ok = r < L;
        qs[r * LDH + d] = __float2bfloat16_rn(ok ? base[(size_t)r * C3 + d] * 0.125f : 0.0f);
        ks[r * LDH + d] = __float2bfloat16_rn(ok ? base[(size_t)r * C3 + C + d] : 0.0f);
        vs[r * LDH + d] = __float2bfloat16_rn(ok ? base[(size_t)r * C3 + 2 * C + d] : 0.0f);
        os[r * LDH + d] = __float2bfloat16_rn(ok ? obase[(size_t)r * C + d] : 0.0f);
    }
    for (int r = threadIdx.x; r < Lp; r += blockDim.x) {
        ls[r] = r < L ? lse[(size_t)bh * L + r] : 0.0f;
        Dsh[r] = r < L ? D[(size_t)bh * L + r] : 0.0f;
    }
    __syncthreads();
    const int tiles = Lp / 16;
    // A [16 x 16*nk] (rows a, ld lda) times B^T where B's rows are b0.. (col_major view), into out[16 x 16*nk] fp32
    // Phase 1: dQ of query tiles
    for (int qt = warp; qt < tiles; qt += WARPS) {
        const int q0 = qt * 16;
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> dq[HD / 16];
        for (int n = 0; n < HD / 16; n++) wmma::fill_fragment(dq[n], 0.0f);
        for (int k0 = 0; k0 < Lp; k0 += CH) {
            const int nk = min(CH, Lp - k0) / 16;
            // S = Q K^T and dP = dO V^T, 16 keys at a time
            two_products(Sw, dPw, qs + (size_t)q0 * LDH, os + (size_t)q0 * LDH, ks + (size_t)k0 * LDH,
                         vs + (size_t)k0 * LDH, nk);
            __syncwarp();
            const int i = q0 + row;
            for (int c = half * (CH / 2); c < (half + 1) * (CH / 2); c++) {
                const int j = k0 + c;
                float ds = 0.0f;
                if (c < nk * 16 && j < L && i < L) {
                    const float p = expf(Sw[row * LDF + c] - ls[i]);
                    ds = p * (dPw[row * LDF + c] - Dsh[i]);
                }
                dSw[row * LDB + c] = __float2bfloat16_rn(ds);
            }
            __syncwarp();
            for (int n = 0; n < HD / 16; n++)  // dQ += dS K
                for (int kk = 0; kk < nk; kk++) {
                    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
                    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> bk;
                    wmma::load_matrix_sync(a, dSw + kk * 16, LDB);
                    wmma::load_matrix_sync(bk, ks + (size_t)(k0 + kk * 16) * LDH + n * 16, LDH);
                    wmma::mma_sync(dq[n], a, bk, dq[n]);
                }
            __syncwarp();
        }
        for (int n = 0; n < HD / 16; n++) wmma::store_matrix_sync(Sw + n * 16, dq[n], LDF, wmma::mem_row_major);
        __syncwarp();
        const int i = q0 + row;
        if (i < L) {
            float *o = dqkv + ((size_t)b * L + i) * C3 + (size_t)h * HD;
            for (int c = half * (HD / 2); c < (half + 1) * (HD / 2); c++) o[c] += 0.125f * Sw[row * LDF + c];
        }
        __syncwarp();
    }
    // Phase 2: dK and dV of key tiles
    for (int kt = warp; kt < tiles; kt += WARPS) {
        const int j0 = kt * 16;
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> dk[HD / 16], dv[HD / 16];
        for (int n = 0; n < HD / 16; n++) wmma::fill_fragment(dk[n], 0.0f), wmma::fill_fragment(dv[n], 0.0f);
        for (int i0 = 0; i0 < Lp; i0 += CH) {
            const int nq = min(CH, Lp - i0) / 16;
            // S^T = K Q^T and dP^T = V dO^T, 16 queries at a time
            two_products(Sw, dPw, ks + (size_t)j0 * LDH, vs + (size_t)j0 * LDH, qs + (size_t)i0 * LDH,
                         os + (size_t)i0 * LDH, nq);
            __syncwarp();
            const int j = j0 + row;
            for (int c = half * (CH / 2); c < (half + 1) * (CH / 2); c++) {
                const int i = i0 + c;
                float p = 0.0f, ds = 0.0f;
                if (c < nq * 16 && i < L && j < L) {
                    p = expf(Sw[row * LDF + c] - ls[i]);
                    ds = p * (dPw[row * LDF + c] - Dsh[i]);
                }
                Pw[row * LDB + c] = __float2bfloat16_rn(p);
                dSw[row * LDB + c] = __float2bfloat16_rn(ds);
            }
            __syncwarp();
            for (int n = 0; n < HD / 16; n++)  // dV += P^T dO, dK += dS^T (Q / 8)
                for (int kk = 0; kk < nq; kk++) {
                    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> ap, as;
                    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> bo, bq;
                    wmma::load_matrix_sync(ap, Pw + kk * 16, LDB);
                    wmma::load_matrix_sync(as, dSw + kk * 16, LDB);
                    wmma::load_matrix_sync(bo, os + (size_t)(i0 + kk * 16) * LDH + n * 16, LDH);
                    wmma::load_matrix_sync(bq, qs + (size_t)(i0 + kk * 16) * LDH + n * 16, LDH);
                    wmma::mma_sync(dv[n], ap, bo, dv[n]);
                    wmma::mma_sync(dk[n], as, bq, dk[n]);
                }
            __syncwarp();
        }
        for (int n = 0; n < HD / 16; n++) {
            wmma::store_matrix_sync(Sw + n * 16, dk[n], LDF, wmma::mem_row_major);
            wmma::store_matrix_sync(dPw + n * 16, dv[n], LDF, wmma::mem_row_major);
        }
        __syncwarp();
        const int j = j0 + row;
        if (j < L) {
            float *o = dqkv + ((size_t)b * L + j) * C3 + (size_t)h * HD;
            for (int c = half * (HD / 2); c < (half + 1) * (HD / 2); c++)
                o[C + c] += Sw[row * LDF + c], o[2 * C + c] += dPw[row * LDF + c];
        }
        __syncwarp();
    }
}

// ---- optimizer ----

// vc_adamw_step's loop body, each operation rounded as the CPU's (ISO C: no contraction).
__global__ void adamw_kernel(float *params, float *m, float *v, const float *grads, const vc_cu_tensor *table,
                             double grad_scale, double b1, double b2, double bc1, double bc2, double eps,
                             double *partials) {
    __shared__ double sh[kThreads];
    const vc_cu_tensor t = table[blockIdx.x];
    const double omb1 = __dadd_rn(1.0, -b1), omb2 = __dadd_rn(1.0, -b2);
    double usq = 0, wsq = 0;
    for (int64_t k = (int64_t)blockIdx.y * blockDim.x + threadIdx.x; k < t.numel;
         k += (int64_t)gridDim.y * blockDim.x) {
        const int64_t at = t.offset + k;
        const double gk = __dmul_rn((double)grads[at], grad_scale);
        const double mk = __dadd_rn(__dmul_rn(b1, (double)m[at]), __dmul_rn(omb1, gk));
        const double vk = __dadd_rn(__dmul_rn(b2, (double)v[at]), __dmul_rn(__dmul_rn(omb2, gk), gk));
        m[at] = __double2float_rn(mk);
        v[at] = __double2float_rn(vk);
        const double mhat = __ddiv_rn(mk, bc1), denom = __dadd_rn(__dsqrt_rn(__ddiv_rn(vk, bc2)), eps);
        const float old = params[at];
        const float p = __double2float_rn(
            __dadd_rn(__dmul_rn((double)old, t.decay), -__ddiv_rn(__dmul_rn(t.lr, mhat), denom)));
        params[at] = p;
        const double du = __dadd_rn((double)p, -(double)old);
        usq = __dadd_rn(usq, __dmul_rn(du, du));
        wsq = __dadd_rn(wsq, __dmul_rn((double)p, (double)p));
    }
    const size_t slot = ((size_t)blockIdx.x * gridDim.y + blockIdx.y) * 2;
    const double u = block_sum(usq, sh);
    if (threadIdx.x == 0) partials[slot] = u;
    __syncthreads();
    const double w = block_sum(wsq, sh);
    if (threadIdx.x == 0) partials[slot + 1] = w;
}

__global__ void sumsq_kernel(const float *grads, const vc_cu_tensor *table, double *partials) {
    __shared__ double sh[kThreads];
    const vc_cu_tensor t = table[blockIdx.x];
    double acc = 0;
    for (int64_t k = (int64_t)blockIdx.y * blockDim.x + threadIdx.x; k < t.numel;
         k += (int64_t)gridDim.y * blockDim.x) {
        const double g = grads[t.offset + k];
        acc += g * g;
    }
    const double sum = block_sum(acc, sh);
    if (threadIdx.x == 0) partials[(size_t)blockIdx.x * gridDim.y + blockIdx.y] = sum;
}

__global__ void floor_kernel(float *x, double floor_value) {
    if ((double)*x < floor_value) *x = (float)floor_value;
}

// ---- the contrastive loss ----

__global__ void l2norm_kernel(float *xn, float *norm, const float *x, int N, int E) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float *r = x + (size_t)row * E;
    double sq = 0;
    for (int i = lane; i < E; i += 32) sq += (double)r[i] * r[i];
    const float nrm = (float)fmax(sqrt(warp_sum(sq)), 1e-12);
    for (int i = lane; i < E; i += 32) xn[(size_t)row * E + i] = r[i] / nrm;
    if (lane == 0) norm[row] = nrm;
}

__global__ void l2norm_backward_kernel(float *dx, const float *d, const float *xn, const float *norm, int N, int E) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float *dr = d + (size_t)row * E, *xr = xn + (size_t)row * E;
    double dot = 0;
    for (int k = lane; k < E; k += 32) dot += (double)dr[k] * xr[k];
    dot = warp_sum(dot);  // every lane has read all of d before any writes dx (they may alias)
    const double nrm = norm[row];
    for (int k = lane; k < E; k += 32) dx[(size_t)row * E + k] = (float)(((double)dr[k] - xr[k] * dot) / nrm);
}

__device__ bool positive(const int32_t *ids, int r, int j) { return ids ? ids[r] == ids[j] : j == r; }

// One warp per row, in double as the CPU: the row's max, log-sum-exp, probabilities (rounded to
// float, as stored), its loss term and the gradient weight * (P - target).
__global__ void infonce_rows_kernel(float *dS, double *row_loss, const float *S, int R, int N, const int32_t *ids,
                                    double weight) {
    const int r = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (r >= R) return;
    const float *row = S + (size_t)r * N;
    double mx = -INFINITY;
    for (int j = lane; j < N; j += 32) mx = fmax(mx, (double)row[j]);
    for (int o = 16; o > 0; o >>= 1) mx = fmax(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    double z = 0, acc = 0, cnt = 0;
    for (int j = lane; j < N; j += 32) z += exp(row[j] - mx);
    const double lz = mx + log(warp_sum(z));
    for (int j = lane; j < N; j += 32)
        if (positive(ids, r, j)) cnt += 1, acc += row[j] - lz;
    cnt = warp_sum(cnt), acc = warp_sum(acc);
    for (int j = lane; j < N; j += 32) {
        const float p = (float)exp(row[j] - lz);
        const double target = positive(ids, r, j) ? 1.0 / cnt : 0;
        dS[(size_t)r * N + j] = (float)(weight * (p - target));
    }
    if (lane == 0) row_loss[r] = acc / cnt;
}

__global__ void dot_sum_kernel(double *out, const float *a, const float *b, size_t n) {
    __shared__ double sh[kThreads];
    double acc = 0;
    for (size_t k = threadIdx.x; k < n; k += blockDim.x) acc += (double)a[k] * b[k];
    const double sum = block_sum(acc, sh);
    if (threadIdx.x == 0) *out = sum;
}

__global__ void temp_grad_kernel(float *g, const double *sums, double temp, double wg, double scale) {
    float f = (float)(-sums[0] / temp + -sums[1] / temp);
    if (wg != 1) f *= (float)wg;
    *g = (float)scale * f;
}

__global__ void scale_kernel(float *x, float a, size_t n) {
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n) x[i] *= a;
}

int chunk_rows(int N) { return (N + VC_DEV_COLSUM_CHUNKS - 1) / VC_DEV_COLSUM_CHUNKS; }

}  // namespace

extern "C" {

void vc_cu_layernorm_backward_input(float *dinp, const float *dout, const float *inp, const float *w,
                                    const float *mean, const float *rstd, int N, int C, cudaStream_t s) {
    const int rows_per_block = kThreads / 32;
    ln_backward_input_kernel<<<blocks_for((size_t)N, rows_per_block), kThreads, 0, s>>>(dinp, dout, inp, w, mean,
                                                                                       rstd, N, C);
}

void vc_cu_layernorm_backward_params(float *dw, float *db, const float *dout, const float *inp, const float *mean,
                                     const float *rstd, int N, int C, double *partials, cudaStream_t s) {
    const int rpc = chunk_rows(N), chunks = (N + rpc - 1) / rpc;
    dim3 grid(blocks_for((size_t)C), (unsigned)chunks);
    ln_params_partial_kernel<<<grid, kThreads, 0, s>>>(partials, dout, inp, mean, rstd, N, C, rpc);
    colsum_finish_kernel<<<blocks_for((size_t)C), kThreads, 0, s>>>(dw, partials, C, chunks);
    colsum_finish_kernel<<<blocks_for((size_t)C), kThreads, 0, s>>>(db, partials + (size_t)chunks * C, C, chunks);
}

void vc_cu_colsum_add(float *dst, const float *src, int N, int C, double *partials, cudaStream_t s) {
    const int rpc = chunk_rows(N), chunks = (N + rpc - 1) / rpc;
    dim3 grid(blocks_for((size_t)C), (unsigned)chunks);
    colsum_partial_kernel<<<grid, kThreads, 0, s>>>(partials, src, N, C, rpc);
    colsum_finish_kernel<<<blocks_for((size_t)C), kThreads, 0, s>>>(dst, partials, C, chunks);
}

void vc_cu_quickgelu_backward(float *dinp, const float *inp, const float *dout, size_t n, cudaStream_t s) {
    quickgelu_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(dinp, inp, dout, n);
}

void vc_cu_residual(float *out, const float *x, const float *branch, const float *scale, int B, size_t per,
                    cudaStream_t s) {
    residual_kernel<<<blocks_for((size_t)B * per), kThreads, 0, s>>>(out, x, branch, scale, B, per);
}

void vc_cu_bias_quickgelu(float *fc, float *gelu, const float *bias, int N, int C, cudaStream_t s) {
    bias_quickgelu_kernel<<<blocks_for((size_t)N * C), kThreads, 0, s>>>(fc, gelu, bias, N, C);
}

void vc_cu_residual_layernorm(float *res, float *ln, float *mean, float *rstd, const float *x, const float *branch,
                              const float *scale, const float *w, const float *b, int B, int L, int C, float eps,
                              cudaStream_t s) {
    const int N = B * L;
    residual_layernorm_kernel<<<blocks_for((size_t)N, kThreads / 32), kThreads, 0, s>>>(res, ln, mean, rstd, x, branch,
                                                                                       scale, w, b, N, L, C, eps);
}

void vc_cu_scale_rows(float *dst, const float *src, const float *scale, int B, size_t per, cudaStream_t s) {
    scale_rows_kernel<<<blocks_for((size_t)B * per), kThreads, 0, s>>>(dst, src, scale, B, per);
}

void vc_cu_scatter_rows_add(float *dst, const float *src, const int32_t *row, int B, int L, int W, cudaStream_t s) {
    scatter_rows_add_kernel<<<blocks_for((size_t)B * W), kThreads, 0, s>>>(dst, src, row, B, L, W);
}

void vc_cu_drop_first_row(float *dst, const float *src, int B, int L, int W, cudaStream_t s) {
    if (L > 1) drop_first_row_kernel<<<blocks_for((size_t)B * (L - 1) * W), kThreads, 0, s>>>(dst, src, B, L, W);
}

void vc_cu_segment_rows_add(float *dst, const float *src, int W, int n_seg, const int32_t *dst_row,
                            const int32_t *start, const int32_t *src_rows, cudaStream_t s) {
    if (n_seg > 0) segment_rows_add_kernel<<<(unsigned)n_seg, kThreads, 0, s>>>(dst, src, W, dst_row, start, src_rows);
}

int vc_cu_attention_backward(float *dqkv, float *D, const float *dout, const float *qkv, const float *out,
                             const float *lse, int B, int L, int C, int H, int causal, cudaStream_t s) {
    const int hd = C / H;
    if (hd > 128) return -1;
    attention_D_kernel<<<blocks_for((size_t)B * H * L), kThreads, 0, s>>>(D, dout, out, B, L, C, H);
    if (hd <= 32) launch_attention_backward<32, 64>(dqkv, D, dout, qkv, lse, B, L, C, H, causal, s);
    else if (hd <= 64) launch_attention_backward<64, 32>(dqkv, D, dout, qkv, lse, B, L, C, H, causal, s);
    else launch_attention_backward<128, 16>(dqkv, D, dout, qkv, lse, B, L, C, H, causal, s);
    return 0;
}

int vc_cu_attention_backward_bf16(float *dqkv, float *D, const float *dout, const float *qkv, const float *out,
                                  const float *lse, int B, int L, int C, int H, int causal, cudaStream_t s) {
    if (causal || C % H || C / H != tcb::HD || L > tcb::LMAX) return -1;
    const size_t bytes = tcb::smem_bytes((L + 15) / 16 * 16);
    if (cudaFuncSetAttribute(attention_backward_tc_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes) !=
        cudaSuccess)
        return -1;
    attention_D_kernel<<<blocks_for((size_t)B * H * L), kThreads, 0, s>>>(D, dout, out, B, L, C, H);
    attention_backward_tc_kernel<<<(unsigned)(B * H), 32 * tcb::WARPS, bytes, s>>>(dqkv, qkv, dout, lse, D, L, C, H);
    return 0;
}

void vc_cu_adamw(float *params, float *m, float *v, const float *grads, const vc_cu_tensor *table, int n,
                 double grad_scale, double beta1, double beta2, double bc1, double bc2, double eps,
                 double *partials, cudaStream_t s) {
    if (n < 1) return;
    dim3 grid((unsigned)n, VC_DEV_NORM_BLOCKS);
    adamw_kernel<<<grid, kThreads, 0, s>>>(params, m, v, grads, table, grad_scale, beta1, beta2, bc1, bc2, eps,
                                           partials);
}

void vc_cu_sumsq(const float *grads, const vc_cu_tensor *table, int n, double *partials, cudaStream_t s) {
    if (n < 1) return;
    dim3 grid((unsigned)n, VC_DEV_NORM_BLOCKS);
    sumsq_kernel<<<grid, kThreads, 0, s>>>(grads, table, partials);
}

void vc_cu_l2norm(float *xn, float *norm, const float *x, int N, int E, cudaStream_t s) {
    l2norm_kernel<<<blocks_for((size_t)N, kThreads / 32), kThreads, 0, s>>>(xn, norm, x, N, E);
}

void vc_cu_l2norm_backward(float *dx, const float *d, const float *xn, const float *norm, int N, int E,
                           cudaStream_t s) {
    l2norm_backward_kernel<<<blocks_for((size_t)N, kThreads / 32), kThreads, 0, s>>>(dx, d, xn, norm, N, E);
}

void vc_cu_infonce_rows(float *dS, double *row_loss, const float *S, int R, int N, const int32_t *ids, double weight,
                        cudaStream_t s) {
    infonce_rows_kernel<<<blocks_for((size_t)R, kThreads / 32), kThreads, 0, s>>>(dS, row_loss, S, R, N, ids, weight);
}

void vc_cu_dot_sum(double *out, const float *a, const float *b, size_t n, cudaStream_t s) {
    dot_sum_kernel<<<1, kThreads, 0, s>>>(out, a, b, n);
}

void vc_cu_temp_grad(float *g, const double *sums, double temp, double wg, double scale, cudaStream_t s) {
    temp_grad_kernel<<<1, 1, 0, s>>>(g, sums, temp, wg, scale);
}

void vc_cu_scale(float *x, float a, size_t n, cudaStream_t s) {
    if (n) scale_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, a, n);
}

void vc_cu_floor(float *x, double floor_value, cudaStream_t s) { floor_kernel<<<1, 1, 0, s>>>(x, floor_value); }

}  // extern "C"
