/* Decode + preprocess throughput: clips/s of T x S x S (default 8 x 224 x 224) float clips
 * from one video (default ../shared/data/example1.mp4, 640x480 MPEG-4 Part 2), with clips
 * decoded in parallel by 1 and 2 OpenMP workers (one single-threaded decoder each), and one
 * clip at a time with a 2-thread decoder. Uses only the public header (include/viclip.h).
 * usage: build/bench_decode [VIDEO] [--clips N] */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "viclip.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double run(const char *path, int clips, int workers, int dec_threads, const struct viclip_video_params *base,
                  int *failed) {
    const int T = 8, S = 224;
    const size_t n = (size_t)T * 3 * S * S;
    int bad = 0;
    double t0 = now_s();
#pragma omp parallel num_threads(workers) reduction(+ : bad)
    {
        float *out = malloc(n * sizeof *out);
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < clips; i++) {
            struct viclip_video_params p = *base;
            p.decode_threads = dec_threads, p.key = (uint64_t)i;
            viclip_error err;
            if (!out || viclip_load_clip_sized(path, T, S, &p, out, &err)) {
                if (!bad) fprintf(stderr, "bench_decode: %s\n", out ? err.msg : "out of memory");
                bad++;
            }
        }
        free(out);
    }
    *failed = bad;
    return clips / (now_s() - t0);
}

int main(int argc, char **argv) {
    const char *path = "../shared/data/example1.mp4";
    int clips = 40;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--clips") && i + 1 < argc) clips = atoi(argv[++i]);
        else path = argv[i];
    }
    struct viclip_video_params eval = viclip_video_default_params(), train = viclip_video_default_params();
    train.sampling = VICLIP_SAMPLING_RAND, train.augment = 1, train.seed = 1;
    int failed = 0;
    run(path, 2, 1, 1, &eval, &failed); /* warm the page cache */
    if (failed) return 1;
    printf("decode + preprocess, 8x224x224 clips from %s (%d clips per row)\n", path, clips);
    static const struct { const char *what; int workers, dec_threads, train; } rows[] = {
        {"eval  (middle, bicubic), 1 worker             ", 1, 1, 0},
        {"eval  (middle, bicubic), 2 workers            ", 2, 1, 0},
        {"eval  (middle, bicubic), 1 worker, 2 dec thr  ", 1, 2, 0},
        {"train (rand, crop+flip), 1 worker             ", 1, 1, 1},
        {"train (rand, crop+flip), 2 workers            ", 2, 1, 1},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        double cps = run(path, clips, rows[r].workers, rows[r].dec_threads, rows[r].train ? &train : &eval, &failed);
        if (failed) return 1;
        printf("  %s %7.2f clips/s\n", rows[r].what, cps);
    }
    return 0;
}
