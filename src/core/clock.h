/* Monotonic wall-clock seconds, for progress lines and benchmarks. */
#ifndef VC_CORE_CLOCK_H
#define VC_CORE_CLOCK_H

#include <time.h>

static inline double vc_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds used by the whole process (all threads): rates that hold on a shared machine. */
static inline double vc_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
