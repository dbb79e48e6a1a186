/* JSON parser and JSON Lines reader: exact values for every construct of RFC 8259, a clean error
 * (with position and the expected substring) for every class of malformed input, no crash on
 * any prefix or random mutation of a valid document. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/json.h"
#include "io/strbuf.h"
#include "testutil.h"

static vc_json *parse_str(const char *s, vc_error *err) { return vc_json_parse(s, strlen(s), err); }

TEST(parses_nested_document_with_exact_values) {
    const char *doc = "{\n \"name\": \"vit\", \"depth\": 12, \"ratio\": -2.5e-3, \"ok\": true, \"no\": false,\n"
                      " \"none\": null, \"dims\": [768, 512, []], \"sub\": {\"a\": {}, \"b\": [ {\"c\": 0} ]}\n}";
    vc_error err;
    vc_json *j = parse_str(doc, &err);
    CHECK(j, "%s", err.msg);
    CHECK(vc_json_type(j) == VC_JSON_OBJECT && vc_json_len(j) == 8, "len %zu", vc_json_len(j));
    const char *keys[] = {"name", "depth", "ratio", "ok", "no", "none", "dims", "sub"};
    for (size_t i = 0; i < 8; i++) CHECK(!strcmp(vc_json_key_at(j, i), keys[i]), "key %zu is %s", i, vc_json_key_at(j, i));
    CHECK(!strcmp(vc_json_string(vc_json_get(j, "name")), "vit"), "name");
    CHECK(vc_json_number(vc_json_get(j, "depth")) == 12, "depth");
    CHECK(vc_json_number(vc_json_get(j, "ratio")) == -2.5e-3, "ratio %.17g", vc_json_number(vc_json_get(j, "ratio")));
    CHECK(vc_json_type(vc_json_get(j, "ok")) == VC_JSON_BOOL && vc_json_bool(vc_json_get(j, "ok")) == 1, "ok");
    CHECK(vc_json_type(vc_json_get(j, "no")) == VC_JSON_BOOL && vc_json_bool(vc_json_get(j, "no")) == 0, "no");
    CHECK(vc_json_get(j, "none") && vc_json_type(vc_json_get(j, "none")) == VC_JSON_NULL, "null");
    const vc_json *dims = vc_json_get(j, "dims");
    CHECK(vc_json_type(dims) == VC_JSON_ARRAY && vc_json_len(dims) == 3, "dims");
    CHECK(vc_json_number(vc_json_at(dims, 1)) == 512, "dims[1]");
    CHECK(vc_json_type(vc_json_at(dims, 2)) == VC_JSON_ARRAY && vc_json_len(vc_json_at(dims, 2)) == 0, "dims[2]");
    CHECK(vc_json_at(dims, 3) == NULL, "out of range index");
    const vc_json *c = vc_json_get(vc_json_at(vc_json_get(vc_json_get(j, "sub"), "b"), 0), "c");
    CHECK(c && vc_json_number(c) == 0, "sub.b[0].c");
    CHECK(vc_json_len(vc_json_get(vc_json_get(j, "sub"), "a")) == 0, "empty object");
    CHECK(vc_json_value_at(j, 1) == vc_json_get(j, "depth"), "value_at");
    /* Neutral answers for absent values and wrong types. */
    CHECK(vc_json_get(j, "missing") == NULL && vc_json_get(dims, "x") == NULL, "missing");
    CHECK(vc_json_string(dims) == NULL && vc_json_number(NULL) == 0 && vc_json_type(NULL) == VC_JSON_NULL, "neutral");
    vc_json_free(j);
}

TEST(string_escapes_and_surrogates_decode_to_utf8) {
    vc_error err;
    vc_json *j = parse_str("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9\\u4E16 \\ud83d\\ude00 z\\u0000y h\xc3\xa9\"", &err);
    CHECK(j, "%s", err.msg);
    const char want[] = "q\" b\\ s/ \b\f\n\r\t \xc3\xa9\xe4\xb8\x96 \xf0\x9f\x98\x80 z\0y h\xc3\xa9";
    CHECK(vc_json_string_len(j) == sizeof want - 1, "len %zu vs %zu", vc_json_string_len(j), sizeof want - 1);
    CHECK(!memcmp(vc_json_string(j), want, sizeof want), "bytes differ");
    CHECK(vc_json_len(j) == sizeof want - 1, "vc_json_len of a string");
    vc_json_free(j);
    /* Keys are decoded too, and lookups use the decoded form. */
    j = parse_str("{\"\\u0061b\": 1}", &err);
    CHECK(j && vc_json_get(j, "ab"), "escaped key");
    vc_json_free(j);
}

TEST(numbers_parse_exactly) {
    static const struct {
        const char *text;
        double value;
    } CASES[] = {{"0", 0},         {"-0", -0.0},      {"1.5e3", 1500},        {"-2E-2", -0.02},
                 {"1e+2", 100},    {"0.1", 0.1},      {"123456789", 123456789}, {"1.7976931348623157e308", 1.7976931348623157e308},
                 {"4.9e-324", 4.9e-324}, {"1e-400", 0}};
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        vc_error err;
        vc_json *j = parse_str(CASES[i].text, &err);
        CHECK(j, "%s: %s", CASES[i].text, err.msg);
        CHECK(vc_json_type(j) == VC_JSON_NUMBER && vc_json_number(j) == CASES[i].value, "%s -> %.17g", CASES[i].text,
              vc_json_number(j));
        vc_json_free(j);
    }
    vc_error err;
    vc_json *j = parse_str("[9223372036854775807, -9223372036854775808, 9223372036854775808, 2.0, 1e3, 2.5, "
                           "9007199254740993, 1e20, 12345678901234567]",
                           &err);
    CHECK(j, "%s", err.msg);
    int64_t v;
    CHECK(vc_json_as_int64(vc_json_at(j, 0), &v) == 0 && v == INT64_MAX, "max");
    CHECK(vc_json_as_int64(vc_json_at(j, 1), &v) == 0 && v == INT64_MIN, "min");
    CHECK(vc_json_as_int64(vc_json_at(j, 2), &v) == -1, "2^63 must not fit");
    CHECK(vc_json_as_int64(vc_json_at(j, 3), &v) == 0 && v == 2, "2.0");
    CHECK(vc_json_as_int64(vc_json_at(j, 4), &v) == 0 && v == 1000, "1e3");
    CHECK(vc_json_as_int64(vc_json_at(j, 5), &v) == -1, "2.5 is not integral");
    CHECK(vc_json_as_int64(vc_json_at(j, 6), &v) == 0 && v == 9007199254740993LL, "exact beyond 2^53: %lld", (long long)v);
    CHECK(vc_json_as_int64(vc_json_at(j, 7), &v) == -1, "1e20 is out of int64 range");
    CHECK(vc_json_as_int64(vc_json_at(j, 8), &v) == 0 && v == 12345678901234567LL, "17 digits");
    CHECK(vc_json_number(vc_json_at(j, 8)) == 12345678901234567.0, "17 digits as double");
    vc_json_free(j);
}

TEST(typed_getters_check_type_and_range) {
    vc_error err;
    vc_json *j = parse_str("{\"w\": 768, \"f\": 2.0, \"h\": 0.5, \"s\": \"text\", \"big\": 1e300, \"b\": true, "
                           "\"z\": \"a\\u0000b\", \"neg\": -3}",
                           &err);
    CHECK(j, "%s", err.msg);
    long l = 0;
    double d = 0;
    int b = 0;
    CHECK(vc_json_get_int(j, "w", &l, &err) == 0 && l == 768, "w");
    CHECK(vc_json_get_int(j, "f", &l, &err) == 0 && l == 2, "2.0 is integral");
    CHECK(vc_json_get_int(j, "neg", &l, &err) == 0 && l == -3, "neg");
    CHECK(vc_json_get_int(j, "h", &l, &err) == -1 && strstr(err.msg, "field 'h' must be an integer") && strstr(err.msg, "0.5"),
          "%s", err.msg);
    CHECK(vc_json_get_int(j, "big", &l, &err) == -1 && strstr(err.msg, "1e300"), "%s", err.msg);
    CHECK(vc_json_get_int(j, "s", &l, &err) == -1 && strstr(err.msg, "field 's' must be an integer, got string"), "%s", err.msg);
    CHECK(vc_json_get_int(j, "nope", &l, &err) == -1 && strstr(err.msg, "missing field 'nope'"), "%s", err.msg);
    CHECK(vc_json_get_double(j, "h", &d, &err) == 0 && d == 0.5, "h");
    CHECK(vc_json_get_double(j, "s", &d, &err) == -1 && strstr(err.msg, "must be a number"), "%s", err.msg);
    CHECK(vc_json_get_bool(j, "b", &b, &err) == 0 && b == 1, "b");
    CHECK(vc_json_get_bool(j, "w", &b, &err) == -1 && strstr(err.msg, "true or false"), "%s", err.msg);
    const char *s = vc_json_get_str(j, "s", &err);
    CHECK(s && !strcmp(s, "text"), "s");
    CHECK(vc_json_get_str(j, "w", &err) == NULL && strstr(err.msg, "must be a string, got number"), "%s", err.msg);
    CHECK(vc_json_get_str(j, "z", &err) == NULL && strstr(err.msg, "NUL"), "%s", err.msg);
    CHECK(vc_json_string_len(vc_json_get(j, "z")) == 3, "embedded NUL kept");
    CHECK(vc_json_get_int(vc_json_get(j, "w"), "x", &l, &err) == -1 && strstr(err.msg, "expected a JSON object"), "%s",
          err.msg);
    vc_json_free(j);
}

TEST(malformed_documents_give_positioned_errors) {
    static const struct {
        const char *text;
        const char *want;
    } CASES[] = {
        {"", "line 1, column 1: expected a JSON value, found end of input"},
        {"   \n  ", "line 2, column 3: expected a JSON value"},
        {"[1,]", "column 4: expected a JSON value"},
        {"{\"a\":1,}", "expected a string key after ','"},
        {"{1:2}", "expected a string key or '}'"},
        {"{\"a\" 1}", "expected ':' after the object key, found '1'"},
        {"[1 2]", "expected ',' or ']' after an array item, found '2'"},
        {"{\"a\":1 \"b\":2}", "expected ',' or '}' after an object member"},
        {"[1", "expected ',' or ']' after an array item, found end of input"},
        {"01", "leading zeros"},
        {"-01", "leading zeros"},
        {"1.", "expected a digit after '.'"},
        {".5", "expected a JSON value"},
        {"1e", "expected a digit in the exponent"},
        {"1e+", "expected a digit in the exponent"},
        {"-", "expected a digit in the number"},
        {"+1", "expected a JSON value"},
        {"NaN", "expected a JSON value"},
        {"Infinity", "expected a JSON value"},
        {"1e999", "out of range"},
        {"-1e999", "out of range"},
        {"tru", "expected 'true'"},
        {"nul", "expected 'null'"},
        {"falsy", "expected 'false'"},
        {"True", "expected a JSON value"},
        {"\"abc", "unterminated string"},
        {"\"abc\\\"", "unterminated string"},
        {"\"a\x01\"", "control character 0x01"},
        {"\"a\nb\"", "control character 0x0A"},
        {"\"\\x\"", "invalid escape"},
        {"\"\\'\"", "invalid escape"},
        {"\"\\u12G4\"", "expected 4 hex digits"},
        {"\"\\u12\"", "expected 4 hex digits"},
        {"\"\\ud800\"", "lone high surrogate \\uD800"},
        {"\"\\ud800\\u0041\"", "lone high surrogate"},
        {"\"\\ud800\\ud800\"", "lone high surrogate"},
        {"\"\\udc00\"", "lone low surrogate \\uDC00"},
        {"\"\xff\"", "invalid UTF-8 byte 0xFF"},
        {"\"\xc0\xaf\"", "invalid UTF-8 byte 0xC0"},       /* overlong '/' */
        {"\"\xed\xa0\x80\"", "invalid UTF-8 byte 0xED"},   /* UTF-8-encoded surrogate */
        {"\"\xf4\x90\x80\x80\"", "invalid UTF-8 byte 0xF4"}, /* above U+10FFFF */
        {"\"\xe4\xb8\"", "invalid UTF-8"},                 /* truncated sequence */
        {"{\"a\":1,\"b\":2,\"a\":3}", "line 1, column 14: duplicate key 'a' in object"},
        {"[1] x", "unexpected data after the JSON value: 'x'"},
        {"{} {}", "unexpected data after the JSON value"},
        {"// c\n1", "expected a JSON value"},
        {"'a'", "expected a JSON value"},
        {"\xef\xbb\xbf{}", "byte 0xEF"},
        {"[\"\xc3\xa9\", x]", "line 1, column 7: expected a JSON value"}, /* columns count characters */
        {"{\n  \"a\": 1,\n  \"b\" 2\n}", "line 3, column 7: expected ':'"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        vc_error err = {{0}};
        vc_json *j = parse_str(CASES[i].text, &err);
        CHECK(!j, "case %zu (%s) parsed", i, CASES[i].text);
        CHECK(strstr(err.msg, CASES[i].want), "case %zu: message '%s' lacks '%s'", i, err.msg, CASES[i].want);
        CHECK(strstr(err.msg, "JSON error at line "), "case %zu: no position in '%s'", i, err.msg);
    }
    /* A NUL byte outside strings is just an unexpected byte. */
    vc_error err;
    CHECK(!vc_json_parse("1\0", 2, &err) && strstr(err.msg, "byte 0x00"), "%s", err.msg);
    CHECK(!vc_json_parse("\"a\0\"", 4, &err) && strstr(err.msg, "control character 0x00"), "%s", err.msg);
}

TEST(nesting_depth_is_limited) {
    char doc[2 * (VC_JSON_MAX_DEPTH + 1) + 1];
    vc_error err;
    for (int depth = VC_JSON_MAX_DEPTH; depth <= VC_JSON_MAX_DEPTH + 1; depth++) {
        memset(doc, '[', (size_t)depth);
        memset(doc + depth, ']', (size_t)depth);
        vc_json *j = vc_json_parse(doc, 2 * (size_t)depth, &err);
        if (depth == VC_JSON_MAX_DEPTH) {
            CHECK(j, "depth %d should parse: %s", depth, err.msg);
            vc_json_free(j);
        } else {
            CHECK(!j && strstr(err.msg, "nesting deeper than"), "depth %d: %s", depth, j ? "parsed" : err.msg);
        }
    }
    /* Far too deep must not exhaust the stack either. */
    size_t n = 1000000;
    char *deep = malloc(n);
    CHECK(deep, "oom");
    memset(deep, '[', n);
    vc_json *j = vc_json_parse(deep, n, &err);
    free(deep);
    CHECK(!j && strstr(err.msg, "nesting deeper"), "%s", j ? "parsed" : err.msg);
}

TEST(every_prefix_of_a_document_fails_cleanly) {
    const char *doc = "{\"a\": [1, -2.5e+3, true, false, null, \"s\\u00e9\\ud83d\\ude00\\n\"], \"b\": {\"c\": {}}, "
                      "\"d\": \"\xe4\xb8\x96\"}";
    size_t n = strlen(doc);
    for (size_t len = 0; len < n; len++) {
        vc_error err = {{0}};
        char *copy = malloc(len ? len : 1); /* exact-size buffer so ASan catches overreads */
        memcpy(copy, doc, len);
        vc_json *j = vc_json_parse(copy, len, &err);
        free(copy);
        CHECK(!j, "prefix of %zu bytes parsed", len);
        CHECK(strstr(err.msg, "JSON error at line 1, column"), "prefix %zu: '%s'", len, err.msg);
    }
    vc_error err;
    vc_json *j = vc_json_parse(doc, n, &err);
    CHECK(j, "%s", err.msg);
    vc_json_free(j);
}

/* Deterministic random byte mutations: each result must parse or fail with a message. */
TEST(random_mutations_never_crash) {
    const char *doc = "{\"k\": [1, 2.5, \"x\\u0041\", {\"n\": null, \"t\": true}], \"e\": \"\\ud83d\\ude00\"}";
    size_t n = strlen(doc);
    static const char ALPHABET[] = "{}[]\",:\\u0123456789eE+-.tfnl \xc3\xa9\xed\xff\x00";
    uint64_t s = 0x9e3779b97f4a7c15ull;
    int parsed = 0, failed = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char *buf = malloc(n);
        memcpy(buf, doc, n);
        int edits = 1 + iter % 4;
        for (int e = 0; e < edits; e++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            buf[(s >> 8) % n] = ALPHABET[(s >> 32) % (sizeof ALPHABET - 1)];
        }
        size_t len = iter % 3 ? n : (size_t)((s >> 16) % (n + 1));
        vc_error err = {{0}};
        vc_json *j = vc_json_parse(buf, len, &err);
        if (j) parsed++;
        else {
            failed++;
            CHECK(strstr(err.msg, "JSON error at line"), "iteration %d: '%s'", iter, err.msg);
        }
        vc_json_free(j);
        free(buf);
    }
    CHECK(parsed > 100 && failed > 100, "parsed %d failed %d", parsed, failed);
}

TEST(many_keys_parse_and_duplicates_are_found) {
    vc_strbuf sb = VC_STRBUF_INIT;
    vc_error err;
    CHECK(vc_sb_putc(&sb, '{', &err) == 0, "sb");
    for (int i = 0; i < 20000; i++) CHECK(vc_sb_appendf(&sb, &err, "%s\"key%d\":%d", i ? "," : "", i, i) == 0, "sb");
    CHECK(vc_sb_putc(&sb, '}', &err) == 0, "sb");
    vc_json *j = vc_json_parse(sb.data, sb.len, &err);
    CHECK(j && vc_json_len(j) == 20000, "%s", err.msg);
    CHECK(vc_json_number(vc_json_get(j, "key12345")) == 12345, "lookup");
    vc_json_free(j);
    /* Same document with one repeated key near the end. */
    sb.data[sb.len - 1] = ',';
    CHECK(vc_sb_puts(&sb, "\"key777\":0}", &err) == 0, "sb");
    j = vc_json_parse(sb.data, sb.len, &err);
    CHECK(!j && strstr(err.msg, "duplicate key 'key777'"), "%s", j ? "parsed" : err.msg);
    vc_sb_free(&sb);
}

TEST(strbuf_escapes_json_and_refuses_bad_utf8) {
    vc_strbuf sb = VC_STRBUF_INIT;
    vc_error err;
    const char raw[] = "a\"b\\c\n\t\x01\x1f\xc3\xa9\0z";
    CHECK(vc_sb_append_json_string(&sb, raw, sizeof raw - 1, &err) == 0, "%s", err.msg);
    const char *want = "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\xc3\xa9\\u0000z\"";
    CHECK(!strcmp(sb.data, want), "got %s", sb.data);
    /* What we escape, the parser reads back byte for byte. */
    vc_json *j = vc_json_parse(sb.data, sb.len, &err);
    CHECK(j && vc_json_string_len(j) == sizeof raw - 1 && !memcmp(vc_json_string(j), raw, sizeof raw - 1), "round trip");
    vc_json_free(j);
    size_t before = sb.len;
    CHECK(vc_sb_append_json_string(&sb, "ok\xff", 3, &err) == -1 && strstr(err.msg, "not valid UTF-8"), "%s", err.msg);
    CHECK(sb.len == before, "nothing appended on failure");
    CHECK(vc_sb_appendf(&sb, &err, "[%d|%s]", 42, "x") == 0 && !strcmp(sb.data + before, "[42|x]"), "appendf");
    vc_sb_free(&sb);
}

typedef struct {
    long lines[16];
    char first[16][32];
    int n;
    long fail_at;
} jsonl_seen;

static int collect(const vc_json *obj, long lineno, void *ud, vc_error *err) {
    jsonl_seen *s = ud;
    if (lineno == s->fail_at) return vc_fail(err, "callback refused line %ld", lineno);
    if (s->n < 16) {
        s->lines[s->n] = lineno;
        const char *v = vc_json_string(vc_json_get(obj, "v"));
        snprintf(s->first[s->n], sizeof s->first[0], "%s", v ? v : "?");
        s->n++;
    }
    return 0;
}

TEST(jsonl_handles_bom_crlf_blank_lines_and_missing_final_newline) {
    char dir[] = "/tmp/vc_test_json_XXXXXX";
    CHECK(mkdtemp(dir), "mkdtemp");
    char path[128];
    snprintf(path, sizeof path, "%s/a.jsonl", dir);
    const char text[] = "\xef\xbb\xbf{\"v\": \"one\"}\r\n\r\n  \t \n{\"v\": \"two\\r\"}\n\n{\"v\":\"three\"}";
    CHECK(vc_test_write_file(path, text, sizeof text - 1) == 0, "write");
    jsonl_seen s = {.fail_at = -1};
    vc_error err;
    CHECK(vc_jsonl_foreach(path, collect, &s, &err) == 0, "%s", err.msg);
    CHECK(s.n == 3, "saw %d lines", s.n);
    CHECK(s.lines[0] == 1 && s.lines[1] == 4 && s.lines[2] == 6, "line numbers %ld %ld %ld", s.lines[0], s.lines[1],
          s.lines[2]);
    CHECK(!strcmp(s.first[0], "one") && !strcmp(s.first[1], "two\r") && !strcmp(s.first[2], "three"), "values");

    /* The callback's error stops the walk and comes back unchanged. */
    s = (jsonl_seen){.fail_at = 4};
    CHECK(vc_jsonl_foreach(path, collect, &s, &err) == -1 && !strcmp(err.msg, "callback refused line 4") && s.n == 1,
          "%s", err.msg);

    /* A parse error names file, line and column. */
    const char bad[] = "{\"v\": \"a\"}\n{\"v\": \"b\"}\n\n{\"v\" \"c\"}\n{\"v\": \"d\"}\n";
    CHECK(vc_test_write_file(path, bad, sizeof bad - 1) == 0, "write");
    s = (jsonl_seen){.fail_at = -1};
    char want[200];
    snprintf(want, sizeof want, "%s:4: column 6: expected ':'", path);
    CHECK(vc_jsonl_foreach(path, collect, &s, &err) == -1 && strstr(err.msg, want) == err.msg, "%s", err.msg);
    CHECK(s.n == 2, "lines before the error were delivered");

    /* A BOM is only accepted at the start of the file. */
    const char bom2[] = "{\"v\": \"a\"}\n\xef\xbb\xbf{\"v\": \"b\"}\n";
    CHECK(vc_test_write_file(path, bom2, sizeof bom2 - 1) == 0, "write");
    CHECK(vc_jsonl_foreach(path, collect, &s, &err) == -1 && strstr(err.msg, ":2: column 1:"), "%s", err.msg);

    unlink(path);
    CHECK(vc_jsonl_foreach(path, collect, &s, &err) == -1 && strstr(err.msg, "cannot open"), "%s", err.msg);
    rmdir(dir);
}

TEST_MAIN("json", T(parses_nested_document_with_exact_values), T(string_escapes_and_surrogates_decode_to_utf8),
          T(numbers_parse_exactly), T(typed_getters_check_type_and_range), T(malformed_documents_give_positioned_errors),
          T(nesting_depth_is_limited), T(every_prefix_of_a_document_fails_cleanly), T(random_mutations_never_crash),
          T(many_keys_parse_and_duplicates_are_found), T(strbuf_escapes_json_and_refuses_bad_utf8),
          T(jsonl_handles_bom_crlf_blank_lines_and_missing_final_newline))
