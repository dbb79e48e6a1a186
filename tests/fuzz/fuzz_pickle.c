/* libFuzzer harness for the safe pickle VM (`make fuzz` builds and runs it; by hand:)
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_pickle.c src/io/pickle.c src/io/dtype.c src/core/error.c -o build/fuzz_pickle
 *   build/fuzz_pickle -max_total_time=60 -max_len=4096 -timeout=10 tests/fuzz/corpus/pickle
 * Every value of a successful run is visited (with a depth limit, since memo references can
 * build cycles) so the harness sees any dangling or malformed value. */
#include <stdint.h>
#include <stdlib.h>

#include "io/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A visit budget as well as a depth limit: shared values (a list holding itself many times)
 * would otherwise make the walk exponential. */
static size_t visit(const vc_pk_value *v, int depth, size_t *budget) {
    if (!v || depth > 16 || !*budget) return 0;
    --*budget;
    size_t n = (size_t)v->kind + v->len + (v->s ? (unsigned char)v->s[0] : 0);
    for (size_t i = 0; i < v->n; i++) n += visit(v->items[i], depth + 1, budget);
    n += visit(v->attrs, depth + 1, budget);
    if (v->kind == VC_PK_TENSOR) n += visit(v->storage, depth + 1, budget) + (size_t)v->ndim;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vc_error err;
    vc_pickle *p = vc_pickle_load(data, size, "fuzz", &err);
    if (!p) return 0;
    size_t budget = 4 * vc_pickle_value_count(p) + 64;
    volatile size_t sink = visit(vc_pickle_root(p), 0, &budget);
    for (size_t i = 0; i < vc_pickle_value_count(p); i++) sink += vc_pickle_value_at(p, i)->n;
    (void)sink;
    vc_pickle_free(p);
    return 0;
}
