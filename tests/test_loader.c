/* The prefetching clip loader: every readable item exactly once in a single pass, each with the
 * pixels a direct decode gives; unreadable items reported once each and left out (single pass)
 * or replaced by the next readable one (training); batches identical whatever the number of
 * workers, the prefetch depth or the batch a run resumes at; no hang when freed early. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "io/npy.h"
#include "testutil.h"
#include "video/loader.h"

#define DIR "build/tests/loader"
enum { N_ITEMS = 12, FRAMES = 4, S = 16, SRC_FRAMES = 16, SRC_SIZE = S };

/* Items 0..11: .npy clips of 16 frames (16x16) with distinct content, except item 3 (missing),
 * item 7 (empty file) and item 10 (text named .npy). */
static char paths[N_ITEMS][128];
static vc_loader_item items[N_ITEMS];
static const int BAD[3] = {3, 7, 10};

static int is_bad(int i) { return i == 3 || i == 7 || i == 10; }

static int make_items(void) {
    mkdir("build/tests", 0755);
    mkdir(DIR, 0755);
    uint8_t *px = malloc((size_t)SRC_FRAMES * SRC_SIZE * SRC_SIZE * 3);
    if (!px) return -1;
    for (int i = 0; i < N_ITEMS; i++) {
        snprintf(paths[i], sizeof paths[i], DIR "/clip%02d.npy", i);
        items[i] = (vc_loader_item){paths[i], -1, -1};
        unlink(paths[i]);
        if (i == 3) continue;
        if (i == 7 || i == 10) {
            FILE *f = fopen(paths[i], "w");
            if (!f) return -1;
            if (i == 10) fputs("not a numpy array\n", f);
            fclose(f);
            continue;
        }
        for (size_t k = 0; k < (size_t)SRC_FRAMES * SRC_SIZE * SRC_SIZE * 3; k++)
            px[k] = (uint8_t)((k * 7 + (size_t)i * 31 + (k / (SRC_SIZE * SRC_SIZE * 3)) * 13) & 0xff);
        int64_t shape[4] = {SRC_FRAMES, SRC_SIZE, SRC_SIZE, 3};
        vc_error err;
        if (vc_npy_write(paths[i], VC_DT_U8, 4, shape, px, &err)) return -1;
    }
    free(px);
    return 0;
}

static vc_loader_params params(int workers, int batch, int prefetch) {
    vc_preprocess pp = vc_preprocess_default(FRAMES, S);
    vc_loader_params p = vc_loader_default_params(&pp);
    p.workers = workers, p.batch = batch, p.prefetch = prefetch;
    return p;
}

#define CLIP ((size_t)FRAMES * S * S * 3)

TEST(single_pass_gives_every_readable_item_once_with_direct_decode_pixels) {
    vc_error err;
    CHECK(make_items() == 0, "could not write the clips");
    vc_loader_params p = params(3, 5, 2);
    vc_loader *l = vc_loader_start(items, N_ITEMS, &p, &err);
    CHECK(l, "%s", err.msg);
    int seen[N_ITEMS] = {0}, reported[N_ITEMS] = {0}, batches = 0;
    uint8_t *want = malloc(CLIP);
    for (;;) {
        vc_loader_batch b;
        CHECK(vc_loader_next(l, &b, &err) == 0, "%s", err.msg);
        for (int k = 0; k < b.n_failed; k++) {
            reported[b.failed[k].item]++;
            CHECK(strstr(b.failed[k].msg, paths[b.failed[k].item]), "message '%s' does not name the file", b.failed[k].msg);
        }
        if (b.end) break;
        batches++;
        for (int k = 0; k < b.n; k++) {
            const int i = b.item[k];
            CHECK(i >= 0 && i < N_ITEMS && !is_bad(i), "item %d", i);
            seen[i]++;
            vc_clip_opts o = vc_clip_default_opts();
            o.key = (uint64_t)i; /* position = item in a single pass */
            CHECK(vc_clip_load_u8_opts(paths[i], &p.pp, &o, want, NULL, &err) == 0, "%s", err.msg);
            CHECK(!memcmp(want, b.frames + k * CLIP, CLIP), "item %d: pixels differ from a direct decode", i);
        }
    }
    vc_loader_free(l);
    free(want);
    CHECK(batches == 3, "%d batches of 5 for 12 items", batches);
    for (int i = 0; i < N_ITEMS; i++) {
        CHECK(seen[i] == !is_bad(i), "item %d delivered %d times", i, seen[i]);
        CHECK(reported[i] == is_bad(i), "item %d reported %d times", i, reported[i]);
    }
}

/* Training order: a fixed scramble of positions over the items (any pure function works). */
static int scramble(void *user, int64_t g) {
    (void)user;
    return (int)((g * 5 + g / N_ITEMS) % N_ITEMS);
}

/* Batches [first, first + count) of a training loader, concatenated. */
static int training_run(int workers, int prefetch, int64_t first, int count, uint8_t *frames, int *item, vc_error *err) {
    vc_loader_params p = params(workers, 4, prefetch);
    p.clip.sampling = VC_SAMPLE_RAND, p.clip.augment = 1, p.clip.seed = 99;
    p.substitute = 1, p.item_at = scramble, p.first_batch = first;
    vc_loader *l = vc_loader_start(items, N_ITEMS, &p, err);
    if (!l) return -1;
    int rc = 0;
    for (int b = 0; b < count && !rc; b++) {
        vc_loader_batch lb;
        if ((rc = vc_loader_next(l, &lb, err))) break;
        if (lb.n != 4 || lb.index != first + b) rc = vc_fail(err, "batch %lld has %d clips", (long long)lb.index, lb.n);
        memcpy(frames + (size_t)b * 4 * CLIP, lb.frames, 4 * CLIP);
        memcpy(item + b * 4, lb.item, 4 * sizeof *item);
    }
    vc_loader_free(l);
    return rc;
}

TEST(training_batches_do_not_depend_on_workers_prefetch_or_resume_point) {
    vc_error err;
    CHECK(make_items() == 0, "could not write the clips");
    enum { BATCHES = 9 };
    uint8_t *a = malloc(BATCHES * 4 * CLIP), *b = malloc(BATCHES * 4 * CLIP);
    int ia[BATCHES * 4], ib[BATCHES * 4];
    CHECK(training_run(1, 1, 0, BATCHES, a, ia, &err) == 0, "%s", err.msg);
    CHECK(training_run(4, 3, 0, BATCHES, b, ib, &err) == 0, "%s", err.msg);
    CHECK(!memcmp(ia, ib, sizeof ia), "items differ between 1 and 4 workers");
    CHECK(!memcmp(a, b, BATCHES * 4 * CLIP), "pixels differ between 1 and 4 workers");
    CHECK(training_run(2, 2, 5, BATCHES - 5, b, ib, &err) == 0, "%s", err.msg);
    CHECK(!memcmp(ia + 5 * 4, ib, (BATCHES - 5) * 4 * sizeof *ia), "resumed items differ");
    CHECK(!memcmp(a + 5 * 4 * CLIP, b, (BATCHES - 5) * 4 * CLIP), "resumed pixels differ");
    /* substitution: a bad item's place goes to the next readable item; augmentation varies by
     * position, so two draws of one item differ */
    int same_item_diff_pixels = 0;
    for (int g = 0; g < BATCHES * 4; g++) {
        int want = scramble(NULL, g);
        while (is_bad(want)) want = (want + 1) % N_ITEMS;
        CHECK(ia[g] == want, "position %d shows item %d, expected %d", g, ia[g], want);
        for (int h = 0; h < g; h++)
            if (ia[h] == ia[g] && memcmp(a + (size_t)h * CLIP, a + (size_t)g * CLIP, CLIP)) same_item_diff_pixels = 1;
    }
    CHECK(same_item_diff_pixels, "every draw of an item looked the same: no per-position augmentation");
    free(a), free(b);
}

static int cycle3(void *user, int64_t g) {
    (void)user;
    return (int)(g % 3);
}

TEST(training_with_no_readable_item_fails_with_a_message) {
    vc_error err;
    CHECK(make_items() == 0, "could not write the clips");
    vc_loader_item bad[3];
    for (int k = 0; k < 3; k++) bad[k] = items[BAD[k]];
    vc_loader_params p = params(2, 2, 1);
    p.substitute = 1, p.item_at = cycle3;
    vc_loader *l = vc_loader_start(bad, 3, &p, &err);
    CHECK(l, "%s", err.msg);
    vc_loader_batch b;
    int rc = vc_loader_next(l, &b, &err);
    vc_loader_free(l);
    CHECK(rc != 0 && strstr(err.msg, "none of the 3 clips"), "rc %d, '%s'", rc, rc ? err.msg : "");
}

TEST(freeing_while_workers_decode_returns_promptly) {
    vc_error err;
    CHECK(make_items() == 0, "could not write the clips");
    vc_loader_params p = params(2, 4, 4);
    p.substitute = 1, p.item_at = scramble;
    const double t0 = vc_now_s();
    for (int r = 0; r < 20; r++) {
        vc_loader *l = vc_loader_start(items, N_ITEMS, &p, &err);
        CHECK(l, "%s", err.msg);
        if (r % 2) {
            vc_loader_batch b;
            CHECK(vc_loader_next(l, &b, &err) == 0 && b.n == 4, "%s", err.msg);
        }
        vc_loader_free(l);
    }
    CHECK(vc_now_s() - t0 < 10, "20 start/free cycles took %.1f s", vc_now_s() - t0);
    p.workers = 0;
    CHECK(!vc_loader_start(items, N_ITEMS, &p, &err) && strstr(err.msg, "workers"), "accepted 0 workers");
}

TEST_MAIN("loader", T(single_pass_gives_every_readable_item_once_with_direct_decode_pixels),
          T(training_batches_do_not_depend_on_workers_prefetch_or_resume_point),
          T(training_with_no_readable_item_fails_with_a_message), T(freeing_while_workers_decode_returns_promptly))
