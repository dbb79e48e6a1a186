#include "video/sampling.h"

#include <stdlib.h>
#include <string.h>

int vc_sampling_parse(const char *name, vc_sampling *out, vc_error *err) {
    static const char *const names[] = {"middle", "rand", "demo"};
    for (int i = 0; i < 3; i++)
        if (name && !strcmp(name, names[i])) {
            *out = (vc_sampling)i;
            return 0;
        }
    return vc_fail(err, "unknown frame sampling '%s' (expected middle, rand or demo)", name ? name : "(null)");
}

const char *vc_sampling_name(vc_sampling mode) {
    switch (mode) {
    case VC_SAMPLE_MIDDLE: return "middle";
    case VC_SAMPLE_RAND: return "rand";
    case VC_SAMPLE_DEMO: return "demo";
    }
    return "?";
}

/* Segment bound k of `segments` equal parts of n: int(k * (n / segments)), computed in double
 * the way numpy.linspace does (k * step + 0), so the truncation matches the official bounds
 * bit for bit, including where k * n / segments is an integer only in exact arithmetic. */
static int segment_bound(int n, int segments, int k) {
    if (k == segments) return n; /* linspace sets the endpoint to stop exactly */
    double step = (double)n / (double)segments;
    return (int)((double)k * step + 0.0);
}

static int compare_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* rand's fallback: `count` distinct frames of n, uniformly, ascending (a partial Fisher-Yates). */
static int random_subset(int n, int count, vc_rng *rng, int *idx, vc_error *err) {
    int *perm = malloc((size_t)n * sizeof *perm);
    if (!perm) return vc_fail(err, "out of memory sampling %d of %d frames", count, n);
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = 0; i < count; i++) {
        int j = i + (int)vc_rng_below(rng, (uint64_t)(n - i));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    memcpy(idx, perm, (size_t)count * sizeof *idx);
    free(perm);
    qsort(idx, (size_t)count, sizeof *idx, compare_int);
    return 0;
}

int vc_sample_indices(vc_sampling mode, int n, int frames, vc_rng *rng, int *idx, vc_error *err) {
    if (n < 1) return vc_fail(err, "cannot sample frames from a video of %d frames", n);
    if (frames < 1) return vc_fail(err, "cannot sample %d frames per clip", frames);
    const int picked = n < frames ? n : frames;
    if (mode == VC_SAMPLE_DEMO) {
        const int step = n / frames; /* 0 when n < frames: then every frame, padded below */
        for (int i = 0; i < picked; i++) idx[i] = step ? i * step : i;
    } else if (mode == VC_SAMPLE_MIDDLE || mode == VC_SAMPLE_RAND) {
        if (mode == VC_SAMPLE_RAND && !rng) return vc_fail(err, "'rand' frame sampling needs a random generator");
        int single_frame_segment = 0;
        for (int k = 0; k < picked; k++) {
            int first = segment_bound(n, picked, k), last = segment_bound(n, picked, k + 1) - 1;
            if (last <= first) single_frame_segment = 1;
            /* in 64 bits: a container may claim up to 2^31 - 1 frames (found by make fuzz) */
            if (mode == VC_SAMPLE_MIDDLE) idx[k] = (int)(((int64_t)first + last) / 2);
            else if (last > first) idx[k] = first + (int)vc_rng_below(rng, (uint64_t)(last - first));
        }
        if (mode == VC_SAMPLE_RAND && single_frame_segment &&
            random_subset(n, picked, rng, idx, err))
            return -1;
    } else {
        return vc_fail(err, "unknown frame sampling mode %d", (int)mode);
    }
    for (int i = picked; i < frames; i++) idx[i] = idx[picked - 1];
    return 0;
}

int vc_sample_view_indices(int n, int frames, int view, int views, int *idx, vc_error *err) {
    if (n < 1) return vc_fail(err, "cannot sample frames from a video of %d frames", n);
    if (frames < 1) return vc_fail(err, "cannot sample %d frames", frames);
    if (views < 1 || view < 0 || view >= views) return vc_fail(err, "view %d is outside 0..%d", view, views - 1);
    const int segments = n < frames ? n : frames;
    for (int k = 0; k < segments; k++) {
        const int lo = segment_bound(n, segments, k), hi = segment_bound(n, segments, k + 1);
        idx[k] = lo + (int)((view + 0.5) / views * (hi - lo));
        if (idx[k] >= hi) idx[k] = hi - 1;
    }
    for (int k = segments; k < frames; k++) idx[k] = idx[segments - 1];
    return 0;
}
