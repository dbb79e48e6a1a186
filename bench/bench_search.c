/* Exact moment search at scale: N random normalised windows (default 10^6, E = 768 as
 * ViCLIP-B/16) stored as float16 and as int8, searched with viclip_index_rank (queries x rows
 * as a blocked product, src/search/score.c, + per-thread heaps) for 1 and 16 queries, side by
 * side with the peer method of an exact inner-product index (faiss IndexFlatIP's: one float32
 * GEMM over all rows, then the top k). Also the top-1 agreement and top-10 recall against the
 * peer and the worst error of the reported scores (from the float32 rows). Prints one JSON line.
 * A client of the public library (include/viclip.h) only.
 *   build/bench_search [N] [E] [threads]
 *   build/bench_search --write-index DIR --model M --video V [N]: an index of N random windows
 *     over copies of one real video (for the serve load test; paths all name V). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "viclip.h"

static double clock_s(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu_s(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); } /* all threads */

/* splitmix64: row i's values depend on (seed, i) only. */
static uint64_t mix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void random_rows(float *x, long n, int E, uint64_t seed) {
#pragma omp parallel for
    for (long i = 0; i < n; i++) {
        uint64_t s = seed * 0x100000001b3ull + (uint64_t)i;
        double norm = 0;
        for (int e = 0; e < E; e++) { /* Box-Muller normals */
            const double u1 = ((mix(&s) >> 11) + 1.0) / 9007199254740993.0, u2 = (mix(&s) >> 11) / 9007199254740992.0;
            const float v = (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
            x[(size_t)i * E + e] = v, norm += (double)v * v;
        }
        for (int e = 0; e < E; e++) x[(size_t)i * E + e] /= (float)(sqrt(norm) + 1e-12);
    }
}

static int write_index(const char *dir, const char *model, const char *video, int n) {
    viclip_error err;
    struct viclip_context_params cp = viclip_context_default_params();
    cp.vocab_path = ""; /* no texts here */
    viclip_context *m = viclip_init_from_file(model, cp, &err);
    if (!m) return fprintf(stderr, "%s\n", err.msg), 1;
    struct viclip_index_params o = viclip_index_default_params();
    o.window = 4, o.stride = 2;
    struct stat sb;
    if (stat(video, &sb)) return fprintf(stderr, "%s: missing\n", video), 1;
    const int E = viclip_embed_dim(m), per_file = 1000;
    float *rows = malloc((size_t)per_file * E * sizeof *rows);
    double *s = malloc(per_file * sizeof *s), *e = malloc(per_file * sizeof *e);
    viclip_index *x = viclip_index_create(m, &o, &err);
    int rc = x ? 0 : -1;
    for (int f = 0; !rc && f * per_file < n; f++) {
        random_rows(rows, per_file, E, (uint64_t)f + 1);
        for (int i = 0; i < per_file; i++) s[i] = 2.0 * i, e[i] = 2.0 * i + 4;
        rc = viclip_index_append(x, video, sb.st_size, 0, 2.0 * per_file + 2, rows, s, e, per_file, &err);
    }
    if (!rc) rc = viclip_index_save(x, dir, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    else printf("wrote %s: %d windows\n", dir, viclip_index_n_windows(x));
    viclip_index_free(x), viclip_free(m), free(rows), free(s), free(e);
    return rc ? 1 : 0;
}

/* The peer: scores = q rows^T over everything (float32), then the top m of each query. */
static void flat_ip(const float *rows, long n, int E, const float *q, int nq, int m, float *scores, struct viclip_hit *out) {
    viclip_gemm_nt(nq, (int)n, E, q, rows, scores);
    for (int j = 0; j < nq; j++) { /* partial selection: keep the best m by insertion */
        struct viclip_hit *best = out + (size_t)j * m;
        int len = 0;
        const float *s = scores + (size_t)j * n;
        for (long i = 0; i < n; i++) {
            if (len == m && s[i] <= best[m - 1].score) continue;
            int p = len < m ? len++ : m - 1;
            while (p > 0 && best[p - 1].score < s[i]) best[p] = best[p - 1], p--;
            best[p] = (struct viclip_hit){(int)i, s[i]};
        }
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--write-index")) {
        if (argc < 8) return fprintf(stderr, "usage: bench_search --write-index DIR --model M --video V N\n"), 2;
        return write_index(argv[2], argv[4], argv[6], atoi(argv[7]));
    }
    const long n = argc > 1 ? atol(argv[1]) : 1000000;
    const int E = argc > 2 ? atoi(argv[2]) : 768, threads = argc > 3 ? atoi(argv[3]) : 2, m = 200, reps = 5;
    viclip_set_threads(threads);
    float *rows = malloc((size_t)n * E * sizeof *rows), *q = malloc((size_t)16 * E * sizeof *q);
    random_rows(rows, n, E, 7);
    random_rows(q, 16, E, 99);
    viclip_error err;
    double *se = calloc((size_t)n, sizeof *se);
    struct viclip_hit *hits = malloc((size_t)16 * m * sizeof *hits), *peer = malloc((size_t)16 * m * sizeof *peer);
    float *scores = malloc((size_t)16 * n * sizeof *scores);
    const int nqs[2] = {1, 16};
    double peer_best[2] = {1e9, 1e9}, peer_cpu[2] = {1e9, 1e9};
    for (int k = 0; k < 2; k++)
        for (int r = 0; r < reps; r++) {
            double t0 = now_s(), c0 = cpu_s();
            flat_ip(rows, n, E, q, nqs[k], m, scores, peer);
            if (now_s() - t0 < peer_best[k]) peer_best[k] = now_s() - t0;
            if (cpu_s() - c0 < peer_cpu[k]) peer_cpu[k] = cpu_s() - c0;
        }
    /* wall time, and the CPU time of all threads (steadier on a shared machine) */
    printf("{\"n_windows\":%ld,\"dim\":%d,\"threads\":%d,\"peer_f32_flat_1q_ms\":%.1f,\"peer_f32_flat_16q_ms\":%.1f,"
           "\"peer_f32_flat_1q_cpu_ms\":%.1f,\"peer_f32_flat_16q_cpu_ms\":%.1f,\"peer_f32_gb_per_1e6_windows\":%.3f",
           n, E, threads, 1e3 * peer_best[0], 1e3 * peer_best[1], 1e3 * peer_cpu[0], 1e3 * peer_cpu[1],
           ((double)n * E * 4 + (double)n * 16) / n * 1e6 / 1e9);
    const enum viclip_dtype dts[2] = {VICLIP_F16, VICLIP_I8};
    const char *names[2] = {"f16", "int8"};
    const double row_bytes[2] = {2.0 * E + 16, 1.0 * E + 4 + 16}; /* + windows.npy; int8: + scales.npy */
    for (int d = 0; d < 2; d++) {
        viclip_index *x = viclip_index_new(E, dts[d], &err);
        if (!x || viclip_index_append(x, "bench", 0, 0, 0, rows, se, se, (int)n, &err))
            return fprintf(stderr, "%s\n", err.msg), 1;
        double best[2] = {1e9, 1e9}, cpu[2] = {1e9, 1e9};
        int agree = 1, found = 0, got;
        for (int k = 0; k < 2; k++)
            for (int r = 0; r < reps; r++) {
                double t0 = now_s(), c0 = cpu_s();
                viclip_index_rank(x, q, nqs[k], m, hits, &got, &err);
                if (now_s() - t0 < best[k]) best[k] = now_s() - t0;
                if (cpu_s() - c0 < cpu[k]) cpu[k] = cpu_s() - c0;
            }
        /* the same 16 queries against the float32 peer: top-1 and top-10 recall */
        viclip_index_rank(x, q, 16, m, hits, &got, &err);
        flat_ip(rows, n, E, q, 16, m, scores, peer);
        double worst = 0; /* the scores of the hits against their float32 scores */
        for (int j = 0; j < 16; j++) {
            for (int a = 0; a < 10; a++) {
                double s = 0;
                for (int e = 0; e < E; e++) s += (double)rows[(size_t)hits[j * m + a].row * E + e] * q[(size_t)j * E + e];
                worst = fmax(worst, fabs(s - hits[j * m + a].score));
            }
            agree &= hits[j * m].row == peer[j * m].row;
            for (int a = 0; a < 10; a++)
                for (int b = 0; b < 10; b++) found += hits[j * m + a].row == peer[j * m + b].row;
        }
        printf(",\"viclip_%s_1q_ms\":%.1f,\"viclip_%s_16q_ms\":%.1f,\"viclip_%s_1q_cpu_ms\":%.1f,\"viclip_%s_16q_cpu_ms\":%.1f,"
               "\"%s_gb_per_1e6_windows\":%.3f,\"%s_top1_agrees\":%s,\"%s_top10_recall\":%.4f,\"%s_worst_score_err\":%.2e",
               names[d], 1e3 * best[0], names[d], 1e3 * best[1], names[d], 1e3 * cpu[0], names[d], 1e3 * cpu[1], names[d],
               row_bytes[d] * 1e6 / 1e9, names[d], agree ? "true" : "false", names[d], found / 160.0, names[d], worst);
        viclip_index_free(x);
    }
    printf("}\n");
    free(rows), free(q), free(se), free(hits), free(peer), free(scores);
    return 0;
}
