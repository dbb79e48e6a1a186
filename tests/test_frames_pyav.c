/* The preprocessed clip against an independent pipeline (tools/check_frames_pyav.py: PyAV decode,
 * ViCLIP's frame sampling, torchvision-style bicubic resize on uint8) on the shared clips and on
 * clips the ffmpeg tool makes in several codecs and containers: same frame indices, pixels within
 * 1 uint8 level. Skipped (visibly) without python3-av, torch or the shared data. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

TEST(preprocessed_frames_match_pyav_and_torch_within_one_level) {
    char out[16384];
    if (vc_test_run("/usr/bin/python3 -c 'import av, torch, numpy'", 1, out, sizeof out) != 0) {
        printf("SKIP frames_pyav: python3-av / torch not installed\n");
        return;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/example1.mp4", vc_shared_data_dir());
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("SKIP frames_pyav: %s not found\n", path);
        return;
    }
    fclose(f);
    int rc = vc_test_run("/usr/bin/python3 tools/check_frames_pyav.py --tolerance 1", 1, out, sizeof out);
    const char *summary = strstr(out, "compared ");
    printf("  %s", summary ? summary : "(no summary)\n");
    CHECK(rc == 0, "exit %d:\n%s", rc, out);
    int compared = summary ? atoi(summary + 9) : 0;
    CHECK(compared >= 9, "only %d videos compared:\n%s", compared, out);
}

TEST_MAIN("frames_pyav", T(preprocessed_frames_match_pyav_and_torch_within_one_level))
