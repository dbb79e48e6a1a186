#include "cli/args.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viclip.h"

static int push(arg_str_list *l, const char *s) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 8;
        const char **n = realloc(l->items, (size_t)cap * sizeof *n);
        if (!n) return -1;
        l->items = n;
        l->cap = cap;
    }
    l->items[l->n++] = s;
    return 0;
}

void arg_str_list_free(arg_str_list *l) {
    free(l->items);
    memset(l, 0, sizeof *l);
}

static void print_default(const arg_spec *s) {
    switch (s->kind) {
    case ARG_INT: printf(" (default: %d)", *(int *)s->target); break;
    case ARG_I64: printf(" (default: %" PRId64 ")", *(int64_t *)s->target); break;
    case ARG_U64: printf(" (default: %" PRIu64 ")", *(uint64_t *)s->target); break;
    case ARG_DOUBLE: printf(" (default: %g)", *(double *)s->target); break;
    case ARG_STR:
        if (*(const char **)s->target) printf(" (default: %s)", *(const char **)s->target);
        break;
    default: break;
    }
}

void args_print_help(const char *usage, const arg_spec *specs, int n_specs) {
    printf("%s\n\noptions:\n", usage);
    for (int i = 0; i < n_specs; i++) {
        const arg_spec *s = &specs[i];
        char left[64];
        if (s->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", s->short_name, s->long_name, s->meta ? " " : "", s->meta ? s->meta : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", s->long_name, s->meta ? " " : "", s->meta ? s->meta : "");
        printf("  %-30s %s", left, s->help);
        if (!strstr(s->help, "(default")) print_default(s); /* the help may say it in words */
        printf("\n");
    }
    printf("  %-30s %s\n", "-h, --help", "show this help");
}

static int set_value(const arg_spec *s, const char *v) {
    char flag[80];
    snprintf(flag, sizeof flag, "--%s", s->long_name);
    viclip_error err;
    int64_t i;
    switch (s->kind) {
    case ARG_INT:
        if (viclip_parse_i64(v, 0, INT_MAX, &i, flag, &err)) goto bad;
        *(int *)s->target = (int)i;
        return 0;
    case ARG_I64:
        if (viclip_parse_i64(v, 0, ARG_MAX_STEPS, &i, flag, &err)) goto bad;
        *(int64_t *)s->target = i;
        return 0;
    case ARG_U64:
        if (viclip_parse_u64(v, UINT64_MAX, (uint64_t *)s->target, flag, &err)) goto bad;
        return 0;
    case ARG_DOUBLE: {
        char *end;
        errno = 0;
        double x = strtod(v, &end);
        if (*end || errno || end == v) {
            fprintf(stderr, "error: --%s: '%s' is not a valid number\n", s->long_name, v);
            return -1;
        }
        *(double *)s->target = x;
        return 0;
    }
    case ARG_STR: *(const char **)s->target = v; return 0;
    case ARG_STR_LIST:
        if (push((arg_str_list *)s->target, v)) {
            fprintf(stderr, "error: out of memory\n");
            return -1;
        }
        return 0;
    default: return -1;
    }
bad:
    fprintf(stderr, "error: %s\n", err.msg);
    return -1;
}

int args_parse(const char *usage, const arg_spec *specs, int n_specs, int argc, char **argv,
               int first, arg_str_list *positional) {
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            args_print_help(usage, specs, n_specs);
            return 1;
        }
        if (a[0] != '-' || !a[1] || !strcmp(a, "--")) {
            if (!strcmp(a, "--")) {
                for (i++; i < argc; i++)
                    if (!positional || push(positional, argv[i])) goto positional_error;
                break;
            }
            if (!positional || push(positional, a)) goto positional_error;
            continue;
        }
        const arg_spec *s = NULL;
        const char *value = NULL;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            for (int k = 0; k < n_specs && !s; k++)
                if (strlen(specs[k].long_name) == len && !strncmp(specs[k].long_name, name, len)) s = &specs[k];
            if (eq) value = eq + 1;
        } else if (!a[2]) {
            for (int k = 0; k < n_specs && !s; k++)
                if (specs[k].short_name == a[1]) s = &specs[k];
        }
        if (!s) {
            fprintf(stderr, "error: unknown option '%s' (see --help)\n", a);
            return -1;
        }
        if (s->kind == ARG_FLAG) {
            if (value) {
                fprintf(stderr, "error: --%s takes no value\n", s->long_name);
                return -1;
            }
            *(int *)s->target = 1;
            continue;
        }
        if (!value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "error: --%s needs a value\n", s->long_name);
                return -1;
            }
            value = argv[++i];
        }
        if (set_value(s, value)) return -1;
    }
    return 0;
positional_error:
    fprintf(stderr, "error: unexpected argument (see --help)\n");
    return -1;
}
