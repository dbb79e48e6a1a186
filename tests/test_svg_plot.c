/* The SVG line chart: round tick steps, points mapped where they belong, NaN/Inf skipped, odd
 * inputs (one point, constant, nothing plottable, markup in names) still giving well-formed XML. */
#include <stdint.h>

#include "io/svg_plot.h"
#include "testutil.h"

/* Plot area of the chart (must match svg_plot.c's layout). */
#define PLOT_L 80.0
#define PLOT_R 630.0
#define PLOT_T 50.0
#define PLOT_B 420.0

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* Well-formedness: Python's XML parser when python3 is there, else 1 (the C checks still run). */
static int python_parses(const char *path, int *ran) {
    *ran = system("python3 -c 'import xml.dom.minidom' >/dev/null 2>&1") == 0;
    if (!*ran) return 1;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' '%s'", path);
    return system(cmd) == 0;
}

/* The points="..." of the i-th polyline: number of pairs, and whether all lie in the plot area.
 * first/last receive the first and last pairs. Returns -1 if there is no i-th polyline. */
static int polyline_points(const char *svg, int i, int *inside, double first[2], double last[2]) {
    const char *p = svg;
    for (int k = 0; k <= i; k++) {
        if (!(p = strstr(p, "<polyline"))) return -1;
        p += 9;
    }
    if (!(p = strstr(p, "points=\""))) return -1;
    p += 8;
    int n = 0;
    *inside = 1;
    while (*p != '"') {
        double x, y;
        int used;
        if (sscanf(p, "%lf,%lf%n", &x, &y, &used) != 2) return -1;
        if (n == 0) first[0] = x, first[1] = y;
        last[0] = x, last[1] = y;
        if (x < PLOT_L - 1e-6 || x > PLOT_R + 1e-6 || y < PLOT_T - 1e-6 || y > PLOT_B + 1e-6) *inside = 0;
        n++;
        p += used;
        while (*p == ' ') p++;
    }
    return n;
}

TEST(nice_ticks_known_answers) {
    double first, step;
    CHECK(vc_svg_nice_ticks(0, 700, 8, &first, &step) == 8, "0..700");
    CHECK(first == 0 && step == 100, "0..700: first %g step %g", first, step);
    CHECK(vc_svg_nice_ticks(0.3, 4.2, 7, &first, &step) == 6, "0.3..4.2");
    CHECK(first == 0 && step == 1, "0.3..4.2: first %g step %g", first, step);
    CHECK(vc_svg_nice_ticks(-1.5, 2.5, 9, &first, &step) == 9, "-1.5..2.5");
    CHECK_CLOSE(first, -1.5, 1e-12, 0);
    CHECK_CLOSE(step, 0.5, 1e-12, 0);
    CHECK(vc_svg_nice_ticks(3.6, 4.4, 7, &first, &step) == 5, "3.6..4.4");
    CHECK_CLOSE(first, 3.6, 1e-12, 0);
    CHECK_CLOSE(step, 0.2, 1e-12, 0);
    CHECK(vc_svg_nice_ticks(0, 1e-7, 6, &first, &step) == 6, "0..1e-7");
    CHECK_CLOSE(step, 2e-8, 1e-20, 0);
    CHECK(vc_svg_nice_ticks(1, 1, 7, &first, &step) == -1, "empty range accepted");
    CHECK(vc_svg_nice_ticks(NAN, 1, 7, &first, &step) == -1, "NaN accepted");
    CHECK(vc_svg_nice_ticks(0, INFINITY, 7, &first, &step) == -1, "Inf accepted");
    CHECK(vc_svg_nice_ticks(0, 1, 1, &first, &step) == -1, "one tick accepted");
}

TEST(nice_ticks_properties) {
    /* Random ranges: the step is 1, 2 or 5 x 10^e, the ticks cover the range, there are at most
     * max_ticks of them, and the next smaller round step would need more. */
    uint64_t s = 12345;
    for (int trial = 0; trial < 2000; trial++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        const double u1 = (double)(s >> 11) * 0x1.0p-53;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        const double u2 = (double)(s >> 11) * 0x1.0p-53;
        const double scale = pow(10.0, (int)(u1 * 16) - 8);
        const double lo = (u2 - 0.5) * 10 * scale, hi = lo + (0.01 + u1 * 20) * scale;
        const int max_ticks = 3 + trial % 8;
        double first, step;
        const int n = vc_svg_nice_ticks(lo, hi, max_ticks, &first, &step);
        CHECK(n >= 2 && n <= max_ticks, "[%g, %g] max %d: %d ticks", lo, hi, max_ticks, n);
        const double e = floor(log10(step) + 1e-9), m = step / pow(10.0, e);
        CHECK(fabs(m - 1) < 1e-9 || fabs(m - 2) < 1e-9 || fabs(m - 5) < 1e-9, "step %g", step);
        CHECK(first <= lo + 1e-9 * step && first + (n - 1) * step >= hi - 1e-9 * step, "[%g, %g]: ticks %g + %d x %g",
              lo, hi, first, n, step);
        const double smaller = fabs(m - 1) < 1e-9 ? 0.5 * step : fabs(m - 2) < 1e-9 ? 0.5 * step : 0.4 * step;
        const double need = ceil(hi / smaller - 1e-9) - floor(lo / smaller + 1e-9) + 1;
        CHECK(need > max_ticks, "[%g, %g] max %d: step %g would also do", lo, hi, max_ticks, smaller);
    }
}

TEST(loss_plot_is_well_formed_and_exact) {
    enum { N = 100 };
    double x[N], loss[N], flat[N], one_x[1] = {50}, one_y[1] = {2.5};
    for (int k = 0; k < N; k++) x[k] = k, loss[k] = 4 - 3.0 * k / (N - 1), flat[k] = 2.5;
    loss[10] = NAN, loss[20] = INFINITY, loss[30] = -INFINITY, x[40] = NAN; /* 4 points skipped */
    const char *names[4] = {"loss", "smoothed <ema> & \"friends\"", NULL, "empty"};
    const double *X[4] = {x, NULL, one_x, NULL}, *Y[4] = {loss, flat, one_y, NULL};
    const int lens[4] = {N, N, 1, 0};
    const char *path = "build/tests/svg_plot_loss.svg";
    vc_error err = {{0}};
    CHECK(vc_svg_plot_lines(path, "loss < 5 & falling", "step", "contrastive loss", 4, names, X, Y, lens, &err) == 0,
          "%s", err.msg);
    char *svg = (char *)vc_test_read_file(path, NULL);
    CHECK(svg, "no file");
    int ran, ok = python_parses(path, &ran);
    if (!ok) free(svg);
    CHECK(ok, "python's XML parser rejects %s", path);
    if (!ran) printf("SKIP python3 XML check (no python3); structural checks only\n");
    const int structure = !strncmp(svg, "<?xml", 5) && count(svg, "<svg") == 1 && strstr(svg, "</svg>\n") &&
                          count(svg, "<text") == count(svg, "</text>") && count(svg, "<polyline") == 4 &&
                          count(svg, "<circle") == 1;
    const int escaped = strstr(svg, ">loss &lt; 5 &amp; falling</text>") &&
                        strstr(svg, ">smoothed &lt;ema&gt; &amp; &quot;friends&quot;</text>") &&
                        strstr(svg, ">series 3</text>") && strstr(svg, ">contrastive loss</text>");
    /* x spans 0..99 -> axis 0..100 in steps of 20; y spans 1..4 -> axis 1..4 in steps of 0.5. */
    const int ticks = strstr(svg, ">0</text>") && strstr(svg, ">20</text>") && strstr(svg, ">100</text>") &&
                      !strstr(svg, ">120</text>") && strstr(svg, ">1.0</text>") && strstr(svg, ">1.5</text>") &&
                      strstr(svg, ">4.0</text>") && !strstr(svg, ">4.5</text>") && !strstr(svg, ">0.5</text>");
    int inside[4], n[4];
    double first[4][2], last[4][2];
    for (int i = 0; i < 4; i++) n[i] = polyline_points(svg, i, &inside[i], first[i], last[i]);
    free(svg);
    CHECK(structure, "structure of %s", path);
    CHECK(escaped, "title, names and labels escaped in %s", path);
    CHECK(ticks, "tick labels in %s", path);
    CHECK(n[0] == N - 4 && n[1] == N && n[2] == 1 && n[3] == 0, "points %d %d %d %d", n[0], n[1], n[2], n[3]);
    CHECK(inside[0] && inside[1] && inside[2], "points outside the plot area");
    /* (0, 4) is the top-left corner; (99, 1) is 99% across at the bottom. */
    CHECK_CLOSE(first[0][0], PLOT_L, 1e-9, 0);
    CHECK_CLOSE(first[0][1], PLOT_T, 1e-9, 0);
    CHECK_CLOSE(last[0][0], PLOT_L + 0.99 * (PLOT_R - PLOT_L), 0.005, 0);
    CHECK_CLOSE(last[0][1], PLOT_B, 1e-9, 0);
    /* The constant 2.5 sits halfway up the 1..4 axis; the lone point at x = 50 halfway across. */
    CHECK_CLOSE(first[1][1], 0.5 * (PLOT_T + PLOT_B), 0.005, 0);
    CHECK_CLOSE(first[2][0], 0.5 * (PLOT_L + PLOT_R), 0.005, 0);
    FILE *t = fopen("build/tests/svg_plot_loss.svg.tmp", "r");
    if (t) fclose(t);
    CHECK(!t, "temporary file left behind");
}

TEST(degenerate_inputs_still_plot) {
    const char *path = "build/tests/svg_plot_degenerate.svg";
    vc_error err = {{0}};
    /* Only NaNs: empty polyline, axes 0..1, a "no data" note. */
    double nan3[3] = {NAN, NAN, NAN};
    const double *Y1[1] = {nan3};
    int len3 = 3;
    CHECK(vc_svg_plot_lines(path, NULL, NULL, NULL, 1, NULL, NULL, Y1, &len3, &err) == 0, "%s", err.msg);
    char *svg = (char *)vc_test_read_file(path, NULL);
    CHECK(svg, "no file");
    int inside;
    double a[2], b[2];
    const int ok1 = polyline_points(svg, 0, &inside, a, b) == 0 && strstr(svg, ">no data</text>") &&
                    strstr(svg, ">0.0</text>") && strstr(svg, ">1.0</text>");
    free(svg);
    CHECK(ok1, "all-NaN plot");
    int ran;
    CHECK(python_parses(path, &ran), "all-NaN plot is not well-formed XML");

    /* A single constant series at zero: the axis is widened to -1..1. */
    double zeros[5] = {0, 0, 0, 0, 0};
    const double *Y2[1] = {zeros};
    int len5 = 5;
    CHECK(vc_svg_plot_lines(path, "zeros", "i", "v", 1, NULL, NULL, Y2, &len5, &err) == 0, "%s", err.msg);
    svg = (char *)vc_test_read_file(path, NULL);
    CHECK(svg, "no file");
    const int n = polyline_points(svg, 0, &inside, a, b);
    const int ok2 = strstr(svg, ">-1.0</text>") && strstr(svg, ">1.0</text>");
    free(svg);
    CHECK(n == 5 && inside && ok2, "constant zero series: %d points", n);
    CHECK_CLOSE(a[1], 0.5 * (PLOT_T + PLOT_B), 0.005, 0);

    /* No series at all, and names with control characters and broken UTF-8. */
    CHECK(vc_svg_plot_lines(path, "nothing", NULL, NULL, 0, NULL, NULL, NULL, NULL, &err) == 0, "%s", err.msg);
    CHECK(python_parses(path, &ran), "empty plot is not well-formed XML");
    const char *names[1] = {"bad \x01 byte \xff and caf\xc3\xa9 \xe2\x82"};
    double v[2] = {1, 2};
    const double *Y3[1] = {v};
    int len2 = 2;
    CHECK(vc_svg_plot_lines(path, "ok \xe2\x9c\x93", NULL, NULL, 1, names, NULL, Y3, &len2, &err) == 0, "%s", err.msg);
    CHECK(python_parses(path, &ran), "names with bad bytes give malformed XML");
    svg = (char *)vc_test_read_file(path, NULL);
    CHECK(svg, "no file");
    const int ok3 = strstr(svg, ">bad ? byte ? and caf\xc3\xa9 ?\?</text>") && strstr(svg, ">ok \xe2\x9c\x93</text>");
    free(svg);
    CHECK(ok3, "control characters and broken UTF-8 replaced by '?', valid UTF-8 kept");
}

TEST(bad_arguments_fail_clearly) {
    vc_error err = {{0}};
    double v[2] = {1, 2};
    const double *Y[1] = {v}, *Ynull[1] = {NULL};
    int len = 2, neg = -1;
    CHECK(vc_svg_plot_lines(NULL, "t", NULL, NULL, 1, NULL, NULL, Y, &len, &err) == -1, "NULL path accepted");
    CHECK(vc_svg_plot_lines("build/tests/x.svg", "t", NULL, NULL, -1, NULL, NULL, Y, &len, &err) == -1, "n_series -1");
    CHECK(vc_svg_plot_lines("build/tests/x.svg", "t", NULL, NULL, 1, NULL, NULL, Y, &neg, &err) == -1 &&
              strstr(err.msg, "length -1"), "%s", err.msg);
    CHECK(vc_svg_plot_lines("build/tests/x.svg", "t", NULL, NULL, 1, NULL, NULL, Ynull, &len, &err) == -1 &&
              strstr(err.msg, "series 0"), "%s", err.msg);
    CHECK(vc_svg_plot_lines("build/tests/no_such_dir/x.svg", "t", NULL, NULL, 1, NULL, NULL, Y, &len, &err) == -1 &&
              strstr(err.msg, "build/tests/no_such_dir/x.svg"), "%s", err.msg);
}

TEST_MAIN("svg_plot", T(nice_ticks_known_answers), T(nice_ticks_properties), T(loss_plot_is_well_formed_and_exact),
          T(degenerate_inputs_still_plot), T(bad_arguments_fail_clearly))
