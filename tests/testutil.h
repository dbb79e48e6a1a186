/* Minimal test harness: each tests/test_*.c is one executable made of TEST functions.
 * A check failure records the failure and returns from the test; run_tests() prints one
 * PASS/FAIL line per test and a final "RESULT passed=N failed=M" line that tests/run.sh
 * adds up into the closing "N passed, N failed" line. */
#ifndef VC_TESTUTIL_H
#define VC_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/features.h"

typedef struct {
    const char *name;
    void (*fn)(int *failed, char *why, size_t whylen);
} vc_test_case;

#define TEST(name) static void name(int *vc_t_failed, char *vc_t_why, size_t vc_t_whylen)

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            *vc_t_failed = 1;                                                   \
            int vc_t_n = snprintf(vc_t_why, vc_t_whylen, "%s:%d: %s: ", __FILE__, \
                                  __LINE__, #cond);                             \
            if (vc_t_n > 0 && (size_t)vc_t_n < vc_t_whylen)                     \
                snprintf(vc_t_why + vc_t_n, vc_t_whylen - vc_t_n, __VA_ARGS__); \
            return;                                                             \
        }                                                                       \
    } while (0)

/* |a-b| <= atol + rtol*|b| */
#define CHECK_CLOSE(a, b, atol, rtol)                                                    \
    CHECK(fabs((double)(a) - (double)(b)) <= (atol) + (rtol)*fabs((double)(b)),          \
          "%s=%.9g vs %s=%.9g", #a, (double)(a), #b, (double)(b))

static inline int vc_run_tests(const char *suite, const vc_test_case *cases, int n,
                               int argc, char **argv) {
    int passed = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        if (argc > 1 && !strstr(cases[i].name, argv[1])) continue;
        int f = 0;
        char why[2048] = "";
        cases[i].fn(&f, why, sizeof why);
        if (f) {
            failed++;
            printf("FAIL %s.%s: %s\n", suite, cases[i].name, why);
        } else {
            passed++;
            printf("PASS %s.%s\n", suite, cases[i].name);
        }
        fflush(stdout);
    }
    printf("RESULT passed=%d failed=%d\n", passed, failed);
    return failed ? 1 : 0;
}

#define TEST_MAIN(suite, ...)                                               \
    int main(int argc, char **argv) {                                       \
        static const vc_test_case cases[] = {__VA_ARGS__};                  \
        return vc_run_tests(suite, cases, (int)(sizeof cases / sizeof cases[0]), argc, argv); \
    }
#define T(fn) {#fn, fn}

/* A test that decodes video files, in a build without FFmpeg: a visible SKIP line, no failure. */
#define SKIP_WITHOUT_VIDEO()                                                                    \
    do {                                                                                        \
        if (!vc_have_video()) {                                                                 \
            printf("SKIP %s: viclip was built without FFmpeg (clips as .npy only)\n", __func__); \
            return;                                                                             \
        }                                                                                       \
    } while (0)

/* The build folder the test was built in (the Makefile passes it: build, build-asan) and the
 * viclip command of that build, so a sanitizer build tests its own CLI. */
#ifndef VC_BUILD_DIR
#define VC_BUILD_DIR "build"
#endif
#define VICLIP VC_BUILD_DIR "/viclip"

/* Path to the shared data folder (../shared/data from the project root), or NULL. */
static inline const char *vc_shared_data_dir(void) {
    const char *env = getenv("VICLIP_SHARED_DATA");
    return env ? env : "../shared/data";
}

/* The whole file in a NUL-terminated buffer (so it also reads as text); NULL if unreadable.
 * n may be NULL. */
static inline unsigned char *vc_test_read_file(const char *path, size_t *n) {
    if (n) *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[len] = 0;
    if (n) *n = buf ? (size_t)len : 0;
    return buf;
}

/* Runs a shell command, captures stdout and stderr (both, or stdout alone when !with_stderr:
 * stderr then goes to /dev/null) into out, returns the exit status (128 + signal if killed). */
static inline int vc_test_run(const char *cmd, int with_stderr, char *out, size_t cap) {
    char full[8192];
    snprintf(full, sizeof full, "%s %s", cmd, with_stderr ? "2>&1" : "2>/dev/null");
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Writes bytes to a file; 0 on success. */
static inline int vc_test_write_file(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(bytes, 1, n, f) : 0;
    return fclose(f) || w != n ? -1 : 0;
}

#endif
