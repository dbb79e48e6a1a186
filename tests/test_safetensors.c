/* safetensors reader/writer, the float conversions behind checkpoint loading, and atomic file
 * writes: Python-made fixture (tools/gen_safetensors_fixture.py) read with exact values, round
 * trips, and a clean, specific error for every class of damaged file. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic_file.h"
#include "io/dtype.h"
#include "io/safetensors.h"
#include "testutil.h"

/* ---------------- conversions ---------------- */

TEST(f16_decoding_is_exact_for_all_65536_values) {
    for (uint32_t h = 0; h < 65536; h++) {
        int e = (h >> 10) & 31, m = h & 1023;
        double want = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
        if (h & 0x8000) want = -want;
        float got = vc_f16_to_f32((uint16_t)h);
        if (isnan(want)) {
            CHECK(isnan(got) && !!signbit(got) == !!(h & 0x8000), "h=0x%04X", h);
            uint16_t back = vc_f32_to_f16(got); /* stays NaN, same sign */
            CHECK((back & 0x7c00) == 0x7c00 && (back & 0x3ff) && (back & 0x8000) == (h & 0x8000), "NaN 0x%04X -> 0x%04X", h, back);
        } else {
            CHECK((double)got == want && !!signbit(got) == !!(h & 0x8000), "h=0x%04X: %.9g vs %.9g", h, got, want);
            CHECK(vc_f32_to_f16(got) == h, "round trip 0x%04X -> 0x%04X", h, vc_f32_to_f16(got));
        }
    }
}

/* Round-to-nearest-even is pinned down by the midpoints between neighbouring half values:
 * the midpoint goes to the even neighbour, the floats just below/above it to the nearer one.
 * Midpoints need one more significand bit than the format, so they are exact in float32. */
TEST(f16_encoding_rounds_to_nearest_even_at_every_boundary) {
    for (uint32_t h = 0; h < 0x7c00; h++) { /* every finite non-negative half and its successor */
        for (int neg = 0; neg < 2; neg++) {
            uint16_t lo = (uint16_t)(h | (neg ? 0x8000 : 0)), hi = (uint16_t)((h + 1) | (neg ? 0x8000 : 0));
            double a = vc_f16_to_f32(lo);
            double b = (h + 1 == 0x7c00) ? (neg ? -65536.0 : 65536.0) : vc_f16_to_f32(hi); /* Inf's "value" */
            float mid = (float)((a + b) / 2);
            CHECK((double)mid == (a + b) / 2, "midpoint not exact at 0x%04X", h);
            uint16_t even = (h & 1) ? hi : lo;
            CHECK(vc_f32_to_f16(mid) == even, "mid of 0x%04X: got 0x%04X want 0x%04X", lo, vc_f32_to_f16(mid), even);
            float below = nextafterf(mid, 0.0f), above = nextafterf(mid, neg ? -INFINITY : INFINITY);
            CHECK(vc_f32_to_f16(below) == lo, "below mid of 0x%04X -> 0x%04X", lo, vc_f32_to_f16(below));
            CHECK(vc_f32_to_f16(above) == hi, "above mid of 0x%04X -> 0x%04X", lo, vc_f32_to_f16(above));
        }
    }
    CHECK(vc_f32_to_f16(1e10f) == 0x7c00 && vc_f32_to_f16(-INFINITY) == 0xfc00 && vc_f32_to_f16(INFINITY) == 0x7c00, "inf");
    CHECK(vc_f32_to_f16(1e-30f) == 0 && vc_f32_to_f16(-1e-30f) == 0x8000 && vc_f32_to_f16(vc_f32_from_bits(1)) == 0, "underflow");
    /* NaNs stay NaN even when only low payload bits are set (a plain shift would make Inf). */
    const uint32_t nans[] = {0x7fc00000, 0x7f800001, 0xff800001, 0x7fbfffff, 0xffffffff};
    for (size_t i = 0; i < 5; i++) {
        uint16_t h = vc_f32_to_f16(vc_f32_from_bits(nans[i]));
        CHECK((h & 0x7c00) == 0x7c00 && (h & 0x3ff) && (h >> 15) == (nans[i] >> 31), "NaN 0x%08X -> 0x%04X", nans[i], h);
    }
}

TEST(bf16_rounds_to_nearest_even_at_every_boundary) {
    for (uint32_t b = 0; b < 0x7f80; b++) {
        for (int neg = 0; neg < 2; neg++) {
            uint16_t lo = (uint16_t)(b | (neg ? 0x8000 : 0)), hi = (uint16_t)((b + 1) | (neg ? 0x8000 : 0));
            CHECK(vc_f32_bits(vc_bf16_to_f32(lo)) == (uint32_t)lo << 16, "decode 0x%04X", lo);
            CHECK(vc_f32_to_bf16(vc_bf16_to_f32(lo)) == lo, "round trip 0x%04X", lo);
            /* Midpoint bits: the low half of the float is exactly 0x8000. */
            uint32_t mid = ((uint32_t)lo << 16) | 0x8000;
            uint16_t even = (b & 1) ? hi : lo;
            CHECK(vc_f32_to_bf16(vc_f32_from_bits(mid)) == even, "mid of 0x%04X -> 0x%04X", lo, vc_f32_to_bf16(vc_f32_from_bits(mid)));
            CHECK(vc_f32_to_bf16(vc_f32_from_bits(mid - 1)) == lo && vc_f32_to_bf16(vc_f32_from_bits(mid + 1)) == hi, "neighbours of 0x%04X", lo);
        }
    }
    CHECK(vc_f32_to_bf16(INFINITY) == 0x7f80 && vc_f32_to_bf16(-INFINITY) == 0xff80, "inf");
    CHECK(vc_f32_to_bf16(3.4e38f) == 0x7f80, "overflow to inf"); /* above max bf16 + half ulp */
    const uint32_t nans[] = {0x7fc00000, 0x7f800001, 0xff800001, 0x7f80ffff};
    for (size_t i = 0; i < 4; i++) {
        uint16_t h = vc_f32_to_bf16(vc_f32_from_bits(nans[i]));
        CHECK((h & 0x7f80) == 0x7f80 && (h & 0x7f) && (h >> 15) == (nans[i] >> 31), "NaN 0x%08X -> 0x%04X", nans[i], h);
    }
}

TEST(dtype_names_sizes_and_buffer_conversions) {
    static const char *const names[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"};
    static const size_t sizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1};
    for (int i = 0; i < VC_DT_COUNT; i++) {
        vc_dtype d;
        CHECK(!strcmp(vc_dtype_name((vc_dtype)i), names[i]) && vc_dtype_size((vc_dtype)i) == sizes[i], "dtype %d", i);
        CHECK(vc_dtype_from_name(names[i], &d) == 0 && d == (vc_dtype)i, "parse %s", names[i]);
    }
    vc_dtype d;
    CHECK(vc_dtype_from_name("f32", &d) == -1 && vc_dtype_from_name("F8_E4M3", &d) == -1, "unknown names");
    CHECK(vc_dtype_size((vc_dtype)99) == 0 && !strcmp(vc_dtype_name((vc_dtype)99), "?"), "out of range");

    /* Unaligned sources, as inside a mapped file. */
    const float src[4] = {1.0f, -2.5f, 65504.0f, 0.333333343f};
    unsigned char raw[1 + 4 * 8];
    float back[4];
    double backd[4];
    const vc_dtype fl[] = {VC_DT_F32, VC_DT_F16, VC_DT_BF16, VC_DT_F64};
    for (int k = 0; k < 4; k++) {
        CHECK(vc_convert_from_f32(raw + 1, fl[k], src, 4) == 0, "from f32 to %s", names[fl[k]]);
        CHECK(vc_convert_to_f32(back, raw + 1, fl[k], 4) == 0, "to f32");
        CHECK(vc_convert_to_f64(backd, raw + 1, fl[k], 4) == 0, "to f64");
        for (int i = 0; i < 4; i++) {
            float want = fl[k] == VC_DT_F16 ? vc_f16_to_f32(vc_f32_to_f16(src[i]))
                       : fl[k] == VC_DT_BF16 ? vc_bf16_to_f32(vc_f32_to_bf16(src[i]))
                                             : src[i];
            CHECK(back[i] == want && backd[i] == (double)want, "%s[%d]: %.9g vs %.9g", names[fl[k]], i, back[i], want);
        }
        if (fl[k] == VC_DT_BF16) /* 1/3 = 0x3EAAAAAB: the dropped half 0xAAAB is above 0x8000 */
            CHECK(vc_f32_bits(back[3]) == 0x3eab0000, "bf16 of 1/3 rounds up to 0x3EAB: 0x%08X", vc_f32_bits(back[3]));
        if (fl[k] == VC_DT_F16) /* 1/3 -> 0x3555 = 0.333251953125 */
            CHECK(back[3] == 0.333251953125f, "f16 of 1/3: %.12g", back[3]);
    }
    CHECK(vc_convert_to_f32(back, raw, VC_DT_I32, 1) == -1 && vc_convert_from_f32(raw, VC_DT_U8, src, 1) == -1, "non-float");
}

/* ---------------- helpers ---------------- */

typedef struct {
    char dir[64];
    char path[128];
} scratch;

static int scratch_init(scratch *s) {
    snprintf(s->dir, sizeof s->dir, "/tmp/vc_test_st_XXXXXX");
    if (!mkdtemp(s->dir)) return -1;
    snprintf(s->path, sizeof s->path, "%s/m.safetensors", s->dir);
    return 0;
}

/* Number of entries in the scratch dir (to catch leftover temp files). */
static int dir_entries(const scratch *s) {
    DIR *d = opendir(s->dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

static void scratch_done(scratch *s) {
    DIR *d = opendir(s->dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char p[400];
        snprintf(p, sizeof p, "%s/%s", s->dir, e->d_name);
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(p);
    }
    if (d) closedir(d);
    rmdir(s->dir);
}

/* A safetensors file with the given header length field, header text and zeroed data. */
static int write_raw(const char *path, uint64_t len_field, const char *header, size_t data_len) {
    size_t hl = strlen(header);
    unsigned char *buf = calloc(1, 8 + hl + data_len);
    if (!buf) return -1;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(len_field >> (8 * i));
    memcpy(buf + 8, header, hl);
    int rc = vc_test_write_file(path, buf, 8 + hl + data_len);
    free(buf);
    return rc;
}

/* ---------------- reading ---------------- */

TEST(reads_file_written_by_python_safetensors) {
    vc_error err;
    vc_safetensors *st = vc_st_open("tests/fixtures/st_python.safetensors", &err);
    CHECK(st, "%s", err.msg);
    CHECK(vc_st_count(st) == 9, "count %d", vc_st_count(st));
    CHECK(!strcmp(vc_st_path(st), "tests/fixtures/st_python.safetensors"), "path");
    CHECK(vc_st_meta(st, "format") && !strcmp(vc_st_meta(st, "format"), "pt"), "format");
    CHECK(vc_st_meta(st, "note") && !strcmp(vc_st_meta(st, "note"), "h\xc3\xa9llo \"quoted\"\n\xe4\xb8\x96"), "note");
    CHECK(vc_st_meta(st, "absent") == NULL, "absent meta");

    float f[6];
    const float want_f32[6] = {0.5f, -1.25f, 3.0f, 1e-8f, 65504.0f, -0.0f};
    CHECK(vc_st_read_f32(st, "a.f32", f, 2, (const int64_t[]){2, 3}, &err) == 0, "%s", err.msg);
    CHECK(!memcmp(f, want_f32, sizeof f), "a.f32 values");

    const vc_st_tensor *t = vc_st_find(st, "b.f16");
    CHECK(t && t->dtype == VC_DT_F16 && t->ndim == 1 && t->shape[0] == 5 && t->nbytes == 10, "b.f16 entry");
    CHECK(vc_st_read_f32(st, "b.f16", f, 1, (const int64_t[]){5}, &err) == 0, "%s", err.msg);
    CHECK(f[0] == 1.0f && f[1] == -2.5f && f[2] == 65504.0f && f[3] == ldexpf(1, -24) && isinf(f[4]) && f[4] > 0, "b.f16 values");

    CHECK(vc_st_read_f32(st, "c.bf16", f, 1, (const int64_t[]){4}, &err) == 0, "%s", err.msg);
    CHECK(f[0] == 1.0f && f[1] == -3.140625f && f[2] == ldexpf(1, 100) && isinf(f[3]) && f[3] < 0, "c.bf16 values");

    double d[5];
    CHECK(vc_st_read_f64(st, "d.f64", d, 1, (const int64_t[]){3}, &err) == 0, "%s", err.msg);
    CHECK(d[0] == 1.0 / 3.0 && d[1] == -1e300 && d[2] == 2.5, "d.f64 values");
    CHECK(vc_st_read_f64(st, "b.f16", d, 1, (const int64_t[]){5}, &err) == 0 && d[1] == -2.5, "f16 -> f64");
    CHECK(vc_st_read_f32(st, "d.f64", f, 1, (const int64_t[]){3}, &err) == 0 && f[0] == (float)(1.0 / 3.0) && isinf(f[1]),
          "f64 -> f32 narrows (and overflows to -inf)");

    int32_t ids[4];
    CHECK(vc_st_read_i32(st, "e.i64", ids, 2, (const int64_t[]){2, 2}, &err) == 0, "%s", err.msg);
    CHECK(ids[0] == 49406 && ids[1] == 320 && ids[2] == 49407 && ids[3] == 0, "e.i64 values");
    CHECK(vc_st_read_i32(st, "f.i32", ids, 1, (const int64_t[]){3}, &err) == 0, "%s", err.msg);
    CHECK(ids[0] == -7 && ids[1] == 0 && ids[2] == 2147483647, "f.i32 values");
    int32_t u[5];
    CHECK(vc_st_read_i32(st, "g.u8", u, 1, (const int64_t[]){5}, &err) == 0 && u[3] == 128 && u[4] == 255, "u8");

    t = vc_st_find(st, "h.scalar");
    CHECK(t && t->ndim == 0 && t->nbytes == 4, "scalar entry");
    CHECK(vc_st_read_f32(st, "h.scalar", f, 0, NULL, &err) == 0 && f[0] == 42.0f, "%s", err.msg);
    t = vc_st_find(st, "i.empty");
    CHECK(t && t->ndim == 2 && t->shape[0] == 0 && t->shape[1] == 3 && t->nbytes == 0, "empty entry");
    CHECK(vc_st_read_f32(st, "i.empty", f, 2, (const int64_t[]){0, 3}, &err) == 0, "%s", err.msg);

    /* Every tensor is reachable both by index and by name. */
    for (int i = 0; i < vc_st_count(st); i++) CHECK(vc_st_find(st, vc_st_at(st, i)->name) == vc_st_at(st, i), "find %d", i);
    CHECK(vc_st_at(st, -1) == NULL && vc_st_at(st, 9) == NULL && vc_st_find(st, "zzz") == NULL, "absent");
    vc_st_close(st);
}

TEST(read_helpers_report_shape_dtype_and_range_problems) {
    scratch s;
    CHECK(scratch_init(&s) == 0, "mkdtemp");
    vc_error err;
    vc_st_writer *w = vc_st_writer_new();
    const float p[6] = {1, 2, 3, 4, 5, 6};
    const int64_t big[2] = {5, (int64_t)1 << 33};
    CHECK(vc_st_writer_add(w, "vision_encoder.proj", VC_DT_F32, 2, (const int64_t[]){2, 3}, p, &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_add(w, "ids", VC_DT_I64, 1, (const int64_t[]){2}, big, &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_add(w, "mask", VC_DT_BOOL, 1, (const int64_t[]){2}, "\1\0", &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_write(w, s.path, &err) == 0, "%s", err.msg);
    vc_st_writer_free(w);
    vc_safetensors *st = vc_st_open(s.path, &err);
    CHECK(st, "%s", err.msg);
    float f[6];
    char want[300];
    snprintf(want, sizeof want, "%s: tensor 'vision_encoder.proj' has shape [2,3], expected [3,2]", s.path);
    CHECK(vc_st_read_f32(st, "vision_encoder.proj", f, 2, (const int64_t[]){3, 2}, &err) == -1 && !strcmp(err.msg, want),
          "%s", err.msg);
    CHECK(vc_st_read_f32(st, "vision_encoder.proj", f, 1, (const int64_t[]){6}, &err) == -1 &&
              strstr(err.msg, "has shape [2,3], expected [6]"),
          "%s", err.msg);
    snprintf(want, sizeof want, "%s: missing tensor 'text.proj'", s.path);
    CHECK(vc_st_read_f32(st, "text.proj", f, 1, (const int64_t[]){6}, &err) == -1 && !strcmp(err.msg, want), "%s", err.msg);
    CHECK(vc_st_read_f32(st, "ids", f, 1, (const int64_t[]){2}, &err) == -1 && strstr(err.msg, "has dtype I64, expected a float"),
          "%s", err.msg);
    int32_t ids[2];
    CHECK(vc_st_read_i32(st, "ids", ids, 1, (const int64_t[]){2}, &err) == -1 &&
              strstr(err.msg, "element 1 (8589934592) does not fit in int32"),
          "%s", err.msg);
    CHECK(vc_st_read_i32(st, "mask", ids, 1, (const int64_t[]){2}, &err) == -1 && strstr(err.msg, "expected an integer dtype"),
          "%s", err.msg);
    CHECK(vc_st_read_i32(st, "vision_encoder.proj", ids, 2, (const int64_t[]){2, 3}, &err) == -1 &&
              strstr(err.msg, "has dtype F32"),
          "%s", err.msg);
    vc_st_close(st);
    scratch_done(&s);
}

/* ---------------- writing ---------------- */

TEST(writer_round_trips_and_lays_out_header_like_the_reference) {
    scratch s;
    CHECK(scratch_init(&s) == 0, "mkdtemp");
    vc_error err;
    float a[5] = {1.5f, -2, 3, 4, 5};
    uint16_t h[3] = {0x3c00, 0xc000, 0x7bff};
    double dd[2] = {0.1, -7};
    uint8_t b[3] = {9, 8, 7};
    int64_t l[1] = {-123456789012345LL};
    float scalar = 7.25f;
    vc_st_writer *w = vc_st_writer_new();
    CHECK(w, "writer");
    /* Insertion order deliberately mixes widths: data must still be aligned. */
    CHECK(vc_st_writer_add(w, "z.u8", VC_DT_U8, 1, (const int64_t[]){3}, b, &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_add(w, "y.f16", VC_DT_F16, 1, (const int64_t[]){3}, h, &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_add(w, "x.f32", VC_DT_F32, 2, (const int64_t[]){1, 5}, a, &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_add(w, "w.f64", VC_DT_F64, 1, (const int64_t[]){2}, dd, &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_add(w, "v.bf16", VC_DT_BF16, 1, (const int64_t[]){3}, h, &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_add(w, "u.i64", VC_DT_I64, 1, (const int64_t[]){1}, l, &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_add(w, "t.scalar", VC_DT_F32, 0, NULL, &scalar, &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_add(w, "s.empty", VC_DT_F32, 2, (const int64_t[]){4, 0}, NULL, &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_add(w, "r.\xc3\xa9\"q\\", VC_DT_BOOL, 1, (const int64_t[]){1}, b, &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_meta(w, "config", "{\"depth\": 12, \"s\": \"a\\\"b\"}", &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_meta(w, "ctl", "tab\there\x01", &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_write(w, s.path, &err) == 0, "%s", err.msg);
    vc_st_writer_free(w);
    CHECK(dir_entries(&s) == 1, "temp file left behind");

    size_t n;
    unsigned char *raw = vc_test_read_file(s.path, &n);
    CHECK(raw && n > 8, "read back");
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | raw[i];
    CHECK(hl % 8 == 0, "header length %llu not a multiple of 8", (unsigned long long)hl);
    CHECK(raw[8] == '{' && (raw[8 + hl - 1] == ' ' || raw[8 + hl - 1] == '}'), "header framing");
    char *hdr = strndup((char *)raw + 8, hl);
    const char *order[] = {"\"__metadata__\"", "\"z.u8\"", "\"y.f16\"", "\"x.f32\"", "\"w.f64\"", "\"v.bf16\"", "\"u.i64\""};
    const char *prev = hdr;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *at = strstr(hdr, order[i]);
        CHECK(at && at >= prev, "key %s missing or out of insertion order in %s", order[i], hdr);
        prev = at;
    }
    CHECK(strstr(hdr, "\"w.f64\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}"), "f64 first in data: %s", hdr);
    free(hdr);
    free(raw);

    vc_safetensors *st = vc_st_open(s.path, &err);
    CHECK(st, "%s", err.msg);
    CHECK(vc_st_count(st) == 9, "count");
    CHECK(!strcmp(vc_st_meta(st, "config"), "{\"depth\": 12, \"s\": \"a\\\"b\"}"), "config meta");
    CHECK(!strcmp(vc_st_meta(st, "ctl"), "tab\there\x01"), "ctl meta");
    const void *srcs[] = {b, h, a, dd, h, l, &scalar, NULL, b};
    const char *names[] = {"z.u8", "y.f16", "x.f32", "w.f64", "v.bf16", "u.i64", "t.scalar", "s.empty", "r.\xc3\xa9\"q\\"};
    for (int i = 0; i < 9; i++) {
        const vc_st_tensor *t = vc_st_at(st, i);
        CHECK(t && !strcmp(t->name, names[i]), "tensor %d is %s", i, t ? t->name : "?");
        CHECK(!t->nbytes || !memcmp(t->data, srcs[i], t->nbytes), "%s data", names[i]);
        size_t esz = vc_dtype_size(t->dtype);
        CHECK(((uintptr_t)t->data) % esz == 0, "%s is not aligned to %zu bytes", names[i], esz);
    }
    CHECK(vc_st_find(st, "s.empty")->shape[1] == 0 && vc_st_find(st, "t.scalar")->ndim == 0, "shapes");
    vc_st_close(st);

    /* Rewriting over the file replaces it atomically. */
    w = vc_st_writer_new();
    CHECK(vc_st_writer_add(w, "only", VC_DT_F32, 1, (const int64_t[]){2}, a, &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_write(w, s.path, &err) == 0, "%s", err.msg);
    vc_st_writer_free(w);
    st = vc_st_open(s.path, &err);
    CHECK(st && vc_st_count(st) == 1 && vc_st_meta(st, "config") == NULL, "replaced");
    vc_st_close(st);
    CHECK(dir_entries(&s) == 1, "temp file left behind");
    scratch_done(&s);
}

TEST(writer_refuses_bad_input) {
    vc_error err;
    vc_st_writer *w = vc_st_writer_new();
    float x[4] = {0};
    CHECK(vc_st_writer_add(w, "a", VC_DT_F32, 1, (const int64_t[]){4}, x, &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_add(w, "a", VC_DT_F32, 1, (const int64_t[]){4}, x, &err) == -1 && strstr(err.msg, "duplicate tensor name 'a'"),
          "%s", err.msg);
    CHECK(vc_st_writer_add(w, "__metadata__", VC_DT_F32, 1, (const int64_t[]){4}, x, &err) == -1 && strstr(err.msg, "reserved"),
          "%s", err.msg);
    CHECK(vc_st_writer_add(w, "b", VC_DT_F32, 1, (const int64_t[]){-1}, x, &err) == -1 && strstr(err.msg, "negative dimension"),
          "%s", err.msg);
    CHECK(vc_st_writer_add(w, "b", VC_DT_F32, 2, (const int64_t[]){INT64_MAX, 4}, x, &err) == -1 &&
              strstr(err.msg, "too many elements"),
          "%s", err.msg);
    CHECK(vc_st_writer_add(w, "b", VC_DT_F32, 9, (const int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, x, &err) == -1 &&
              strstr(err.msg, "9 dimensions"),
          "%s", err.msg);
    CHECK(vc_st_writer_add(w, "b", (vc_dtype)42, 1, (const int64_t[]){4}, x, &err) == -1 && strstr(err.msg, "invalid dtype"),
          "%s", err.msg);
    CHECK(vc_st_writer_add(w, "b", VC_DT_F32, 1, (const int64_t[]){4}, NULL, &err) == -1 && strstr(err.msg, "no data"), "%s",
          err.msg);
    CHECK(vc_st_writer_add(w, "b\xff", VC_DT_F32, 1, (const int64_t[]){4}, x, &err) == -1 && strstr(err.msg, "UTF-8"), "%s",
          err.msg);
    CHECK(vc_st_writer_meta(w, "k", "v", &err) == 0, "%s", err.msg);
    CHECK(vc_st_writer_meta(w, "k", "w", &err) == -1 && strstr(err.msg, "duplicate metadata key 'k'"), "%s", err.msg);
    CHECK(vc_st_writer_meta(w, "k2", "\xc3", &err) == -1 && strstr(err.msg, "UTF-8"), "%s", err.msg);
    CHECK(vc_st_writer_write(w, "/nonexistent_dir_vc/m.safetensors", &err) == -1 &&
              strstr(err.msg, "/nonexistent_dir_vc/m.safetensors: cannot create temporary file"),
          "%s", err.msg);
    vc_st_writer_free(w);
}

TEST(atomic_file_commits_whole_files_and_aborts_cleanly) {
    scratch s;
    CHECK(scratch_init(&s) == 0, "mkdtemp");
    vc_error err;
    CHECK(vc_test_write_file(s.path, "old contents", 12) == 0, "seed");
    vc_atomic_file *f = vc_atomic_open(s.path, &err);
    CHECK(f, "%s", err.msg);
    CHECK(vc_atomic_write(f, "new ", 4, &err) == 0 && vc_atomic_write(f, "data", 4, &err) == 0, "%s", err.msg);
    CHECK(dir_entries(&s) == 2, "temp file exists while writing");
    size_t n;
    unsigned char *got = vc_test_read_file(s.path, &n);
    CHECK(got && n == 12 && !memcmp(got, "old contents", 12), "old file untouched before commit");
    free(got);
    vc_atomic_abort(f);
    CHECK(dir_entries(&s) == 1, "abort removes the temp file");
    got = vc_test_read_file(s.path, &n);
    CHECK(got && n == 12 && !memcmp(got, "old contents", 12), "old file untouched after abort");
    free(got);

    f = vc_atomic_open(s.path, &err);
    CHECK(f && vc_atomic_write(f, "new data", 8, &err) == 0 && vc_atomic_commit(f, &err) == 0, "%s", err.msg);
    got = vc_test_read_file(s.path, &n);
    CHECK(got && n == 8 && !memcmp(got, "new data", 8), "committed");
    free(got);
    CHECK(dir_entries(&s) == 1, "no temp file after commit");

    /* A relative path (directory ".") works too. */
    char cwd[512];
    CHECK(getcwd(cwd, sizeof cwd) && chdir(s.dir) == 0, "chdir");
    f = vc_atomic_open("rel.bin", &err);
    int ok = f && vc_atomic_write(f, "x", 1, &err) == 0 && vc_atomic_commit(f, &err) == 0;
    CHECK(chdir(cwd) == 0, "chdir back");
    CHECK(ok, "%s", err.msg);
    CHECK(dir_entries(&s) == 2, "rel.bin written");

    /* Renaming over a directory fails: the temp file must be cleaned up, the error clear. */
    char sub[200];
    snprintf(sub, sizeof sub, "%s/adir", s.dir);
    CHECK(mkdir(sub, 0700) == 0, "mkdir");
    f = vc_atomic_open(sub, &err);
    CHECK(f && vc_atomic_write(f, "x", 1, &err) == 0, "%s", err.msg);
    CHECK(vc_atomic_commit(f, &err) == -1 && strstr(err.msg, "cannot rename"), "%s", err.msg);
    CHECK(dir_entries(&s) == 3, "temp file removed after a failed commit");
    rmdir(sub);
    CHECK(vc_atomic_open("", &err) == NULL && strstr(err.msg, "empty path"), "%s", err.msg);
    scratch_done(&s);
}

/* ---------------- damaged files ---------------- */

TEST(every_truncation_fails_cleanly) {
    scratch s;
    CHECK(scratch_init(&s) == 0, "mkdtemp");
    size_t n;
    unsigned char *full = vc_test_read_file("tests/fixtures/st_python.safetensors", &n);
    CHECK(full, "fixture");
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | full[i];
    char trunc[128];
    snprintf(trunc, sizeof trunc, "%s", s.path);
    for (size_t len = 0; len < n; len++) {
        CHECK(vc_test_write_file(trunc, full, len) == 0, "write");
        vc_error err = {{0}};
        vc_safetensors *st = vc_st_open(trunc, &err);
        CHECK(!st, "prefix of %zu bytes opened", len);
        const char *want = len < 8 ? "too short for the 8-byte header length"
                         : len < 8 + hl ? "exceeds the file size"
                                        : "out of range (data section is";
        CHECK(strstr(err.msg, want) && strstr(err.msg, trunc), "prefix %zu: '%s' lacks '%s'", len, err.msg, want);
    }
    free(full);
    scratch_done(&s);
}

TEST(damaged_headers_give_specific_errors) {
    scratch s;
    CHECK(scratch_init(&s) == 0, "mkdtemp");
    static const struct {
        const char *header;
        size_t data;
        const char *want;
    } CASES[] = {
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, NULL}, /* valid baseline */
        {"  {\"w\":{\"data_offsets\":[0,8],\"shape\":[2],\"dtype\":\"F32\"}}   ", 8, NULL},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, NULL},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[2,2]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, NULL},
        {"{}", 0, NULL},
        {"{\"__metadata__\":{\"k\":\"v\"}}", 0, NULL},
        {"", 0, "header: JSON error at line 1, column 1: expected a JSON value, found end of input"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "header: JSON error at line 1"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],}}", 8, "expected a string key after ','"},
        {"[1,2]", 0, "header must be a JSON object, got array"},
        {"{\"w\":[1]}", 0, "tensor 'w': entry must be an object, got array"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,1000]}}", 8, "data_offsets [0,1000] out of range (data section is 8 bytes)"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8, "data_offsets [8,4] out of range"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "tensors 'a' and 'b' overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}", 8, "overlap"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "tensor 'w': data_offsets [0,8] span 8 bytes but F32 [3] needs 12"},
        {"{\"w\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,4]}}", 8, "span 4 bytes but F16 [2,2] needs 8"},
        {"{\"w\":{\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "tensor 'w': unsupported dtype 'U16'"},
        {"{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 4, "unsupported dtype 'F8_E4M3'"},
        {"{\"w\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unsupported dtype 'f32'"},
        {"{\"w\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "'dtype' must be a string"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "duplicate key 'w'"},
        {"{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "tensor 'w': missing field 'shape'"},
        {"{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "missing field 'dtype'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "missing field 'data_offsets'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", 8, "unexpected field 'extra'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "'shape' must be an array of non-negative integers"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, "'shape' must be an array"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8, "'shape' must be an array"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8, "9 dimensions (at most 8"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],\"data_offsets\":[0,8]}}", 8, "is too large"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "'data_offsets' must be [begin, end]"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", 8, "'data_offsets' must be [begin, end]"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, "'data_offsets' must be [begin, end]"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999]}}", 8, "'data_offsets' must be [begin, end]"},
        {"{\"__metadata__\":{\"k\":1}}", 0, "metadata 'k' must be a string, got number"},
        {"{\"__metadata__\":[\"k\"]}", 0, "'__metadata__' must be an object of strings, got array"},
        {"{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", 0, "metadata 'k' contains a NUL character"},
        {"{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "contains a NUL character"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}\xff", 8, "byte 0xFF"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        CHECK(write_raw(s.path, strlen(CASES[i].header), CASES[i].header, CASES[i].data) == 0, "write");
        vc_error err = {{0}};
        vc_safetensors *st = vc_st_open(s.path, &err);
        if (!CASES[i].want) {
            CHECK(st, "case %zu should open: %s", i, err.msg);
            vc_st_close(st);
        } else {
            CHECK(!st, "case %zu opened", i);
            CHECK(strstr(err.msg, CASES[i].want) && strstr(err.msg, s.path) == err.msg, "case %zu: '%s' lacks '%s'", i,
                  err.msg, CASES[i].want);
        }
    }
    scratch_done(&s);
}

TEST(header_length_field_is_checked_against_file_and_limit) {
    scratch s;
    CHECK(scratch_init(&s) == 0, "mkdtemp");
    const char *hdr = "{}      ";
    const uint64_t lens[] = {UINT64_MAX, (uint64_t)1 << 63, 9, 1000};
    for (size_t i = 0; i < 4; i++) {
        CHECK(write_raw(s.path, lens[i], hdr, 0) == 0, "write");
        vc_error err;
        CHECK(!vc_st_open(s.path, &err) && strstr(err.msg, "exceeds the file size (16 bytes)"), "len %llu: %s",
              (unsigned long long)lens[i], err.msg);
    }
    /* A header length within a (sparse) file but beyond the sanity limit. */
    CHECK(write_raw(s.path, VC_ST_MAX_HEADER + 8, hdr, 0) == 0, "write");
    CHECK(truncate(s.path, (off_t)VC_ST_MAX_HEADER + 64) == 0, "truncate");
    vc_error err;
    CHECK(!vc_st_open(s.path, &err) && strstr(err.msg, "is larger than the 100000000-byte limit"), "%s", err.msg);
    CHECK(!vc_st_open(s.dir, &err) && strstr(err.msg, "not a regular file"), "%s", err.msg);
    CHECK(!vc_st_open("/nonexistent_dir_vc/m.safetensors", &err) && strstr(err.msg, "cannot open"), "%s", err.msg);
    scratch_done(&s);
}

/* Deterministic random corruption of a valid file: open must succeed or fail cleanly, and
 * whatever opens must have every tensor inside the file. */
TEST(random_corruption_never_crashes) {
    scratch s;
    CHECK(scratch_init(&s) == 0, "mkdtemp");
    size_t n;
    unsigned char *full = vc_test_read_file("tests/fixtures/st_python.safetensors", &n);
    CHECK(full, "fixture");
    unsigned char *buf = malloc(n);
    uint64_t r = 88172645463325252ull;
    int opened = 0, failed = 0;
    static const char ALPHABET[] = "{}[]\",:0123456789-eE.FIUBL_ \\u\xff";
    for (int iter = 0; iter < 1000; iter++) {
        memcpy(buf, full, n);
        for (int e = 0; e < 1 + iter % 3; e++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            size_t pos = iter % 5 == 0 ? (r >> 8) % 8 : 8 + (r >> 8) % (n - 8);
            buf[pos] = (iter % 2) ? (unsigned char)ALPHABET[(r >> 40) % (sizeof ALPHABET - 1)] : (unsigned char)(r >> 48);
        }
        CHECK(vc_test_write_file(s.path, buf, n) == 0, "write");
        vc_error err = {{0}};
        vc_safetensors *st = vc_st_open(s.path, &err);
        if (!st) {
            failed++;
            CHECK(err.msg[0], "iteration %d: empty error", iter);
            continue;
        }
        opened++;
        for (int i = 0; i < vc_st_count(st); i++) {
            const vc_st_tensor *t = vc_st_at(st, i);
            volatile unsigned char sum = 0; /* touch every byte: ASan would flag anything outside */
            for (size_t k = 0; k < t->nbytes; k++) sum += ((const unsigned char *)t->data)[k];
            (void)sum;
        }
        vc_st_close(st);
    }
    CHECK(opened > 10 && failed > 100, "opened %d failed %d", opened, failed);
    free(buf);
    free(full);
    scratch_done(&s);
}

TEST_MAIN("safetensors", T(f16_decoding_is_exact_for_all_65536_values), T(f16_encoding_rounds_to_nearest_even_at_every_boundary),
          T(bf16_rounds_to_nearest_even_at_every_boundary), T(dtype_names_sizes_and_buffer_conversions),
          T(reads_file_written_by_python_safetensors), T(read_helpers_report_shape_dtype_and_range_problems),
          T(writer_round_trips_and_lays_out_header_like_the_reference), T(writer_refuses_bad_input),
          T(atomic_file_commits_whole_files_and_aborts_cleanly), T(every_truncation_fails_cleanly),
          T(damaged_headers_give_specific_errors), T(header_length_field_is_checked_against_file_and_limit),
          T(random_corruption_never_crashes))
