/* The viclip command as a user meets it: exit codes and messages for good and bad input. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/model_io.h"
#include "testutil.h"

static int run(const char *cmd, char *out, size_t cap) { return vc_test_run(cmd, 1, out, cap); }

TEST(tokenize_prints_known_ids_padded_to_the_context) {
    char out[4096];
    int rc = run(VICLIP " tokenize --context 8 'a playful dog'", out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(!strcmp(out, "49406 320 23871 1929 49407 0 0 0\n"), "got: %s", out);
}

TEST(help_and_usage_errors) {
    char out[8192];
    CHECK(run(VICLIP " train --help", out, sizeof out) == 0, "help failed");
    CHECK(strstr(out, "-b, --batch-size N") && strstr(out, "--grad-clip-norm") && strstr(out, "(default: 32)"),
          "help lacks flags or defaults: %s", out);
    CHECK(run(VICLIP " train --no-such-flag", out, sizeof out) == 2, "unknown flag must exit 2: %s", out);
    CHECK(strstr(out, "--no-such-flag"), "message: %s", out);
    CHECK(run(VICLIP " train --batch-size abc", out, sizeof out) == 2, "bad number must exit 2");
    CHECK(strstr(out, "'abc' is not a valid integer"), "message: %s", out);
    CHECK(run(VICLIP " nonsense", out, sizeof out) == 2, "unknown command must exit 2");
}

TEST(truncated_model_file_gives_an_error_and_exit_1) {
    vc_error err;
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    vc_model *m = vc_model_new(&c, &err);
    CHECK(m, "%s", err.msg);
    vc_model_init_random(m, 1, 0.05);
    mkdir("build/tests/cli", 0755);
    CHECK(vc_model_save(m, "build/tests/cli/m.safetensors", VC_DT_F32, &err) == 0, "%s", err.msg);
    vc_model_free(m);
    char out[8192];
    CHECK(run(VICLIP " info build/tests/cli/m.safetensors", out, sizeof out) == 0, "info: %s", out);
    CHECK(strstr(out, "\"vision_width\":32") && strstr(out, "parameters:"), "info output: %s", out);
    CHECK(run("head -c 3000 build/tests/cli/m.safetensors > build/tests/cli/cut.safetensors", out, sizeof out) == 0, "head");
    int rc = run(VICLIP " info build/tests/cli/cut.safetensors", out, sizeof out);
    CHECK(rc == 1, "exit %d: %s", rc, out);
    CHECK(strstr(out, "cut.safetensors") && strstr(out, "error"), "message: %s", out);
    /* a .pth goes through the importer (this micro fixture's heads cannot be inferred: width 8) */
    rc = run(VICLIP " info tests/fixtures/import/viclip_train_ckpt.pth", out, sizeof out);
    CHECK(rc == 1 && strstr(out, "viclip_train_ckpt.pth") && strstr(out, "vision heads for width 8"), "exit %d: %s", rc, out);
    rc = run(VICLIP " eval --model build/tests/cli/cut.safetensors --annotations x.jsonl", out, sizeof out);
    CHECK(rc == 1, "exit %d: %s", rc, out);
    CHECK(strstr(out, "viclip eval: error:") && strstr(out, "cut.safetensors"), "message: %s", out);
}

TEST(malformed_annotation_line_gives_file_line_and_exit_1) {
    mkdir("build/tests/cli", 0755);
    FILE *f = fopen("build/tests/cli/bad.jsonl", "w");
    CHECK(f, "write");
    fprintf(f, "{\"video\": \"a.npy\", \"caption\": \"ok\"}\n{\"video\": \"a.npy\", \"caption\": 5}\n");
    fclose(f);
    char out[8192];
    int rc = run(VICLIP " train --train-data build/tests/cli/bad.jsonl --out build/tests/cli/run -m demo --steps 1", out, sizeof out);
    CHECK(rc == 1, "exit %d: %s", rc, out);
    CHECK(strstr(out, "bad.jsonl:2") && strstr(out, "caption"), "message: %s", out);
}

TEST_MAIN("cli", T(tokenize_prints_known_ids_padded_to_the_context), T(help_and_usage_errors),
          T(truncated_model_file_gives_an_error_and_exit_1), T(malformed_annotation_line_gives_file_line_and_exit_1))
