/* libFuzzer harness for the NumPy reader and the clip loader's .npy path (make fuzz builds and
 * runs it). The input is written to a memfd and read as an array (vc_npy_read, header only and
 * whole), then as a clip: uint8 frames sampled and resized, or a float32 preprocessed clip.
 * Any outcome but a crash, a leak or an array whose size disagrees with its shape is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/npy.h"
#include "video/clip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_npy", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) abort();
    vc_error err;
    vc_npy a, h;
    const int hr = vc_npy_read_header(path, &h, &err);
    if (vc_npy_read(path, &a, &err) == 0) {
        if (hr || h.dtype != a.dtype || h.ndim != a.ndim) abort(); /* the header alone reads the same */
        size_t n = vc_dtype_size(a.dtype);
        for (int i = 0; i < a.ndim; i++) n *= (size_t)a.shape[i];
        if (n != a.nbytes || !a.data) abort();
        vc_npy_free(&a);
    }
    /* the clip path sees the magic (the memfd path has no .npy extension); without it the input
     * would go to the video decoder, which fuzz_video covers */
    if (size < 6 || memcmp(data, "\x93NUMPY", 6)) return 0;
    const vc_preprocess pp = vc_preprocess_default(3, 8);
    float clip[3 * 3 * 8 * 8];
    uint8_t frames[3 * 8 * 8 * 3];
    (void)vc_clip_load(path, &pp, clip, &err);
    (void)vc_clip_load_u8(path, &pp, frames, &err);
    return 0;
}
