/* The C CLIP tokenizer against the Python reference (simple_tokenizer.py + ftfy 6.3.1 + regex):
 * fixtures from tools/gen_tokenizer_fixture.py hold the reference ids of ~350 hard cases, 1000
 * seeded random strings (ids, context-32 ids and decode()), invalid UTF-8 inputs and all queries
 * of ../shared/data/queries.jsonl.
 * Also: truncation/padding, errors for bad vocab files and arguments, decoding, thread safety. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef VC_HAVE_ZLIB
#include <zlib.h>
#endif

#include "testutil.h"
#include "text/tokenizer.h"

#define CASES_TSV "tests/fixtures/tokenizer_cases.tsv"
#define INVALID_TSV "tests/fixtures/tokenizer_invalid_utf8.tsv"
#define QUERIES_TSV "tests/fixtures/tokenizer_queries.tsv"

/* ---------------------------------------------------------------- helpers */

/* The vocab: where the library finds it, else the shared data copy; NULL if neither exists. */
static vc_tokenizer *load_tokenizer(void) {
    char path[4096];
    vc_error err;
    if (vc_tokenizer_find_vocab(path, sizeof path, &err) != 0) {
        snprintf(path, sizeof path, "%s/%s", vc_shared_data_dir(), VC_VOCAB_FILE);
        FILE *f = fopen(path, "rb");
        if (!f) {
            printf("SKIP tokenizer: no vocab (%s; run scripts/get_vocab.sh)\n", err.msg);
            return NULL;
        }
        fclose(f);
    }
    vc_tokenizer *t = vc_tokenizer_load(path, &err);
    if (!t) printf("tokenizer: loading %s failed: %s\n", path, err.msg);
    return t;
}

static void put_utf8(uint32_t cp, char **o) {
    unsigned char *p = (unsigned char *)*o;
    if (cp < 0x80) { *p++ = (unsigned char)cp; }
    else if (cp < 0x800) { *p++ = (unsigned char)(0xC0 | cp >> 6); *p++ = (unsigned char)(0x80 | (cp & 63)); }
    else if (cp < 0x10000) {
        *p++ = (unsigned char)(0xE0 | cp >> 12); *p++ = (unsigned char)(0x80 | ((cp >> 6) & 63));
        *p++ = (unsigned char)(0x80 | (cp & 63));
    } else {
        *p++ = (unsigned char)(0xF0 | cp >> 18); *p++ = (unsigned char)(0x80 | ((cp >> 12) & 63));
        *p++ = (unsigned char)(0x80 | ((cp >> 6) & 63)); *p++ = (unsigned char)(0x80 | (cp & 63));
    }
    *o = (char *)p;
}

static int hex4(const char *s, uint32_t *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : -1;
        if (d < 0) return -1;
        *v = *v * 16 + (uint32_t)d;
    }
    return 0;
}

/* Decodes the JSON string literal at *p (which points at '"') into a malloc'd UTF-8 string
 * and moves *p past the closing quote. NULL on malformed input. */
static char *json_string(const char **p) {
    const char *s = *p;
    if (*s != '"') return NULL;
    s++;
    char *out = malloc(strlen(s) * 2 + 8), *o = out;
    if (!out) return NULL;
    while (*s && *s != '"') {
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        s++;
        uint32_t cp;
        switch (*s) {
        case 'n': *o++ = '\n'; s++; break;
        case 't': *o++ = '\t'; s++; break;
        case 'r': *o++ = '\r'; s++; break;
        case 'b': *o++ = '\b'; s++; break;
        case 'f': *o++ = '\f'; s++; break;
        case '/': case '\\': case '"': *o++ = *s++; break;
        case 'u':
            if (hex4(s + 1, &cp)) goto bad;
            s += 5;
            if (cp >= 0xD800 && cp < 0xDC00) {   /* surrogate pair */
                uint32_t lo;
                if (s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) goto bad;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                s += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                goto bad;
            }
            put_utf8(cp, &o);
            break;
        default: goto bad;
        }
    }
    if (*s != '"') goto bad;
    *o = '\0';
    *p = s + 1;
    return out;
bad:
    free(out);
    return NULL;
}

/* Parses space-separated ints from s up to a tab / newline / end; returns count. */
static int parse_ids(const char *s, int32_t *ids, int cap, const char **end) {
    int n = 0;
    while (*s == ' ') s++;
    while (*s && *s != '\t' && *s != '\n') {
        char *e;
        long v = strtol(s, &e, 10);
        if (e == s) break;
        if (n < cap) ids[n] = (int32_t)v;
        n++;
        s = e;
        while (*s == ' ') s++;
    }
    if (end) *end = s;
    return n;
}

static void describe_diff(char *buf, size_t cap, const int32_t *got, int ng, const int32_t *exp, int ne) {
    int i = 0;
    while (i < ng && i < ne && got[i] == exp[i]) i++;
    snprintf(buf, cap, "lengths %d vs %d, first difference at %d (%d vs %d)", ng, ne, i,
             i < ng ? got[i] : -1, i < ne ? exp[i] : -1);
}

enum { MAX_IDS = 1 << 16 };

/* ---------------------------------------------------------------- known answers */

TEST(known_ids) {
    vc_tokenizer *t = load_tokenizer();
    if (!t) return;
    int32_t out[77];
    for (int i = 0; i < 77; i++) out[i] = -1;
    vc_error err;
    int n = vc_tokenize(t, "a playful dog", 77, out, &err);
    const int32_t want[5] = {49406, 320, 23871, 1929, 49407};
    int ok = n == 5;
    for (int i = 0; i < 5 && ok; i++) ok = out[i] == want[i];
    for (int i = 5; i < 77 && ok; i++) ok = out[i] == 0;
    vc_tokenizer_free(t);
    CHECK(ok, "n=%d ids %d %d %d %d %d %d", n, out[0], out[1], out[2], out[3], out[4], out[5]);
}

/* ---------------------------------------------------------------- fixtures */

TEST(fixture_cases) {
    vc_tokenizer *t = load_tokenizer();
    if (!t) return;
    FILE *f = fopen(CASES_TSV, "r");
    CHECK(f, "cannot open %s: %s", CASES_TSV, strerror(errno));
    int32_t *exp = malloc(sizeof(int32_t) * MAX_IDS), *got = malloc(sizeof(int32_t) * MAX_IDS);
    char *line = NULL, first_bad[600] = "";
    size_t cap = 0;
    int compared = 0, mismatches = 0, lineno = 0, malformed = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        if (line[0] == '#') continue;
        const char *p = line;
        char *text = json_string(&p);
        if (!text || *p != '\t') {
            malformed++;
            free(text);
            continue;
        }
        const char *q;
        int ne = parse_ids(p + 1, exp, MAX_IDS, &q);
        int32_t exp32[32], got32[32];
        int n32 = *q == '\t' ? parse_ids(q + 1, exp32, 32, &q) : 0;
        char *exp_text = *q == '\t' ? (q++, json_string(&q)) : NULL;
        int total = -1;
        vc_error err;
        int ng = vc_tokenize_raw(t, text, got, MAX_IDS, &total, &err);
        int c32 = vc_tokenize(t, text, 32, got32, &err);
        int bad = ng != ne || total != ne || ne > MAX_IDS || memcmp(got, exp, sizeof(int32_t) * (size_t)ne) != 0;
        bad |= n32 != 32 || c32 < 2 || memcmp(got32, exp32, sizeof got32) != 0;
        /* decoding the reference ids gives the reference's decode() */
        size_t dcap = (exp_text ? strlen(exp_text) : 0) + 8 * (size_t)ne + 64;
        char *dec = malloc(dcap);
        int dl = vc_detokenize(t, exp, ne, dec, dcap, &err);
        bad |= !exp_text || dl < 0 || strcmp(dec, exp_text) != 0;
        free(dec);
        free(exp_text);
        compared++;
        if (bad) {
            mismatches++;
            if (!first_bad[0]) {
                char d[200];
                describe_diff(d, sizeof d, got, ng, exp, ne);
                snprintf(first_bad, sizeof first_bad, "line %d %.200s: %s", lineno, text, d);
            }
        }
        free(text);
    }
    fclose(f);
    free(line);
    free(exp);
    free(got);
    vc_tokenizer_free(t);
    printf("tokenizer fixture cases: %d strings compared (raw ids, context-32 ids, decode), %d mismatches\n",
           compared, mismatches);
    CHECK(malformed == 0, "%d malformed fixture lines", malformed);
    CHECK(compared >= 1300, "only %d cases in %s", compared, CASES_TSV);
    CHECK(mismatches == 0, "%d mismatches; first: %s", mismatches, first_bad);
}

TEST(invalid_utf8_matches_python_replace) {
    vc_tokenizer *t = load_tokenizer();
    if (!t) return;
    FILE *f = fopen(INVALID_TSV, "r");
    CHECK(f, "cannot open %s", INVALID_TSV);
    char *line = NULL, first_bad[300] = "";
    size_t cap = 0;
    int compared = 0, mismatches = 0;
    int32_t exp[4096], got[4096];
    while (getline(&line, &cap, f) > 0) {
        if (line[0] == '#') continue;
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        size_t nhex = (size_t)(tab - line);
        char *bytes = malloc(nhex / 2 + 1);
        for (size_t i = 0; i + 1 < nhex; i += 2) {
            unsigned v;
            sscanf(line + i, "%2x", &v);
            bytes[i / 2] = (char)v;
        }
        bytes[nhex / 2] = '\0';
        int ne = parse_ids(tab + 1, exp, 4096, NULL);
        vc_error err;
        int total;
        int ng = vc_tokenize_raw(t, bytes, got, 4096, &total, &err);
        compared++;
        if (ng != ne || memcmp(got, exp, sizeof(int32_t) * (size_t)(ne < 4096 ? ne : 4096)) != 0) {
            mismatches++;
            if (!first_bad[0]) snprintf(first_bad, sizeof first_bad, "input %.*s: %d vs %d ids", (int)nhex, line, ng, ne);
        }
        free(bytes);
    }
    fclose(f);
    free(line);
    vc_tokenizer_free(t);
    printf("tokenizer invalid UTF-8: %d inputs compared, %d mismatches\n", compared, mismatches);
    CHECK(compared >= 100, "only %d invalid-UTF-8 cases", compared);
    CHECK(mismatches == 0, "%s", first_bad);
}

/* Both fields of every line of queries.jsonl against the reference ids, timed. */
TEST(all_queries) {
    char qpath[4096];
    snprintf(qpath, sizeof qpath, "%s/queries.jsonl", vc_shared_data_dir());
    FILE *q = fopen(qpath, "r");
    if (!q) {
        printf("SKIP tokenizer.all_queries: %s not found\n", qpath);
        return;
    }
    vc_tokenizer *t = load_tokenizer();
    if (!t) {
        fclose(q);
        return;
    }
    /* texts[2*(line-1) + field] */
    size_t n_lines = 0, cap_texts = 16384;
    char **texts = calloc(cap_texts, sizeof *texts);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, q) > 0 && 2 * n_lines + 2 <= cap_texts) {
        const char *keys[2] = {"\"search_word_id\"", "\"search_word\""};
        for (int k = 0; k < 2; k++) {
            const char *p = strstr(line, keys[k]);
            if (p) p = strchr(p + strlen(keys[k]), '"');
            texts[2 * n_lines + (size_t)k] = p ? json_string(&p) : NULL;
        }
        n_lines++;
    }
    free(line);
    fclose(q);

    FILE *f = fopen(QUERIES_TSV, "r");
    if (!f) {
        vc_tokenizer_free(t);
        for (size_t i = 0; i < 2 * n_lines; i++) free(texts[i]);
        free(texts);
    }
    CHECK(f, "cannot open %s", QUERIES_TSV);
    int32_t exp[1024], got[1024];
    char *fl = NULL, first_bad[400] = "";
    size_t fcap = 0;
    int compared = 0, mismatches = 0, missing = 0;
    double secs = 0;
    while (getline(&fl, &fcap, f) > 0) {
        if (fl[0] == '#') continue;
        char field[32];
        int no, off = 0;
        if (sscanf(fl, "%d\t%31[^\t]\t%n", &no, field, &off) < 2 || no < 1 || (size_t)no > n_lines) {
            missing++;
            continue;
        }
        int k = strcmp(field, "search_word") == 0 ? 1 : 0;
        const char *text = texts[2 * (size_t)(no - 1) + (size_t)k];
        if (!text) {
            missing++;
            continue;
        }
        int ne = off ? parse_ids(fl + off, exp, 1024, NULL) : 0;
        vc_error err;
        int total;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int ng = vc_tokenize_raw(t, text, got, 1024, &total, &err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        compared++;
        if (ng != ne || memcmp(got, exp, sizeof(int32_t) * (size_t)(ne < 1024 ? ne : 1024)) != 0) {
            mismatches++;
            if (!first_bad[0]) snprintf(first_bad, sizeof first_bad, "line %d %s '%.200s'", no, field, text);
        }
    }
    fclose(f);
    free(fl);
    for (size_t i = 0; i < 2 * n_lines; i++) free(texts[i]);
    free(texts);
    vc_tokenizer_free(t);
    printf("tokenizer queries: %d strings compared (%zu lines x 2 fields), %d mismatches, %.3f s\n",
           compared, n_lines, mismatches, secs);
    CHECK(missing == 0, "%d fixture rows did not match a query line (queries.jsonl changed?)", missing);
    CHECK(compared == 2 * (int)n_lines, "compared %d of %zu strings", compared, 2 * n_lines);
    CHECK(mismatches == 0, "%d mismatches, first: %s", mismatches, first_bad);
#ifdef __SANITIZE_ADDRESS__
    const double limit = 20.0; /* make asan: instrumented code, checked for correctness, not speed */
#else
    const double limit = 1.0;
#endif
    CHECK(secs < limit, "tokenising the queries took %.3f s", secs);
}

/* ---------------------------------------------------------------- truncation and padding */

TEST(truncation_forces_eot) {
    vc_tokenizer *t = load_tokenizer();
    if (!t) return;
    const char *text = "a golden retriever puppy jumps through fresh snow while its owner laughs and "
                       "two children watch from the porch of a small wooden cabin in the mountains, "
                       "as the sun sets behind snowy peaks and the sky turns orange and pink";
    int32_t raw[256], out[32];
    int total;
    vc_error err;
    int nr = vc_tokenize_raw(t, text, raw, 256, &total, &err);
    int n = vc_tokenize(t, text, 32, out, &err);
    int ok = nr == total && nr > 40 && n == 32 && out[0] == VC_TOKEN_SOT && out[31] == VC_TOKEN_EOT;
    for (int i = 1; i < 31 && ok; i++) ok = out[i] == raw[i - 1];
    /* a raw buffer smaller than the text: count written is the cap, n_total the full count */
    int32_t small[5];
    int ns = vc_tokenize_raw(t, text, small, 5, &total, &err);
    int ok2 = ns == 5 && total == nr && memcmp(small, raw, sizeof small) == 0;
    /* context 1 keeps only the forced EOT, as the reference's tokens[:1] then tokens[-1] = EOT */
    int32_t one[1];
    int n1 = vc_tokenize(t, text, 1, one, &err);
    /* exactly context-2 BPE tokens fit without truncation */
    int32_t exact[32];
    int ne = vc_tokenize(t, "a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a", 32, exact, &err);
    vc_tokenizer_free(t);
    CHECK(ok, "n=%d raw=%d out[0]=%d out[31]=%d", n, nr, out[0], out[31]);
    CHECK(ok2, "cap 5: wrote %d, total %d of %d", ns, total, nr);
    CHECK(n1 == 1 && one[0] == VC_TOKEN_EOT, "context 1: n=%d id=%d", n1, one[0]);
    CHECK(ne == 32 && exact[31] == VC_TOKEN_EOT && exact[30] == 320, "30 tokens at context 32: n=%d last %d %d",
          ne, exact[30], exact[31]);
}

TEST(padding_is_zero) {
    vc_tokenizer *t = load_tokenizer();
    if (!t) return;
    int32_t out[77];
    vc_error err;
    int ok = 1, n = 0;
    const char *texts[] = {"", "   ", "dog", "a dog in snow", "😀"};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0] && ok; k++) {
        for (int i = 0; i < 77; i++) out[i] = 12345;
        n = vc_tokenize(t, texts[k], 77, out, &err);
        ok = n >= 2 && out[0] == VC_TOKEN_SOT && out[n - 1] == VC_TOKEN_EOT;
        for (int i = n; i < 77 && ok; i++) ok = out[i] == 0;
    }
    vc_tokenizer_free(t);
    CHECK(ok, "n=%d", n);
}

TEST(bad_arguments) {
    vc_tokenizer *t = load_tokenizer();
    if (!t) return;
    int32_t out[8];
    vc_error err = {""};
    int a = vc_tokenize(t, "dog", 0, out, &err);
    int msg_a = strstr(err.msg, "context") != NULL;
    int b = vc_tokenize(t, NULL, 8, out, &err);
    int c = vc_tokenize_raw(t, "dog", NULL, 4, NULL, &err);
    int d = vc_tokenize_raw(t, "dog", NULL, 0, NULL, &err);   /* counting only */
    vc_tokenizer_free(t);
    CHECK(a == -1 && msg_a, "context 0: %d '%s'", a, err.msg);
    CHECK(b == -1, "NULL text accepted");
    CHECK(c == -1, "NULL out with cap 4 accepted");
    CHECK(d == 0, "cap 0 returned %d", d);
}

/* ---------------------------------------------------------------- robustness */

TEST(random_bytes_never_crash) {
    vc_tokenizer *t = load_tokenizer();
    if (!t) return;
    uint64_t s = 0x9E3779B97F4A7C15ull;
    char buf[64];
    int32_t ids[256];
    char back[4096];
    int failures = 0;
    for (int it = 0; it < 3000; it++) {
        int len = 1 + (int)(s % 60);
        for (int i = 0; i < len; i++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            buf[i] = (char)(1 + s % 255);   /* no NUL: it would end the C string */
        }
        buf[len] = '\0';
        vc_error err;
        int total;
        int n = vc_tokenize_raw(t, buf, ids, 256, &total, &err);
        if (n < 0 || vc_detokenize(t, ids, n, back, sizeof back, &err) < 0) failures++;
    }
    vc_tokenizer_free(t);
    CHECK(failures == 0, "%d random byte strings failed", failures);
}

/* The word cache is shared: tokenising from several threads must give the single-thread ids. */
TEST(threads_share_tokenizer) {
    vc_tokenizer *t = load_tokenizer();
    if (!t) return;
    const char *texts[] = {"a playful dog", "cafÃ© in São Paulo", "一只小狗在雪地里玩耍", "rock'n'roll &amp; jazz",
                           "ΣΑΣ İstanbul", "👨‍👩‍👧‍👦 family", "snow snow snow", "ＬＯＵＤ　ＮＯＩＳＥＳ"};
    const int nt = (int)(sizeof texts / sizeof texts[0]);
    int32_t ref[8][77];
    vc_error err;
    for (int i = 0; i < nt; i++) vc_tokenize(t, texts[i], 77, ref[i], &err);
    int bad = 0;
#pragma omp parallel for reduction(+ : bad) num_threads(4)
    for (int it = 0; it < 4000; it++) {
        int32_t out[77];
        vc_error e;
        vc_tokenize(t, texts[it % nt], 77, out, &e);
        bad += memcmp(out, ref[it % nt], sizeof out) != 0;
    }
    vc_tokenizer_free(t);
    CHECK(bad == 0, "%d threaded results differ", bad);
}

/* ---------------------------------------------------------------- decoding */

TEST(detokenize) {
    vc_tokenizer *t = load_tokenizer();
    if (!t) return;
    char out[256];
    vc_error err;
    int32_t ids[64];
    int total;
    int n = vc_tokenize_raw(t, "A Playful DOG, café!", ids, 64, &total, &err);
    int len = vc_detokenize(t, ids, n, out, sizeof out, &err);
    /* the reference's decode(): lower-cased pieces, each word end "</w>" -> " " */
    int ok1 = len >= 0 && strcmp(out, "a playful dog , café ! ") == 0;
    int32_t sot_eot[2] = {VC_TOKEN_SOT, VC_TOKEN_EOT};
    len = vc_detokenize(t, sot_eot, 2, out, sizeof out, &err);
    int ok2 = len >= 0 && strcmp(out, "<|startoftext|><|endoftext|>") == 0;
    int32_t bad_id[1] = {VC_VOCAB_SIZE};
    int r3 = vc_detokenize(t, bad_id, 1, out, sizeof out, &err);
    int ok3 = r3 == -1 && strstr(err.msg, "49408") != NULL;
    char tiny[4];
    int r4 = vc_detokenize(t, ids, n, tiny, sizeof tiny, &err);
    int ok4 = r4 == -1 && strstr(err.msg, "needs") != NULL;
    /* a lone continuation byte decodes to U+FFFD, like errors='replace' */
    int32_t lone[1] = {94};   /* the byte character of byte 0xA1, a lone continuation byte */
    len = vc_detokenize(t, lone, 1, out, sizeof out, &err);
    int ok5 = len == 3 && strcmp(out, "\xEF\xBF\xBD") == 0;
    vc_tokenizer_free(t);
    CHECK(ok1, "got '%s'", out);
    CHECK(ok2, "special tokens");
    CHECK(ok3, "unknown id: %d '%s'", r3, err.msg);
    CHECK(ok4, "small buffer: %d", r4);
    CHECK(ok5, "lone byte: len %d", len);
}

/* ---------------------------------------------------------------- vocab files */

/* gz: gzip-compressed (a build without zlib reads plain text under any name, so it gets that). */
static int write_file(const char *path, const void *data, size_t n, int gz) {
#ifdef VC_HAVE_ZLIB
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (!g) return -1;
        int ok = gzwrite(g, data, (unsigned)n) == (int)n;
        return gzclose(g) == Z_OK && ok ? 0 : -1;
    }
#else
    (void)gz;
#endif
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* A file made of a header and `lines` merge lines "x y" (all distinct symbols not needed). */
static char *fake_merges(int lines, const char *bad_line, size_t *n) {
    size_t cap = (size_t)lines * 8 + 64;
    char *s = malloc(cap), *o = s;
    o += sprintf(o, "#version: 0.2\n");
    for (int i = 0; i < lines; i++) o += sprintf(o, "%s\n", (bad_line && i == 10) ? bad_line : "a b");
    *n = (size_t)(o - s);
    return s;
}

TEST(vocab_errors) {
    char dir[] = "/tmp/vc_tok_XXXXXX";
    CHECK(mkdtemp(dir), "mkdtemp failed");
    char path[256];
    vc_error err = {""};

    snprintf(path, sizeof path, "%s/missing.txt.gz", dir);
    vc_tokenizer *t = vc_tokenizer_load(path, &err);
    CHECK(!t && strstr(err.msg, "missing.txt.gz") && strstr(err.msg, "No such file"), "missing: '%s'", err.msg);

    snprintf(path, sizeof path, "%s/corrupt.gz", dir);
    const unsigned char junk[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xff, 0xee, 0x11, 0x22};
    CHECK(write_file(path, junk, sizeof junk, 0) == 0, "write");
    t = vc_tokenizer_load(path, &err);
    CHECK(!t && strstr(err.msg, "corrupt.gz"), "corrupt gzip: '%s'", err.msg);

    size_t n;
    char *few = fake_merges(100, NULL, &n);
    snprintf(path, sizeof path, "%s/short.txt.gz", dir);
    CHECK(write_file(path, few, n, 1) == 0, "write");
    t = vc_tokenizer_load(path, &err);
    free(few);
    CHECK(!t && strstr(err.msg, "100 merge lines") && strstr(err.msg, "48894"), "short: '%s'", err.msg);

    char *three = fake_merges(48894, "a b c", &n);
    snprintf(path, sizeof path, "%s/three.txt", dir);
    CHECK(write_file(path, three, n, 0) == 0, "write");
    t = vc_tokenizer_load(path, &err);
    free(three);
    CHECK(!t && strstr(err.msg, "line 12") && strstr(err.msg, "found 3"), "three symbols: '%s'", err.msg);

    char *latin = fake_merges(48894, "\xe9 b", &n);
    snprintf(path, sizeof path, "%s/latin1.txt", dir);
    CHECK(write_file(path, latin, n, 0) == 0, "write");
    t = vc_tokenizer_load(path, &err);
    free(latin);
    CHECK(!t && strstr(err.msg, "not UTF-8") && strstr(err.msg, "offset 54"), "not utf-8: '%s'", err.msg);

    /* a well-formed but fake vocab loads (plain text) and tokenizes with its own merges */
    char *fake = fake_merges(48894, NULL, &n);
    snprintf(path, sizeof path, "%s/fake.txt", dir);
    CHECK(write_file(path, fake, n, 0) == 0, "write");
    free(fake);
    t = vc_tokenizer_load(path, &err);
    CHECK(t, "fake vocab: %s", err.msg);
    int32_t ids[8];
    int total;
    int k = vc_tokenize_raw(t, "ab", ids, 8, &total, &err);
    vc_tokenizer_free(t);
    /* "a" "b</w>" never merge ("a b" only joins "a" and "b"): ids of 'a' (64) and 'b</w>' (256+65) */
    CHECK(k == 2 && ids[0] == 64 && ids[1] == 321, "fake vocab ids: k=%d %d %d", k, ids[0], ids[1]);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

TEST(find_vocab) {
    char path[4096];
    vc_error err = {""};
    const char *old = getenv("VICLIP_VOCAB");
    char saved[4096] = "";
    if (old) snprintf(saved, sizeof saved, "%s", old);

    setenv("VICLIP_VOCAB", "/nonexistent/vocab.gz", 1);
    int a = vc_tokenizer_find_vocab(path, sizeof path, &err);
    int msg_a = strstr(err.msg, "/nonexistent/vocab.gz") != NULL;
    setenv("VICLIP_VOCAB", CASES_TSV, 1);   /* any readable file is taken as given */
    int b = vc_tokenizer_find_vocab(path, sizeof path, &err);
    int path_b = b == 0 && strcmp(path, CASES_TSV) == 0;
    unsetenv("VICLIP_VOCAB");
    int c = vc_tokenizer_find_vocab(path, sizeof path, &err);
    if (old) setenv("VICLIP_VOCAB", saved, 1);

    CHECK(a == -1 && msg_a, "bad VICLIP_VOCAB: %d '%s'", a, err.msg);
    CHECK(path_b, "VICLIP_VOCAB not used: %d '%s'", b, path);
    if (c != 0) {
        CHECK(strstr(err.msg, "build/assets/") && strstr(err.msg, "/usr/local/share/viclip/"),
              "message does not list the places: '%s'", err.msg);
        printf("SKIP tokenizer.find_vocab default search: %s\n", err.msg);
        return;
    }
    CHECK(strstr(path, VC_VOCAB_FILE), "found '%s'", path);
}

TEST_MAIN("tokenizer", T(known_ids), T(fixture_cases), T(invalid_utf8_matches_python_replace), T(all_queries),
          T(truncation_forces_eot), T(padding_is_zero), T(bad_arguments), T(random_bytes_never_crash),
          T(threads_share_tokenizer), T(detokenize), T(vocab_errors), T(find_vocab))
