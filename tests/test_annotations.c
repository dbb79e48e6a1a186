/* Annotation files: JSONL (caption lists, null fields), CSV (RFC 4180 quoting with commas,
 * doubled quotes and line breaks, BOM, CRLF and CR line ends, the accepted column names,
 * MSR-VTT's video_id), path resolution against the file's folder, and every malformed input:
 * the message must name the file, the line and the field or column. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/annotations.h"
#include "testutil.h"

#define DIR "build/tests/annotations"

static const char *write_bytes(const char *name, const char *bytes, size_t n) {
    static char path[256];
    mkdir("build/tests", 0755);
    mkdir(DIR, 0755);
    snprintf(path, sizeof path, DIR "/%s", name);
    return vc_test_write_file(path, bytes, n) ? NULL : path;
}

static const char *write_tmp(const char *name, const char *text) { return write_bytes(name, text, strlen(text)); }

static int same(const char *a, const char *b) { return a && b && !strcmp(a, b); }

TEST(jsonl_fields_and_paths_relative_to_the_file) {
    const char *p = write_tmp("basic.jsonl",
                              "{\"video\": \"v/a.mp4\", \"caption\": \"A dog, running!\", \"label\": \"dog\", \"start\": 0.5, \"end\": 2}\n"
                              "{\"video\": \"/abs/b.mp4\", \"caption\": \"\", \"label\": null, \"start\": null}\r\n"
                              "{\"video\": \"../up/c.webm\", \"caption\": \"\\u00e9t\\u00e9\", \"extra\": [1, 2]}\n");
    vc_annotation_set s;
    vc_error err;
    CHECK(p && vc_annotations_load(p, &s, &err) == 0, "%s", err.msg);
    CHECK(s.n == 3 && same(s.source, p), "%d clips from %s", s.n, s.source);
    const vc_annotation *a = s.items;
    CHECK(same(a[0].video, DIR "/v/a.mp4") && same(a[0].caption, "A dog, running!") && same(a[0].label, "dog"),
          "%s | %s", a[0].video, a[0].caption);
    CHECK(a[0].start == 0.5 && a[0].end == 2 && a[0].line == 1, "clip 1 range/line");
    CHECK(same(a[1].video, "/abs/b.mp4") && same(a[1].caption, "") && !a[1].label && a[1].start < 0 && a[1].end < 0 &&
              a[1].line == 2, "an absolute path is kept; null label/start are absent");
    CHECK(same(a[2].video, DIR "/../up/c.webm") && same(a[2].caption, "\xc3\xa9t\xc3\xa9") && a[2].line == 3,
          "%s | %s", a[2].video, a[2].caption);
    vc_annotations_free(&s);
    CHECK(s.n == 0 && !s.items && !s.source, "free resets the set");

    /* a file named without a folder: paths are relative to the current folder, i.e. its own */
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) && chdir(DIR) == 0, "chdir");
    int rc = vc_annotations_load("basic.jsonl", &s, &err);
    CHECK(chdir(cwd) == 0, "chdir back");
    CHECK(rc == 0, "%s", err.msg);
    CHECK(same(s.items[0].video, "v/a.mp4") && same(s.items[1].video, "/abs/b.mp4"), "%s", s.items[0].video);
    vc_annotations_free(&s);
}

TEST(jsonl_caption_lists_expand_to_one_clip_per_caption) {
    const char *p = write_tmp("list.jsonl",
                              "{\"video\": \"v/a.mp4\", \"caption\": [\"one\", \"two\", \"three\"], \"label\": \"L\", \"start\": 1, \"end\": 3.5}\n"
                              "\n"
                              "{\"video\": \"b.mp4\", \"caption\": [\"solo\"]}\n"
                              "{\"video\": \"/abs/c.mp4\", \"caption\": \"plain\", \"label\": \"cls\"}\n");
    vc_annotation_set s;
    vc_error err;
    CHECK(p && vc_annotations_load(p, &s, &err) == 0, "%s", err.msg);
    CHECK(s.n == 5, "%d clips", s.n);
    static const char *const caps[] = {"one", "two", "three", "solo", "plain"};
    static const long lines[] = {1, 1, 1, 3, 4};
    for (int i = 0; i < 5; i++)
        CHECK(same(s.items[i].caption, caps[i]) && s.items[i].line == lines[i], "clip %d: '%s' line %ld", i,
              s.items[i].caption, s.items[i].line);
    for (int i = 0; i < 3; i++)
        CHECK(same(s.items[i].video, DIR "/v/a.mp4") && same(s.items[i].label, "L") && s.items[i].start == 1 &&
                  s.items[i].end == 3.5, "caption %d of the list keeps video/label/start/end", i);
    CHECK(same(s.items[3].video, DIR "/b.mp4") && !s.items[3].label, "%s", s.items[3].video);
    CHECK(same(s.items[4].video, "/abs/c.mp4") && same(s.items[4].label, "cls"), "%s", s.items[4].video);
    vc_annotations_free(&s);
}

TEST(csv_with_quotes_newlines_bom_crlf_and_msrvtt_ids) {
    const char *p = write_tmp("msr.csv",
                              "\xef\xbb\xbfkey,video_id,Sentence,start,end\r\n"
                              "1,video7010,\"a man, a plan\",,\r\n"
                              "2,clips/x.webm,\"he said \"\"hi\"\"\nthen left\",1.5,4\r\n"
                              "\r\n"
                              "3,video12,plain,0,2\r\n"
                              "4,dir.v1/video5,\"crlf\r\ninside\",,\r\n"
                              "5,/abs/video6,\"\"\"\",,\n"
                              "6,video7,it\"s,,");
    vc_annotation_set s;
    vc_error err;
    CHECK(p && vc_annotations_load(p, &s, &err) == 0, "%s", err.msg);
    CHECK(s.n == 6, "%d clips", s.n);
    const vc_annotation *a = s.items;
    CHECK(same(a[0].video, DIR "/video7010.mp4") && same(a[0].caption, "a man, a plan"), "%s | %s", a[0].video, a[0].caption);
    CHECK(a[0].start < 0 && a[0].end < 0 && a[0].line == 2 && !a[0].label, "empty cells are absent");
    CHECK(same(a[1].video, DIR "/clips/x.webm"), "an id with an extension is kept: %s", a[1].video);
    CHECK(same(a[1].caption, "he said \"hi\"\nthen left"), "'%s'", a[1].caption);
    CHECK(a[1].start == 1.5 && a[1].end == 4 && a[1].line == 3, "range and line");
    CHECK(a[2].line == 6 && same(a[2].caption, "plain") && a[2].start == 0 && a[2].end == 2, "after a blank line");
    CHECK(same(a[3].video, DIR "/dir.v1/video5.mp4"), "a dot in a folder is no extension: %s", a[3].video);
    CHECK(same(a[3].caption, "crlf\r\ninside") && a[3].line == 7, "CRLF inside quotes is kept: line %ld", a[3].line);
    CHECK(same(a[4].video, "/abs/video6.mp4") && same(a[4].caption, "\"") && a[4].line == 9, "%s | %s", a[4].video,
          a[4].caption);
    CHECK(same(a[5].caption, "it\"s") && a[5].line == 10, "a quote inside an unquoted field is text: '%s'", a[5].caption);
    vc_annotations_free(&s);
}

TEST(csv_column_names_case_and_preference) {
    /* .CSV in capitals, CR line ends, quoted header cells, other columns ignored; video_path is
     * preferred to video_id, and ids are not given .mp4 when the path column is used */
    const char *p = write_tmp("names.CSV",
                              "\"video_id\",Title,\"Video_Path\",LABEL,notes\r"
                              "7,\"Opening, a box\",a/b,,x\r"
                              "8,second,c,\"cls, with comma\",\r");
    vc_annotation_set s;
    vc_error err;
    CHECK(p && vc_annotations_load(p, &s, &err) == 0, "%s", err.msg);
    CHECK(s.n == 2, "%d clips", s.n);
    CHECK(same(s.items[0].video, DIR "/a/b") && same(s.items[0].caption, "Opening, a box") && !s.items[0].label &&
              s.items[0].line == 2, "%s | %s | line %ld", s.items[0].video, s.items[0].caption, s.items[0].line);
    CHECK(same(s.items[1].video, DIR "/c") && same(s.items[1].label, "cls, with comma") && s.items[1].line == 3,
          "%s | line %ld", s.items[1].video, s.items[1].line);
    vc_annotations_free(&s);

    /* each file's caption column holds "yes", any other "no"; the video is v.mp4 */
    static const char *const files[] = {
        "video,caption\nv.mp4,yes\n",
        "path,text\nv.mp4,yes\n",
        "PATH,sentence\nv.mp4,yes\n",
        "text,path,caption\nno,v.mp4,yes\n",          /* caption beats text */
        "title,video_id,text\nno,v,yes\n",            /* text beats title; the id gets .mp4 */
        "video_id,path,sentence\nno,v.mp4,yes\n",     /* a path beats an id */
        "sentence,Video,video_path\nyes,v.mp4,no\n",  /* video beats video_path */
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        p = write_tmp("alias.csv", files[i]);
        CHECK(p && vc_annotations_load(p, &s, &err) == 0, "file %zu: %s", i, err.msg);
        const int ok = s.n == 1 && same(s.items[0].caption, "yes") && same(s.items[0].video, DIR "/v.mp4");
        vc_annotations_free(&s);
        CHECK(ok, "file %zu picked the wrong column: %s", i, files[i]);
    }
}

/* Loading `n` bytes as `name` must fail with a message containing every one of want[]. */
static int fails_with_bytes(const char *name, const char *bytes, size_t n, const char *const *want, char *why,
                            size_t cap) {
    const char *p = write_bytes(name, bytes, n);
    vc_annotation_set s;
    vc_error err = {{0}};
    if (!p) return snprintf(why, cap, "could not write %s", name), 0;
    if (vc_annotations_load(p, &s, &err) == 0) {
        vc_annotations_free(&s);
        return snprintf(why, cap, "%s was accepted", name), 0;
    }
    if (s.n || s.items || s.source) return snprintf(why, cap, "%s: the set is not empty after a failure", name), 0;
    for (int i = 0; want[i]; i++)
        if (!strstr(err.msg, want[i])) return snprintf(why, cap, "'%s' lacks '%s'", err.msg, want[i]), 0;
    return 1;
}

static int fails_with(const char *name, const char *text, const char *const *want, char *why, size_t cap) {
    return fails_with_bytes(name, text, strlen(text), want, why, cap);
}

#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})

TEST(malformed_jsonl_names_file_line_and_field) {
    char why[1200] = "";
    const char *ok = "{\"video\": \"a\", \"caption\": \"x\"}\n";
    char text[512];
#define LINE2(name, bad, ...)                                                                        \
    snprintf(text, sizeof text, "%s%s\n", ok, bad);                                                  \
    CHECK(fails_with(name, text, WANT(DIR "/" name ":2", __VA_ARGS__), why, sizeof why), "%s", why)
    LINE2("j1.jsonl", "{\"video\": \"a\", \"caption\": []}", "'caption'", "empty list");
    LINE2("j2.jsonl", "{\"video\": \"a\", \"caption\": [\"x\", 3]}", "'caption'", "caption 2", "not a string");
    LINE2("j3.jsonl", "{\"video\": \"a\", \"caption\": [\"x\", null]}", "'caption'", "caption 2");
    LINE2("j4.jsonl", "{\"video\": \"a\"}", "'caption'");
    LINE2("j5.jsonl", "{\"video\": \"a\", \"caption\": 5}", "'caption'");
    LINE2("j6.jsonl", "{\"caption\": \"x\"}", "'video'");
    LINE2("j7.jsonl", "{\"video\": \"\", \"caption\": \"x\"}", "'video'");
    LINE2("j8.jsonl", "{\"video\": 3, \"caption\": \"x\"}", "'video'");
    LINE2("j9.jsonl", "{\"video\": \"a\", \"caption\": \"x\", \"label\": 3}", "'label'");
    LINE2("j10.jsonl", "{\"video\": \"a\", \"caption\": \"x\", \"start\": -1}", "'start'");
    LINE2("j11.jsonl", "{\"video\": \"a\", \"caption\": \"x\", \"end\": \"5\"}", "'end'");
    LINE2("j12.jsonl", "{\"video\": \"a\", \"caption\": \"x\", \"start\": 5, \"end\": 2}", "'end'", "'start'");
    LINE2("j13.jsonl", "[\"a\", \"x\"]", "JSON object");
    LINE2("j14.jsonl", "{\"video\": \"a\", \"caption\": \"x\"", "j14.jsonl:2");
#undef LINE2
    CHECK(fails_with("j15.jsonl", "\n\n", WANT("j15.jsonl", "no annotations"), why, sizeof why), "%s", why);
    vc_annotation_set s;
    vc_error err;
    CHECK(vc_annotations_load(DIR "/no_such_file.jsonl", &s, &err) == -1 && strstr(err.msg, DIR "/no_such_file.jsonl") &&
              strstr(err.msg, "No such file"), "%s", err.msg);
}

TEST(malformed_csv_names_file_line_and_column) {
    char why[1200] = "";
    CHECK(fails_with("c1.csv", "file,description\na.mp4,x\n", WANT(DIR "/c1.csv:1", "'file', 'description'", "video", "caption"),
                     why, sizeof why), "%s", why);
    CHECK(fails_with("c2.csv", "video,label\na.mp4,x\n", WANT("c2.csv:1", "caption column", "'video', 'label'"), why, sizeof why),
          "%s", why);
    CHECK(fails_with("c3.csv", "video,caption\na.mp4,x\nb.mp4,y,z\n", WANT("c3.csv:3", "3 fields", "header has 2"), why, sizeof why),
          "%s", why);
    CHECK(fails_with("c4.csv", "video,caption,Start\na.mp4,x,soon\n", WANT("c4.csv:2", "column 'Start'", "'soon'"), why, sizeof why),
          "%s", why);
    CHECK(fails_with("c5.csv", "video,caption,end\na.mp4,x,inf\n", WANT("c5.csv:2", "column 'end'"), why, sizeof why), "%s", why);
    CHECK(fails_with("c6.csv", "video,caption,start\na.mp4,x,-2\n", WANT("c6.csv:2", "column 'start'", "non-negative"), why, sizeof why),
          "%s", why);
    CHECK(fails_with("c7.csv", "video,caption,start,end\na.mp4,x,3,1\n", WANT("c7.csv:2", "'end'", "'start'"), why, sizeof why),
          "%s", why);
    /* syntax errors: the record's first line, the column by its header name, the physical line */
    CHECK(fails_with("c8.csv", "video,caption\na.mp4,x\nb.mp4,\"never\nclosed\n",
                     WANT("c8.csv:3", "column 'caption'", "opened on line 3 is never closed"), why, sizeof why), "%s", why);
    CHECK(fails_with("c9.csv", "video,caption\na.mp4,\"two\nlines\"y\n",
                     WANT("c9.csv:2", "column 'caption'", "closing quote", "on line 3"), why, sizeof why), "%s", why);
    CHECK(fails_with("c10.csv", "video,caption\n\"a\" ,x\n", WANT("c10.csv:2", "column 'video'", "closing quote"), why, sizeof why),
          "%s", why);
    CHECK(fails_with("c11.csv", "video,caption\na.mp4,x,\"y\"z\n", WANT("c11.csv:2", "field 3", "closing quote"), why, sizeof why),
          "%s", why);
    CHECK(fails_with_bytes("c12.csv", "video,caption\na.mp4,x\0y\n", 23, WANT("c12.csv:2", "column 'caption'", "NUL"), why,
                           sizeof why), "%s", why);
    CHECK(fails_with("c13.csv", "video_id,caption\n\"\",x\n", WANT("c13.csv:2", "column 'video_id'", "empty"), why, sizeof why),
          "%s", why);
    CHECK(fails_with("c14.csv", "\xef\xbb\xbfvideo,caption\r\n", WANT("c14.csv", "no annotations"), why, sizeof why), "%s", why);
    CHECK(fails_with("c15.csv", "", WANT("c15.csv", "no annotations"), why, sizeof why), "%s", why);
}

TEST(read_lines_skips_blank_lines_and_line_ends) {
    const char *p = write_tmp("lines.txt", "dog\r\n\n  cat  \nbird");
    char **lines;
    int n;
    vc_error err;
    CHECK(p && vc_read_lines(p, &lines, &n, &err) == 0, "%s", err.msg);
    const int ok = n == 3 && same(lines[0], "dog") && same(lines[1], "  cat  ") && same(lines[2], "bird");
    vc_free_lines(lines, n);
    CHECK(ok, "%d lines", n);
    p = write_tmp("empty.txt", "\n\r\n");
    CHECK(p && vc_read_lines(p, &lines, &n, &err) == -1 && strstr(err.msg, "empty.txt") && strstr(err.msg, "no lines"),
          "%s", err.msg);
}

TEST_MAIN("annotations", T(jsonl_fields_and_paths_relative_to_the_file), T(jsonl_caption_lists_expand_to_one_clip_per_caption),
          T(csv_with_quotes_newlines_bom_crlf_and_msrvtt_ids), T(csv_column_names_case_and_preference),
          T(malformed_jsonl_names_file_line_and_field), T(malformed_csv_names_file_line_and_column),
          T(read_lines_skips_blank_lines_and_line_ends))
