/* libFuzzer harness for the JSON parser and the JSON Lines reader (`make fuzz` builds and runs it; by hand:)
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_json.c src/io/json.c src/io/strbuf.c src/core/error.c -lm -o build/fuzz_json
 *   build/fuzz_json -max_total_time=60
 * Parses the input, walks every value through every accessor, checks that strings re-escape
 * and re-parse to the same bytes, and feeds the input to vc_jsonl_foreach via a memfd. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/json.h"
#include "io/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, size_t n) {
    vc_strbuf sb = VC_STRBUF_INIT;
    vc_error err;
    if (vc_sb_append_json_string(&sb, s, n, &err)) abort(); /* parsed strings are valid UTF-8 */
    vc_json *j = vc_json_parse(sb.data, sb.len, &err);
    if (!j || vc_json_string_len(j) != n || memcmp(vc_json_string(j), s, n)) abort();
    vc_json_free(j);
    vc_sb_free(&sb);
}

static void walk(const vc_json *v, int depth) {
    if (depth > VC_JSON_MAX_DEPTH + 1) abort();
    int64_t i64;
    switch (vc_json_type(v)) {
    case VC_JSON_NUMBER:
        (void)vc_json_as_int64(v, &i64);
        (void)vc_json_number(v);
        break;
    case VC_JSON_STRING: check_string(vc_json_string(v), vc_json_string_len(v)); break;
    case VC_JSON_ARRAY:
        for (size_t i = 0; i < vc_json_len(v); i++) walk(vc_json_at(v, i), depth + 1);
        break;
    case VC_JSON_OBJECT:
        for (size_t i = 0; i < vc_json_len(v); i++) {
            const char *k = vc_json_key_at(v, i);
            check_string(k, vc_json_key_len_at(v, i));
            if (strlen(k) == vc_json_key_len_at(v, i) && vc_json_get(v, k) != vc_json_value_at(v, i)) abort();
            walk(vc_json_value_at(v, i), depth + 1);
        }
        break;
    default: break;
    }
}

static int count_line(const vc_json *v, long lineno, void *ud, vc_error *err) {
    (void)err;
    walk(v, 0);
    (*(long *)ud)++;
    return lineno < 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vc_error err;
    vc_json *j = vc_json_parse((const char *)data, size, &err);
    if (j) walk(j, 0);
    else if (!strstr(err.msg, "JSON error at line")) abort();
    vc_json_free(j);

    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_jsonl", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) abort();
    long lines = 0;
    if (vc_jsonl_foreach(path, count_line, &lines, &err) && !err.msg[0]) abort();
    return 0;
}
