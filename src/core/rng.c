#include "core/rng.h"

#include <math.h>

uint64_t vc_hash64(uint64_t x) {
    /* splitmix64 finaliser: a bijective mix with good avalanche. */
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

vc_rng vc_rng_at(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b) {
    uint64_t h = vc_hash64(seed);
    h = vc_hash64(h ^ stream);
    h = vc_hash64(h ^ a);
    h = vc_hash64(h ^ b);
    vc_rng r = {h};
    return r;
}

uint64_t vc_rng_u64(vc_rng *r) {
    r->state += 0x9E3779B97F4A7C15ull;
    uint64_t z = r->state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double vc_rng_uniform(vc_rng *r) { return (double)(vc_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

uint64_t vc_rng_below(vc_rng *r, uint64_t n) {
    if (n <= 1) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = vc_rng_u64(r);
    while (x >= limit);
    return x % n;
}

double vc_rng_normal(vc_rng *r) {
    double u1 = vc_rng_uniform(r), u2 = vc_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void vc_rng_permutation(vc_rng *r, int32_t *perm, int n) {
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)vc_rng_below(r, (uint64_t)i + 1);
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
