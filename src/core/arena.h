/* Planned memory: a layout is computed once by walking the same code with a NULL base
 * (counting) and again with the real base (assigning), so the size and the pointers can
 * never disagree. */
#ifndef VC_CORE_ARENA_H
#define VC_CORE_ARENA_H

#include <stddef.h>
#include <stdlib.h>

#include "core/real.h"

typedef struct vc_arena {
    vc_real *base; /* NULL while counting */
    size_t used;   /* elements */
} vc_arena;

/* Takes n elements (64-byte aligned when the base is); returns NULL while counting or n == 0. */
static inline vc_real *vc_arena_take(vc_arena *a, size_t n) {
    const size_t align = 64 / sizeof(vc_real);
    size_t off = (a->used + align - 1) / align * align;
    a->used = off + n;
    return (a->base && n) ? a->base + off : NULL;
}

/* The memory a counted layout (walked with a NULL base) needs, 64-byte aligned as
 * vc_arena_take's offsets assume; NULL when out of memory. Free with free(). */
static inline vc_real *vc_arena_alloc(const vc_arena *counted) {
    return aligned_alloc(64, (counted->used * sizeof(vc_real) + 63) / 64 * 64);
}

#endif
