#include "eval/templates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/annotations.h"

/* As listed for ViCLIP's action recognition (kinetics_templates_action_clip); the evaluation
 * cleans each filled prompt like a caption (lower case, no punctuation) before tokenising. */
const char *const vc_viclip_action_templates[VC_VICLIP_N_TEMPLATES] = {
    "a photo of action {}",
    "a picture of action {}",
    "Human action of {}",
    "{}, an action",
    "{} this is an action",
    "{}, a video of action",
    "Playing action of {}",
    "{}",
    "Playing a kind of action, {}",
    "Doing a kind of action, {}",
    "Look, the human is {}",
    "Can you recognize the action of {}?",
    "Video classification of {}",
    "A video of {}",
    "The man is {}",
    "The woman is {}",
};

char *vc_fill_template(const char *tmpl, const char *name) {
    const char *at = strstr(tmpl, "{}");
    size_t n = strlen(tmpl) + strlen(name) + 1;
    char *s = malloc(n);
    if (!s) return NULL;
    if (at) snprintf(s, n, "%.*s%s%s", (int)(at - tmpl), tmpl, name, at + 2);
    else snprintf(s, n, "%s", tmpl);
    return s;
}

static int only_whitespace(const char *s) {
    for (; *s; s++)
        if (!strchr(" \t\n\v\f\r", *s)) return 0;
    return 1;
}

static int by_name(const void *a, const void *b) {
    const char *const *x = a, *const *y = b;
    const int c = strcmp(*x, *y);
    return c ? c : (x > y) - (x < y);
}

int vc_check_class_names(const char *const *names, int n, int *bad, vc_error *err) {
    for (int i = 0; i < n; i++)
        if (only_whitespace(names[i])) {
            if (bad) *bad = i;
            return vc_fail(err, "class name %d of %d is %s", i + 1, n, names[i][0] ? "only whitespace" : "empty");
        }
    if (n < 2) return 0;
    /* duplicates: sort pointers into the caller's array, so the index is recovered by subtraction */
    const char **sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted) return vc_fail(err, "out of memory checking %d class names", n);
    memcpy(sorted, names, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, by_name);
    int rc = 0;
    for (int i = 1; i < n && !rc; i++)
        if (!strcmp(sorted[i], sorted[i - 1])) {
            int first = -1, second = -1;
            for (int k = 0; k < n && second < 0; k++)
                if (!strcmp(names[k], sorted[i])) *(first < 0 ? &first : &second) = k;
            if (bad) *bad = second;
            rc = vc_fail(err, "class '%s' is listed twice (entries %d and %d)", sorted[i], first + 1, second + 1);
        }
    free(sorted);
    return rc;
}

int vc_check_templates(const char *const *templates, int n, int *bad, vc_error *err) {
    for (int i = 0; i < n; i++) {
        int holes = 0;
        for (const char *p = templates[i]; (p = strstr(p, "{}")); p += 2) holes++;
        if (holes != 1) {
            if (bad) *bad = i;
            return vc_fail(err, "template %d of %d ('%s') has %s \"{}\" for the class name (exactly one needed)", i + 1,
                           n, templates[i], holes ? "more than one" : "no");
        }
    }
    return 0;
}

typedef int (*check_fn)(const char *const *, int, int *, vc_error *);

static int read_checked(const char *path, check_fn check, char ***lines, int *n, vc_error *err) {
    long *line = NULL;
    if (vc_read_lines_numbered(path, lines, &line, n, err)) return -1;
    int bad = 0;
    const int rc = check((const char *const *)*lines, *n, &bad, err);
    if (rc) {
        vc_fail_ctx(err, "%s:%ld", path, line[bad]);
        vc_free_lines(*lines, *n);
        *lines = NULL, *n = 0;
    }
    free(line);
    return rc;
}

int vc_read_class_names(const char *path, char ***names, int *n, vc_error *err) {
    return read_checked(path, vc_check_class_names, names, n, err);
}

int vc_read_templates(const char *path, char ***templates, int *n, vc_error *err) {
    return read_checked(path, vc_check_templates, templates, n, err);
}
