/* libFuzzer harness for annotation files, CSV and JSONL (`make fuzz` builds and runs it; by hand:)
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_annotations.c src/io/annotations.c src/io/csv.c src/io/json.c src/io/strbuf.c \
 *     src/core/error.c -lm -o build/fuzz_annotations
 *   build/fuzz_annotations -max_total_time=60
 * Writes the input to a .csv and a .jsonl file and loads both: any outcome but a crash, a leak
 * or a clip without a video path and caption is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io/annotations.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load(const char *path, const uint8_t *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, size, f);
    fclose(f);
    vc_annotation_set s;
    vc_error err;
    if (vc_annotations_load(path, &s, &err) == 0) {
        for (int i = 0; i < s.n; i++)
            if (!s.items[i].video || !s.items[i].caption || s.items[i].line < 1) abort();
        vc_annotations_free(&s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char base[64];
    snprintf(base, sizeof base, "/tmp/fuzz_ann_%d", (int)getpid());
    char csv[80], jsonl[80];
    snprintf(csv, sizeof csv, "%s.csv", base);
    snprintf(jsonl, sizeof jsonl, "%s.jsonl", base);
    load(csv, data, size);
    load(jsonl, data, size);
    return 0;
}
