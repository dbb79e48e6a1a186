/* viclip serve on loopback: the JSON API, thumbnails, byte ranges of indexed videos only, bad
 * requests answered with a 4xx (never a crash), slow clients dropped, concurrent requests,
 * and the page in headless Chromium (skipped visibly when chromium is absent): it runs a
 * query and must show result cards whose thumbnails loaded; the screenshot goes to
 * build/serve_ui.png. Every request is bounded: 127.0.0.1 only, 10 s receive timeout. */
#include <arpa/inet.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "io/json.h"
#include "model/model_io.h"
#include "testutil.h"
#include "tiny_model.h"

#define DIR "build/tests/serve"
#define VID "tests/fixtures/video"
#define MODEL DIR "/model.safetensors"

static int port = 0, server_pid = 0;

static void stop_server(void) {
    if (server_pid > 0) kill(server_pid, SIGTERM);
}

/* Builds an index of two videos in windows and starts the server on a free port. */
static int start(void) {
    if (port) return 0;
    char out[8192];
    mkdir("build/tests", 0755);
    if (vc_test_run("rm -rf " DIR " && mkdir -p " DIR, 1, out, sizeof out)) return -1;
    if (vc_test_save_tiny_model(MODEL, 7) || vc_test_run("build/viclip encode -m " MODEL " --video " VID "/h264.mp4 --video " VID "/vp9.webm --window 1 "
                          "--stride 0.5 --out " DIR "/index", 1, out, sizeof out))
        return fprintf(stderr, "%s\n", out), -1;
    FILE *p = popen("sh -c 'echo $$; exec build/viclip serve -m " MODEL " --index " DIR "/index --port 0 --timeout 1 "
                    "--http-threads 4 --max-body-kb 16'", "r");
    if (!p) return -1;
    char line[512];
    if (!fgets(line, sizeof line, p)) return -1;
    server_pid = atoi(line);
    atexit(stop_server);
    if (!fgets(line, sizeof line, p)) return -1;
    const char *at = strstr(line, "127.0.0.1:");
    port = at ? atoi(at + 10) : 0;
    return port > 0 ? 0 : -1;
}

static int connect_local(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) return close(fd), -1;
    return fd;
}

typedef struct reply {
    int status;
    char head[4096];
    char *body; /* NUL-terminated */
    size_t n;
} reply;

/* Sends raw request bytes and reads the reply until the server closes (Connection: close). */
static int request(const char *raw, size_t raw_n, reply *r) {
    memset(r, 0, sizeof *r);
    int fd = connect_local();
    if (fd < 0) return -1;
    if (send(fd, raw, raw_n, MSG_NOSIGNAL) != (ssize_t)raw_n) return close(fd), -1;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    ssize_t got;
    while (n < cap && (got = recv(fd, buf + n, cap - n, 0)) > 0) n += (size_t)got;
    close(fd);
    buf[n] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    if (!end || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) return free(buf), -1;
    snprintf(r->head, sizeof r->head, "%.*s", (int)(end - buf), buf);
    r->n = n - (size_t)(end + 4 - buf);
    r->body = malloc(r->n + 1);
    memcpy(r->body, end + 4, r->n);
    r->body[r->n] = 0;
    free(buf);
    return 0;
}

static int get(const char *path, const char *extra, reply *r) {
    char raw[2048];
    int n = snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", path, extra ? extra : "");
    return request(raw, (size_t)n, r);
}

static int post(const char *path, const char *body, reply *r) {
    char raw[8192];
    int n = snprintf(raw, sizeof raw, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: "
                     "application/json\r\nContent-Length: %zu\r\n\r\n%s", path, strlen(body), body);
    return request(raw, (size_t)n, r);
}

TEST(api_answers_health_search_thumbnails_and_classify) {
    CHECK(start() == 0, "could not start the server");
    reply r;
    CHECK(get("/api/health", NULL, &r) == 0 && r.status == 200 && strstr(r.body, "\"ok\""), "health: %d %s", r.status, r.body);
    CHECK(strstr(r.body, "\"n_windows\":9"), "5 + 4 windows expected: %s", r.body); /* 3 s and 2.5 s videos */
    free(r.body);
    CHECK(get("/api/search?q=a%20test%20pattern&k=3", NULL, &r) == 0 && r.status == 200, "search: %d", r.status);
    vc_error err;
    vc_json *j = vc_json_parse(r.body, r.n, &err);
    CHECK(j, "search body is not JSON: %s", r.body);
    const vc_json *res = vc_json_get(vc_json_get(j, "moments"), "results"), *links = vc_json_get(j, "links");
    int n = (int)vc_json_len(res), ok = n >= 1 && n <= 3 && vc_json_len(links) == (size_t)n;
    char thumb[64] = "";
    double prev = INFINITY;
    for (int i = 0; ok && i < n; i++) {
        double s = vc_json_number(vc_json_get(vc_json_at(res, (size_t)i), "score"));
        ok = s <= prev && vc_json_get(vc_json_at(res, (size_t)i), "start") && vc_json_get(vc_json_at(res, (size_t)i), "end");
        prev = s;
    }
    if (ok) snprintf(thumb, sizeof thumb, "%s", vc_json_string(vc_json_get(vc_json_at(links, 0), "thumb")));
    vc_json_free(j);
    CHECK(ok, "1-3 sorted moments with start, end and links expected: %s", r.body);
    free(r.body);
    CHECK(get(thumb, NULL, &r) == 0 && r.status == 200 && r.n > 100 && (unsigned char)r.body[0] == 0xFF &&
              (unsigned char)r.body[1] == 0xD8 && strstr(r.head, "image/jpeg"), "thumbnail %s: %d, %zu bytes", thumb, r.status, r.n);
    free(r.body);
    CHECK(post("/api/classify", "{\"labels\":[\"pattern\",\"noise\"],\"rows\":[0,3]}", &r) == 0 && r.status == 200, "classify: %d %s", r.status, r.body);
    j = vc_json_parse(r.body, r.n, &err);
    res = j ? vc_json_get(j, "results") : NULL;
    ok = res && vc_json_len(res) == 2 && vc_json_len(vc_json_get(vc_json_at(res, 0), "scores")) == 2;
    vc_json_free(j);
    CHECK(ok, "two rows with two scores each expected: %s", r.body);
    free(r.body);
}

TEST(videos_are_served_with_ranges_and_only_from_the_index) {
    CHECK(start() == 0, "could not start the server");
    size_t size = 0;
    unsigned char *file = vc_test_read_file(VID "/h264.mp4", &size);
    CHECK(file && size > 100, "fixture");
    reply r;
    CHECK(get("/video/0", "Range: bytes=10-49\r\n", &r) == 0 && r.status == 206 && r.n == 40 && !memcmp(r.body, file + 10, 40),
          "range: %d, %zu bytes", r.status, r.n);
    char want[64];
    snprintf(want, sizeof want, "bytes 10-49/%zu", size);
    CHECK(strstr(r.head, want) && strstr(r.head, "video/mp4"), "headers: %s", r.head);
    free(r.body);
    CHECK(get("/video/0", "Range: bytes=-16\r\n", &r) == 0 && r.status == 206 && r.n == 16 && !memcmp(r.body, file + size - 16, 16),
          "suffix range: %d", r.status);
    free(r.body);
    CHECK(get("/video/0", NULL, &r) == 0 && r.status == 200 && r.n == size && !memcmp(r.body, file, size), "whole file: %d", r.status);
    free(r.body);
    CHECK(get("/video/0", "Range: bytes=999999-\r\n", &r) == 0 && r.status == 416, "past the end: %d", r.status);
    free(r.body), free(file);
    const char *outside[] = {"/video/2", "/video/-1", "/video/../index.json", "/video/%2e%2e%2fetc%2fpasswd", "/video/0/..",
                             "/video/1x", "/thumb/99.jpg", "/thumb/../../etc/passwd", "/etc/passwd", "/build/viclip", "/api/nope"};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        CHECK(get(outside[i], NULL, &r) == 0 && r.status == 404, "%s: %d %s", outside[i], r.status, r.body);
        free(r.body);
    }
}

TEST(bad_requests_get_a_4xx_and_the_server_lives_on) {
    CHECK(start() == 0, "could not start the server");
    reply r;
    const char *bad_get[] = {"/api/search", "/api/search?q=", "/api/search?q=x&k=abc", "/api/search?q=x&k=0",
                             "/api/search?q=x&k=100000", "/api/search?q=%FF%FE"};
    for (size_t i = 0; i < sizeof bad_get / sizeof bad_get[0]; i++) {
        CHECK(get(bad_get[i], NULL, &r) == 0 && r.status == 400 && strstr(r.body, "error"), "%s: %d %s", bad_get[i], r.status, r.body);
        free(r.body);
    }
    const char *bad_post[] = {"", "{", "[1,2]", "{\"labels\":[],\"rows\":[0]}", "{\"labels\":[\"a\"],\"rows\":[99999]}",
                              "{\"labels\":[\"a\"],\"rows\":[0.5]}", "{\"labels\":[7],\"rows\":[0]}"};
    for (size_t i = 0; i < sizeof bad_post / sizeof bad_post[0]; i++) {
        CHECK(post("/api/classify", bad_post[i], &r) == 0 && r.status == 400, "body '%s': %d %s", bad_post[i], r.status, r.body);
        free(r.body);
    }
    CHECK(get("/api/classify", NULL, &r) == 0 && r.status == 405, "GET classify: %d", r.status);
    free(r.body);
    const char *put = "PUT /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    CHECK(request(put, strlen(put), &r) == 0 && r.status == 405, "PUT: %d", r.status);
    free(r.body);
    /* a declared 10 MB body is refused before it is sent */
    const char *huge = "POST /api/classify HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 10000000\r\n\r\n";
    CHECK(request(huge, strlen(huge), &r) == 0 && r.status == 413, "huge body: %d", r.status);
    free(r.body);
    /* a chunked body over the limit: a 4xx or the connection closed, and nothing else */
    char chunked[40000];
    int n = snprintf(chunked, sizeof chunked, "POST /api/classify HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n7530\r\n");
    memset(chunked + n, 'a', 30000);
    n += 30000;
    n += snprintf(chunked + n, sizeof chunked - n, "\r\n0\r\n\r\n");
    int rc = request(chunked, (size_t)n, &r);
    CHECK(rc != 0 || (r.status >= 400 && r.status < 500), "chunked oversize body: %d", r.status);
    if (!rc) free(r.body);
    CHECK(request("garbage\r\n\r\n", 11, &r) != 0 || (r.status >= 400 && r.status < 500), "garbage: %d", r.status);
    if (r.body) free(r.body);
    CHECK(get("/api/health", NULL, &r) == 0 && r.status == 200, "the server must still answer: %d", r.status);
    free(r.body);
}

TEST(a_slow_client_is_dropped) {
    CHECK(start() == 0, "could not start the server");
    int fd = connect_local();
    CHECK(fd >= 0, "connect");
    send(fd, "GET /api/hea", 12, MSG_NOSIGNAL); /* then nothing: the server's timeout is 1 s */
    char buf[256];
    ssize_t got = recv(fd, buf, sizeof buf, 0); /* returns when the server closes (or after our 10 s) */
    close(fd);
    CHECK(got <= 0 || !strncmp(buf, "HTTP/1.1 4", 10), "the server kept a half-sent request: %zd bytes", got);
    reply r;
    CHECK(get("/api/health", NULL, &r) == 0 && r.status == 200, "health after: %d", r.status);
    free(r.body);
}

static void *hammer(void *arg) {
    int *ok = arg;
    for (int i = 0; i < 10; i++) {
        reply r;
        if (get(i % 2 ? "/api/search?q=noise&k=5" : "/api/health", NULL, &r) == 0 && r.status == 200) (*ok)++;
        free(r.body);
    }
    return NULL;
}

TEST(concurrent_requests_all_succeed) {
    CHECK(start() == 0, "could not start the server");
    pthread_t t[8];
    int ok[8] = {0}, total = 0;
    for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, hammer, &ok[i]);
    for (int i = 0; i < 8; i++) pthread_join(t[i], NULL), total += ok[i];
    CHECK(total == 80, "%d of 80 concurrent requests succeeded", total);
}

TEST(the_page_shows_result_cards_with_thumbnails_in_chromium) {
    CHECK(start() == 0, "could not start the server");
    char out[1 << 16];
    if (vc_test_run("command -v chromium", 0, out, sizeof out) != 0) {
        printf("SKIP serve.chromium: chromium is not installed (apt-get install chromium)\n");
        return;
    }
    char cmd[1024];
    const char *flags = "--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars "
                        "--user-data-dir=" DIR "/chromium --virtual-time-budget=10000";
    snprintf(cmd, sizeof cmd, "timeout 60 chromium %s --dump-dom 'http://127.0.0.1:%d/?q=a%%20test%%20pattern'", flags, port);
    int rc = vc_test_run(cmd, 0, out, sizeof out);
    int cards = 0, loaded = 0;
    for (const char *p = out; (p = strstr(p, "class=\"card\"")); p++) cards++;
    for (const char *p = out; (p = strstr(p, "data-thumb=\"loaded\"")); p++) loaded++;
    CHECK(rc == 0 && cards >= 1 && loaded == cards, "chromium exit %d: %d cards, %d thumbnails loaded", rc, cards, loaded);
    snprintf(cmd, sizeof cmd, "timeout 60 chromium %s --window-size=1280,800 --screenshot=build/serve_ui.png "
             "'http://127.0.0.1:%d/?q=a%%20test%%20pattern' 2>&1", flags, port);
    rc = vc_test_run(cmd, 0, out, sizeof out);
    struct stat sb;
    CHECK(rc == 0 && stat("build/serve_ui.png", &sb) == 0 && sb.st_size > 5000, "screenshot: exit %d", rc);
}

TEST_MAIN("serve", T(api_answers_health_search_thumbnails_and_classify), T(videos_are_served_with_ranges_and_only_from_the_index),
          T(bad_requests_get_a_4xx_and_the_server_lives_on), T(a_slow_client_is_dropped), T(concurrent_requests_all_succeed),
          T(the_page_shows_result_cards_with_thumbnails_in_chromium))
