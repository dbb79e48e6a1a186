/* Counter-based random numbers. Every random decision in training (data order, token masks,
 * drop-path, augmentation) is a pure function of (seed, stream, step, index), so a resumed run
 * draws exactly what an uninterrupted one would without saving generator state beyond the seed. */
#ifndef VC_CORE_RNG_H
#define VC_CORE_RNG_H

#include <stdint.h>

typedef struct vc_rng {
    uint64_t state;
} vc_rng;

/* Streams keep independent uses of randomness apart. */
enum {
    VC_STREAM_INIT = 1,
    VC_STREAM_SHUFFLE = 2,
    VC_STREAM_MASK = 3,
    VC_STREAM_DROP_PATH = 4,
    VC_STREAM_AUGMENT = 5,
    VC_STREAM_CAPTION = 6,
};

uint64_t vc_hash64(uint64_t x);
/* A generator positioned by (seed, stream, a, b): e.g. (seed, VC_STREAM_MASK, step, sample). */
vc_rng vc_rng_at(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);
uint64_t vc_rng_u64(vc_rng *r);
/* Uniform in [0, 1) with 53 (double) or 24 (float) random bits. */
double vc_rng_uniform(vc_rng *r);
/* Uniform integer in [0, n) without modulo bias. */
uint64_t vc_rng_below(vc_rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
double vc_rng_normal(vc_rng *r);
/* Fisher-Yates permutation of 0..n-1. */
void vc_rng_permutation(vc_rng *r, int32_t *perm, int n);

#endif
