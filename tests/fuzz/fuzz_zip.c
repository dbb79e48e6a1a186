/* libFuzzer harness for the ZIP reader and the whole checkpoint reader (`make fuzz` builds and runs it; by hand:)
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_zip.c src/io/zip.c src/io/pickle.c src/io/dtype.c src/io/safetensors.c \
 *     src/io/json.c src/io/strbuf.c src/io/atomic_file.c src/model/import.c src/model/config.c \
 *     src/core/error.c -lz -lm -o build/fuzz_zip
 *   build/fuzz_zip -max_total_time=60 -max_len=8192 -timeout=10 tests/fuzz/corpus/zip
 * Each input is opened as a ZIP (every entry read, CRC checked, deflate inflated) and then as a
 * checkpoint through vc_imp_read_mem (zip and legacy torch.save formats, pickles, storages). */
#include <stdint.h>
#include <stdlib.h>

#include "io/zip.h"
#include "model/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vc_error err;
    vc_zip *z = vc_zip_open_mem(data, size, "fuzz", &err);
    if (z) {
        for (int i = 0; i < vc_zip_count(z); i++) {
            const void *p;
            size_t n;
            void *owned;
            if (!vc_zip_read(z, vc_zip_at(z, i), &p, &n, &owned, &err)) {
                volatile uint8_t sink = n ? ((const uint8_t *)p)[n - 1] : 0;
                (void)sink;
                free(owned);
            }
        }
        vc_zip_close(z);
    }
    vc_imp_set s;
    if (!vc_imp_read_mem(data, size, "fuzz", &s, &err)) {
        volatile float sink = 0;
        for (int i = 0; i < s.count; i++)
            if (s.t[i].data && s.t[i].numel) sink += s.t[i].data[s.t[i].numel - 1];
        (void)sink;
        vc_imp_set_free(&s);
    }
    return 0;
}
