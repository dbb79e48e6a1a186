/* Resizing position embeddings the way PyTorch's F.interpolate does (float32 arithmetic,
 * align_corners=False), so an imported model matches one resized by the official code. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/import.h"

/* torch's area_pixel_compute_source_index: scale * (i + 0.5) - 0.5, clamped at 0 for linear
 * but not for cubic. The scale is in/out computed in float. */
static float source_index(float scale, int i, int cubic) {
    float s = scale * ((float)i + 0.5f) - 0.5f;
    return (!cubic && s < 0.f) ? 0.f : s;
}

void vc_resize_linear_rows(const float *src, int n_in, int C, float *dst, int n_out) {
    const float scale = (float)n_in / (float)n_out;
    for (int o = 0; o < n_out; o++) {
        float x = source_index(scale, o, 0);
        int i0 = (int)x; /* x >= 0: truncation is floor */
        int i1 = i0 + (i0 < n_in - 1 ? 1 : 0);
        float l1 = x - (float)i0, l0 = 1.f - l1;
        for (int c = 0; c < C; c++)
            dst[(size_t)o * C + c] = l0 * src[(size_t)i0 * C + c] + l1 * src[(size_t)i1 * C + c];
    }
}

void vc_resize_temporal(const float *src, int T_in, int W, float *dst, int T_out, vc_temporal_resize mode) {
    if (T_out == T_in) {
        memcpy(dst, src, (size_t)T_in * W * sizeof *dst);
    } else if (T_out < T_in && mode == VC_TEMPORAL_OFFICIAL) {
        memcpy(dst, src, (size_t)T_out * W * sizeof *dst); /* the official rule keeps the first rows */
    } else {
        vc_resize_linear_rows(src, T_in, W, dst, T_out);
    }
}

/* Keys' cubic convolution with A = -0.75 (torch's upsample_bicubic2d). */
static void cubic_coeffs(float t, float c[4]) {
    const float A = -0.75f;
    float x1 = t + 1.f, x2 = 1.f - t, x3 = 2.f - t;
    c[0] = ((A * x1 - 5.f * A) * x1 + 8.f * A) * x1 - 4.f * A;
    c[1] = ((A + 2.f) * t - (A + 3.f)) * t * t + 1.f;
    c[2] = ((A + 2.f) * x2 - (A + 3.f)) * x2 * x2 + 1.f;
    c[3] = ((A * x3 - 5.f * A) * x3 + 8.f * A) * x3 - 4.f * A;
}

static int clampi(int v, int hi) { return v < 0 ? 0 : v > hi ? hi : v; }

void vc_resize_pos_embed(const float *src, int g_in, int W, float *dst, int g_out) {
    memcpy(dst, src, (size_t)W * sizeof *dst); /* class-token row */
    const float *grid = src + W;
    float *out = dst + W;
    if (g_in == g_out) {
        memcpy(out, grid, (size_t)g_in * g_in * W * sizeof *out);
        return;
    }
    const float scale = (float)g_in / (float)g_out;
    for (int oy = 0; oy < g_out; oy++) {
        float ry = source_index(scale, oy, 1);
        int iy = (int)floorf(ry);
        float cy[4];
        cubic_coeffs(ry - (float)iy, cy);
        for (int ox = 0; ox < g_out; ox++) {
            float rx = source_index(scale, ox, 1);
            int ix = (int)floorf(rx);
            float cx[4];
            cubic_coeffs(rx - (float)ix, cx);
            float *o = out + ((size_t)oy * g_out + ox) * W;
            for (int c = 0; c < W; c++) {
                /* Rows first interpolated along x, then the four results along y, as torch does. */
                float acc = 0.f;
                for (int k = 0; k < 4; k++) {
                    const float *row = grid + (size_t)clampi(iy - 1 + k, g_in - 1) * g_in * W;
                    float r = 0.f;
                    for (int j = 0; j < 4; j++) r += cx[j] * row[(size_t)clampi(ix - 1 + j, g_in - 1) * W + c];
                    acc += cy[k] * r;
                }
                o[c] = acc;
            }
        }
    }
}
