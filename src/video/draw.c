#include "video/draw.h"

#include <math.h>

int vc_shape_contains(vc_shape_kind kind, double cx, double cy, double size, double x, double y) {
    const double r = 0.5 * size, dx = x - cx, dy = y - cy;
    switch (kind) {
    case VC_SHAPE_CIRCLE:
        return dx * dx + dy * dy <= r * r;
    case VC_SHAPE_SQUARE:
        return fabs(dx) <= r && fabs(dy) <= r;
    case VC_SHAPE_TRIANGLE: {
        /* Apex at (cx, cy - r), base from (cx - r, cy + r) to (cx + r, cy + r): the half-width
         * grows from 0 at the apex to r at the base, i.e. by 1/2 per pixel of depth. */
        const double depth = dy + r;
        return depth >= 0 && dy <= r && fabs(dx) <= 0.5 * depth;
    }
    }
    return 0;
}

int vc_draw_shape(uint8_t *img, int w, int h, vc_shape_kind kind, double cx, double cy,
                  double size, const uint8_t rgb[3]) {
    if (!(size > 0) || size > 1e9 || !isfinite(cx) || !isfinite(cy) || w <= 0 || h <= 0)
        return 0;
    if (kind != VC_SHAPE_CIRCLE && kind != VC_SHAPE_SQUARE && kind != VC_SHAPE_TRIANGLE) return 0;
    /* Only scan the shape's bounding box (every shape fits in the square of side `size`). */
    const double r = 0.5 * size;
    if (cx + r < 0 || cy + r < 0 || cx - r > w || cy - r > h) return 0; /* also keeps the casts below in range */
    int x0 = (int)floor(cx - r - 1), x1 = (int)ceil(cx + r + 1);
    int y0 = (int)floor(cy - r - 1), y1 = (int)ceil(cy + r + 1);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > w) x1 = w;
    if (y1 > h) y1 = h;
    int painted = 0;
    for (int y = y0; y < y1; y++) {
        for (int x = x0; x < x1; x++) {
            if (!vc_shape_contains(kind, cx, cy, size, x + 0.5, y + 0.5)) continue;
            uint8_t *px = img + 3 * ((long)y * w + x);
            px[0] = rgb[0], px[1] = rgb[1], px[2] = rgb[2];
            painted++;
        }
    }
    return painted;
}
