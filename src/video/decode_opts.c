/* The decoder's defaults, shared by the FFmpeg decoder and the build without it. */
#include "video/decode.h"

vc_decode_opts vc_decode_default_opts(void) {
    vc_decode_opts o = {.start = -1, .end = -1, .timeout_s = 120, .threads = 1, .strict = 1, .exact_count = 0};
    return o;
}
