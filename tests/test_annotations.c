/* Annotation files: JSONL with caption lists, CSV with quoting, embedded newlines, a BOM, CRLF
 * and MSR-VTT's video_id column; every malformed input names file, line and field. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/annotations.h"
#include "testutil.h"

#define DIR "build/tests/annotations"

static const char *write_tmp(const char *name, const char *text) {
    static char path[256];
    mkdir("build/tests", 0755);
    mkdir(DIR, 0755);
    snprintf(path, sizeof path, DIR "/%s", name);
    return vc_test_write_file(path, text, strlen(text)) ? NULL : path;
}

TEST(jsonl_caption_lists_expand_to_one_clip_per_caption) {
    const char *p = write_tmp("list.jsonl",
                              "{\"video\": \"v/a.mp4\", \"caption\": [\"one\", \"two\"], \"start\": 1, \"end\": 3.5}\n"
                              "\n"
                              "{\"video\": \"/abs/b.mp4\", \"caption\": \"three\", \"label\": \"cls\"}\n");
    vc_annotation_set s;
    vc_error err;
    CHECK(p && vc_annotations_load(p, &s, &err) == 0, "%s", err.msg);
    CHECK(s.n == 3, "%d clips", s.n);
    CHECK(!strcmp(s.items[0].video, DIR "/v/a.mp4") && !strcmp(s.items[1].video, DIR "/v/a.mp4"), "%s", s.items[0].video);
    CHECK(!strcmp(s.items[0].caption, "one") && !strcmp(s.items[1].caption, "two"), "captions");
    CHECK(s.items[1].start == 1 && s.items[1].end == 3.5 && s.items[1].line == 1, "range/line of the 2nd caption");
    CHECK(!strcmp(s.items[2].video, "/abs/b.mp4") && !strcmp(s.items[2].label, "cls") && s.items[2].start < 0 &&
              s.items[2].line == 3, "third clip");
    vc_annotations_free(&s);
}

TEST(csv_with_quotes_newlines_bom_crlf_and_msrvtt_ids) {
    const char *p = write_tmp("msr.csv",
                              "\xef\xbb\xbfkey,video_id,Sentence,start,end\r\n"
                              "1,video7010,\"a man, a plan\",,\r\n"
                              "2,clips/x.webm,\"he said \"\"hi\"\"\nthen left\",1.5,4\r\n"
                              "\r\n"
                              "3,video12,plain,0,2");
    vc_annotation_set s;
    vc_error err;
    CHECK(p && vc_annotations_load(p, &s, &err) == 0, "%s", err.msg);
    CHECK(s.n == 3, "%d clips", s.n);
    CHECK(!strcmp(s.items[0].video, DIR "/video7010.mp4") && !strcmp(s.items[0].caption, "a man, a plan"),
          "%s | %s", s.items[0].video, s.items[0].caption);
    CHECK(s.items[0].start < 0 && s.items[0].end < 0 && s.items[0].line == 2, "empty cells are absent");
    CHECK(!strcmp(s.items[1].video, DIR "/clips/x.webm"), "an id with an extension is kept: %s", s.items[1].video);
    CHECK(!strcmp(s.items[1].caption, "he said \"hi\"\nthen left"), "'%s'", s.items[1].caption);
    CHECK(s.items[1].start == 1.5 && s.items[1].end == 4 && s.items[1].line == 3, "range and line");
    CHECK(s.items[2].line == 6 && !strcmp(s.items[2].caption, "plain") && s.items[2].end == 2, "last record (no newline)");
    vc_annotations_free(&s);
}

/* Loading `text` as `name` must fail with a message containing every one of want[]. */
static int fails_with(const char *name, const char *text, const char *const *want, char *why, size_t cap) {
    const char *p = write_tmp(name, text);
    vc_annotation_set s;
    vc_error err;
    if (!p) return snprintf(why, cap, "could not write %s", name), 0;
    if (vc_annotations_load(p, &s, &err) == 0) {
        vc_annotations_free(&s);
        return snprintf(why, cap, "%s was accepted", name), 0;
    }
    for (int i = 0; want[i]; i++)
        if (!strstr(err.msg, want[i])) return snprintf(why, cap, "'%s' lacks '%s'", err.msg, want[i]), 0;
    return 1;
}

TEST(malformed_files_name_file_line_and_field) {
    char why[1200] = "";
    CHECK(fails_with("e1.jsonl", "{\"video\": \"a\", \"caption\": []}\n", (const char *[]){"e1.jsonl:1", "empty list", NULL}, why, sizeof why), "%s", why);
    CHECK(fails_with("e2.jsonl", "{\"video\": \"a\", \"caption\": \"x\"}\n{\"video\": \"a\", \"caption\": [\"x\", 3]}\n",
                     (const char *[]){"e2.jsonl:2", "caption 2", NULL}, why, sizeof why), "%s", why);
    CHECK(fails_with("e3.jsonl", "{\"video\": \"a\", \"caption\": \"x\", \"start\": 5, \"end\": 2}\n",
                     (const char *[]){"e3.jsonl:1", "'end'", NULL}, why, sizeof why), "%s", why);
    CHECK(fails_with("e4.csv", "file,description\na.mp4,x\n", (const char *[]){"e4.csv:1", "'file', 'description'", NULL}, why, sizeof why), "%s", why);
    CHECK(fails_with("e5.csv", "video,caption\na.mp4,x\nb.mp4,y,z\n", (const char *[]){"e5.csv:3", "3 fields", NULL}, why, sizeof why), "%s", why);
    CHECK(fails_with("e6.csv", "video,caption,start\na.mp4,x,soon\n", (const char *[]){"e6.csv:2", "'start'", "soon", NULL}, why, sizeof why), "%s", why);
    CHECK(fails_with("e7.csv", "video,caption\na.mp4,\"never closed\n", (const char *[]){"e7.csv:2", "never closed", NULL}, why, sizeof why), "%s", why);
    CHECK(fails_with("e8.csv", "video,caption\na.mp4,\"x\"y\n", (const char *[]){"e8.csv:2", "closing quote", NULL}, why, sizeof why), "%s", why);
    CHECK(fails_with("e9.csv", "video,caption\n", (const char *[]){"e9.csv", "no annotations", NULL}, why, sizeof why), "%s", why);
    CHECK(fails_with("e10.csv", "video,caption\n,x\n", (const char *[]){"e10.csv:2", "empty video", NULL}, why, sizeof why), "%s", why);
}

TEST_MAIN("annotations", T(jsonl_caption_lists_expand_to_one_clip_per_caption),
          T(csv_with_quotes_newlines_bom_crlf_and_msrvtt_ids), T(malformed_files_name_file_line_and_field))
