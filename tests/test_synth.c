/* The synthetic moving-shapes set: each clip shows what its caption says (measured from the
 * pixels: centroid motion, area, colour, shape), the held-out split is what it claims to be, and
 * generation is deterministic for any thread count. */
#include <stdint.h>
#include <sys/stat.h>

#include "testutil.h"
#include "video/draw.h"
#include "video/synth.h"

/* ---- measuring a frame: the shape is every pixel with a channel >= 140 ----------------------- */

typedef struct {
    int n;              /* shape pixels */
    double cx, cy;      /* centroid of the pixel centres */
    double rgb[3];      /* mean colour */
    int x0, x1, y0, y1; /* bounding box, inclusive */
    int top_w, bot_w;   /* width of the top and bottom rows of the box */
    int corners;        /* how many of the 4 bounding-box corners are shape pixels */
    int n_between;      /* pixels with a max channel in 121..161: should be none */
} blob;

static int is_shape(const uint8_t *img, int S, int x, int y) {
    const uint8_t *p = img + 3 * (y * S + x);
    return p[0] >= 140 || p[1] >= 140 || p[2] >= 140;
}

static blob measure(const uint8_t *img, int S) {
    blob b = {0};
    b.x0 = b.y0 = S, b.x1 = b.y1 = -1;
    double sx = 0, sy = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            const uint8_t *p = img + 3 * (y * S + x);
            int mx = p[0] > p[1] ? p[0] : p[1];
            mx = mx > p[2] ? mx : p[2];
            if (mx > 120 && mx < 162) b.n_between++;
            if (mx < 140) continue;
            b.n++;
            sx += x + 0.5, sy += y + 0.5;
            for (int k = 0; k < 3; k++) b.rgb[k] += p[k];
            if (x < b.x0) b.x0 = x;
            if (x > b.x1) b.x1 = x;
            if (y < b.y0) b.y0 = y;
            if (y > b.y1) b.y1 = y;
        }
    if (b.n) {
        b.cx = sx / b.n, b.cy = sy / b.n;
        for (int k = 0; k < 3; k++) b.rgb[k] /= b.n;
        for (int x = 0; x < S; x++) b.top_w += is_shape(img, S, x, b.y0), b.bot_w += is_shape(img, S, x, b.y1);
        b.corners = is_shape(img, S, b.x0, b.y0) + is_shape(img, S, b.x1, b.y0) + is_shape(img, S, b.x0, b.y1) +
                    is_shape(img, S, b.x1, b.y1);
    }
    return b;
}

/* Colour name from the mean colour of the shape: the index into {red, green, blue, yellow}. */
static int colour_of(const double *c) {
    const int hiR = c[0] > 150, hiG = c[1] > 150, hiB = c[2] > 150;
    if (hiR && !hiG && !hiB && c[1] < 110 && c[2] < 110) return 0;
    if (hiG && !hiR && !hiB && c[0] < 110 && c[2] < 110) return 1;
    if (hiB && !hiR && !hiG && c[0] < 110) return 2;
    if (hiR && hiG && !hiB && c[2] < 110) return 3;
    return -1;
}

/* Checks that a clip shows combination `combo`: returns NULL, or a description of what is wrong
 * (in the static buffer `why`). */
static const char *clip_mismatch(const uint8_t *rgb, int T, int S, int combo, char *why, size_t cap) {
    int colour, shape, motion;
    if (vc_synth_decompose(combo, &colour, &shape, &motion)) return "bad combo";
    blob b[64];
    const double k = S / 32.0;
    int largest = 0;
    for (int t = 0; t < T; t++) {
        b[t] = measure(rgb + (size_t)t * S * S * 3, S);
        if (b[t].n == 0) return snprintf(why, cap, "frame %d has no shape pixels", t), why;
        if (b[t].n_between) return snprintf(why, cap, "frame %d has %d ambiguous pixels", t, b[t].n_between), why;
        if (colour_of(b[t].rgb) != colour)
            return snprintf(why, cap, "frame %d mean colour (%.0f,%.0f,%.0f) is not %s", t, b[t].rgb[0], b[t].rgb[1],
                            b[t].rgb[2], vc_synth_colour_name(colour)), why;
        if (b[t].n > b[largest].n) largest = t;
    }
    /* Shape from its bounding box on the largest frame (once it is at least 8 px across: smaller discs are too blocky): a
     * square fills it, corners included; a disc leaves the corners empty; the triangle has a
     * narrow top, a full bottom row and fills about half of the box. */
    const blob *L = &b[largest];
    const int bw = L->x1 - L->x0 + 1, bh = L->y1 - L->y0 + 1;
    const double fill = L->n / (double)(bw * bh);
    const int shape_ok = bw < 8 || bh < 8                ? 1
                         : shape == 0                    ? L->corners == 0 && fill > 0.6 && fill < 0.95
                         : shape == 1                    ? L->corners == 4 && fill > 0.92
                                                         : L->top_w < L->bot_w && L->bot_w == bw && fill > 0.35 && fill < 0.7;
    if (!shape_ok)
        return snprintf(why, cap, "fill %.2f, %d corners, top %d, bottom %d of %dx%d: not a %s", fill, L->corners,
                        L->top_w, L->bot_w, bw, bh, vc_synth_shape_name(shape)), why;
    const double dx = b[T - 1].cx - b[0].cx, dy = b[T - 1].cy - b[0].cy;
    if (motion <= VC_MOTION_DOWN) {
        const int horizontal = motion <= VC_MOTION_RIGHT;
        const double sign = motion == VC_MOTION_LEFT || motion == VC_MOTION_UP ? -1 : 1;
        const double along = sign * (horizontal ? dx : dy), across = horizontal ? dy : dx;
        /* The move covers a whole number of pixels in 12..20 (scaled by S/32), in whole-pixel
         * steps, so the sprite and its area are the same on every frame. */
        if (along < floor(12 * k) - 1e-9 || along > floor(20 * k) + 1e-9 || fabs(along - round(along)) > 1e-9 ||
            fabs(across) > 1e-9)
            return snprintf(why, cap, "%s: moved %.3f along, %.3f across", vc_synth_motion_name(motion), along, across), why;
        for (int t = 1; t < T; t++) {
            const double step = sign * (horizontal ? b[t].cx - b[t - 1].cx : b[t].cy - b[t - 1].cy);
            if (step < (along >= T - 1 ? 1 : 0) - 1e-9)
                return snprintf(why, cap, "%s: frame %d steps %.2f", vc_synth_motion_name(motion), t, step), why;
            if (b[t].n != b[0].n) return snprintf(why, cap, "area changes from %d to %d at frame %d", b[0].n, b[t].n, t), why;
        }
    } else {
        const int grow = motion == VC_MOTION_GROW;
        for (int t = 1; t < T; t++)
            if (grow ? b[t].n < b[t - 1].n : b[t].n > b[t - 1].n)
                return snprintf(why, cap, "%s: area %d -> %d at frame %d", vc_synth_motion_name(motion), b[t - 1].n,
                                b[t].n, t), why;
        const double ratio = grow ? (double)b[T - 1].n / b[0].n : (double)b[0].n / b[T - 1].n;
        if (ratio < 2.5) return snprintf(why, cap, "%s: area ratio only %.2f", vc_synth_motion_name(motion), ratio), why;
        if (hypot(dx, dy) > 2 * k + 0.5) return snprintf(why, cap, "%s but the centre moved %.2f", vc_synth_motion_name(motion), hypot(dx, dy)), why;
    }
    return NULL;
}

TEST(rasteriser_known_areas) {
    static uint8_t img[32 * 32 * 3];
    const uint8_t white[3] = {255, 255, 255};
    /* Pixel centres 12.5..19.5 lie in [12, 20]: an 8x8 block. */
    memset(img, 0, sizeof img);
    CHECK(vc_draw_shape(img, 32, 32, VC_SHAPE_SQUARE, 16, 16, 8, white) == 64, "square");
    CHECK(img[3 * (12 * 32 + 12)] == 255 && img[3 * (11 * 32 + 12)] == 0 && img[3 * (19 * 32 + 19)] == 255 &&
              img[3 * (20 * 32 + 19)] == 0, "square edges");
    /* Clipped at the corner: only the quarter inside the image. */
    CHECK(vc_draw_shape(img, 32, 32, VC_SHAPE_SQUARE, 0, 0, 8, white) == 16, "clipped square");
    CHECK(vc_draw_shape(img, 32, 32, VC_SHAPE_SQUARE, -10, 5, 8, white) == 0, "square outside");
    /* Pixel centres in a disc of radius 5 centred on a pixel corner: per quadrant, columns
     * x = 0.5 .. 4.5 hold 5, 5, 4, 4, 2 centres with x^2 + y^2 <= 25, so 4 x 20 = 80 (area 78.5). */
    CHECK(vc_draw_shape(img, 32, 32, VC_SHAPE_CIRCLE, 16, 16, 10, white) == 80, "circle");
    /* Triangle of base and height 8 with apex at y = 12: row centres y = 12.5 + i have half-width
     * (y - 12) / 2 = 0.25, 0.75, ..., 3.75, i.e. 0, 2, 2, 4, 4, 6, 6, 8 pixel centres = 32. */
    CHECK(vc_draw_shape(img, 32, 32, VC_SHAPE_TRIANGLE, 16, 16, 8, white) == 32, "triangle");
    CHECK(vc_draw_shape(img, 32, 32, VC_SHAPE_CIRCLE, 16, 16, NAN, white) == 0, "NaN size");
    CHECK(vc_draw_shape(img, 32, 32, (vc_shape_kind)7, 16, 16, 8, white) == 0, "unknown kind");
}

TEST(every_combo_shows_its_caption) {
    const int dims[][2] = {{8, 32}, {4, 16}, {16, 64}, {2, 24}, {5, 17}};
    static uint8_t rgb[16 * 64 * 64 * 3];
    char why[256];
    for (size_t d = 0; d < sizeof dims / sizeof *dims; d++)
        for (int combo = 0; combo < VC_SYNTH_COMBOS; combo++)
            for (uint64_t seed = 0; seed < 12; seed++) {
                vc_error err = {{0}};
                const int T = dims[d][0], S = dims[d][1];
                CHECK(vc_synth_render_clip(combo, seed * 7919 + 3, T, S, rgb, &err) == 0, "%s", err.msg);
                const char *bad = clip_mismatch(rgb, T, S, combo, why, sizeof why);
                char label[64];
                CHECK(!bad, "T=%d S=%d '%s' seed %llu: %s", T, S, vc_synth_label(combo, label, sizeof label),
                      (unsigned long long)seed, bad);
            }
}

TEST(opposite_motions_differ_only_in_order) {
    /* With the same clip seed, "moves left" plays "moves right" backwards: the frames as a set are
     * the same except for noise, so frame order is the only cue. */
    const int T = 8, S = 32;
    static uint8_t a[8 * 32 * 32 * 3], b[8 * 32 * 32 * 3];
    for (int pair = 0; pair < 3; pair++) {
        vc_error err;
        const int m = 2 * pair; /* left/right, up/down, grow/shrink */
        CHECK(vc_synth_render_clip(m, 99, T, S, a, &err) == 0, "%s", err.msg);
        CHECK(vc_synth_render_clip(m + 1, 99, T, S, b, &err) == 0, "%s", err.msg);
        for (int t = 0; t < T; t++) {
            blob x = measure(a + (size_t)t * S * S * 3, S), y = measure(b + (size_t)(T - 1 - t) * S * S * 3, S);
            CHECK(x.n == y.n && fabs(x.cx - y.cx) < 1e-9 && fabs(x.cy - y.cy) < 1e-9,
                  "motion %d frame %d: n %d vs %d, centre (%.2f,%.2f) vs (%.2f,%.2f)", m, t, x.n, y.n, x.cx, x.cy, y.cx, y.cy);
        }
    }
}

TEST(render_is_deterministic_and_seeded) {
    static uint8_t a[8 * 32 * 32 * 3], b[8 * 32 * 32 * 3];
    vc_error err;
    CHECK(vc_synth_render_clip(17, 12345, 8, 32, a, &err) == 0, "%s", err.msg);
    CHECK(vc_synth_render_clip(17, 12345, 8, 32, b, &err) == 0, "%s", err.msg);
    CHECK(memcmp(a, b, sizeof a) == 0, "same seed gave different pixels");
    CHECK(vc_synth_render_clip(17, 12346, 8, 32, b, &err) == 0, "%s", err.msg);
    CHECK(memcmp(a, b, sizeof a) != 0, "different seeds gave identical pixels");
}

TEST(render_rejects_bad_arguments) {
    static uint8_t buf[65 * 32 * 32 * 3];
    vc_error err = {{0}};
    CHECK(vc_synth_render_clip(-1, 1, 8, 32, buf, &err) == -1 && strstr(err.msg, "-1"), "%s", err.msg);
    CHECK(vc_synth_render_clip(72, 1, 8, 32, buf, &err) == -1 && strstr(err.msg, "72"), "%s", err.msg);
    CHECK(vc_synth_render_clip(0, 1, 1, 32, buf, &err) == -1 && strstr(err.msg, "frames"), "%s", err.msg);
    CHECK(vc_synth_render_clip(0, 1, 65, 32, buf, &err) == -1 && strstr(err.msg, "frames"), "%s", err.msg);
    CHECK(vc_synth_render_clip(0, 1, 8, 15, buf, &err) == -1 && strstr(err.msg, "size"), "%s", err.msg);
    CHECK(vc_synth_render_clip(0, 1, 8, 32, NULL, &err) == -1, "NULL buffer accepted");
}

TEST(names_and_captions) {
    char buf[64];
    CHECK(vc_synth_num_combos() == 72, "%d combos", vc_synth_num_combos());
    CHECK(!strcmp(vc_synth_label(0, buf, sizeof buf), "red circle moving left"), "%s", buf);
    CHECK(!strcmp(vc_synth_label(1, buf, sizeof buf), "red circle moving right"), "%s", buf);
    CHECK(!strcmp(vc_synth_label(6 + 4, buf, sizeof buf), "red square growing"), "%s", buf);
    CHECK(!strcmp(vc_synth_label(71, buf, sizeof buf), "yellow triangle shrinking"), "%s", buf);
    CHECK(!strcmp(vc_synth_label(18 * 2 + 6 + 3, buf, sizeof buf), "blue square moving down"), "%s", buf);
    CHECK(!strcmp(vc_synth_caption(0, buf, sizeof buf), "a red circle moves to the left"), "%s", buf);
    CHECK(!strcmp(vc_synth_caption(4, buf, sizeof buf), "a red circle grows"), "%s", buf);
    CHECK(!strcmp(vc_synth_caption(18 + 12 + 2, buf, sizeof buf), "a green triangle moves up"), "%s", buf);
    CHECK(vc_synth_label(72, buf, sizeof buf) == NULL && vc_synth_label(-1, buf, sizeof buf) == NULL, "out of range");
    CHECK(vc_synth_label(0, buf, 5) == NULL, "a 5-byte buffer cannot hold a label");
    CHECK(vc_synth_is_heldout(-1) == -1 && vc_synth_is_heldout(72) == -1, "out of range");
    /* Every canonical caption is different, so retrieval over the 72 has one right answer. */
    char a[64], b[64];
    for (int i = 0; i < 72; i++)
        for (int j = i + 1; j < 72; j++)
            CHECK(strcmp(vc_synth_caption(i, a, sizeof a), vc_synth_caption(j, b, sizeof b)), "%d and %d: %s", i, j, a);
}

TEST(heldout_choice_is_balanced) {
    int n = 0, per_colour[4] = {0}, per_shape[3] = {0}, per_motion[6] = {0}, cs[4][3] = {{0}}, cm[4][6] = {{0}}, sm[3][6] = {{0}};
    for (int combo = 0; combo < 72; combo++) {
        if (!vc_synth_is_heldout(combo)) continue;
        int c, s, m;
        vc_synth_decompose(combo, &c, &s, &m);
        n++, per_colour[c]++, per_shape[s]++, per_motion[m]++, cs[c][s]++, cm[c][m]++, sm[s][m]++;
    }
    CHECK(n == 12, "%d held out", n);
    for (int c = 0; c < 4; c++) CHECK(per_colour[c] == 3, "colour %d held out %d times", c, per_colour[c]);
    for (int s = 0; s < 3; s++) CHECK(per_shape[s] == 4, "shape %d held out %d times", s, per_shape[s]);
    for (int m = 0; m < 6; m++) CHECK(per_motion[m] == 2, "motion %d held out %d times", m, per_motion[m]);
    /* One per colour/shape pair, and every colour+motion and shape+motion pair stays in training. */
    for (int c = 0; c < 4; c++)
        for (int s = 0; s < 3; s++) CHECK(cs[c][s] == 1, "colour %d shape %d: %d", c, s, cs[c][s]);
    for (int c = 0; c < 4; c++)
        for (int m = 0; m < 6; m++) CHECK(cm[c][m] < 3, "colour %d motion %d never trained", c, m);
    for (int s = 0; s < 3; s++)
        for (int m = 0; m < 6; m++) CHECK(sm[s][m] < 4, "shape %d motion %d never trained", s, m);
}

/* ---- the generated files ---------------------------------------------------------------------- */

static int same_file(const char *a, const char *b) {
    size_t na, nb;
    char *x = (char *)vc_test_read_file(a, &na), *y = (char *)vc_test_read_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x), free(y);
    return same;
}

/* Parses the .npy header as NumPy would and returns the data, or NULL with a reason in why. */
static uint8_t *read_npy(const char *path, int T, int S, char *why, size_t cap) {
    size_t n;
    char *buf = (char *)vc_test_read_file(path, &n);
    if (!buf) return snprintf(why, cap, "cannot read %s", path), NULL;
    uint8_t *data = NULL;
    const unsigned char *u = (const unsigned char *)buf;
    char shape[64];
    snprintf(shape, sizeof shape, "'shape': (%d, %d, %d, 3)", T, S, S);
    const size_t hlen = n >= 10 ? u[8] | (size_t)u[9] << 8 : 0, off = 10 + hlen;
    if (n < 10 || memcmp(buf, "\x93NUMPY\x01\x00", 8)) snprintf(why, cap, "%s: bad magic/version", path);
    else if (off % 64 || off > n || buf[off - 1] != '\n') snprintf(why, cap, "%s: header length %zu", path, hlen);
    else if (n - off != (size_t)T * S * S * 3) snprintf(why, cap, "%s: %zu data bytes", path, n - off);
    else {
        buf[off - 1] = 0;
        if (!strstr(buf + 10, "'descr': '|u1'") || !strstr(buf + 10, "'fortran_order': False") || !strstr(buf + 10, shape))
            snprintf(why, cap, "%s: header '%s'", path, buf + 10);
        else if ((data = malloc(n - off)))
            memcpy(data, buf + off, n - off);
    }
    free(buf);
    return data;
}

/* Pulls "key": "value" or "key": number out of one of our jsonl lines. */
static int json_str(const char *line, const char *key, char *out, size_t cap) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *p = strstr(line, pat), *q;
    if (!p || !(q = strchr(p += strlen(pat), '"')) || (size_t)(q - p) >= cap) return -1;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = 0;
    return 0;
}
static int json_int(const char *line, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    return p ? atoi(p + strlen(pat)) : -999;
}

#define DIR_A "build/tests/synth_check_a"
#define DIR_B "build/tests/synth_check_b"
#define DIR_C "build/tests/synth_check_c"
enum { N_TRAIN = 150, N_HELD = 3 };

static int generate(const char *dir, int threads, uint64_t seed, vc_error *err) {
    vc_synth_params p = vc_synth_default_params();
    p.n_train = N_TRAIN, p.n_heldout_per_combo = N_HELD, p.threads = threads, p.seed = seed;
    return vc_synth_generate(dir, &p, err);
}

TEST(generated_set_is_deterministic) {
    vc_error err;
    CHECK(generate(DIR_A, 1, 7, &err) == 0, "%s", err.msg);
    CHECK(generate(DIR_B, 2, 7, &err) == 0, "%s", err.msg);
    CHECK(generate(DIR_C, 2, 8, &err) == 0, "%s", err.msg);
    const char *names[] = {"train.jsonl", "eval.jsonl", "heldout.jsonl", "classes.txt", "templates.txt", "meta.json"};
    char a[256], b[256];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(a, sizeof a, DIR_A "/%s", names[i]), snprintf(b, sizeof b, DIR_B "/%s", names[i]);
        CHECK(same_file(a, b), "%s differs between 1 and 2 threads", names[i]);
    }
    int differ = 0;
    for (int i = 0; i < N_TRAIN + 72 + 12 * N_HELD; i++) {
        snprintf(a, sizeof a, DIR_A "/clips/%06d.npy", i), snprintf(b, sizeof b, DIR_B "/clips/%06d.npy", i);
        CHECK(same_file(a, b), "clip %d differs between 1 and 2 threads", i);
        snprintf(b, sizeof b, DIR_C "/clips/%06d.npy", i);
        differ += !same_file(a, b);
    }
    CHECK(differ == N_TRAIN + 72 + 12 * N_HELD, "only %d clips change with the seed", differ);
    struct stat st;
    snprintf(a, sizeof a, DIR_A "/clips/%06d.npy.tmp", 0);
    CHECK(stat(a, &st) != 0, "temporary file %s left behind", a);
}

/* Reads a split and checks each line: fields, label/caption consistent with combo, and the clip's
 * pixels showing the label. counts[combo] is incremented. */
static int check_split(const char *dir, const char *file, int *counts, int *n_lines, char (*captions)[96],
                       char *why, size_t cap) {
    char path[256], line[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f) return snprintf(why, cap, "cannot open %s", path), -1;
    *n_lines = 0;
    while (fgets(line, sizeof line, f)) {
        char video[64], caption[96], label[96], want[96], clip[256];
        const int combo = json_int(line, "combo");
        if (json_str(line, "video", video, sizeof video) || json_str(line, "caption", caption, sizeof caption) ||
            json_str(line, "label", label, sizeof label) || combo < 0 || combo >= 72) {
            fclose(f);
            return snprintf(why, cap, "%s:%d: bad line %.200s", file, *n_lines + 1, line), -1;
        }
        int c, s, m;
        vc_synth_decompose(combo, &c, &s, &m);
        char colour_shape[64];
        snprintf(colour_shape, sizeof colour_shape, "%s %s", vc_synth_colour_name(c), vc_synth_shape_name(s));
        if (strcmp(label, vc_synth_label(combo, want, sizeof want)) || !strstr(caption, colour_shape)) {
            fclose(f);
            return snprintf(why, cap, "%s:%d: combo %d but label '%s', caption '%s'", file, *n_lines + 1, combo, label,
                            caption), -1;
        }
        snprintf(clip, sizeof clip, "%s/%s", dir, video);
        uint8_t *rgb = read_npy(clip, 8, 32, why, cap);
        const char *bad = rgb ? clip_mismatch(rgb, 8, 32, combo, why, cap) : why;
        free(rgb);
        if (bad) {
            fclose(f);
            return -1;
        }
        if (captions) snprintf(captions[*n_lines], 96, "%s", caption);
        counts[combo]++;
        ++*n_lines;
    }
    fclose(f);
    return 0;
}

TEST(generated_splits_are_what_they_claim) {
    vc_error err;
    CHECK(generate(DIR_A, 0, 7, &err) == 0, "%s", err.msg);
    char why[512];
    int n, train[72] = {0}, eval[72] = {0}, held[72] = {0};
    static char captions[N_TRAIN][96];
    CHECK(check_split(DIR_A, "train.jsonl", train, &n, captions, why, sizeof why) == 0, "%s", why);
    CHECK(n == N_TRAIN, "%d training lines", n);
    int colours[4] = {0}, shapes[3] = {0}, motions[6] = {0};
    for (int combo = 0; combo < 72; combo++) {
        CHECK(!(vc_synth_is_heldout(combo) && train[combo]), "held-out combo %d is in train.jsonl", combo);
        CHECK(vc_synth_is_heldout(combo) || train[combo] >= 2, "training combo %d has %d clips", combo, train[combo]);
        int c, s, m;
        vc_synth_decompose(combo, &c, &s, &m);
        colours[c] += train[combo], shapes[s] += train[combo], motions[m] += train[combo];
    }
    for (int i = 0; i < 4; i++) CHECK(colours[i] > 0, "colour %d never trained", i);
    for (int i = 0; i < 3; i++) CHECK(shapes[i] > 0, "shape %d never trained", i);
    for (int i = 0; i < 6; i++) CHECK(motions[i] > 0, "motion %d never trained", i);
    /* Training captions vary in wording. */
    int distinct_openings = 0, seen_a = 0, seen_the = 0, seen_bare = 0;
    for (int i = 0; i < n; i++) {
        seen_a += !strncmp(captions[i], "a ", 2), seen_the += !strncmp(captions[i], "the ", 4);
        seen_bare += strchr(captions[i], ',') != NULL;
    }
    distinct_openings = (seen_a > 0) + (seen_the > 0) + (seen_bare > 0);
    CHECK(distinct_openings == 3, "phrasings: a %d, the %d, comma %d", seen_a, seen_the, seen_bare);

    static char eval_captions[72][96];
    CHECK(check_split(DIR_A, "eval.jsonl", eval, &n, eval_captions, why, sizeof why) == 0, "%s", why);
    CHECK(n == 72, "%d eval lines", n);
    char want[96];
    for (int combo = 0; combo < 72; combo++) {
        CHECK(eval[combo] == 1, "combo %d appears %d times in eval.jsonl", combo, eval[combo]);
        CHECK(!strcmp(eval_captions[combo], vc_synth_caption(combo, want, sizeof want)), "eval line %d: %s", combo,
              eval_captions[combo]);
    }

    CHECK(check_split(DIR_A, "heldout.jsonl", held, &n, NULL, why, sizeof why) == 0, "%s", why);
    CHECK(n == 12 * N_HELD, "%d held-out lines", n);
    for (int combo = 0; combo < 72; combo++)
        CHECK(held[combo] == (vc_synth_is_heldout(combo) ? N_HELD : 0), "combo %d: %d held-out clips", combo, held[combo]);

    size_t len;
    char *classes = (char *)vc_test_read_file(DIR_A "/classes.txt", &len), *p = classes;
    CHECK(classes, "no classes.txt");
    for (int combo = 0; combo < 72; combo++) {
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = 0;
        const int ok = !strcmp(p, vc_synth_label(combo, want, sizeof want));
        p = nl + 1;
        if (!ok) free(classes);
        CHECK(ok, "classes.txt line %d is not '%s'", combo + 1, want);
    }
    const int rest = *p;
    free(classes);
    CHECK(rest == 0, "classes.txt has more than 72 lines");
    char *templates = (char *)vc_test_read_file(DIR_A "/templates.txt", &len);
    int n_tmpl = 0;
    for (char *q = templates; q && (q = strstr(q, "{}")); q += 2) n_tmpl++;
    free(templates);
    CHECK(n_tmpl == 3, "%d templates with {}", n_tmpl);
    char *meta = (char *)vc_test_read_file(DIR_A "/meta.json", &len);
    const int meta_ok = meta && strstr(meta, "\"frames\": 8,") && strstr(meta, "\"size\": 32,") &&
                        strstr(meta, "\"n_train\": 150,") && strstr(meta, "\"seed\": 7,") &&
                        strstr(meta, "\"heldout_combos\": [0, 10, 14, 19, 29, 33, 38, 42, 52, 57, 61, 71]");
    CHECK(meta_ok, "meta.json: %s", meta ? meta : "(missing)");
    free(meta);
}

TEST(generate_rejects_bad_parameters) {
    vc_synth_params p = vc_synth_default_params();
    vc_error err = {{0}};
    p.n_train = 0;
    CHECK(vc_synth_generate(DIR_C, &p, &err) == -1 && strstr(err.msg, "n_train"), "%s", err.msg);
    p = vc_synth_default_params(), p.n_heldout_per_combo = 0;
    CHECK(vc_synth_generate(DIR_C, &p, &err) == -1 && strstr(err.msg, "n_heldout"), "%s", err.msg);
    p = vc_synth_default_params(), p.frames = 1;
    CHECK(vc_synth_generate(DIR_C, &p, &err) == -1 && strstr(err.msg, "frames"), "%s", err.msg);
    /* A folder cannot be made under a regular file, whoever runs the test. */
    FILE *f = fopen("build/tests/synth_not_a_dir", "w");
    CHECK(f, "cannot create a scratch file");
    fclose(f);
    p = vc_synth_default_params(), p.n_train = 10;
    CHECK(vc_synth_generate("build/tests/synth_not_a_dir/out", &p, &err) == -1 &&
              strstr(err.msg, "build/tests/synth_not_a_dir"), "%s", err.msg);
    remove("build/tests/synth_not_a_dir");
}

TEST_MAIN("synth", T(rasteriser_known_areas), T(every_combo_shows_its_caption), T(opposite_motions_differ_only_in_order),
          T(render_is_deterministic_and_seeded), T(render_rejects_bad_arguments), T(names_and_captions),
          T(heldout_choice_is_balanced), T(generated_set_is_deterministic), T(generated_splits_are_what_they_claim),
          T(generate_rejects_bad_parameters))
