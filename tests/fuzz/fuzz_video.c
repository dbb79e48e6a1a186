/* libFuzzer harness for the video reader (make fuzz builds and runs it): the input, written to
 * a file, is decoded by FFmpeg through vc_clip_load_u8_opts (probe, sample, decode, rotate,
 * resize), with a short timeout. FFmpeg itself is not instrumented; our side of it is (the
 * callbacks, the frame ring, sampling, resizing). Any outcome but a crash or a leak is fine:
 * most inputs are refused. Seeds: tests/fixtures/video (copied by tests/fuzz/run.sh). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "video/clip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_video_%d.bin", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    const vc_preprocess pp = vc_preprocess_default(4, 8);
    vc_clip_opts o = vc_clip_default_opts();
    o.timeout_s = 5;
    uint8_t out[4 * 8 * 8 * 3];
    int idx[4];
    vc_error err;
    if (vc_clip_load_u8_opts(path, &pp, &o, out, idx, &err) == 0)
        for (int t = 0; t < 4; t++)
            if (idx[t] < 0) abort(); /* a clip made of frames that do not exist */
    o.sampling = VC_SAMPLE_RAND, o.augment = 1, o.strict = 0, o.key = size;
    (void)vc_clip_load_u8_opts(path, &pp, &o, out, idx, &err);
    return 0;
}
