/* .npy reading and writing against files made by NumPy (tools/gen_npy_fixture.py): exact values
 * read, byte-identical files written, and a clean error for every kind of damage. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/npy.h"
#include "testutil.h"

#define FIX "tests/fixtures/"

typedef struct {
    char dir[64];
    char path[128];
} scratch;

static int scratch_init(scratch *s) {
    snprintf(s->dir, sizeof s->dir, "/tmp/vc_test_npy_XXXXXX");
    if (!mkdtemp(s->dir)) return -1;
    snprintf(s->path, sizeof s->path, "%s/a.npy", s->dir);
    return 0;
}

static void scratch_done(scratch *s) {
    unlink(s->path);
    rmdir(s->dir);
}

TEST(reads_numpy_files_exactly) {
    vc_error err;
    vc_npy a;
    CHECK(vc_npy_read(FIX "npy_f32.npy", &a, &err) == 0, "%s", err.msg);
    CHECK(a.dtype == VC_DT_F32 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.nbytes == 24, "f32 header");
    const float f32[] = {0.5f, -1.25f, 3.0f, 1e-8f, 65504.0f, -0.0f};
    CHECK(!memcmp(a.data, f32, sizeof f32), "f32 values");
    vc_npy_free(&a);

    CHECK(vc_npy_read(FIX "npy_u8.npy", &a, &err) == 0, "%s", err.msg);
    CHECK(a.dtype == VC_DT_U8 && a.ndim == 4 && a.shape[0] == 2 && a.shape[1] == 2 && a.shape[2] == 2 && a.shape[3] == 3,
          "u8 header");
    for (int i = 0; i < 24; i++) CHECK(((unsigned char *)a.data)[i] == i * 11 % 256, "u8[%d]", i);
    vc_npy_free(&a);

    CHECK(vc_npy_read(FIX "npy_i64.npy", &a, &err) == 0, "%s", err.msg);
    const int64_t i64[] = {-1, 0, (int64_t)1 << 40};
    CHECK(a.dtype == VC_DT_I64 && a.ndim == 1 && a.shape[0] == 3 && !memcmp(a.data, i64, sizeof i64), "i64");
    vc_npy_free(&a);

    CHECK(vc_npy_read(FIX "npy_i32_empty.npy", &a, &err) == 0, "%s", err.msg);
    CHECK(a.dtype == VC_DT_I32 && a.ndim == 2 && a.shape[0] == 0 && a.shape[1] == 4 && a.nbytes == 0 && a.data, "empty");
    vc_npy_free(&a);

    CHECK(vc_npy_read(FIX "npy_f64_scalar.npy", &a, &err) == 0, "%s", err.msg);
    CHECK(a.dtype == VC_DT_F64 && a.ndim == 0 && a.nbytes == 8 && *(double *)a.data == 3.25, "scalar");
    vc_npy_free(&a);

    CHECK(vc_npy_read(FIX "npy_f16.npy", &a, &err) == 0, "%s", err.msg);
    const uint16_t f16[] = {0x3c00, 0xc100, 0x7bff}; /* 1, -2.5, 65504 */
    CHECK(a.dtype == VC_DT_F16 && a.shape[0] == 3 && !memcmp(a.data, f16, sizeof f16), "f16");
    vc_npy_free(&a);

    CHECK(vc_npy_read(FIX "npy_bool.npy", &a, &err) == 0, "%s", err.msg);
    CHECK(a.dtype == VC_DT_BOOL && a.shape[0] == 3 && !memcmp(a.data, "\1\0\1", 3), "bool");
    vc_npy_free(&a);

    CHECK(vc_npy_read(FIX "npy_v2.npy", &a, &err) == 0, "%s", err.msg);
    const float v2[] = {7.5f, -8.0f};
    CHECK(a.dtype == VC_DT_F32 && a.shape[0] == 2 && !memcmp(a.data, v2, sizeof v2), "v2.0");
    vc_npy_free(&a);

    CHECK(vc_npy_read(FIX "npy_v3.npy", &a, &err) == 0, "%s", err.msg);
    const int32_t v3[] = {1, 2};
    CHECK(a.dtype == VC_DT_I32 && a.shape[0] == 2 && !memcmp(a.data, v3, sizeof v3), "v3.0");
    vc_npy_free(&a);
}

TEST(refuses_fortran_order_and_big_endian) {
    vc_error err;
    vc_npy a;
    CHECK(vc_npy_read(FIX "npy_fortran.npy", &a, &err) == -1 && strstr(err.msg, "Fortran-order") &&
              strstr(err.msg, "npy_fortran.npy"),
          "%s", err.msg);
    CHECK(a.data == NULL, "zeroed on failure");
    vc_npy_free(&a);
    CHECK(vc_npy_read(FIX "npy_bigendian.npy", &a, &err) == -1 && strstr(err.msg, "big-endian data ('>f4')"), "%s", err.msg);
    CHECK(vc_npy_read(FIX "does_not_exist.npy", &a, &err) == -1 && strstr(err.msg, "cannot open"), "%s", err.msg);
}

/* The writer must produce exactly what np.save produces for the same array. */
TEST(written_files_are_byte_identical_to_numpy) {
    scratch s;
    CHECK(scratch_init(&s) == 0, "mkdtemp");
    static const struct {
        const char *fixture;
    } CASES[] = {{"npy_f32.npy"}, {"npy_u8.npy"}, {"npy_i64.npy"}, {"npy_i32_empty.npy"}, {"npy_f64_scalar.npy"},
                 {"npy_f16.npy"}, {"npy_bool.npy"}};
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char fix[128];
        snprintf(fix, sizeof fix, FIX "%s", CASES[i].fixture);
        vc_error err;
        vc_npy a;
        CHECK(vc_npy_read(fix, &a, &err) == 0, "%s", err.msg);
        CHECK(vc_npy_write(s.path, a.dtype, a.ndim, a.shape, a.data, &err) == 0, "%s", err.msg);
        vc_npy_free(&a);
        size_t n1, n2;
        unsigned char *want = vc_test_read_file(fix, &n1), *got = vc_test_read_file(s.path, &n2);
        int same = want && got && n1 == n2 && !memcmp(want, got, n1);
        free(want);
        free(got);
        CHECK(same, "%s: written file differs from NumPy's (%zu vs %zu bytes)", CASES[i].fixture, n2, n1);
    }
    scratch_done(&s);
}

TEST(round_trips_every_dtype_and_refuses_bf16) {
    scratch s;
    CHECK(scratch_init(&s) == 0, "mkdtemp");
    vc_error err;
    const vc_dtype dts[] = {VC_DT_F32, VC_DT_F64, VC_DT_F16, VC_DT_I64, VC_DT_I32, VC_DT_I16, VC_DT_I8, VC_DT_U8, VC_DT_BOOL};
    unsigned char data[3 * 5 * 8];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 37 + 1);
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
        const int64_t shape[] = {3, 1, 5};
        CHECK(vc_npy_write(s.path, dts[k], 3, shape, data, &err) == 0, "%s", err.msg);
        vc_npy a;
        CHECK(vc_npy_read(s.path, &a, &err) == 0, "%s", err.msg);
        size_t nb = 15 * vc_dtype_size(dts[k]);
        CHECK(a.dtype == dts[k] && a.ndim == 3 && a.shape[0] == 3 && a.shape[1] == 1 && a.shape[2] == 5 && a.nbytes == nb &&
                  !memcmp(a.data, data, nb),
              "dtype %s", vc_dtype_name(dts[k]));
        vc_npy_free(&a);
    }
    const int64_t shape8[8] = {1, 2, 1, 2, 1, 2, 1, 2};
    CHECK(vc_npy_write(s.path, VC_DT_U8, 8, shape8, data, &err) == 0, "%s", err.msg);
    vc_npy a;
    CHECK(vc_npy_read(s.path, &a, &err) == 0 && a.ndim == 8 && a.nbytes == 16, "8 dims: %s", err.msg);
    vc_npy_free(&a);
    const int64_t one = 4;
    CHECK(vc_npy_write(s.path, VC_DT_BF16, 1, &one, data, &err) == -1 && strstr(err.msg, "BF16 has no .npy equivalent"), "%s",
          err.msg);
    const int64_t neg = -1;
    CHECK(vc_npy_write(s.path, VC_DT_F32, 1, &neg, data, &err) == -1 && strstr(err.msg, "invalid shape"), "%s", err.msg);
    CHECK(vc_npy_write(s.path, VC_DT_F32, 9, shape8, data, &err) == -1 && strstr(err.msg, "9 dimensions"), "%s", err.msg);
    CHECK(vc_npy_write("/nonexistent_dir_vc/x.npy", VC_DT_F32, 1, &one, data, &err) == -1 &&
              strstr(err.msg, "cannot create temporary file"),
          "%s", err.msg);
    scratch_done(&s);
}

TEST(every_truncation_fails_with_a_clear_error) {
    scratch s;
    CHECK(scratch_init(&s) == 0, "mkdtemp");
    size_t n;
    unsigned char *full = vc_test_read_file(FIX "npy_f32.npy", &n);
    CHECK(full && n == 128 + 24, "fixture size %zu", n);
    for (size_t len = 0; len < n; len++) {
        CHECK(vc_test_write_file(s.path, full, len) == 0, "write");
        vc_npy a;
        vc_error err = {{0}};
        CHECK(vc_npy_read(s.path, &a, &err) == -1, "prefix %zu read", len);
        const char *want = len < 10 ? "too short" : len < 128 ? "runs past the end of the file" : "truncated: the data needs 24 bytes";
        CHECK(strstr(err.msg, want) && strstr(err.msg, s.path), "prefix %zu: '%s' lacks '%s'", len, err.msg, want);
    }
    /* Trailing garbage is an error too. */
    unsigned char *longer = malloc(n + 3);
    memcpy(longer, full, n);
    memcpy(longer + n, "xyz", 3);
    CHECK(vc_test_write_file(s.path, longer, n + 3) == 0, "write");
    vc_npy a;
    vc_error err;
    CHECK(vc_npy_read(s.path, &a, &err) == -1 && strstr(err.msg, "3 unexpected bytes after the 24 bytes"), "%s", err.msg);
    free(longer);
    free(full);
    scratch_done(&s);
}

/* Builds a v1.0 file around the given header dict text and data length. */
static int write_npy_raw(const char *path, const char *magic, int major, const char *dict, size_t data_len) {
    unsigned char buf[512] = {0};
    size_t hl = strlen(dict);
    memcpy(buf, magic, 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    memcpy(buf + 10, dict, hl);
    return vc_test_write_file(path, buf, 10 + hl + data_len);
}

TEST(corrupt_headers_are_refused) {
    scratch s;
    CHECK(scratch_init(&s) == 0, "mkdtemp");
    static const struct {
        const char *dict;
        size_t data;
        const char *want;
    } CASES[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8, NULL}, /* the valid baseline */
        {"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}", 8, NULL},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (1, 3, 1), }", 12, NULL}, /* layout identical */
        {"{'descr': '<f4', 'shape': (2,), }", 8, "missing key 'fortran_order'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8, "unexpected key 'x'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8, "duplicate key 'descr'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", 8, "a 1-element shape is written '(N,)'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", 8, "a dimension or ')'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,,)}", 8, "a dimension or ')'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 8, "fits in 64 bits"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}", 4, "more than 8 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}", 8, "overflows"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", 8, "True or False"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (2,)}", 16, "unsupported dtype '<c8'"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (2,)}", 16, "unsupported dtype '|O'"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", 8, "a quoted dtype descr"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk", 8, "only padding after '}'"},
        {"{'descr': '<f4\\n', 'fortran_order': False, 'shape': (2,)}", 8, "a short plain string"},
        {"['descr']", 8, "expected '{'"},
        {"", 8, "expected '{'"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        CHECK(write_npy_raw(s.path, "\x93NUMPY", 1, CASES[i].dict, CASES[i].data) == 0, "write");
        vc_npy a;
        vc_error err = {{0}};
        int rc = vc_npy_read(s.path, &a, &err);
        if (!CASES[i].want) {
            CHECK(rc == 0, "case %zu should read: %s", i, err.msg);
            vc_npy_free(&a);
        } else {
            CHECK(rc == -1 && strstr(err.msg, CASES[i].want), "case %zu: '%s' lacks '%s'", i, err.msg, CASES[i].want);
        }
    }
    vc_npy a;
    vc_error err;
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}";
    CHECK(write_npy_raw(s.path, "\x93NUMPX", 1, ok, 8) == 0, "write");
    CHECK(vc_npy_read(s.path, &a, &err) == -1 && strstr(err.msg, "not a .npy file"), "%s", err.msg);
    CHECK(write_npy_raw(s.path, "\x93NUMPY", 4, ok, 8) == 0, "write");
    CHECK(vc_npy_read(s.path, &a, &err) == -1 && strstr(err.msg, "unsupported .npy format version 4.0"), "%s", err.msg);
    CHECK(vc_npy_read("tests", &a, &err) == -1 && strstr(err.msg, "not a regular file"), "%s", err.msg);
    scratch_done(&s);
}

TEST_MAIN("npy", T(reads_numpy_files_exactly), T(refuses_fortran_order_and_big_endian),
          T(written_files_are_byte_identical_to_numpy), T(round_trips_every_dtype_and_refuses_bf16),
          T(every_truncation_fails_with_a_clear_error), T(corrupt_headers_are_refused))
