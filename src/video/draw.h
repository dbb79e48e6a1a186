/* A tiny rasteriser for the synthetic data set: filled circles, squares and triangles on an
 * interleaved RGB uint8 image. A pixel is painted when its centre (x + 0.5, y + 0.5) lies inside
 * the shape, so shapes scaled about the same centre are nested (a growing shape never loses a
 * pixel) and a translated shape keeps its pixel centroid within half a pixel of the true one. */
#ifndef VC_VIDEO_DRAW_H
#define VC_VIDEO_DRAW_H

#include <stdint.h>

typedef enum vc_shape_kind {
    VC_SHAPE_CIRCLE = 0,   /* disc of diameter `size` */
    VC_SHAPE_SQUARE = 1,   /* axis-aligned, side `size` */
    VC_SHAPE_TRIANGLE = 2, /* isosceles, apex up, base and height `size` */
} vc_shape_kind;

/* Fills the shape centred at (cx, cy) (pixel units, origin at the top-left corner of the image)
 * with colour rgb in img[h][w][3]. Parts outside the image are clipped. Returns the number of
 * pixels painted; 0 for an unknown kind, a size outside (0, 1e9] or a non-finite centre. */
int vc_draw_shape(uint8_t *img, int w, int h, vc_shape_kind kind, double cx, double cy,
                  double size, const uint8_t rgb[3]);

/* 1 if the point (x, y) lies inside the shape (same geometry as vc_draw_shape). */
int vc_shape_contains(vc_shape_kind kind, double cx, double cy, double size, double x, double y);

#endif
