/* The CLI and the benchmarks are clients of the public library: every file of src/cli and
 * bench includes "viclip.h", system headers and CLI headers that are themselves clean, and
 * nothing else. Files not yet ported are listed below, printed as TODO on every run, and the
 * list must shrink: a listed file that has become clean fails until it is taken off. */
#include <dirent.h>
#include <string.h>

#include "testutil.h"

/* Still including library internals (issue 13, item 7): to be ported. */
static const char *const NOT_YET_PORTED[] = {
    NULL, /* none left: every file of src/cli and bench is a client of viclip.h alone */
};
enum { N_NOT_YET = sizeof NOT_YET_PORTED / sizeof NOT_YET_PORTED[0] - 1 }; /* without the NULL */

static int listed(const char *path) {
    for (int i = 0; i < N_NOT_YET; i++)
        if (!strcmp(NOT_YET_PORTED[i], path)) return 1;
    return 0;
}

/* The first quoted #include of path that a client may not use ("" when clean): only
 * "viclip.h", and in src/cli headers of src/cli that are clean themselves. */
static int first_private_include(const char *path, char *bad, size_t cap, int depth) {
    char *text = (char *)vc_test_read_file(path, NULL);
    if (!text) return snprintf(bad, cap, "(unreadable)"), -1;
    bad[0] = 0;
    const char *cli = strstr(path, "src/cli/"); /* CLI headers resolve next to the file's src/ */
    const int in_cli = cli != NULL;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && !bad[0]; line = strtok_r(NULL, "\n", &save)) {
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (strncmp(p, "#include", 8)) continue;
        char *q = strchr(p, '"');
        if (!q) continue; /* <system> headers */
        char *end = strchr(q + 1, '"');
        if (!end) continue;
        *end = 0;
        const char *inc = q + 1;
        if (!strcmp(inc, "viclip.h")) continue;
        if (in_cli && !strncmp(inc, "cli/", 4) && depth < 4) {
            char sub[512], subbad[256];
            snprintf(sub, sizeof sub, "%.*ssrc/%s", (int)(cli - path), path, inc);
            if (!first_private_include(sub, subbad, sizeof subbad, depth + 1) && !subbad[0]) continue;
        }
        snprintf(bad, cap, "%s", inc);
    }
    free(text);
    return 0;
}

static int scan(const char *dir, int *n_files, char *why, size_t cap) {
    DIR *d = opendir(dir);
    if (!d) return snprintf(why, cap, "cannot open %s", dir), -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && !rc) {
        const size_t len = strlen(e->d_name);
        if (len < 3 || (strcmp(e->d_name + len - 2, ".c") && strcmp(e->d_name + len - 2, ".h"))) continue;
        char path[512], bad[256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        (*n_files)++;
        first_private_include(path, bad, sizeof bad, 0);
        if (bad[0] && !listed(path)) rc = -1, snprintf(why, cap, "%s includes \"%s\", not part of include/viclip.h", path, bad);
        else if (!bad[0] && listed(path)) rc = -1, snprintf(why, cap, "%s is clean now: take it off NOT_YET_PORTED", path);
        else if (bad[0]) printf("TODO %s: still includes \"%s\" (not yet ported to the public API)\n", path, bad);
    }
    closedir(d);
    return rc;
}

TEST(cli_and_bench_use_only_the_public_header) {
    int n = 0;
    char why[1024] = "";
    CHECK(!scan("src/cli", &n, why, sizeof why), "%s", why);
    CHECK(!scan("bench", &n, why, sizeof why), "%s", why);
    CHECK(n >= 20, "only %d files scanned", n);
}

/* The scan itself: an internal include is caught, directly and through a CLI header. */
static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

TEST(the_scan_catches_an_internal_include) {
    CHECK(system("mkdir -p build/tests/public_api/src/cli") == 0, "mkdir");
    write_text("build/tests/public_api/src/cli/direct.c", "#include <stdio.h>\n#include \"viclip.h\"\n#include \"search/index.h\"\n");
    write_text("build/tests/public_api/src/cli/inner.h", "#include \"viclip.h\"\n#include \"core/error.h\"\n");
    write_text("build/tests/public_api/src/cli/via.c", "#include \"cli/inner.h\"\n");
    write_text("build/tests/public_api/src/cli/clean.c", "#include <string.h>\n#include \"cli/args.h\"\n#include \"viclip.h\"\n");
    write_text("build/tests/public_api/src/cli/args.h", "#include <stdint.h>\n");
    char bad[256];
    CHECK(!first_private_include("build/tests/public_api/src/cli/direct.c", bad, sizeof bad, 0) && !strcmp(bad, "search/index.h"),
          "direct: got '%s'", bad);
    CHECK(!first_private_include("build/tests/public_api/src/cli/via.c", bad, sizeof bad, 0) && !strcmp(bad, "cli/inner.h"),
          "via a CLI header: got '%s'", bad);
    CHECK(!first_private_include("build/tests/public_api/src/cli/clean.c", bad, sizeof bad, 0) && !bad[0], "clean: got '%s'", bad);
    CHECK(!first_private_include("src/cli/cli.h", bad, sizeof bad, 0) && !bad[0], "cli.h includes '%s'", bad);
}

TEST_MAIN("public_api", T(cli_and_bench_use_only_the_public_header), T(the_scan_catches_an_internal_include))
