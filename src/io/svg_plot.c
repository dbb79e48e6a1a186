#include "io/svg_plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/atomic_file.h"

/* Canvas and plot-area geometry in SVG user units; the legend sits right of the plot area. */
enum { WIDTH = 800, HEIGHT = 480, PLOT_L = 80, PLOT_R = 630, PLOT_T = 50, PLOT_B = 420, LEGEND_X = 645,
       MAX_SERIES = 64, X_TICKS = 8, Y_TICKS = 7 };

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                      "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

/* Beyond this magnitude, ranges and their differences could overflow; such points are skipped. */
static int plottable(double v) { return isfinite(v) && fabs(v) <= 1e300; }

int vc_svg_nice_ticks(double lo, double hi, int max_ticks, double *first, double *step) {
    if (!isfinite(lo) || !isfinite(hi) || !(hi > lo) || max_ticks < 2 || !isfinite(hi - lo)) return -1;
    /* Start one decade below the step that would give max_ticks intervals and go up through
     * 1, 2, 5 x 10^e until the ticks covering [lo, hi] number at most max_ticks. The small
     * slack keeps a value like 0.3 from counting as just below the tick 0.3 after rounding. */
    int e = (int)floor(log10((hi - lo) / (max_ticks - 1))) - 1;
    static const double mant[3] = {1, 2, 5};
    for (int iter = 0; iter < 60; iter++, e++) {
        for (int k = 0; k < 3; k++) {
            const double s = mant[k] * pow(10.0, e);
            if (!(s > 0) || !isfinite(s)) continue;
            const double a = floor(lo / s + 1e-9), b = ceil(hi / s - 1e-9);
            if (!isfinite(a) || !isfinite(b) || fabs(a) > 1e15 || fabs(b) > 1e15) continue;
            const double n = b - a + 1;
            if (n <= max_ticks) {
                *first = a * s;
                *step = s;
                return (int)n;
            }
        }
    }
    return -1;
}

/* Tick label with just enough decimals for the step; no "-0". */
static void format_tick(char *buf, size_t cap, double v, double step, double max_abs) {
    if (fabs(v) < 1e-9 * step) v = 0;
    if (step >= 1e-4 && max_abs < 1e7) {
        int decimals = (int)-floor(log10(step) + 1e-9);
        if (decimals < 0) decimals = 0;
        snprintf(buf, cap, "%.*f", decimals, v);
    } else {
        snprintf(buf, cap, "%.4g", v);
    }
}

/* Writes text as XML character data: markup characters escaped, control characters and bytes
 * that are not valid UTF-8 replaced by '?', so the document is always well formed. */
static void put_xml_text(FILE *f, const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        const unsigned char c = *u;
        if (c < 0x80) {
            if (c == '&') fputs("&amp;", f);
            else if (c == '<') fputs("&lt;", f);
            else if (c == '>') fputs("&gt;", f);
            else if (c == '"') fputs("&quot;", f);
            else if (c == '\'') fputs("&apos;", f);
            else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') fputc('?', f);
            else fputc(c, f);
            u++;
            continue;
        }
        /* Length of the sequence and the allowed range of its second byte (no overlong forms,
         * no surrogates, nothing above U+10FFFF). */
        int len = 0;
        unsigned char lo2 = 0x80, hi2 = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, lo2 = c == 0xE0 ? 0xA0 : 0x80, hi2 = c == 0xED ? 0x9F : 0xBF;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, lo2 = c == 0xF0 ? 0x90 : 0x80, hi2 = c == 0xF4 ? 0x8F : 0xBF;
        int ok = len > 0 && u[1] >= lo2 && u[1] <= hi2;
        for (int i = 2; ok && i < len; i++) ok = u[i] >= 0x80 && u[i] <= 0xBF;
        if (!ok) {
            fputc('?', f);
            u++;
            continue;
        }
        fwrite(u, 1, (size_t)len, f);
        u += len;
    }
}

typedef struct {
    double lo, hi, first, step;
    int n_ticks;
} axis;

/* Axis from the data range: a constant range is widened by 10% of its value (or 1 at zero),
 * then rounded out to the ticks. */
static void make_axis(axis *a, double lo, double hi, int have, int max_ticks) {
    if (!have) lo = 0, hi = 1;
    if (hi - lo <= 1e-9 * fmax(fabs(lo), fabs(hi))) {
        const double mid = 0.5 * (lo + hi), pad = mid != 0 ? 0.1 * fabs(mid) : 1;
        lo = mid - pad, hi = mid + pad;
    }
    a->n_ticks = vc_svg_nice_ticks(lo, hi, max_ticks, &a->first, &a->step);
    if (a->n_ticks < 2) { /* cannot happen for finite ranges; keep a usable axis regardless */
        a->lo = lo, a->hi = hi, a->n_ticks = 0;
        return;
    }
    a->lo = a->first;
    a->hi = a->first + (a->n_ticks - 1) * a->step;
}

static double to_px(const axis *a, double v, double p0, double p1) {
    return p0 + (v - a->lo) / (a->hi - a->lo) * (p1 - p0);
}

int vc_svg_plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel,
                      int n_series, const char *const *series_names, const double *const *xs,
                      const double *const *ys, const int *lens, vc_error *err) {
    if (!path || !*path) return vc_fail(err, "svg plot: no output path");
    if (n_series < 0 || n_series > MAX_SERIES)
        return vc_fail(err, "%s: %d series (expected 0..%d)", path, n_series, MAX_SERIES);
    if (n_series > 0 && (!ys || !lens)) return vc_fail(err, "%s: no y values or lengths for %d series", path, n_series);
    for (int i = 0; i < n_series; i++) {
        if (lens[i] < 0) return vc_fail(err, "%s: series %d has length %d", path, i, lens[i]);
        if (lens[i] > 0 && !ys[i]) return vc_fail(err, "%s: series %d has %d points but no y values", path, i, lens[i]);
    }

    /* Data range over every plottable point. */
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    int have = 0;
    for (int i = 0; i < n_series; i++)
        for (int k = 0; k < lens[i]; k++) {
            const double x = xs && xs[i] ? xs[i][k] : k, y = ys[i][k];
            if (!plottable(x) || !plottable(y)) continue;
            have = 1;
            xlo = fmin(xlo, x), xhi = fmax(xhi, x), ylo = fmin(ylo, y), yhi = fmax(yhi, y);
        }
    axis ax, ay;
    make_axis(&ax, xlo, xhi, have, X_TICKS);
    make_axis(&ay, ylo, yhi, have, Y_TICKS);

    vc_atomic_file *out = vc_atomic_open(path, err);
    FILE *f = out ? vc_atomic_stream(out, err) : NULL;
    if (!f) {
        vc_atomic_abort(out);
        return -1;
    }

    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            WIDTH, HEIGHT, WIDTH, HEIGHT, WIDTH, HEIGHT);
    if (title) {
        fprintf(f, "<text x=\"%d\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">", WIDTH / 2);
        put_xml_text(f, title);
        fputs("</text>\n", f);
    }

    /* Grid lines and tick labels. */
    const double xmax_abs = fmax(fabs(ax.lo), fabs(ax.hi)), ymax_abs = fmax(fabs(ay.lo), fabs(ay.hi));
    fputs("<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n", f);
    for (int t = 0; t < ax.n_ticks; t++) {
        const double px = to_px(&ax, ax.first + t * ax.step, PLOT_L, PLOT_R);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\"/>\n", px, PLOT_T, px, PLOT_B);
    }
    for (int t = 0; t < ay.n_ticks; t++) {
        const double py = to_px(&ay, ay.first + t * ay.step, PLOT_B, PLOT_T);
        fprintf(f, "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\"/>\n", PLOT_L, py, PLOT_R, py);
    }
    fputs("</g>\n<g fill=\"#333333\">\n", f);
    char label[64];
    for (int t = 0; t < ax.n_ticks; t++) {
        const double v = ax.first + t * ax.step;
        format_tick(label, sizeof label, v, ax.step, xmax_abs);
        fprintf(f, "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", to_px(&ax, v, PLOT_L, PLOT_R),
                PLOT_B + 18, label);
    }
    for (int t = 0; t < ay.n_ticks; t++) {
        const double v = ay.first + t * ay.step;
        format_tick(label, sizeof label, v, ay.step, ymax_abs);
        fprintf(f, "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\" dy=\"0.35em\">%s</text>\n",
                PLOT_L - 8, to_px(&ay, v, PLOT_B, PLOT_T), label);
    }
    fputs("</g>\n", f);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333333\"/>\n", PLOT_L,
            PLOT_T, PLOT_R - PLOT_L, PLOT_B - PLOT_T);
    if (xlabel) {
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (PLOT_L + PLOT_R) / 2, HEIGHT - 18);
        put_xml_text(f, xlabel);
        fputs("</text>\n", f);
    }
    if (ylabel) {
        fprintf(f, "<text x=\"22\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 22 %d)\">",
                (PLOT_T + PLOT_B) / 2, (PLOT_T + PLOT_B) / 2);
        put_xml_text(f, ylabel);
        fputs("</text>\n", f);
    }

    /* One polyline per series (of its plottable points), a dot for a lone point, and a legend. */
    const double row = n_series > 0 ? fmin(20.0, (double)(PLOT_B - PLOT_T) / n_series) : 20.0;
    for (int i = 0; i < n_series; i++) {
        const char *colour = palette[i % (int)(sizeof palette / sizeof *palette)];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-linejoin=\"round\" points=\"",
                colour);
        int n = 0;
        double last_x = 0, last_y = 0;
        for (int k = 0; k < lens[i]; k++) {
            const double x = xs && xs[i] ? xs[i][k] : k, y = ys[i][k];
            if (!plottable(x) || !plottable(y)) continue;
            last_x = to_px(&ax, x, PLOT_L, PLOT_R), last_y = to_px(&ay, y, PLOT_B, PLOT_T);
            fprintf(f, "%s%.2f,%.2f", n++ ? " " : "", last_x, last_y);
        }
        fputs("\"/>\n", f);
        if (n == 1) fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n", last_x, last_y, colour);
        const double ly = PLOT_T + 10 + i * row;
        fprintf(f, "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"2\"/>\n", LEGEND_X, ly,
                LEGEND_X + 24, ly, colour);
        fprintf(f, "<text x=\"%d\" y=\"%.2f\" dy=\"0.35em\">", LEGEND_X + 30, ly);
        if (series_names && series_names[i]) put_xml_text(f, series_names[i]);
        else fprintf(f, "series %d", i + 1);
        fputs("</text>\n", f);
    }
    if (!have)
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#999999\">no data</text>\n",
                (PLOT_L + PLOT_R) / 2, (PLOT_T + PLOT_B) / 2);
    fputs("</svg>\n", f);

    return vc_atomic_commit(out, err);
}
