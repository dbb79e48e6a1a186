/* A small table-driven option parser: each command lists its options once, and the same
 * table drives parsing and the help text (short + long flag, meaning, default). */
#ifndef VC_CLI_ARGS_H
#define VC_CLI_ARGS_H

#include <stdint.h>

/* Integer values are range-checked (vc_parse_i64): every integer flag is a count or a size,
 * so ARG_INT takes 0..INT_MAX; ARG_I64 is a number of training steps, 0..ARG_MAX_STEPS (far
 * beyond any real run, so a larger value is a typo, not a plan); ARG_U64 (seeds) any 64-bit
 * value. */
#define ARG_MAX_STEPS 1000000000LL
typedef enum { ARG_FLAG, ARG_INT, ARG_I64, ARG_U64, ARG_DOUBLE, ARG_STR, ARG_STR_LIST } arg_kind;

typedef struct arg_str_list {
    const char **items;
    int n, cap;
} arg_str_list;

typedef struct arg_spec {
    char short_name;       /* 0 for none */
    const char *long_name; /* without the leading dashes */
    arg_kind kind;
    void *target;          /* int* for flags */
    const char *meta;      /* value placeholder in help, e.g. "N" */
    const char *help;
} arg_spec;

/* Parses argv[first..argc). Options may come in any order; `--name=value` and `--name value`
 * both work. Positionals are collected into *positional (if non-NULL, else an error).
 * Returns 0, 1 when help was requested (after printing it), or -1 after printing an error. */
int args_parse(const char *usage, const arg_spec *specs, int n_specs, int argc, char **argv,
               int first, arg_str_list *positional);
void args_print_help(const char *usage, const arg_spec *specs, int n_specs);
void arg_str_list_free(arg_str_list *l);

#endif
