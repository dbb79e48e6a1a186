#include "video/transform.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int vc_interp_parse(const char *name, vc_interp *out, vc_error *err) {
    if (name && !strcmp(name, "bicubic")) *out = VC_INTERP_BICUBIC;
    else if (name && !strcmp(name, "bilinear")) *out = VC_INTERP_BILINEAR;
    else return vc_fail(err, "unknown interpolation '%s' (expected bicubic or bilinear)", name ? name : "(null)");
    return 0;
}

const char *vc_interp_name(vc_interp interp) { return interp == VC_INTERP_BILINEAR ? "bilinear" : "bicubic"; }

/* One output coordinate's bicubic taps: 4 clamped source indices and their weights. */
typedef struct taps {
    int idx[4];
    float w[4];
} taps;

/* PyTorch's cubic convolution with A = -0.75 (upsample_bicubic2d): weights for t in [0, 1). */
static void cubic_weights(float t, float w[4]) {
    const float A = -0.75f;
    float x1 = t + 1.0f, x2 = 1.0f - t, x3 = x2 + 1.0f; /* as PyTorch forms them */
    w[0] = ((A * x1 - 5.0f * A) * x1 + 8.0f * A) * x1 - 4.0f * A;
    w[1] = ((A + 2.0f) * t - (A + 3.0f)) * t * t + 1.0f;
    w[2] = ((A + 2.0f) * x2 - (A + 3.0f)) * x2 * x2 + 1.0f;
    w[3] = ((A * x3 - 5.0f * A) * x3 + 8.0f * A) * x3 - 4.0f * A;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* align_corners=False source coordinate: (dst + 0.5) * in / out - 0.5, in float like PyTorch's
 * CPU kernel (not clamped at 0). */
static void make_taps(int in, int out, taps *t) {
    const float scale = (float)in / (float)out;
    for (int o = 0; o < out; o++) {
        float src = scale * ((float)o + 0.5f) - 0.5f;
        int i0 = (int)floorf(src);
        cubic_weights(src - (float)i0, t[o].w);
        for (int k = 0; k < 4; k++) t[o].idx[k] = clampi(i0 - 1 + k, 0, in - 1);
    }
}

/* cv2.resize(..., interpolation=INTER_LINEAR) on uint8 RGB, bit for bit (OpenCV 4.x on x86,
 * checked against cv2 4.6 on 326 random sizes): weights rounded to 11 bits
 * (INTER_RESIZE_COEF_SCALE = 2048) from float source coordinates, a horizontal pass in exact
 * integers, then the vertical pass as OpenCV's SIMD kernel rounds it: each row >> 4, times its
 * weight, high 16 bits, summed, (t + 2) >> 2. An exact 2x reduction is INTER_AREA in OpenCV:
 * the 2x2 mean rounded half up. */
static int resize_cv2_linear(const uint8_t *src, int w, int h, size_t src_stride, uint8_t *dst, int ow, int oh,
                             vc_error *err) {
    enum { CN = 3, COEF = 2048 };
    const double scale_x = 1.0 / ((double)ow / w), scale_y = 1.0 / ((double)oh / h);
    if (2 * ow == w && 2 * oh == h) {
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
                for (int c = 0; c < CN; c++) {
                    const uint8_t *a = src + (size_t)(2 * y) * src_stride + (size_t)(2 * x) * CN + c, *b = a + src_stride;
                    dst[((size_t)y * ow + x) * CN + c] = (uint8_t)((a[0] + a[CN] + b[0] + b[CN] + 2) >> 2);
                }
        return 0;
    }
    int *xofs = malloc((size_t)ow * sizeof *xofs), *rows = malloc((size_t)2 * ow * CN * sizeof *rows);
    short *alpha = malloc((size_t)2 * ow * sizeof *alpha);
    if (!xofs || !rows || !alpha) {
        free(xofs), free(rows), free(alpha);
        return vc_fail(err, "out of memory resizing a %dx%d frame to %dx%d", w, h, ow, oh);
    }
    int xmax = ow; /* from here on the right neighbour is outside the frame */
    for (int dx = 0; dx < ow; dx++) {
        float fx = (float)((dx + 0.5) * scale_x - 0.5);
        int sx = (int)floorf(fx);
        fx -= (float)sx;
        if (sx < 0) fx = 0, sx = 0;
        if (sx + 1 >= w) {
            if (dx < xmax) xmax = dx;
            if (sx >= w - 1) fx = 0, sx = w - 1;
        }
        xofs[dx] = sx;
        alpha[2 * dx] = (short)lrintf((1.0f - fx) * COEF);
        alpha[2 * dx + 1] = (short)lrintf(fx * COEF);
    }
    const int width = ow * CN;
    for (int dy = 0; dy < oh; dy++) {
        float fy = (float)((dy + 0.5) * scale_y - 0.5);
        const int sy = (int)floorf(fy);
        fy -= (float)sy;
        const int beta0 = (short)lrintf((1.0f - fy) * COEF), beta1 = (short)lrintf(fy * COEF);
        for (int k = 0; k < 2; k++) {
            const uint8_t *s = src + (size_t)clampi(sy + k, 0, h - 1) * src_stride;
            int *r = rows + (size_t)k * width;
            for (int dx = 0; dx < ow; dx++)
                for (int c = 0; c < CN; c++) {
                    const int i = xofs[dx] * CN + c;
                    r[dx * CN + c] = dx < xmax ? s[i] * alpha[2 * dx] + s[i + CN] * alpha[2 * dx + 1] : s[i] * COEF;
                }
        }
        uint8_t *d = dst + (size_t)dy * width;
        for (int x = 0; x < width; x++) {
            const int16_t t = (int16_t)((int16_t)(((rows[x] >> 4) * beta0) >> 16) +
                                        (int16_t)(((rows[width + x] >> 4) * beta1) >> 16));
            const int v = (t + 2) >> 2;
            d[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    free(xofs), free(rows), free(alpha);
    return 0;
}

/* float -> uint8 as torchvision does for uint8 tensors: clamp, then round half to even. */
static uint8_t to_u8(float v) {
    if (!(v > 0.0f)) return 0; /* also maps NaN to 0 */
    if (v >= 255.0f) return 255;
    return (uint8_t)nearbyintf(v);
}

int vc_resize_rgb_u8(const uint8_t *src, int w, int h, size_t src_stride, uint8_t *dst, int ow, int oh,
                     vc_interp interp, vc_error *err) {
    if (w < 1 || h < 1 || ow < 1 || oh < 1 || w > 1 << 15 || h > 1 << 15 || ow > 1 << 15 || oh > 1 << 15)
        return vc_fail(err, "cannot resize a %dx%d frame to %dx%d", w, h, ow, oh);
    if (interp == VC_INTERP_BILINEAR) return resize_cv2_linear(src, w, h, src_stride, dst, ow, oh, err);
    if (interp != VC_INTERP_BICUBIC) return vc_fail(err, "unknown interpolation %d", (int)interp);
    taps *tx = malloc((size_t)ow * sizeof *tx), *ty = malloc((size_t)oh * sizeof *ty);
    /* Separable: every source row is filtered horizontally once (rows[y][ox][c]), then columns.
     * The per-output sums keep PyTorch's order (along x within a row, then along y). */
    float *rows = malloc((size_t)h * ow * 3 * sizeof *rows);
    unsigned char *row_used = calloc((size_t)h, 1);
    if (!tx || !ty || !rows || !row_used) {
        free(tx), free(ty), free(rows), free(row_used);
        return vc_fail(err, "out of memory resizing a %dx%d frame to %dx%d", w, h, ow, oh);
    }
    make_taps(w, ow, tx);
    make_taps(h, oh, ty);
    for (int oy = 0; oy < oh; oy++)
        for (int k = 0; k < 4; k++) row_used[ty[oy].idx[k]] = 1;
    for (int y = 0; y < h; y++) {
        if (!row_used[y]) continue;
        const uint8_t *s = src + (size_t)y * src_stride;
        float *r = rows + (size_t)y * ow * 3;
        for (int ox = 0; ox < ow; ox++) {
            const taps *t = &tx[ox];
            for (int c = 0; c < 3; c++) {
                float acc = (float)s[t->idx[0] * 3 + c] * t->w[0] + (float)s[t->idx[1] * 3 + c] * t->w[1];
                acc = acc + (float)s[t->idx[2] * 3 + c] * t->w[2] + (float)s[t->idx[3] * 3 + c] * t->w[3];
                r[ox * 3 + c] = acc;
            }
        }
    }
    for (int oy = 0; oy < oh; oy++) {
        const taps *t = &ty[oy];
        const float *r0 = rows + (size_t)t->idx[0] * ow * 3, *r1 = rows + (size_t)t->idx[1] * ow * 3;
        const float *r2 = rows + (size_t)t->idx[2] * ow * 3, *r3 = rows + (size_t)t->idx[3] * ow * 3;
        uint8_t *d = dst + (size_t)oy * ow * 3;
        for (int i = 0; i < ow * 3; i++) {
            float acc = r0[i] * t->w[0] + r1[i] * t->w[1];
            acc = acc + r2[i] * t->w[2] + r3[i] * t->w[3];
            d[i] = to_u8(acc);
        }
    }
    free(tx), free(ty), free(rows), free(row_used);
    return 0;
}

vc_crop_params vc_crop_default_params(void) {
    vc_crop_params p = {0.5, 1.0, 3.0 / 4.0, 4.0 / 3.0, 0.5};
    return p;
}

vc_crop vc_crop_full(int w, int h) {
    vc_crop c = {0, 0, w, h, 0};
    return c;
}

vc_crop vc_random_resized_crop(vc_rng *rng, int w, int h, const vc_crop_params *p) {
    vc_crop c = {0, 0, w, h, 0};
    const double area = (double)w * h, log_lo = log(p->ratio_min), log_hi = log(p->ratio_max);
    int found = 0;
    for (int attempt = 0; attempt < 10 && !found; attempt++) {
        double target = area * (p->scale_min + (p->scale_max - p->scale_min) * vc_rng_uniform(rng));
        double aspect = exp(log_lo + (log_hi - log_lo) * vc_rng_uniform(rng));
        int cw = (int)nearbyint(sqrt(target * aspect)), ch = (int)nearbyint(sqrt(target / aspect));
        if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
            c.w = cw, c.h = ch;
            c.y = (int)vc_rng_below(rng, (uint64_t)(h - ch + 1));
            c.x = (int)vc_rng_below(rng, (uint64_t)(w - cw + 1));
            found = 1;
        }
    }
    if (!found) { /* centre crop at the nearest allowed aspect ratio */
        double in_ratio = (double)w / h;
        if (in_ratio < p->ratio_min) c.w = w, c.h = (int)nearbyint(w / p->ratio_min);
        else if (in_ratio > p->ratio_max) c.h = h, c.w = (int)nearbyint(h * p->ratio_max);
        else c.w = w, c.h = h;
        if (c.w < 1) c.w = 1;
        if (c.h < 1) c.h = 1;
        if (c.w > w) c.w = w;
        if (c.h > h) c.h = h;
        c.x = (w - c.w) / 2, c.y = (h - c.h) / 2;
    }
    c.flip = vc_rng_uniform(rng) < p->flip_p;
    return c;
}

int vc_crop_resize_rgb_u8(const uint8_t *src, int w, int h, size_t src_stride, const vc_crop *c, int S,
                          vc_interp interp, uint8_t *dst, vc_error *err) {
    if (c->x < 0 || c->y < 0 || c->w < 1 || c->h < 1 || c->x + c->w > w || c->y + c->h > h)
        return vc_fail(err, "crop %dx%d+%d+%d lies outside the %dx%d frame", c->w, c->h, c->x, c->y, w, h);
    if (vc_resize_rgb_u8(src + (size_t)c->y * src_stride + (size_t)c->x * 3, c->w, c->h, src_stride, dst, S, S,
                         interp, err))
        return -1;
    if (c->flip)
        for (int y = 0; y < S; y++) {
            uint8_t *r = dst + (size_t)y * S * 3;
            for (int a = 0, b = S - 1; a < b; a++, b--)
                for (int k = 0; k < 3; k++) {
                    uint8_t t = r[a * 3 + k];
                    r[a * 3 + k] = r[b * 3 + k];
                    r[b * 3 + k] = t;
                }
        }
    return 0;
}
