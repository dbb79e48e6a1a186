/* Video decoding, frame sampling and resizing against references made independently with the
 * ffmpeg tool + PyTorch (tools/gen_video_fixtures.py), plus bad-input cases that must fail
 * cleanly and quickly. Real clips come from ../shared/data (skipped visibly when absent). */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "io/npy.h"
#include "testutil.h"
#include "video/clip.h"
#include "video/decode.h"
#include "video/sampling.h"
#include "video/transform.h"

#define FIX "tests/fixtures/video"
#define TMP "build/tests/decode_tmp"

/* Worst pixel difference allowed against the PyTorch references (uint8 levels). The resize
 * follows PyTorch's float arithmetic; only a rounding tie decided differently by one ulp (FMA
 * contraction, summation order) may flip a value by one level. */
#define PIXEL_TOL 1

static int shared_path(const char *rel, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s", vc_shared_data_dir(), rel);
    return access(buf, R_OK) == 0;
}

static void ensure_tmp(void) {
    mkdir("build", 0777);
    mkdir("build/tests", 0777);
    mkdir(TMP, 0777);
}

static int parse_ints(const char *s, int *out, int cap) {
    int n = 0;
    while (*s && n < cap) {
        char *end;
        out[n++] = (int)strtol(s, &end, 10);
        s = *end == ',' ? end + 1 : end;
        if (end == s && *s != ',') break;
    }
    return n;
}

TEST(sampling_matches_official_table) {
    FILE *f = fopen(FIX "/sampling_middle.tsv", "r");
    CHECK(f, "cannot open " FIX "/sampling_middle.tsv");
    char line[8192], mid[2048], demo[2048];
    int cases = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        int n, T, want[64], got[64];
        if (line[0] == '#' || sscanf(line, "%d\t%d\t%2047s\t%2047s", &n, &T, mid, demo) != 4) continue;
        vc_error err;
        for (int mode = 0; mode < 2; mode++) {
            int k = parse_ints(mode ? demo : mid, want, 64);
            int rc = vc_sample_indices(mode ? VC_SAMPLE_DEMO : VC_SAMPLE_MIDDLE, n, T, NULL, got, &err);
            if (rc || k != T || memcmp(want, got, sizeof(int) * T)) {
                if (!bad++) printf("  first mismatch: n=%d T=%d mode=%s rc=%d\n", n, T, mode ? "demo" : "middle", rc);
            }
        }
        cases++;
    }
    fclose(f);
    CHECK(cases >= 300, "only %d cases read", cases);
    CHECK(bad == 0, "%d of %d cases differ from the official formula", bad, cases);
    /* the example clip of the official repo: 40 frames at 5 fps, T = 8 */
    int idx[8], want[8] = {2, 7, 12, 17, 22, 27, 32, 37};
    vc_error err;
    CHECK(!vc_sample_indices(VC_SAMPLE_MIDDLE, 40, 8, NULL, idx, &err), "%s", err.msg);
    CHECK(!memcmp(idx, want, sizeof want), "middle(40, 8) = %d %d %d ...", idx[0], idx[1], idx[2]);
    /* the deprecated helper is the same formula */
    int old[4];
    vc_sample_middle(10, 4, old);
    CHECK(old[0] == 0 && old[1] == 3 && old[2] == 5 && old[3] == 8, "vc_sample_middle(10, 4) = %d %d %d %d", old[0],
          old[1], old[2], old[3]);
}

TEST(sampling_rand) {
    vc_error err;
    int idx[8], again[8];
    int seen[250] = {0};
    for (int key = 0; key < 2000; key++) {
        vc_rng r = vc_rng_at(7, VC_STREAM_AUGMENT, key, 0);
        CHECK(!vc_sample_indices(VC_SAMPLE_RAND, 250, 8, &r, idx, &err), "%s", err.msg);
        r = vc_rng_at(7, VC_STREAM_AUGMENT, key, 0);
        CHECK(!vc_sample_indices(VC_SAMPLE_RAND, 250, 8, &r, again, &err), "%s", err.msg);
        CHECK(!memcmp(idx, again, sizeof idx), "same rng position, different frames");
        for (int k = 0; k < 8; k++) {
            /* segments of 250/8: bounds int(k * 31.25); the official range(first, last) */
            int first = (int)(k * 31.25), last = (int)((k + 1) * 31.25) - 1;
            CHECK(idx[k] >= first && idx[k] < last, "key %d slot %d: %d outside [%d, %d)", key, k, idx[k], first, last);
            seen[idx[k]]++;
        }
    }
    /* every frame the official code can draw is drawn (each ~2000/30 times), never a segment's last */
    for (int i = 0; i < 250; i++) {
        int is_last = 0;
        for (int k = 1; k <= 8; k++) is_last |= i == (int)(k * 31.25) - 1;
        CHECK(is_last ? seen[i] == 0 : seen[i] > 20, "frame %d drawn %d times", i, seen[i]);
    }
    /* single-frame segments: the official fallback, distinct sorted frames */
    vc_rng r = vc_rng_at(1, VC_STREAM_AUGMENT, 3, 0);
    CHECK(!vc_sample_indices(VC_SAMPLE_RAND, 10, 8, &r, idx, &err), "%s", err.msg);
    for (int k = 1; k < 8; k++) CHECK(idx[k] > idx[k - 1] && idx[k] < 10, "fallback not sorted/distinct at %d", k);
    /* short video: padded with the last */
    r = vc_rng_at(1, VC_STREAM_AUGMENT, 4, 0);
    CHECK(!vc_sample_indices(VC_SAMPLE_RAND, 3, 8, &r, idx, &err), "%s", err.msg);
    CHECK(idx[0] == 0 && idx[1] == 1 && idx[2] == 2 && idx[7] == 2, "short rand %d %d %d %d", idx[0], idx[1], idx[2], idx[7]);
    CHECK(vc_sample_indices(VC_SAMPLE_RAND, 30, 8, NULL, idx, &err) == -1, "rand without rng accepted");
    CHECK(vc_sample_indices(VC_SAMPLE_MIDDLE, 0, 8, NULL, idx, &err) == -1, "empty video accepted");
    vc_sampling m;
    CHECK(vc_sampling_parse("uniform", &m, &err) == -1 && strstr(err.msg, "uniform"), "bad name: %s", err.msg);
}

TEST(resize_known_answers) {
    vc_error err;
    uint8_t src[4 * 4 * 3], dst[4 * 4 * 3], half[2 * 2 * 3];
    for (int i = 0; i < 48; i++) src[i] = (uint8_t)(i * 5 + 3);
    /* same size: bicubic at integer positions is the identity */
    CHECK(!vc_resize_rgb_u8(src, 4, 4, 12, dst, 4, 4, VC_INTERP_BICUBIC, &err), "%s", err.msg);
    CHECK(!memcmp(src, dst, sizeof src), "bicubic 4->4 is not the identity");
    /* bilinear (cv2.resize INTER_LINEAR) exact 2x down: OpenCV's INTER_AREA, the mean of each 2x2
     * block rounded half up (every block here is a tie: x.5) */
    CHECK(!vc_resize_rgb_u8(src, 4, 4, 12, half, 2, 2, VC_INTERP_BILINEAR, &err), "%s", err.msg);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++)
            for (int c = 0; c < 3; c++) {
                double m = (src[((2 * y) * 4 + 2 * x) * 3 + c] + src[((2 * y) * 4 + 2 * x + 1) * 3 + c] +
                            src[((2 * y + 1) * 4 + 2 * x) * 3 + c] + src[((2 * y + 1) * 4 + 2 * x + 1) * 3 + c]) / 4.0;
                CHECK(half[(y * 2 + x) * 3 + c] == (uint8_t)floor(m + 0.5), "block (%d,%d,%d): %d vs %g", y, x, c,
                      half[(y * 2 + x) * 3 + c], m);
            }
    /* a constant image stays constant under bicubic up- and down-scaling (weights sum to 1) */
    uint8_t flat[5 * 3 * 3], up[11 * 7 * 3];
    memset(flat, 200, sizeof flat);
    CHECK(!vc_resize_rgb_u8(flat, 5, 3, 15, up, 11, 7, VC_INTERP_BICUBIC, &err), "%s", err.msg);
    for (size_t i = 0; i < sizeof up; i++) CHECK(up[i] == 200, "flat image became %d at %zu", up[i], i);
    /* a hard edge upscaled 8 -> 16 against Keys' cubic (A = -0.75) evaluated here in double;
     * the overshoot next to the edge is clamped to 0 and 255, not wrapped */
    uint8_t edge[8 * 1 * 3], edge_up[16 * 1 * 3];
    for (int x = 0; x < 8; x++) memset(edge + x * 3, x < 4 ? 0 : 255, 3);
    CHECK(!vc_resize_rgb_u8(edge, 8, 1, 24, edge_up, 16, 1, VC_INTERP_BICUBIC, &err), "%s", err.msg);
    int clamped = 0;
    for (int o = 0; o < 16; o++) {
        double src_x = (o + 0.5) * 0.5 - 0.5, acc = 0;
        int i0 = (int)floor(src_x);
        for (int k = -1; k <= 2; k++) {
            double d = fabs(src_x - (i0 + k)), A = -0.75;
            double wk = d <= 1 ? ((A + 2) * d - (A + 3)) * d * d + 1 : d < 2 ? ((A * d - 5 * A) * d + 8 * A) * d - 4 * A : 0;
            int xi = i0 + k < 0 ? 0 : i0 + k > 7 ? 7 : i0 + k;
            acc += wk * (xi < 4 ? 0 : 255);
        }
        clamped += acc < 0 || acc > 255;
        double want = acc < 0 ? 0 : acc > 255 ? 255 : nearbyint(acc);
        CHECK(fabs(edge_up[o * 3] - want) <= 1, "edge pixel %d: %d, Keys cubic %g", o, edge_up[o * 3], acc);
    }
    CHECK(clamped >= 2, "the edge should overshoot on both sides (%d clamped)", clamped);
    CHECK(vc_resize_rgb_u8(src, 0, 4, 12, dst, 4, 4, VC_INTERP_BICUBIC, &err) == -1, "0-wide frame accepted");
}

TEST(random_resized_crop) {
    vc_crop_params p = vc_crop_default_params();
    int flips = 0, fallback = 0;
    for (int k = 0; k < 4000; k++) {
        vc_rng r = vc_rng_at(3, VC_STREAM_AUGMENT, k, 1);
        vc_crop c = vc_random_resized_crop(&r, 640, 480, &p);
        CHECK(c.x >= 0 && c.y >= 0 && c.w >= 1 && c.h >= 1 && c.x + c.w <= 640 && c.y + c.h <= 480, "crop %d %d %d %d",
              c.x, c.y, c.w, c.h);
        double area = (double)c.w * c.h / (640.0 * 480.0), ratio = (double)c.w / c.h;
        if (c.w == 640 && c.h == 480) fallback++;
        else {
            CHECK(area > 0.49 && area < 1.01, "area fraction %g", area);
            CHECK(ratio > 0.74 && ratio < 1.35, "aspect ratio %g", ratio);
        }
        flips += c.flip;
        vc_rng r2 = vc_rng_at(3, VC_STREAM_AUGMENT, k, 1);
        vc_crop c2 = vc_random_resized_crop(&r2, 640, 480, &p);
        CHECK(!memcmp(&c, &c2, sizeof c), "crop draw not reproducible");
    }
    CHECK(flips > 1800 && flips < 2200, "%d flips of 4000", flips);
    CHECK(fallback < 200, "%d fallbacks", fallback);
    /* a 10:1 strip can never fit the ratio: centre crop at ratio 4/3 */
    vc_rng r = vc_rng_at(1, 2, 3, 4);
    vc_crop c = vc_random_resized_crop(&r, 1000, 100, &p);
    CHECK(c.h == 100 && c.w == 133 && c.x == (1000 - 133) / 2 && c.y == 0, "fallback %d %d %d %d", c.x, c.y, c.w, c.h);
    /* the flip mirrors the resized crop */
    uint8_t src[6 * 5 * 3], a[4 * 4 * 3], b[4 * 4 * 3];
    for (int i = 0; i < 90; i++) src[i] = (uint8_t)(i * 37 % 251);
    vc_crop k = {1, 1, 4, 3, 0};
    vc_error err;
    CHECK(!vc_crop_resize_rgb_u8(src, 6, 5, 18, &k, 4, VC_INTERP_BICUBIC, a, &err), "%s", err.msg);
    k.flip = 1;
    CHECK(!vc_crop_resize_rgb_u8(src, 6, 5, 18, &k, 4, VC_INTERP_BICUBIC, b, &err), "%s", err.msg);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            CHECK(!memcmp(a + (y * 4 + x) * 3, b + (y * 4 + 3 - x) * 3, 3), "flip differs at %d,%d", y, x);
    k.x = 3;
    CHECK(vc_crop_resize_rgb_u8(src, 6, 5, 18, &k, 4, VC_INTERP_BICUBIC, a, &err) == -1, "crop outside accepted");
}

/* One manifest line: decode with the library and compare with the PyTorch reference. */
static int check_reference(const char *line, int *skipped, double *worst, char *why, size_t cap) {
    char name[256], path[512], mode[32], interp[32], idxs[1024], npy[256], note[64], full[1100];
    int T, S, n;
    double start, end;
    if (sscanf(line, "%255s\t%511s\t%31s\t%d\t%d\t%31s\t%lf\t%lf\t%d\t%1023s\t%255s\t%63s", name, path, mode, &T, &S,
               interp, &start, &end, &n, idxs, npy, note) != 12) {
        snprintf(why, cap, "bad manifest line: %.200s", line);
        return -1;
    }
    if (!strncmp(path, "SHARED/", 7)) {
        if (!shared_path(path + 7, full, sizeof full)) {
            printf("SKIP %s: %s/%s not present\n", name, vc_shared_data_dir(), path + 7);
            ++*skipped;
            return 0;
        }
    } else {
        snprintf(full, sizeof full, "%s", path);
    }
    vc_clip_opts o = vc_clip_default_opts();
    vc_error err;
    if (vc_sampling_parse(mode, &o.sampling, &err) || vc_interp_parse(interp, &o.interp, &err)) {
        snprintf(why, cap, "%s", err.msg);
        return -1;
    }
    o.start = start, o.end = end;
    vc_preprocess pp = vc_preprocess_default(T, S);
    uint8_t *got = malloc((size_t)T * S * S * 3);
    int idx[64], want[64];
    int rc = vc_clip_load_u8_opts(full, &pp, &o, got, idx, &err);
    if (rc) {
        snprintf(why, cap, "%s: %s", name, err.msg);
        free(got);
        return -1;
    }
    /* the frame count: the decoder must agree with ffprobe -count_frames (in range) */
    vc_decode_opts d = vc_decode_default_opts();
    d.start = start, d.end = end, d.exact_count = 1;
    vc_video_info info;
    if (vc_video_probe(full, &d, &info, &err) || info.frames != n) {
        snprintf(why, cap, "%s: counted %d frames, ffprobe %d (%s)", name, info.frames, n, err.msg);
        free(got);
        return -1;
    }
    int k = parse_ints(idxs, want, 64);
    if (k != T || memcmp(idx, want, sizeof(int) * T)) {
        snprintf(why, cap, "%s %s: frame %d is %d, reference %d", name, mode, 0, idx[0], want[0]);
        for (int t = 0; t < T; t++)
            if (idx[t] != want[t]) snprintf(why, cap, "%s %s: slot %d took frame %d, reference %d", name, mode, t, idx[t], want[t]);
        free(got);
        return -1;
    }
    char refpath[600];
    snprintf(refpath, sizeof refpath, FIX "/%s", npy);
    vc_npy ref;
    if (vc_npy_read(refpath, &ref, &err)) {
        snprintf(why, cap, "%s", err.msg);
        free(got);
        return -1;
    }
    const int stride = !strcmp(note, "stride7") ? 7 : 1, R = (S + stride - 1) / stride;
    double maxd = 0, sumd = 0;
    size_t count = 0, off = 0;
    if (ref.dtype != VC_DT_U8 || ref.ndim != 4 || ref.shape[0] != T || ref.shape[1] != R || ref.shape[2] != R) {
        snprintf(why, cap, "%s: reference shape unexpected", refpath);
        rc = -1;
    } else {
        for (int t = 0; t < T; t++)
            for (int y = 0; y < S; y += stride)
                for (int x = 0; x < S; x += stride)
                    for (int c = 0; c < 3; c++) {
                        double dlt = fabs((double)got[(((size_t)t * S + y) * S + x) * 3 + c] - ((uint8_t *)ref.data)[off++]);
                        if (dlt > maxd) maxd = dlt;
                        sumd += dlt;
                        count++;
                    }
        printf("  %-18s %-6s %-8s S=%-3d n=%-3d %dx%d rot=%d: max |diff| %g, mean %.4f (uint8 levels)\n", name, mode,
               interp, S, n, info.width, info.height, info.rotation, maxd, sumd / count);
        if (maxd > *worst) *worst = maxd;
        if (maxd > PIXEL_TOL) {
            snprintf(why, cap, "%s %s S=%d: max pixel difference %g > %d", name, mode, S, maxd, PIXEL_TOL);
            rc = -1;
        }
    }
    vc_npy_free(&ref);
    free(got);
    return rc;
}

TEST(decode_matches_reference) {
    SKIP_WITHOUT_VIDEO();
    FILE *f = fopen(FIX "/ref_manifest.tsv", "r");
    CHECK(f, "cannot open " FIX "/ref_manifest.tsv");
    char line[4096], why[2048] = "";
    int done = 0, skipped = 0, failed = 0;
    double worst = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        line[strcspn(line, "\n")] = 0;
        if (check_reference(line, &skipped, &worst, why, sizeof why)) {
            printf("  mismatch: %s\n", why);
            failed++;
        }
        done++;
    }
    fclose(f);
    printf("  %d reference clips, %d skipped, worst max |diff| %g\n", done, skipped, worst);
    CHECK(done >= 10, "only %d manifest lines", done);
    CHECK(!failed, "%d clips differ; last: %s", failed, why);
}

TEST(rotation_metadata) {
    SKIP_WITHOUT_VIDEO();
    char p[1024];
    static const int rot[4] = {0, 90, 180, 270};
    for (int i = 0; i < 4; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "videos/rotation_%d.mov", rot[i]);
        if (!shared_path(rel, p, sizeof p)) {
            printf("SKIP rotation: %s absent\n", p);
            return;
        }
        vc_video_info info;
        vc_error err;
        CHECK(!vc_video_probe(p, NULL, &info, &err), "%s", err.msg);
        CHECK(info.rotation == rot[i], "%s: rotation %d", rel, info.rotation);
        int portrait = rot[i] % 180 != 0;
        CHECK(info.width == (portrait ? 320 : 568) && info.height == (portrait ? 568 : 320), "%s: %dx%d", rel, info.width,
              info.height);
        CHECK(info.frames == 3, "%s: %d frames", rel, info.frames);
    }
}

/* Collects the first frame at full resolution. */
typedef struct first_frame {
    int w, h, calls;
    uint8_t px[3];
} first_frame;
static int pick_zero(void *u, int n, int *idx, vc_error *e) {
    idx[0] = 0;
    return 0;
}
static int keep_first(void *u, int slot, const vc_rgb_frame *f, vc_error *e) {
    first_frame *ff = u;
    ff->w = f->width, ff->h = f->height, ff->calls++;
    memcpy(ff->px, f->data, 3);
    return 0;
}

TEST(formats_and_folder) {
    SKIP_WITHOUT_VIDEO();
    static const struct {
        const char *file, *codec;
        int w, h, frames;
    } want[] = {
        {"h264.mp4", "h264", 64, 48, 30}, {"mpeg4.avi", "mpeg4", 72, 40, 25}, {"vp9.webm", "vp9", 48, 48, 20},
        {"mjpeg.mkv", "mjpeg", 48, 32, 12}, {"vfr.mp4", "h264", 48, 32, 40}, {"one_frame.mp4", "h264", 40, 30, 1},
        {"frames", "png", 24, 16, 12}, {"frames/f3.png", "png", 24, 16, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char p[256];
        snprintf(p, sizeof p, FIX "/%s", want[i].file);
        vc_video_info info;
        vc_error err;
        CHECK(!vc_video_probe(p, NULL, &info, &err), "%s", err.msg);
        CHECK(!strcmp(info.codec, want[i].codec) && info.width == want[i].w && info.height == want[i].h &&
                  info.frames == want[i].frames,
              "%s: %s %dx%d %d frames", p, info.codec, info.width, info.height, info.frames);
        first_frame ff = {0};
        CHECK(!vc_video_read(p, NULL, 1, pick_zero, keep_first, &ff, NULL, &err), "%s", err.msg);
        CHECK(ff.calls == 1 && ff.w == want[i].w && ff.h == want[i].h, "%s: first frame %dx%d (%d calls)", p, ff.w, ff.h,
              ff.calls);
    }
    /* the normalised tensor is (u8 / 255 - mean) / std of the uint8 clip */
    vc_preprocess pp = vc_preprocess_default(4, 16);
    uint8_t u8[4 * 16 * 16 * 3];
    float x[4 * 3 * 16 * 16];
    vc_error err;
    CHECK(!vc_clip_load_u8(FIX "/mpeg4.avi", &pp, u8, &err), "%s", err.msg);
    CHECK(!vc_clip_load(FIX "/mpeg4.avi", &pp, (vc_real *)x, &err), "%s", err.msg);
    for (int t = 0; t < 4; t++)
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 256; i++) {
                double v = (u8[(t * 256 + i) * 3 + c] / 255.0 - pp.mean[c]) / pp.std[c];
                CHECK_CLOSE(x[(t * 3 + c) * 256 + i], v, 1e-5, 0);
            }
}

TEST(augment_is_reproducible) {
    SKIP_WITHOUT_VIDEO();
    vc_preprocess pp = vc_preprocess_default(8, 24);
    uint8_t a[8 * 24 * 24 * 3], b[8 * 24 * 24 * 3], c[8 * 24 * 24 * 3];
    int ia[8], ib[8], ic[8];
    vc_clip_opts o = vc_clip_default_opts();
    o.sampling = VC_SAMPLE_RAND, o.augment = 1, o.seed = 11, o.key = 5;
    vc_error err;
    CHECK(!vc_clip_load_u8_opts(FIX "/h264.mp4", &pp, &o, a, ia, &err), "%s", err.msg);
    CHECK(!vc_clip_load_u8_opts(FIX "/h264.mp4", &pp, &o, b, ib, &err), "%s", err.msg);
    CHECK(!memcmp(a, b, sizeof a) && !memcmp(ia, ib, sizeof ia), "same seed and key, different clips");
    int differs = 0;
    for (o.key = 6; o.key < 10 && !differs; o.key++) {
        CHECK(!vc_clip_load_u8_opts(FIX "/h264.mp4", &pp, &o, c, ic, &err), "%s", err.msg);
        differs = memcmp(a, c, sizeof a) != 0 && memcmp(ia, ic, sizeof ia) != 0;
    }
    CHECK(differs, "other keys draw the same frames and crop");
    for (int t = 0; t < 8; t++) {
        int first = (int)(t * 30 / 8.0), last = (int)((t + 1) * 30 / 8.0) - 1;
        CHECK(ia[t] >= first && ia[t] < last, "slot %d frame %d outside [%d, %d)", t, ia[t], first, last);
    }
}

TEST(npy_clips_unchanged) {
    /* uint8 .npy clips still load exactly (no resampling when already S x S) */
    ensure_tmp();
    const int n = 5, S = 8;
    uint8_t frames[5 * 8 * 8 * 3], out[3 * 8 * 8 * 3];
    for (size_t i = 0; i < sizeof frames; i++) frames[i] = (uint8_t)(i * 7);
    int64_t shape[4] = {n, S, S, 3};
    vc_error err;
    CHECK(!vc_npy_write(TMP "/clip.npy", VC_DT_U8, 4, shape, frames, &err), "%s", err.msg);
    vc_preprocess pp = vc_preprocess_default(3, S);
    int idx[3];
    CHECK(!vc_clip_load_u8_opts(TMP "/clip.npy", &pp, NULL, out, idx, &err), "%s", err.msg);
    /* middle of 5 frames in 3 segments: bounds int(0, 1.67, 3.33) = 0,1,3 and 5; segments
     * [0,0] [1,2] [3,4] -> 0, (1+2)//2 = 1, (3+4)//2 = 3 */
    CHECK(idx[0] == 0 && idx[1] == 1 && idx[2] == 3, "npy indices %d %d %d", idx[0], idx[1], idx[2]);
    for (int t = 0; t < 3; t++)
        CHECK(!memcmp(out + t * S * S * 3, frames + idx[t] * S * S * 3, (size_t)S * S * 3), "frame %d changed", t);
    /* an .npy file without the extension is still recognised by its magic */
    CHECK(!vc_npy_write(TMP "/clip_noext", VC_DT_U8, 4, shape, frames, &err), "%s", err.msg);
    CHECK(vc_clip_is_npy(TMP "/clip_noext"), "magic not recognised");
    CHECK(!vc_clip_load_u8(TMP "/clip_noext", &pp, out, &err), "%s", err.msg);
}

static int copy_prefix(const char *from, const char *to, double fraction) {
    FILE *f = fopen(from, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    int rc = got == (size_t)n ? vc_test_write_file(to, buf, (size_t)(n * fraction)) : -1;
    free(buf);
    return rc;
}

/* A bad input must fail with a message naming it, fast. */
static int expect_failure(const char *path, const vc_clip_opts *o, const char *needle, char *why, size_t cap) {
    vc_preprocess pp = vc_preprocess_default(8, 16);
    uint8_t out[8 * 16 * 16 * 3];
    vc_error err = {{0}};
    double t0 = vc_now_s();
    int rc = vc_clip_load_u8_opts(path, &pp, o, out, NULL, &err);
    double dt = vc_now_s() - t0;
    printf("  %-45s -> %s (%.2f s)\n", path, rc ? err.msg : "loaded", dt);
    if (rc != -1) snprintf(why, cap, "%s loaded", path);
    else if (!strstr(err.msg, path)) snprintf(why, cap, "message does not name the file: %.900s", err.msg);
    else if (needle && !strstr(err.msg, needle)) snprintf(why, cap, "message lacks '%.50s': %.900s", needle, err.msg);
    else if (dt > 20) snprintf(why, cap, "%s took %.1f s", path, dt);
    else return 0;
    return -1;
}

TEST(bad_inputs_fail_cleanly) {
    SKIP_WITHOUT_VIDEO();
    ensure_tmp();
    char why[1024] = "", p[1024];
    vc_clip_opts o = vc_clip_default_opts();
    o.timeout_s = 30;
    CHECK(!vc_test_write_file(TMP "/empty.mp4", "", 0), "cannot write");
    CHECK(!vc_test_write_file(TMP "/text.mp4", "this is not a video\njust some text\n", 36), "cannot write");
    CHECK(!copy_prefix(FIX "/h264.mp4", TMP "/truncated.mp4", 0.5), "cannot write");
    CHECK(!copy_prefix(FIX "/mjpeg.mkv", TMP "/truncated.mkv", 0.03), "cannot write");
    unlink(TMP "/fifo.mp4");
    CHECK(!mkfifo(TMP "/fifo.mp4", 0600), "mkfifo failed");
    mkdir(TMP "/no_images", 0777);
    CHECK(!expect_failure(TMP "/empty.mp4", &o, "empty", why, sizeof why), "%s", why);
    CHECK(!expect_failure(TMP "/text.mp4", &o, NULL, why, sizeof why), "%s", why);
    CHECK(!expect_failure(TMP "/truncated.mp4", &o, NULL, why, sizeof why), "%s", why);
    CHECK(!expect_failure(TMP "/truncated.mkv", &o, NULL, why, sizeof why), "%s", why);
    CHECK(!expect_failure(TMP "/missing.mp4", &o, "No such file", why, sizeof why), "%s", why);
    CHECK(!expect_failure(TMP "/fifo.mp4", &o, "not a regular file", why, sizeof why), "%s", why);
    CHECK(!expect_failure(TMP "/no_images", &o, "no frame images", why, sizeof why), "%s", why);
    o.start = 1.0, o.end = 0.5;
    CHECK(!expect_failure(FIX "/h264.mp4", &o, "not after its start", why, sizeof why), "%s", why);
    o.start = 100, o.end = 200;
    CHECK(!expect_failure(FIX "/h264.mp4", &o, "no frames between", why, sizeof why), "%s", why);
    o.start = o.end = -1;
    if (shared_path("videos/corrupted.mp4", p, sizeof p)) {
        CHECK(!expect_failure(p, &o, "corrupt", why, sizeof why), "%s", why);
        /* lenient mode skips the broken packets and still makes a clip, in bounded time */
        vc_clip_opts lenient = o;
        lenient.strict = 0;
        vc_preprocess pp = vc_preprocess_default(8, 16);
        uint8_t out[8 * 16 * 16 * 3];
        vc_error err;
        double t0 = vc_now_s();
        int rc = vc_clip_load_u8_opts(p, &pp, &lenient, out, NULL, &err);
        printf("  corrupted.mp4 lenient -> %s (%.2f s)\n", rc ? err.msg : "loaded", vc_now_s() - t0);
        CHECK(vc_now_s() - t0 < 20, "lenient decode took too long");
    } else {
        printf("SKIP corrupted.mp4: %s absent\n", p);
    }
    /* a deadline already past: the reader is interrupted and says so */
    if (shared_path("videos/bikes.mp4", p, sizeof p)) {
        o.timeout_s = 1e-9;
        CHECK(!expect_failure(p, &o, "timeout", why, sizeof why), "%s", why);
    }
    unlink(TMP "/fifo.mp4");
}

TEST_MAIN("decode", T(sampling_matches_official_table), T(sampling_rand), T(resize_known_answers),
          T(random_resized_crop), T(decode_matches_reference), T(rotation_metadata), T(formats_and_folder),
          T(augment_is_reproducible), T(npy_clips_unchanged), T(bad_inputs_fail_cleanly))
