/* Training that goes wrong or is interrupted ends cleanly: a diverging run stops with an error
 * and keeps its last finite checkpoint; non-finite initial weights are named, not blamed on the
 * learning rate; SIGTERM finishes the step, writes a checkpoint and exits 143 with a log of
 * whole JSON lines; --resume refuses flags that contradict the checkpoint and cuts the log back
 * to the checkpoint's step. The CLI runs as a child process, as a user or a scheduler runs it. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/json.h"
#include "model/model_io.h"
#include "testutil.h"
#include "train/checkpoint.h"
#include "train/train_state.h"
#include "io/jsonl_log.h"
#include "train/trainer.h"
#include "video/synth.h"
#include "vocab_util.h"

#define DIR "build/tests/train_safety"

static int run(const char *cmd, char *out, size_t cap) { return vc_test_run(cmd, 1, out, cap); }

/* A small synthetic set (generated once) and the vocabulary, or NULL. */
static const char *data_dir(void) {
    static const char *dir = DIR "/data";
    if (access(DIR "/data/meta.json", R_OK) == 0) return dir;
    mkdir(DIR, 0755);
    vc_synth_params p = vc_synth_default_params();
    p.frames = 4, p.size = 16, p.n_train = 48, p.n_heldout_per_combo = 1;
    vc_error err;
    if (vc_synth_generate(dir, &p, &err)) return fprintf(stderr, "synth: %s\n", err.msg), NULL;
    return dir;
}

static const char *vocab_path(void) {
    static char path[1024];
    vc_error err;
    if (vc_tokenizer_find_vocab(path, sizeof path, &err))
        snprintf(path, sizeof path, "%s/bpe_simple_vocab_16e6.txt.gz", vc_shared_data_dir());
    return path;
}

/* The flags of a tiny training run on the synthetic set (one thread: the suite shares cores). */
static void train_cmd(char *cmd, size_t cap, const char *out, const char *extra) {
    snprintf(cmd, cap,
             "OMP_NUM_THREADS=1 build/viclip train --train-data " DIR "/data/train.jsonl --out %s -m demo --frames 4 "
             "--image-size 16 --patch-size 8 --vision-width 32 --vision-layers 2 --vision-heads 2 --text-width 32 "
             "--text-layers 1 --text-heads 2 --embed-dim 16 --context-length 16 --batch-size 8 --workers 0 -t 1 "
             "--warmup 0 --log-every 1000 --vocab %s %s",
             out, vocab_path(), extra);
}

/* train_cmd run to the end: its exit status, its output in out. */
static int train_run(const char *out_dir, const char *extra, char *out, size_t cap) {
    char cmd[4000];
    train_cmd(cmd, sizeof cmd, out_dir, extra);
    return run(cmd, out, cap);
}

/* The number under `key` in every line of a train_log.jsonl (each must be a whole JSON object);
 * the count, or -1. */
static int log_numbers(const char *path, const char *key, double *vals, int cap, char *why, size_t whycap) {
    size_t len;
    char *text = (char *)vc_test_read_file(path, &len);
    if (!text) return snprintf(why, whycap, "cannot read %s", path), -1;
    int n = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (!nl) {
            snprintf(why, whycap, "%s ends in the middle of a line: '%s'", path, line);
            free(text);
            return -1;
        }
        vc_error err;
        vc_json *j = vc_json_parse(line, (size_t)(nl - line), &err);
        double v = 0;
        if (!j || vc_json_get_double(j, key, &v, &err) || n >= cap) {
            snprintf(why, whycap, "%s line %d does not parse: %s", path, n + 1, err.msg);
            vc_json_free(j);
            free(text);
            return -1;
        }
        vc_json_free(j);
        vals[n++] = v;
        line = nl + 1;
    }
    free(text);
    return n;
}

/* Steps of every line of a train_log.jsonl; the count, or -1. */
static int log_steps(const char *path, long *steps, int cap, char *why, size_t whycap) {
    double *v = malloc((size_t)cap * sizeof *v);
    const int n = v ? log_numbers(path, "step", v, cap, why, whycap) : -1;
    for (int i = 0; i < n; i++) steps[i] = (long)v[i];
    free(v);
    return n;
}

static int64_t checkpoint_step(const char *path, char *why, size_t cap) {
    vc_error err;
    vc_adamw opt = {0};
    vc_adamw_params op = vc_adamw_default_params();
    int64_t step = -1;
    uint64_t seed;
    vc_model *m = vc_checkpoint_load(path, &opt, &op, &step, &seed, &err);
    if (!m) snprintf(why, cap, "%s", err.msg), step = -1;
    vc_model_free(m);
    vc_adamw_free(&opt);
    return step;
}

TEST(diverging_run_stops_with_an_error_and_keeps_the_last_finite_checkpoint) {
    CHECK(data_dir(), "no synthetic data");
    char out[16384], why[2048] = "";
    /* lr 1e8: the loss is still finite at step 2, but the weights after it give NaN; the run used
     * to end there with exit 0 and that model. It must fail, keep the step-1 checkpoint and write
     * no model. */
    CHECK(system("rm -rf " DIR "/diverge") == 0, "cleanup");
    int rc = train_run(DIR "/diverge", "--steps 2 --lr 1e8 --save-every 1", out, sizeof out);
    CHECK(rc == 1, "a diverging run exited %d: %s", rc, out);
    CHECK(strstr(out, "learning rate") && (strstr(out, "not finite") || strstr(out, "NaN") || strstr(out, "nan")),
          "the message should say what diverged and point at the learning rate: %s", out);
    struct stat st;
    CHECK(stat(DIR "/diverge/model.safetensors", &st) != 0, "a final model was written by a diverged run");
    int64_t step = checkpoint_step(DIR "/diverge/checkpoint.safetensors", why, sizeof why);
    CHECK(step == 1, "the checkpoint left is not the finite one of step 1: step %lld %s", (long long)step, why);
    long steps[64];
    CHECK(log_steps(DIR "/diverge/train_log.jsonl", steps, 64, why, sizeof why) >= 0, "%s", why);
}

TEST(non_finite_initial_weights_are_named_not_blamed_on_the_learning_rate) {
    const char *data = data_dir();
    vc_tokenizer *tok = vc_test_load_tokenizer();
    CHECK(data && tok, "no synthetic data or vocabulary");
    vc_train_params p = vc_train_default_params();
    p.cfg.image_size = 16, p.cfg.patch_size = 8, p.cfg.num_frames = 4, p.cfg.vision_width = 32, p.cfg.vision_layers = 1;
    p.cfg.vision_heads = 2, p.cfg.text_width = 32, p.cfg.text_layers = 1, p.cfg.text_heads = 2, p.cfg.embed_dim = 16;
    p.cfg.context_length = 16;
    p.train_annotations = DIR "/data/train.jsonl", p.out_dir = DIR "/nan_init";
    p.batch_size = 8, p.steps = 2, p.workers = 0, p.temp_init = INFINITY;
    vc_error err;
    vc_train_summary sum;
    int rc = vc_train(&p, tok, &sum, &err);
    vc_tokenizer_free(tok);
    CHECK(rc == -1, "training from an infinite temperature succeeded");
    CHECK(strstr(err.msg, "temp") && !strstr(err.msg, "learning rate") && !strstr(err.msg, "--lr"),
          "the message should name the tensor and not blame the learning rate: %s", err.msg);
}

TEST(non_finite_loss_or_gradient_norm_stops_with_the_step_named) {
    vc_train_state s;
    memset(&s, 0, sizeof s);
    s.start = 3; /* resumed at step 3 */
    vc_error err;
    CHECK(vc_train_check_finite(&s, 5, 2.5, 10.0, 1e-3, &err) == 0, "finite values refused: %s", err.msg);
    CHECK(vc_train_check_finite(&s, 5, 2.5, NAN, 1e-3, &err) == -1, "a NaN gradient norm passed");
    CHECK(strstr(err.msg, "gradient norm") && strstr(err.msg, "step 6") && strstr(err.msg, "learning rate"), "got: %s", err.msg);
    CHECK(vc_train_check_finite(&s, 5, INFINITY, 1.0, 1e-3, &err) == -1 && strstr(err.msg, "loss became inf"), "got: %s", err.msg);
    /* the first step of a run has had no update yet: not the learning rate's fault */
    CHECK(vc_train_check_finite(&s, 3, NAN, NAN, 1e-3, &err) == -1, "a NaN loss passed");
    CHECK(strstr(err.msg, "step 4, the first of this run") && !strstr(err.msg, "learning rate"), "got: %s", err.msg);
}

/* Starts a training run in `dir` as a child (its output in dir/stdout.txt) and waits until its
 * log has a line; the child's pid, or -1 (the child killed) when no line came within 120 s. */
static pid_t start_run_and_wait_for_a_step(const char *dir, const char *extra) {
    char cmd[4000], log[512], out[512];
    snprintf(log, sizeof log, "%s/train_log.jsonl", dir);
    snprintf(out, sizeof out, "%s/stdout.txt", dir);
    train_cmd(cmd, sizeof cmd, dir, extra);
    pid_t pid = fork();
    if (pid == 0) {
        char full[8192];
        snprintf(full, sizeof full, "exec env %s > %s 2>&1", cmd, out); /* exec: the pid is viclip's */
        execl("/bin/sh", "sh", "-c", full, (char *)NULL);
        _exit(127);
    }
    for (double t = 0; pid > 0 && t < 120; t += 0.05) {
        size_t len;
        char *text = (char *)vc_test_read_file(log, &len);
        const int has_line = text && memchr(text, '\n', len);
        free(text);
        if (has_line) return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid) return -1;
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    if (pid > 0) kill(pid, SIGKILL), waitpid(pid, NULL, 0);
    return -1;
}

TEST(sigterm_finishes_the_step_writes_a_checkpoint_and_exits_143) {
    CHECK(data_dir(), "no synthetic data");
    CHECK(system("rm -rf " DIR "/sigterm && mkdir -p " DIR "/sigterm") == 0, "cleanup");
    char why[2048] = "";
    pid_t pid = start_run_and_wait_for_a_step(DIR "/sigterm", "--steps 5000 --lr 1e-3");
    CHECK(pid > 0, "the run wrote no log line within 120 s");
    kill(pid, SIGTERM);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    char *stdout_text = (char *)vc_test_read_file(DIR "/sigterm/stdout.txt", NULL);
    snprintf(why, sizeof why, "%s", stdout_text ? stdout_text : "");
    free(stdout_text);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 143, "status %s %d: %s", WIFEXITED(status) ? "exit" : "signal",
          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), why);
    long steps[6000];
    int n = log_steps(DIR "/sigterm/train_log.jsonl", steps, 6000, why, sizeof why);
    CHECK(n >= 1, "%s", why);
    for (int i = 0; i < n; i++) CHECK(steps[i] == i + 1, "log line %d has step %ld", i + 1, steps[i]);
    int64_t step = checkpoint_step(DIR "/sigterm/checkpoint.safetensors", why, sizeof why);
    CHECK(step == steps[n - 1], "checkpoint step %lld, log ends at step %ld: %s", (long long)step, steps[n - 1], why);
    struct stat st;
    CHECK(stat(DIR "/sigterm/model.safetensors", &st) != 0, "an interrupted run wrote the final model");
}

/* Whether signal sig is still pending for the process (ShdPnd in /proc/PID/status): once it is
 * not, the handler has taken it, and a second kill() cannot merge with the first. */
static int signal_pending(pid_t pid, int sig) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int pending = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "ShdPnd:", 7) == 0) pending = (int)((strtoull(line + 7, NULL, 16) >> (sig - 1)) & 1);
    fclose(f);
    return pending;
}

TEST(a_second_signal_ends_the_run_at_once) {
    CHECK(data_dir(), "no synthetic data");
    CHECK(system("rm -rf " DIR "/sigint2 && mkdir -p " DIR "/sigint2") == 0, "cleanup");
    pid_t pid = start_run_and_wait_for_a_step(DIR "/sigint2", "--steps 5000 --lr 1e-3 --batch-size 48"); /* slower steps */
    CHECK(pid > 0, "the run wrote no log line within 120 s");
    kill(pid, SIGINT);
    /* two pending SIGINTs would merge into one: send the second after the first is taken */
    for (int i = 0; i < 1000 && signal_pending(pid, SIGINT); i++) nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    kill(pid, SIGINT);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    /* the default action of the second signal, not the orderly exit 130 at the end of the step */
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT,
          "status %s %d", WIFEXITED(status) ? "exit" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    char why[2048] = "";
    long steps[6000];
    CHECK(log_steps(DIR "/sigint2/train_log.jsonl", steps, 6000, why, sizeof why) >= 1, "%s", why);
}

TEST(resume_refuses_flags_that_contradict_the_checkpoint) {
    CHECK(data_dir(), "no synthetic data");
    CHECK(system("rm -rf " DIR "/flags") == 0, "cleanup");
    char out[16384];
    int rc = train_run(DIR "/flags", "--steps 4 --stop-after 1 --lr 1e-3", out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    static const struct {
        const char *extra, *flag;
    } cases[] = {
        {"--vision-layers 3", "--vision-layers"},
        {"--model-config tiny", "--model-config"},
        {"--mask-ratio 0.5", "--mask-ratio"},
        {"--seed 7", "--seed"},
        {"--temp-init 0.07", "--temp-init"},
        {"--init " DIR "/flags/checkpoint.safetensors", "--init"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char extra[512];
        snprintf(extra, sizeof extra, "--steps 4 --lr 1e-3 --resume " DIR "/flags/checkpoint.safetensors %s", cases[k].extra);
        rc = train_run(DIR "/flags", extra, out, sizeof out);
        CHECK(rc == 2 && strstr(out, cases[k].flag), "%s: exit %d: %s", cases[k].extra, rc, out);
    }
    /* repeating the checkpoint's architecture and changing a schedule flag listed in --help is fine */
    rc = train_run(DIR "/flags", "--steps 2 --lr 2e-3 --resume " DIR "/flags/checkpoint.safetensors", out, sizeof out);
    CHECK(rc == 0, "a compatible resume failed (exit %d): %s", rc, out);
    /* an imported video tower keeps its temporal embedding: a std for a random one is refused, not ignored */
    rc = train_run(DIR "/flags/iv", "--steps 1 --temporal-init-std 0.3 --init-vision " DIR "/flags/checkpoint.safetensors", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--temporal-init-std") && strstr(out, "--init-vision"), "exit %d: %s", rc, out);
    CHECK(run("build/viclip train --help", out, sizeof out) == 0 && strstr(out, "change on resume: --steps --lr"),
          "--help does not list the flags that may change on resume: %s", out);
}

TEST(resumed_log_drops_the_lines_past_the_checkpoint) {
    CHECK(data_dir(), "no synthetic data");
    CHECK(system("rm -rf " DIR "/relog") == 0, "cleanup");
    char out[16384], why[2048] = "";
    int rc = train_run(DIR "/relog", "--steps 5 --stop-after 2 --lr 1e-3", out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(system("cp " DIR "/relog/checkpoint.safetensors " DIR "/relog/step2.safetensors") == 0, "copy");
    /* run on to the end, then resume from step 2 again: steps 3..5 must not appear twice */
    for (int k = 0; k < 2; k++) {
        rc = train_run(DIR "/relog", "--steps 5 --lr 1e-3 --resume " DIR "/relog/step2.safetensors", out, sizeof out);
        CHECK(rc == 0, "resume %d: exit %d: %s", k, rc, out);
    }
    long steps[64];
    int n = log_steps(DIR "/relog/train_log.jsonl", steps, 64, why, sizeof why);
    CHECK(n == 5, "%d lines (%s)", n, why);
    for (int i = 0; i < n; i++) CHECK(steps[i] == i + 1, "line %d has step %ld", i + 1, steps[i]);
}

/* --resume alone goes on with the checkpoint's schedule (--steps, --lr, --warmup...), not the
 * defaults': the resumed run's log is the uninterrupted run's, step for step. */
TEST(resume_without_schedule_flags_finishes_the_run_as_started) {
    CHECK(data_dir(), "no synthetic data");
    CHECK(system("rm -rf " DIR "/sched && mkdir -p " DIR "/sched") == 0, "cleanup");
    char out[16384];
    int rc = train_run(DIR "/sched/whole", "--steps 5 --lr 2e-3 --min-lr 1e-4 --wd 0.05 --log-every 1", out, sizeof out);
    CHECK(rc == 0, "uninterrupted run: exit %d: %s", rc, out);
    rc = train_run(DIR "/sched/cut", "--steps 5 --stop-after 2 --lr 2e-3 --min-lr 1e-4 --wd 0.05 --log-every 1", out, sizeof out);
    CHECK(rc == 0, "first part: exit %d: %s", rc, out);
    rc = train_run(DIR "/sched/cut", "--log-every 1 --resume " DIR "/sched/cut/checkpoint.safetensors", out, sizeof out);
    CHECK(rc == 0, "resume with no schedule flags: exit %d: %s", rc, out);
    double lr_a[16], loss_a[16], lr_b[16], loss_b[16];
    char why[2048] = "";
    const char *whole = DIR "/sched/whole/train_log.jsonl", *cut = DIR "/sched/cut/train_log.jsonl";
    const int na = log_numbers(whole, "lr", lr_a, 16, why, sizeof why), nb = log_numbers(cut, "lr", lr_b, 16, why, sizeof why);
    CHECK(na == 5 && nb == 5, "the logs have %d and %d lines, want 5 each (the resumed run used another --steps) %s", na, nb, why);
    CHECK(log_numbers(whole, "loss", loss_a, 16, why, sizeof why) == 5 && log_numbers(cut, "loss", loss_b, 16, why, sizeof why) == 5,
          "%s", why);
    for (int i = 0; i < 5; i++)
        CHECK(lr_a[i] == lr_b[i] && loss_a[i] == loss_b[i], "step %d: lr %g loss %.7f resumed, %g %.7f uninterrupted", i + 1,
              lr_b[i], loss_b[i], lr_a[i], loss_a[i]);
    /* resumed from its final checkpoint, the run has no step left: it ends cleanly, log unchanged */
    rc = train_run(DIR "/sched/cut", "--log-every 1 --resume " DIR "/sched/cut/checkpoint.safetensors", out, sizeof out);
    CHECK(rc == 0, "resume from the final checkpoint: exit %d: %s", rc, out);
    CHECK(log_numbers(cut, "loss", loss_b, 16, why, sizeof why) == 5 && loss_b[4] == loss_a[4], "%s", why);
}

TEST(log_is_cut_back_to_the_checkpoint_step_and_written_in_whole_lines) {
    mkdir(DIR, 0755);
    const char *path = DIR "/cut_log.jsonl";
    const char *old = "{\"step\":1,\"loss\":2}\n{\"step\":2,\"loss\":2}\nnot json\n{\"step\":3,\"loss\":2}\n{\"step\":4,\"lo";
    CHECK(!vc_test_write_file(path, old, strlen(old)), "write");
    vc_jsonl_log log;
    vc_error err;
    CHECK(!vc_jsonl_log_open(&log, path, 2, &err), "%s", err.msg);
    CHECK(!vc_jsonl_log_write(&log, "{\"step\":3,\"loss\":1}", &err), "%s", err.msg);
    vc_jsonl_log_close(&log);
    char *text = (char *)vc_test_read_file(path, NULL);
    int ok = text && !strcmp(text, "{\"step\":1,\"loss\":2}\n{\"step\":2,\"loss\":2}\n{\"step\":3,\"loss\":1}\n");
    free(text);
    CHECK(ok, "log after the cut is not steps 1, 2 and the new 3");
    /* a new run starts the file empty */
    CHECK(!vc_jsonl_log_open(&log, path, 0, &err), "%s", err.msg);
    vc_jsonl_log_close(&log);
    size_t len = 1;
    free(vc_test_read_file(path, &len));
    CHECK(len == 0, "a new run's log is not empty (%zu bytes)", len);
}

/* The layer-level alignment through the CLI (and so the public API): --align layers=... reaches
 * the trainer (the log has the layer's term), viclip info lists the heads, and a resumed run keeps
 * --align/--align-weights: contradicted they are refused, left out they are the checkpoint's. */
TEST(layer_alignment_reaches_training_info_and_resume_through_the_cli) {
    CHECK(data_dir(), "no synthetic data");
    CHECK(system("rm -rf " DIR "/layers") == 0, "cleanup");
    char out[16384];
    int rc = train_run(DIR "/layers", "--steps 3 --stop-after 1 --log-every 1 --align global,layers=1 --align-weights 1,0.5", out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    rc = run("build/viclip info " DIR "/layers/checkpoint.safetensors", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "alignment heads (training only; encoding ignores them): layers 1,"), "info (exit %d): %s", rc, out);
    static const char *const contradict[] = {"--align global", "--align-weights 1,0.25"};
    for (size_t k = 0; k < 2; k++) {
        char extra[512];
        snprintf(extra, sizeof extra, "--steps 3 --resume " DIR "/layers/checkpoint.safetensors %s", contradict[k]);
        rc = train_run(DIR "/layers", extra, out, sizeof out);
        CHECK(rc == 2 && strstr(out, contradict[k]) && strstr(out, "contradicts the checkpoint") &&
                  strstr(out, k ? "trained with 1,0.5" : "trained with global,layers=1"),
              "%s: exit %d: %s", contradict[k], rc, out);
    }
    rc = train_run(DIR "/layers", "--steps 3 --log-every 1 --resume " DIR "/layers/checkpoint.safetensors", out, sizeof out);
    CHECK(rc == 0, "resume without the flags (exit %d): %s", rc, out);
    size_t len;
    char *log = (char *)vc_test_read_file(DIR "/layers/train_log.jsonl", &len);
    CHECK(log, "no log");
    const char *last = strstr(log, "\"step\":3,");
    const int ok = last && strstr(last, "\"loss_layer_1\":");
    free(log);
    CHECK(ok, "the resumed run's step 3 has no loss_layer_1 term");
}

TEST_MAIN("train_safety", T(log_is_cut_back_to_the_checkpoint_step_and_written_in_whole_lines), T(diverging_run_stops_with_an_error_and_keeps_the_last_finite_checkpoint),
          T(non_finite_initial_weights_are_named_not_blamed_on_the_learning_rate),
          T(non_finite_loss_or_gradient_norm_stops_with_the_step_named),
          T(sigterm_finishes_the_step_writes_a_checkpoint_and_exits_143), T(a_second_signal_ends_the_run_at_once),
          T(resume_refuses_flags_that_contradict_the_checkpoint), T(resumed_log_drops_the_lines_past_the_checkpoint),
          T(resume_without_schedule_flags_finishes_the_run_as_started),
          T(layer_alignment_reaches_training_info_and_resume_through_the_cli))
