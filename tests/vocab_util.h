/* The CLIP tokenizer for tests: the vocabulary the setup fetched (build/assets), else the copy in
 * ../shared/data; NULL if neither exists. */
#ifndef VC_TESTS_VOCAB_UTIL_H
#define VC_TESTS_VOCAB_UTIL_H

#include <stdio.h>

#include "testutil.h"
#include "text/tokenizer.h"

static inline vc_tokenizer *vc_test_load_tokenizer(void) {
    vc_error err;
    char path[4096];
    if (vc_tokenizer_find_vocab(path, sizeof path, &err))
        snprintf(path, sizeof path, "%s/bpe_simple_vocab_16e6.txt.gz", vc_shared_data_dir());
    return vc_tokenizer_load(path, &err);
}

#endif
