/* libFuzzer harness for the safetensors reader (`make fuzz` builds and runs it; by hand:)
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_safetensors.c src/io/safetensors.c src/io/json.c src/io/strbuf.c \
 *     src/io/dtype.c src/io/atomic_file.c src/core/error.c -lm -o build/fuzz_safetensors
 *   build/fuzz_safetensors -max_total_time=60 tests/fixtures/st_python.safetensors
 * The input becomes an in-memory file (memfd) opened through /proc/self/fd, so the real
 * open/mmap path runs. Every tensor that opens is read completely and converted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int fd = -1; /* one memfd reused across inputs */
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_st", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) abort();
    vc_error err;
    vc_safetensors *st = vc_st_open(path, &err);
    if (!st) {
        if (!err.msg[0]) abort(); /* every failure must explain itself */
        return 0;
    }
    for (int i = 0; i < vc_st_count(st); i++) {
        const vc_st_tensor *t = vc_st_at(st, i);
        if (vc_st_find(st, t->name) != t) abort();
        size_t esz = vc_dtype_size(t->dtype), n = esz ? t->nbytes / esz : 0;
        if (n > (1u << 20)) continue;
        double *out = malloc((n ? n : 1) * sizeof *out);
        if (!out) continue;
        if (vc_dtype_is_float(t->dtype)) {
            if (vc_st_read_f64(st, t->name, out, t->ndim, t->shape, &err)) abort();
            if (vc_st_read_f32(st, t->name, (float *)out, t->ndim, t->shape, &err)) abort();
        } else {
            (void)vc_st_read_i32(st, t->name, (int32_t *)out, t->ndim, t->shape, &err);
        }
        free(out);
    }
    (void)vc_st_meta(st, "format");
    vc_st_close(st);
    return 0;
}
