/* The annotation files of public data sets, read unchanged: small files in their published
 * layouts (tests/fixtures/annotations, written by hand from the data sets' documentation),
 * automatic detection and --format, --video-root, file-name patterns, and errors that name the
 * file, the line and the field. */
#include <string.h>
#include <sys/stat.h>

#include <unistd.h>

#include "io/annotations.h"
#include "model/model_io.h"
#include "testutil.h"

#define FIX "tests/fixtures/annotations/"
#define TMP "build/tests/annotation_formats"

static int same(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static int load(const char *path, vc_annotation_format f, const char *root, const char *pattern, vc_annotation_set *s,
                vc_error *err) {
    vc_annotation_opts o = {f, root, pattern};
    return vc_annotations_load_opts(path, &o, s, err);
}

static const char *write_tmp(const char *name, const char *text) {
    static char path[256];
    mkdir("build/tests", 0755);
    mkdir(TMP, 0755);
    snprintf(path, sizeof path, TMP "/%s", name);
    return vc_test_write_file(path, text, strlen(text)) ? NULL : path;
}

TEST(internvid_jsonl_youtube_ids_and_hms_timestamps) {
    vc_annotation_set s;
    vc_error err;
    CHECK(load(FIX "InternVid-10M-FLT-sample.jsonl", VC_ANN_AUTO, "/data/internvid", NULL, &s, &err) == 0, "%s", err.msg);
    CHECK(s.n == 3, "%d clips", s.n);
    const vc_annotation *a = s.items;
    CHECK(same(a[0].video, "/data/internvid/-0aJ1kk_lzA.mp4") && same(a[0].caption, "a man is cutting wood with a chainsaw"),
          "%s | %s", a[0].video, a[0].caption);
    CHECK(fabs(a[0].start - 453.689) < 1e-9 && fabs(a[0].end - 471.085) < 1e-9, "%.6f %.6f", a[0].start, a[0].end);
    CHECK(fabs(a[2].start - 3723.5) < 1e-9 && a[2].end == 3730 && a[2].line == 3 && !a[2].label, "%.6f %.6f", a[2].start,
          a[2].end);
    vc_annotations_free(&s);
    /* clips already cut to {id}_{start}_{end}.mp4: the pattern names the times, so they are not applied again */
    CHECK(load(FIX "InternVid-10M-FLT-sample.jsonl", VC_ANN_INTERNVID, "clips/", "{id}_{start}_{end}.mp4", &s, &err) == 0,
          "%s", err.msg);
    CHECK(same(s.items[1].video, "clips/-0aJ1kk_lzA_00:00:02.002_00:00:05.005.mp4") && s.items[1].start < 0 &&
              s.items[1].end < 0, "%s %g", s.items[1].video, s.items[1].start);
    vc_annotations_free(&s);
}

TEST(msrvtt_data_json_one_clip_per_sentence) {
    vc_annotation_set s;
    vc_error err;
    CHECK(load(FIX "MSRVTT_data.json", VC_ANN_AUTO, "/d/msrvtt/videos/all", NULL, &s, &err) == 0, "%s", err.msg);
    CHECK(s.n == 3, "%d clips", s.n);
    CHECK(same(s.items[0].video, "/d/msrvtt/videos/all/video0.mp4") && same(s.items[0].caption, "a car is shown"), "%s",
          s.items[0].video);
    CHECK(same(s.items[1].video, "/d/msrvtt/videos/all/video1.mp4") && same(s.items[2].video, s.items[0].video) &&
              same(s.items[2].caption, "an old car is being driven") && s.items[2].start < 0,
          "%s", s.items[2].video);
    vc_annotations_free(&s);
}

TEST(msrvtt_1ka_test_csv_reads_as_plain_csv) {
    vc_annotation_set s;
    vc_error err;
    CHECK(load(FIX "MSRVTT_JSFUSION_test.csv", VC_ANN_AUTO, "/d/msrvtt", NULL, &s, &err) == 0, "%s", err.msg);
    CHECK(s.n == 2 && same(s.items[0].video, "/d/msrvtt/video7579.mp4") &&
              same(s.items[1].caption, "young people sitting on a couch"), "%d %s", s.n, s.n ? s.items[0].video : "");
    vc_annotations_free(&s);
}

TEST(kinetics_csv_cut_clip_names_and_labels) {
    vc_annotation_set s;
    vc_error err;
    CHECK(load(FIX "kinetics400_val.csv", VC_ANN_AUTO, "k400/val", NULL, &s, &err) == 0, "%s", err.msg);
    CHECK(s.n == 3, "%d clips", s.n);
    CHECK(same(s.items[0].video, "k400/val/--07WQ2iBlw_000001_000011.mp4") && same(s.items[0].label, "abseiling") &&
              same(s.items[0].caption, "abseiling") && s.items[0].start < 0 && s.items[0].line == 2,
          "%s", s.items[0].video);
    CHECK(same(s.items[1].video, "k400/val/-0NLYx7lpH0_000015_000025.mp4") && same(s.items[1].label, "air drumming"), "%s",
          s.items[1].video);
    vc_annotations_free(&s);
    /* whole YouTube videos: {id}.mp4, and the segment is cut at decoding */
    CHECK(load(FIX "kinetics400_val.csv", VC_ANN_KINETICS, NULL, "{id}.mp4", &s, &err) == 0, "%s", err.msg);
    CHECK(same(s.items[2].video, FIX "zzzzE0ncP1Y.mp4") && s.items[2].start == 120 && s.items[2].end == 130, "%s %g",
          s.items[2].video, s.items[2].start);
    vc_annotations_free(&s);
}

TEST(webvid_csv_page_dir_and_name) {
    vc_annotation_set s;
    vc_error err;
    CHECK(load(FIX "webvid_results_10M_val.csv", VC_ANN_AUTO, "/w/videos", NULL, &s, &err) == 0, "%s", err.msg);
    CHECK(s.n == 2 && same(s.items[0].video, "/w/videos/001001_001050/1066674784.mp4") &&
              same(s.items[0].caption, "Aerial view, city at night") && !s.items[0].label,
          "%d %s", s.n, s.n ? s.items[0].video : "");
    vc_annotations_free(&s);
}

TEST(errors_name_file_line_and_field) {
    vc_annotation_set s;
    vc_error err;
    const char *p = write_tmp("iv.jsonl", "{\"YoutubeID\": \"a\", \"Start_timestamp\": \"00:00:01.000\", \"End_timestamp\": "
                                          "\"00:00:02.000\", \"Caption\": \"x\"}\n"
                                          "{\"YoutubeID\": \"b\", \"Start_timestamp\": \"1:5\", \"End_timestamp\": "
                                          "\"00:00:02.000\", \"Caption\": \"y\"}\n");
    CHECK(p && load(p, VC_ANN_AUTO, NULL, NULL, &s, &err) == -1 && strstr(err.msg, "iv.jsonl:2:") &&
              strstr(err.msg, "'Start_timestamp'") && strstr(err.msg, "'1:5'"), "%s", err.msg);
    p = write_tmp("k.csv", "label,youtube_id,time_start,time_end,split\nyoga,abc,10,x,val\n");
    CHECK(p && load(p, VC_ANN_AUTO, NULL, NULL, &s, &err) == -1 && strstr(err.msg, "k.csv:2:") &&
              strstr(err.msg, "'time_end'") && strstr(err.msg, "'x'"), "%s", err.msg);
    p = write_tmp("k2.csv", "label,youtube_id,time_start,time_end,split\nyoga,,10,20,val\n");
    CHECK(p && load(p, VC_ANN_AUTO, NULL, NULL, &s, &err) == -1 && strstr(err.msg, "k2.csv:2:") &&
              strstr(err.msg, "'youtube_id' is empty"), "%s", err.msg);
    p = write_tmp("k3.csv", "label,youtube_id,time_start,time_end,split\nyoga,abc,30,20,val\n");
    CHECK(p && load(p, VC_ANN_AUTO, NULL, NULL, &s, &err) == -1 && strstr(err.msg, "k3.csv:2:") &&
              strstr(err.msg, "must be after"), "%s", err.msg);
    /* an explicit format whose columns the file lacks */
    CHECK(load(FIX "webvid_results_10M_val.csv", VC_ANN_KINETICS, NULL, NULL, &s, &err) == -1 &&
              strstr(err.msg, "webvid_results_10M_val.csv:1:") && strstr(err.msg, "'youtube_id' missing"), "%s", err.msg);
    /* a pattern naming a field the record does not have */
    CHECK(load(FIX "kinetics400_val.csv", VC_ANN_AUTO, NULL, "{nope}.mp4", &s, &err) == -1 &&
              strstr(err.msg, "kinetics400_val.csv:2:") && strstr(err.msg, "'nope'"), "%s", err.msg);
    CHECK(load(FIX "kinetics400_val.csv", VC_ANN_AUTO, NULL, "{label:06d}.mp4", &s, &err) == -1 &&
              strstr(err.msg, "'label'") && strstr(err.msg, "not an integer"), "%s", err.msg);
    p = write_tmp("m.json", "{\"videos\": [], \"sentences\": [{\"video_id\": \"video1\", \"caption\": \"a\"}, {\"video_id\": 3}]}");
    CHECK(p && load(p, VC_ANN_AUTO, NULL, NULL, &s, &err) == -1 && strstr(err.msg, "m.json: sentences[1]") &&
              strstr(err.msg, "'video_id'"), "%s", err.msg);
    vc_annotation_format f;
    CHECK(vc_annotation_format_parse("kinetics", &f, &err) == 0 && f == VC_ANN_KINETICS, "parse");
    CHECK(vc_annotation_format_parse("k400", &f, &err) == -1 && strstr(err.msg, "'k400'"), "%s", err.msg);
}

TEST(viclip_files_are_unchanged_by_detection) {
    vc_annotation_set s;
    vc_error err;
    const char *p = write_tmp("own.jsonl", "{\"video\": \"a.mp4\", \"caption\": \"x\", \"start\": 1, \"end\": 2}\n");
    CHECK(p && load(p, VC_ANN_AUTO, "/root", "{id}.mp4", &s, &err) == 0, "%s", err.msg);
    CHECK(s.n == 1 && same(s.items[0].video, "/root/a.mp4") && s.items[0].start == 1, "%s", s.items[0].video);
    vc_annotations_free(&s);
}

/* The commands take the files as published: eval finds Kinetics' cut clips under --video-root
 * by the default pattern, and an explicit --format that does not fit is a file:line error. */
TEST(eval_reads_a_kinetics_csv_with_video_root) {
    SKIP_WITHOUT_VIDEO();
    vc_error err;
    vc_config c = vc_config_preset(VC_PRESET_DEMO);
    vc_model *m = vc_model_new(&c, &err);
    CHECK(m, "%s", err.msg);
    vc_model_init_random(m, 3, 0.01);
    mkdir("build/tests", 0755);
    mkdir(TMP, 0755);
    mkdir(TMP "/k400", 0755);
    int rc = vc_model_save(m, TMP "/m.safetensors", VC_DT_F32, &err);
    vc_model_free(m);
    CHECK(rc == 0, "%s", err.msg);
    char cwd[1024], src[1200];
    CHECK(getcwd(cwd, sizeof cwd), "getcwd");
    snprintf(src, sizeof src, "%s/tests/fixtures/video/h264.mp4", cwd);
    const char *clips[] = {TMP "/k400/--07WQ2iBlw_000001_000011.mp4", TMP "/k400/-0NLYx7lpH0_000015_000025.mp4",
                           TMP "/k400/zzzzE0ncP1Y_000120_000130.mp4"};
    for (int i = 0; i < 3; i++) {
        unlink(clips[i]);
        CHECK(symlink(src, clips[i]) == 0, "symlink %s", clips[i]);
    }
    const char *labels = write_tmp("k400_labels.txt", "abseiling\nair drumming\nzumba\n");
    CHECK(labels, "labels");
    char out[8192];
    rc = vc_test_run("build/viclip eval classify --model " TMP "/m.safetensors --annotations " FIX "kinetics400_val.csv "
                     "--video-root " TMP "/k400 --labels " TMP "/k400_labels.txt --json -j 1", 0, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"n_zeroshot_clips\":3") && strstr(out, "\"n_skipped\":0"), "exit %d: %s", rc, out);
    rc = vc_test_run("build/viclip eval classify --model " TMP "/m.safetensors --annotations " FIX "kinetics400_val.csv "
                     "--format webvid --labels " TMP "/k400_labels.txt", 1, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "kinetics400_val.csv:1:") && strstr(out, "'videoid' missing"), "exit %d: %s", rc, out);
    rc = vc_test_run("build/viclip eval --model " TMP "/m.safetensors --annotations x.csv --format k400", 1, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "'k400'"), "exit %d: %s", rc, out);
}

TEST_MAIN("annotation_formats", T(internvid_jsonl_youtube_ids_and_hms_timestamps), T(msrvtt_data_json_one_clip_per_sentence),
          T(msrvtt_1ka_test_csv_reads_as_plain_csv), T(kinetics_csv_cut_clip_names_and_labels), T(webvid_csv_page_dir_and_name),
          T(errors_name_file_line_and_field), T(viclip_files_are_unchanged_by_detection),
          T(eval_reads_a_kinetics_csv_with_video_root))
