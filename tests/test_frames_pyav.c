/* The preprocessed clip (`viclip frames`, float32 [T, 3, 224, 224]) against an independent
 * pipeline, tools/check_frames_pyav.py: PyAV decode, ViCLIP's 'middle' and 'demo' frame
 * sampling, torchvision-style bicubic resize on uint8 and Normalize. On the shared clips and on
 * clips the ffmpeg tool makes (h264, hevc, mpeg4, vp9, mjpeg, VFR, 1 frame): same frame
 * indices, pixels within 1 uint8 level and different only at rounding ties. A negative control
 * (the reference told to ignore a clip's BT.709 tag) must fail, so the check can tell a
 * decoding difference. Skipped (visibly) without python3-av/torch, or with neither the shared
 * data nor the ffmpeg tool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static int file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* The counts from the script's last line: "compared N videos (shared A, generated B, given C), ...". */
static int parse_summary(const char *out, int *compared, int *shared, int *generated) {
    const char *s = strstr(out, "compared ");
    return s && sscanf(s, "compared %d videos (shared %d, generated %d,", compared, shared, generated) == 3 ? 0 : -1;
}

TEST(preprocessed_frames_match_pyav_and_torch) {
    SKIP_WITHOUT_VIDEO();
    static char out[65536];
    if (vc_test_run("/usr/bin/python3 -c 'import av, torch, numpy'", 1, out, sizeof out) != 0) {
        printf("SKIP frames_pyav: /usr/bin/python3 cannot import av and torch (python3-av, python3-torch)\n");
        return;
    }
    char example[1024];
    snprintf(example, sizeof example, "%s/example1.mp4", vc_shared_data_dir());
    const int have_shared = file_exists(example);
    const int have_ffmpeg = vc_test_run("command -v ffmpeg", 0, out, sizeof out) == 0;
    if (!have_shared && !have_ffmpeg) {
        printf("SKIP frames_pyav: neither %s nor the ffmpeg tool (to make test clips) is there\n", example);
        return;
    }
    int rc = vc_test_run("VICLIP_BIN=" VICLIP " /usr/bin/python3 tools/check_frames_pyav.py --tolerance 1", 1, out, sizeof out);
    int compared = 0, shared = 0, generated = 0;
    int parsed = parse_summary(out, &compared, &shared, &generated);
    printf("%s", out);
    CHECK(parsed == 0, "no summary line:\n%s", out);
    CHECK(rc == 0, "check_frames_pyav.py exited %d", rc);
    /* example1 (middle + demo), bikes (middle + demo), carphone, 4 rotations, unordered */
    if (have_shared) CHECK(shared >= 10, "only %d shared clips compared", shared);
    /* h264, h264 4:4:4, hevc, mpeg4, vp9, mjpeg, vfr, one frame + demo on h264 and vfr; allow two
     * codecs missing from a reduced ffmpeg build */
    if (have_ffmpeg) CHECK(generated >= 8, "only %d generated clips compared", generated);
    CHECK(compared == shared + generated, "compared %d != shared %d + generated %d", compared, shared, generated);
}

TEST(reference_ignoring_the_yuv_tag_is_caught) {
    SKIP_WITHOUT_VIDEO();
    static char out[16384];
    char clip[1024], cmd[2048];
    snprintf(clip, sizeof clip, "%s/videos/rotation_90.mov", vc_shared_data_dir());
    if (vc_test_run("/usr/bin/python3 -c 'import av, torch, numpy'", 1, out, sizeof out) != 0 || !file_exists(clip)) {
        printf("SKIP frames_pyav negative control: needs python3-av, torch and %s\n", clip);
        return;
    }
    snprintf(cmd, sizeof cmd, "VICLIP_BIN=" VICLIP " /usr/bin/python3 tools/check_frames_pyav.py --assume-bt601 '%s'", clip);
    int rc = vc_test_run(cmd, 1, out, sizeof out);
    CHECK(rc == 1, "a BT.601 reference for a BT.709 clip should fail the check, exit %d:\n%s", rc, out);
    /* the row: name, mode, n, rot, source, yuv, indices, max, mean, >1, diffs, off-tie */
    const char *row = strstr(out, "rotation_90.mov");
    char idx[16] = "";
    int n = 0, rot = -1, maxd = 0, diffs = 0, off_tie = 0;
    double mean = 0, over = 0;
    int got = row ? sscanf(row, "rotation_90.mov middle %d %d %*s %*s %15s %d %lf %lf%% %d %d", &n, &rot, idx, &maxd,
                           &mean, &over, &diffs, &off_tie)
                  : 0;
    CHECK(got == 8, "cannot read the result row (%d fields):\n%s", got, out);
    CHECK(n == 3 && rot == 90 && !strcmp(idx, "same"), "n %d rot %d indices %s", n, rot, idx);
    CHECK(maxd > 1 && off_tie > 1000, "wrong YUV matrix went unnoticed: max %d, off-tie %d", maxd, off_tie);
}

TEST_MAIN("frames_pyav", T(preprocessed_frames_match_pyav_and_torch), T(reference_ignoring_the_yuv_tag_is_caught))
