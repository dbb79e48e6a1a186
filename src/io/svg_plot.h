/* A self-contained SVG line chart (no dependencies, no scripts, no external fonts), used for the
 * training-loss curve: axes, ticks at round numbers, axis labels, title and a legend. */
#ifndef VC_IO_SVG_PLOT_H
#define VC_IO_SVG_PLOT_H

#include "core/error.h"

/* Writes a line chart of n_series series to path (through a temporary file renamed into place).
 * Series i has lens[i] points (xs[i][k], ys[i][k]); xs, or one xs[i], may be NULL for x = 0, 1,
 * 2, ... Points with a NaN or infinite coordinate (or one beyond +-1e300) are skipped; each
 * series becomes one <polyline> of its remaining points, plus a dot when only one remains. A
 * constant series or a single point gets a small range around it; with no plottable point at
 * all the axes span [0, 1]. series_names may be NULL (or hold NULLs) for "series N"; text is
 * XML-escaped. n_series is at most 64. */
int vc_svg_plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel,
                      int n_series, const char *const *series_names, const double *const *xs,
                      const double *const *ys, const int *lens, vc_error *err);

/* Round tick spacing for the range [lo, hi]: a step of 1, 2 or 5 times a power of ten, the
 * smallest giving at most max_ticks ticks from floor(lo/step)*step to ceil(hi/step)*step.
 * Writes the first tick and the step; the axis then spans [*first, *first + (n-1)*step].
 * Returns the number of ticks, or -1 if lo/hi are not finite, hi <= lo, or max_ticks < 2. */
int vc_svg_nice_ticks(double lo, double hi, int max_ticks, double *first, double *step);

#endif
