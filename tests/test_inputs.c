/* Inputs that must be refused or survive (issue "Nothing lost, nothing silent"): an output path
 * that is one of the command's inputs, stale temp files of interrupted writes, integers that
 * would wrap (config fields, flags, checkpoint metadata), class names and templates that mean
 * nothing, a labels path that is a folder, the float32 clip `viclip frames` writes fed back to
 * classify and encode --video, and vc_exp on NaN (undefined behaviour before; `make asan`). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/checked_int.h"
#include "eval/templates.h"
#include "io/annotations.h"
#include "io/atomic_file.h"
#include "io/fs.h"
#include "io/npy.h"
#include "kernels/fastmath.h"
#include "model/config.h"
#include "model/model_io.h"
#include "video/sampling.h"
#include "testutil.h"
#include "tiny_model.h"
#include "vocab_util.h"

#define DIR "build/tests/inputs"
#define VID "tests/fixtures/video"
#define MODEL DIR "/model.safetensors"

static int run(const char *cmd, char *out, size_t cap) { return vc_test_run(cmd, 1, out, cap); }

static int setup(void) {
    static int done = 0;
    if (done) return 0;
    mkdir("build/tests", 0755);
    mkdir(DIR, 0755);
    int rc = vc_test_save_model_for(MODEL, 3, 16, 4);
    done = !rc;
    return rc;
}

static int same_bytes(const char *a, const char *b) {
    size_t na, nb;
    unsigned char *x = vc_test_read_file(a, &na), *y = vc_test_read_file(b, &nb);
    const int same = x && y && na == nb && !memcmp(x, y, na);
    free(x), free(y);
    return same;
}

/* ---- outputs that destroy inputs ------------------------------------------------------------- */

TEST(an_output_that_is_an_input_is_refused_and_the_input_kept) {
    CHECK(setup() == 0, "setup failed");
    char out[8192];
    CHECK(run("cp " MODEL " " DIR "/keep.safetensors && cp " VID "/h264.mp4 " DIR "/clip.mp4 && "
              "ln -sf clip.mp4 " DIR "/link.mp4", out, sizeof out) == 0, "%s", out);
    /* encode --out naming the model file (by another spelling) */
    int rc = run(VICLIP " encode -m " MODEL " --text 'a dog' --out " DIR "/../inputs/model.safetensors", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "refusing to overwrite an input"), "encode: rc %d: %s", rc, out);
    CHECK(same_bytes(MODEL, DIR "/keep.safetensors"), "encode changed the model file");
    /* encode --video with the index list naming a video: X.npy writes X.txt */
    rc = run("cp " VID "/h264.mp4 " DIR "/idx.json && " VICLIP " encode -m " MODEL " --video " DIR "/idx.json --out " DIR
             "/idx.npy", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "idx.json"), "encode index: rc %d: %s", rc, out);
    /* frames --out naming the input video through a symbolic link */
    rc = run(VICLIP " frames " DIR "/clip.mp4 --frames 2 --size 8 --out " DIR "/link.mp4", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "refusing"), "frames: rc %d: %s", rc, out);
    CHECK(same_bytes(DIR "/clip.mp4", VID "/h264.mp4"), "frames changed the video");
    /* convert IN IN, merge A B -o B */
    rc = run(VICLIP " convert " MODEL " " MODEL, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "refusing"), "convert: rc %d: %s", rc, out);
    rc = run(VICLIP " merge " MODEL " " DIR "/keep.safetensors -o " DIR "/keep.safetensors", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "refusing"), "merge: rc %d: %s", rc, out);
    CHECK(same_bytes(MODEL, DIR "/keep.safetensors"), "convert/merge changed an input");
    /* train --out whose log would replace the training data, or whose model the --init file */
    rc = run("mkdir -p " DIR "/run && echo '{\"video\": \"x.mp4\", \"caption\": \"c\"}' > " DIR "/run/train_log.jsonl && "
             VICLIP " train --train-data " DIR "/run/train_log.jsonl --out " DIR "/run -m tiny --steps 1", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "train_log.jsonl"), "train: rc %d: %s", rc, out);
    rc = run("cp " MODEL " " DIR "/run/model.safetensors && " VICLIP " train --init " DIR "/run/model.safetensors "
             "--train-data x.jsonl --out " DIR "/run --steps 1", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "model.safetensors"), "train --init: rc %d: %s", rc, out);
    /* the library check: a hard link is the same file; a new path is no input */
    vc_error err;
    CHECK(run("ln -f " DIR "/clip.mp4 " DIR "/hard.mp4", out, sizeof out) == 0, "%s", out);
    const char *ins[] = {NULL, DIR "/clip.mp4"}, *outs[] = {DIR "/hard.mp4"}, *fresh[] = {DIR "/new.npy"};
    CHECK(vc_prepare_outputs(outs, 1, ins, 2, &err) == -1 && strstr(err.msg, "hard.mp4"), "hard link accepted");
    CHECK(vc_prepare_outputs(fresh, 1, ins, 2, &err) == 0, "%s", err.msg);
}

/* A pid that no process has: one past the highest live one is not enough, so search down. */
static long dead_pid(void) {
    for (long pid = 4000000; pid > 1000; pid -= 7)
        if (kill((pid_t)pid, 0) && errno == ESRCH) return pid;
    return -1;
}

TEST(stale_temp_files_of_interrupted_writes_are_removed) {
    CHECK(setup() == 0, "setup failed");
    const long dead = dead_pid();
    CHECK(dead > 0, "no free pid");
    char stale[256], live[256], other[256];
    snprintf(stale, sizeof stale, DIR "/out.npy.tmp.%ld", dead);
    snprintf(live, sizeof live, DIR "/out.npy.tmp.%ld", (long)getppid()); /* a writer still running */
    snprintf(other, sizeof other, DIR "/other.npy.tmp.%ld", dead);       /* another file's */
    CHECK(!vc_test_write_file(stale, "x", 1) && !vc_test_write_file(live, "x", 1) && !vc_test_write_file(other, "x", 1),
          "cannot write temp files");
    vc_error err;
    CHECK(vc_atomic_write_file(DIR "/out.npy", "data", 4, &err) == 0, "%s", err.msg);
    CHECK(access(stale, F_OK) != 0, "%s survived the next write", stale);
    CHECK(access(live, F_OK) == 0, "the temp file of a live process was removed");
    CHECK(access(other, F_OK) == 0, "another output's temp file was removed");
    /* a command removes them when it starts, before any writing */
    snprintf(stale, sizeof stale, DIR "/run2/model.safetensors.tmp.%ld", dead);
    char out[4096];
    CHECK(run("mkdir -p " DIR "/run2", out, sizeof out) == 0, "%s", out);
    CHECK(!vc_test_write_file(stale, "x", 1), "cannot write %s", stale);
    run(VICLIP " train --train-data " DIR "/missing.jsonl --out " DIR "/run2 -m tiny --steps 1", out, sizeof out);
    CHECK(access(stale, F_OK) != 0, "train left %s", stale);
    unlink(live), unlink(other);
}

/* ---- integers that wrap ---------------------------------------------------------------------- */

TEST(integers_out_of_range_are_errors_that_quote_them) {
    vc_error err;
    int64_t v = 7;
    uint64_t u = 7;
    CHECK(vc_parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v, "x", &err) == 0 && v == INT64_MIN, "%s", err.msg);
    CHECK(vc_parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v, "x", &err) == -1, "2^63 accepted");
    CHECK(vc_parse_i64("4294967424", 0, INT32_MAX, &v, "--n", &err) == -1 && strstr(err.msg, "4294967424"), "%s", err.msg);
    CHECK(vc_parse_i64("99999999999999999999999", 0, 10, &v, "--n", &err) == -1 && strstr(err.msg, "outside 0..10"), "%s", err.msg);
    const char *junk[] = {"", " 1", "1 ", "+1", "1e3", "0x10", "-", "--1", "1.0"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        CHECK(vc_parse_i64(junk[i], -100, 100, &v, "x", &err) == -1, "'%s' accepted", junk[i]);
    CHECK(vc_parse_u64("18446744073709551615", UINT64_MAX, &u, "seed", &err) == 0 && u == UINT64_MAX, "%s", err.msg);
    CHECK(vc_parse_u64("18446744073709551616", UINT64_MAX, &u, "seed", &err) == -1, "2^64 accepted");
    CHECK(vc_parse_u64("-1", UINT64_MAX, &u, "seed", &err) == -1, "-1 accepted as unsigned");
    CHECK(v == INT64_MIN && u == UINT64_MAX, "a failed parse changed the value");

    /* config fields: 2^32 + 128 used to load as 128, 2^40 to report "= 0" */
    vc_config c;
    char json[1024];
    const vc_config ok = vc_config_preset(VC_PRESET_TINY);
    const char *bad[] = {"4294967424", "1099511627776", "-32", "0", "32.5", "1e300"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vc_config_to_json(&ok, json, sizeof json);
        char *at = strstr(json, "\"vision_width\":32"), tail[1024];
        CHECK(at, "no vision_width in %s", json);
        snprintf(tail, sizeof tail, "%s", at + strlen("\"vision_width\":32"));
        snprintf(at, sizeof json - (size_t)(at - json), "\"vision_width\":%s%s", bad[i], tail);
        CHECK(vc_config_from_json(json, &c, &err) == -1, "vision_width %s accepted", bad[i]);
        CHECK(strstr(err.msg, "vision_width") && strstr(err.msg, bad[i]), "error does not quote %s: %s", bad[i], err.msg);
    }

    /* integer flags: counts are never negative; steps are bounded */
    char out[4096];
    int rc = run(VICLIP " train --train-data x.jsonl --out " DIR "/r --steps 99999999999999", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--steps is 99999999999999, outside 0..1000000000"), "rc %d: %s", rc, out);
    rc = run(VICLIP " classify -m m --labels l --top-k -1 v.mp4", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--top-k"), "rc %d: %s", rc, out);
    rc = run(VICLIP " frames v.mp4 --frames 4294967300 --out x.npy", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "4294967300"), "rc %d: %s", rc, out);
    rc = run(VICLIP " frames v.mp4 --seed 18446744073709551616 --out x.npy", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--seed"), "rc %d: %s", rc, out);
}

/* ---- inputs that mean nothing ---------------------------------------------------------------- */

TEST(class_names_and_templates_that_mean_nothing_are_refused) {
    vc_error err;
    char **lines = NULL;
    int n = 0, bad = -1;
    CHECK(!vc_test_write_file(DIR "/blank_labels.txt", "dog\n\n   \ncat\n", 13), "write");
    CHECK(vc_read_class_names(DIR "/blank_labels.txt", &lines, &n, &err) == -1, "whitespace-only label accepted");
    CHECK(strstr(err.msg, "blank_labels.txt:3") && strstr(err.msg, "whitespace"), "%s", err.msg);
    CHECK(!vc_test_write_file(DIR "/dup_labels.txt", "dog\ncat\ndog\n", 12), "write");
    CHECK(vc_read_class_names(DIR "/dup_labels.txt", &lines, &n, &err) == -1 && strstr(err.msg, "twice"), "%s", err.msg);
    CHECK(vc_read_class_names(DIR, &lines, &n, &err) == -1 && strstr(err.msg, "is a folder"), "folder: %s", err.msg);
    CHECK(!vc_test_write_file(DIR "/tmpl.txt", "a video of {}\na video\n", 22), "write");
    CHECK(vc_read_templates(DIR "/tmpl.txt", &lines, &n, &err) == -1 && strstr(err.msg, "tmpl.txt:2"), "%s", err.msg);
    const char *two[] = {"{} and {}"}, *names[] = {"dog", "\t"}, *good[] = {"a {}"};
    CHECK(vc_check_templates(two, 1, &bad, &err) == -1 && bad == 0, "two {} accepted");
    CHECK(vc_check_class_names(names, 2, &bad, &err) == -1 && bad == 1, "tab accepted");
    CHECK(vc_check_templates(good, 1, &bad, &err) == 0, "%s", err.msg);
    CHECK(vc_read_class_names(DIR "/tmpl.txt", &lines, &n, &err) == 0 && n == 2, "%s", err.msg);
    vc_free_lines(lines, n);

    /* the command, with files and with standard input */
    CHECK(setup() == 0, "setup failed");
    char out[8192];
    int rc = run("printf ' \\n\\t\\n' | " VICLIP " classify -m " MODEL " --labels - " VID "/h264.mp4", out, sizeof out);
    CHECK(rc == 1 && strstr(out, "-:1") && strstr(out, "whitespace"), "stdin labels: rc %d: %s", rc, out);
    rc = run("printf 'a photo\\n' | " VICLIP " classify -m " MODEL " --labels " DIR "/tmpl.txt --templates /dev/stdin " VID
             "/h264.mp4", out, sizeof out);
    CHECK(rc == 1 && strstr(out, "\"{}\""), "stdin templates: rc %d: %s", rc, out);
    rc = run(VICLIP " classify -m " MODEL " --labels " DIR " " VID "/h264.mp4", out, sizeof out);
    CHECK(rc == 1 && strstr(out, "is a folder"), "folder: rc %d: %s", rc, out);
    rc = run(VICLIP " classify -m " MODEL " --labels " DIR "/tmpl.txt --templates " DIR "/tmpl.txt " VID "/h264.mp4", out,
             sizeof out);
    CHECK(rc == 1 && strstr(out, "tmpl.txt:2"), "templates file: rc %d: %s", rc, out);
}

TEST(the_float32_clip_frames_writes_is_accepted_by_encode_and_classify) {
    SKIP_WITHOUT_VIDEO(); /* viclip frames decodes the fixture video */
    CHECK(setup() == 0, "setup failed");
    vc_tokenizer *tok = vc_test_load_tokenizer();
    if (!tok) {
        printf("SKIP inputs: no CLIP vocabulary\n");
        return;
    }
    vc_tokenizer_free(tok);
    char out[16384];
    int rc = run("rm -f " DIR "/v.* && " VICLIP " frames " VID "/h264.mp4 --frames 4 --size 16 --out " DIR "/clip_f32.npy && "
                 VICLIP " encode -m " MODEL " --video-tensor " DIR "/clip_f32.npy --normalize --out " DIR "/t.npy && "
                 VICLIP " encode -m " MODEL " --video " DIR "/clip_f32.npy --video " VID "/h264.mp4 --out " DIR "/v.npy",
                 out, sizeof out);
    CHECK(rc == 0, "rc %d: %s", rc, out);
    /* the clip was encoded (not skipped as unreadable) next to the video it came from */
    CHECK(strstr(out, "encoded 2 of 2") || strstr(out, "2 files"), "encode --video: %s", out);
    CHECK(!vc_test_write_file(DIR "/labels.txt", "pattern\nnoise\n", 14), "write");
    rc = run(VICLIP " classify -m " MODEL " --labels " DIR "/labels.txt --json " DIR "/clip_f32.npy", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"failed\":[]"), "classify: rc %d: %s", rc, out);
}

/* ---- undefined behaviour (caught by make asan before the fix) -------------------------------- */

TEST(fast_exp_keeps_nan_and_the_limits) {
    volatile float nan = NAN, inf = INFINITY;
    CHECK(isnan(vc_exp(nan)), "exp(NaN) = %g", (double)vc_exp(nan));
    CHECK(vc_exp(-inf) >= 0.0f && vc_exp(-inf) < 2e-38f, "exp(-inf) = %g", (double)vc_exp(-inf));
    CHECK(isfinite(vc_exp(inf)) && vc_exp(inf) > 1e38f, "exp(inf) = %g", (double)vc_exp(inf));
    CHECK_CLOSE(vc_exp(1.0f), 2.718281828, 0, 2e-7);
    CHECK_CLOSE(vc_exp(-80.0f), 1.804851387845e-35, 0, 2e-7);
}

TEST(sampling_a_video_that_claims_2_to_the_31_frames) {
    int idx[8];
    vc_error err;
    CHECK(vc_sample_indices(VC_SAMPLE_MIDDLE, INT32_MAX, 8, NULL, idx, &err) == 0, "%s", err.msg);
    for (int k = 0; k < 8; k++)
        CHECK(idx[k] >= 0 && idx[k] < INT32_MAX && (k == 0 || idx[k] > idx[k - 1]), "slot %d: frame %d", k, idx[k]);
    CHECK(idx[7] == 2013265918, "last slot %d (the middle of frames 1879048191..2147483646)", idx[7]);
}

TEST_MAIN("inputs", T(an_output_that_is_an_input_is_refused_and_the_input_kept),
          T(stale_temp_files_of_interrupted_writes_are_removed), T(integers_out_of_range_are_errors_that_quote_them),
          T(class_names_and_templates_that_mean_nothing_are_refused),
          T(the_float32_clip_frames_writes_is_accepted_by_encode_and_classify), T(fast_exp_keeps_nan_and_the_limits),
          T(sampling_a_video_that_claims_2_to_the_31_frames))
