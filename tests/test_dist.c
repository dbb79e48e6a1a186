/* Data-parallel training under mpirun: 2 ranks with per-rank batch 4 train exactly like 1 rank
 * with batch 8 (local loss and full loss, float CLI and the double-precision trainer), and the
 * same bit for bit with --grad-checkpointing; resuming a 2-rank checkpoint with 2 or 1 ranks
 * equals the uninterrupted run, and a rank that is killed or hangs stops the others with an
 * error naming it, leaving a loadable checkpoint.
 *
 * Built against the double-precision library (it compares f64 runs to 1e-10); the float runs
 * use build/viclip itself. Every test SKIPs visibly when mpirun or the MPI build is absent. */
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "dist/collectives.h"
#include "dist/global_loss.h"
#include "dist/grad_sync.h"
#include "model/contrastive.h"
#include "model/model_io.h"
#include "synth_util.h"
#include "testutil.h"
#include "train/checkpoint.h"

/* OpenMPI refuses root without the flag, and 2 ranks on fewer cores need oversubscription. */
#define MPIRUN "mpirun --allow-run-as-root --oversubscribe -x OMP_NUM_THREADS=1 -np "

/* The float CLI's small model, the same as tests/dist_train.c's. */
#define SMALL_RUN                                                                                                  \
    "--image-size 16 --patch-size 8 --frames 4 --vision-width 32 --vision-layers 2 --vision-heads 2 "            \
    "--text-width 32 --text-layers 1 --text-heads 2 --embed-dim 16 --context-length 16 --workers 0 -t 1 "        \
    "--steps 5 --warmup 1 --lr 2e-3 --mask-ratio 0.5 --unmasked-steps 1 --grad-clip-norm 0.5 "                   \
    "--seed 5 --log-every 1 "
/* a new run also sets the random init's temperature (a resumed one takes it from the checkpoint) */
#define SMALL_MODEL SMALL_RUN "--temp-init 0.05 "

static int mpi_available(const char *test) {
    if (!vc_dist_have_mpi()) {
        printf("SKIP %s: viclip was built without MPI (no mpicc at build time)\n", test);
        return 0;
    }
    if (system("command -v mpirun >/dev/null 2>&1") != 0) {
        printf("SKIP %s: mpirun not found\n", test);
        return 0;
    }
    return 1;
}

static const char *train_data(void) {
    const char *dir = vc_test_synth_dir(4, 16, 96);
    static char ann[300];
    if (!dir) return NULL;
    snprintf(ann, sizeof ann, "%s/train.jsonl", dir);
    return ann;
}

/* Runs a command, keeping its output for the failure message. */
static int run(const char *cmd, char *out, size_t cap) {
    int rc = vc_test_run(cmd, 1, out, cap);
    if (rc) fprintf(stderr, "command failed (%d): %s\n%s\n", rc, cmd, out);
    return rc;
}

/* Losses per step from a run folder's train_log.jsonl ({"step":S,"loss":L,...}). */
static int read_log_losses(const char *dir, double *loss, int cap) {
    char path[512];
    snprintf(path, sizeof path, "%s/train_log.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        long s;
        double l;
        if (sscanf(line, "{\"step\":%ld,\"loss\":%lf", &s, &l) == 2 && s >= 1 && s <= cap) loss[s - 1] = l, n = (int)s > n ? (int)s : n;
    }
    fclose(f);
    return n;
}

/* "loss STEP VALUE" lines printed by dist_train64. */
static int parse_losses(const char *out, double *loss, int cap) {
    int n = 0;
    for (const char *p = strstr(out, "loss "); p; p = strstr(p + 1, "loss ")) {
        long s;
        double l;
        if (sscanf(p, "loss %ld %lf", &s, &l) == 2 && s >= 1 && s <= cap) loss[s - 1] = l, n = (int)s > n ? (int)s : n;
    }
    return n;
}

static int losses_close(const double *a, const double *b, int n, double rtol, char *why, size_t cap) {
    for (int i = 0; i < n; i++)
        if (!(fabs(a[i] - b[i]) <= rtol * fabs(b[i])))
            return snprintf(why, cap, "step %d: loss %.17g vs %.17g (relative %.3g > %g)", i + 1, a[i], b[i],
                            fabs(a[i] - b[i]) / fabs(b[i]), rtol), 0;
    return 1;
}

/* The final weights agree: |a - b| / |b| over the whole parameter vector (L2) within rtol.
 * (Per element the relative difference is meaningless for weights near zero, e.g. the temporal
 * embedding that starts at zero, where float summation order shows up through Adam's
 * normalisation.) The tensor with the largest relative difference is named on failure. */
static int models_close(const char *a, const char *b, double rtol, char *why, size_t cap) {
    vc_error err;
    vc_model *x = vc_model_load(a, (const char *const[]){"optimizer.", NULL}, &err);
    vc_model *y = x ? vc_model_load(b, (const char *const[]){"optimizer.", NULL}, &err) : NULL;
    int ok = x && y && x->table.total == y->table.total;
    if (!ok) snprintf(why, cap, "%s", x && y ? "different models" : err.msg);
    double diff = 0, norm = 0, worst = -1;
    const char *worst_name = "";
    for (int i = 0; ok && i < x->table.count; i++) {
        const vc_param_info *pi = &x->table.info[i];
        double d = 0, n = 0;
        for (size_t k = pi->offset; k < pi->offset + pi->numel; k++) {
            const double e = x->params[k] - y->params[k];
            d += e * e, n += (double)y->params[k] * y->params[k];
        }
        diff += d, norm += n;
        if (n > 0 && sqrt(d / n) > worst) worst = sqrt(d / n), worst_name = pi->name;
    }
    if (ok && !(sqrt(diff) <= rtol * sqrt(norm)))
        ok = 0, snprintf(why, cap, "%s and %s differ by %.3g relative (> %g; most in %s: %.3g)", a, b,
                         sqrt(diff / norm), rtol, worst_name, worst);
    vc_model_free(x), vc_model_free(y);
    return ok;
}

/* Two run folders trained alike: the first `steps` losses of their logs and their final models
 * agree to rtol. */
static int runs_agree(const char *a, const char *b, int steps, double rtol, char *why, size_t cap) {
    double la[16], lb[16];
    char ma[512], mb[512];
    if (read_log_losses(a, la, steps) < steps || read_log_losses(b, lb, steps) < steps)
        return snprintf(why, cap, "%s or %s has fewer than %d logged steps", a, b, steps), 0;
    if (!losses_close(la, lb, steps, rtol, why, cap)) return 0;
    snprintf(ma, sizeof ma, "%s/model.safetensors", a);
    snprintf(mb, sizeof mb, "%s/model.safetensors", b);
    return models_close(ma, mb, rtol, why, cap);
}

static int cli_train(const char *out_dir, int ranks, int batch, const char *extra, char *out, size_t cap) {
    const char *ann = train_data();
    if (!ann) return snprintf(out, cap, "no synthetic data"), -1;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf %s && %s%d build/viclip train --train-data %s --out %s " SMALL_MODEL
             "--batch-size %d %s", out_dir, ranks > 1 ? MPIRUN : "", ranks, ann, out_dir, batch, extra);
    if (ranks <= 1) /* one process without a launcher: the default */
        snprintf(cmd, sizeof cmd, "rm -rf %s && build/viclip train --train-data %s --out %s " SMALL_MODEL
                 "--batch-size %d %s", out_dir, ann, out_dir, batch, extra);
    return run(cmd, out, cap);
}

static char out_buf[1 << 16];

/* Gradient buckets cover every trainable parameter once, in contiguous runs of one tower, at most
 * the bucket size each, and never a frozen tower's (--lock-text sends nothing of the text tower). */
TEST(gradient_buckets_cover_the_trainable_parameters_and_skip_frozen_towers) {
    vc_config c = vc_config_preset(VC_PRESET_TINY);
    vc_param_table t;
    vc_error err;
    CHECK(vc_param_table_build(&c, &t, &err) == 0, "%s", err.msg);
    vc_dist *d = vc_dist_single();
    for (int lock = 0; lock < 2; lock++) {
        const int frozen[3] = {0, lock, 0};
        vc_grad_sync s;
        CHECK(vc_grad_sync_init(&s, d, &t, frozen, 1000, &err) == 0, "%s", err.msg);
        char *seen = calloc(t.total, 1);
        for (int i = 0; i < s.n_buckets; i++) {
            const vc_grad_bucket *b = &s.buckets[i];
            CHECK(b->count >= 1 && b->count <= 1000, "bucket %d has %zu elements", i, b->count);
            CHECK(!frozen[b->tower], "bucket %d belongs to a frozen tower", i);
            for (size_t k = b->offset; k < b->offset + b->count; k++) seen[k]++;
        }
        for (int i = 0; i < t.count; i++)
            for (size_t k = t.info[i].offset; k < t.info[i].offset + t.info[i].numel; k++)
                CHECK(seen[k] == !frozen[t.info[i].tower], "%s element %zu sent %d times", t.info[i].name,
                      k - t.info[i].offset, seen[k]);
        free(seen);
        vc_grad_sync_free(&s);
    }
    vc_dist_free(d);
    vc_param_table_free(&t);
}

/* In one process the global-batch loss (local rows or full) is the symmetric loss of
 * model/contrastive: same value and gradients, with repeated group ids and without ids. */
TEST(global_loss_in_one_process_equals_the_contrastive_loss) {
    enum { B = 6, E = 5 };
    vc_real v[B * E], t[B * E], dv[B * E], dt[B * E], gv[B * E], gt[B * E], dtemp, gtemp;
    const int32_t ids[B] = {3, 1, 3, 7, 1, 9};
    uint64_t x = 12345;
    for (int i = 0; i < B * E; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (vc_real)((double)(x >> 11) / 9007199254740992.0 - 0.5);
        t[i] = (vc_real)((double)((x * 31) >> 11) / 9007199254740992.0 - 0.5);
    }
    vc_real *scratch = malloc(vc_contrastive_scratch_elems(B, B, E) * sizeof *scratch);
    vc_dist *d = vc_dist_single();
    vc_global_loss g;
    vc_error err;
    CHECK(scratch && d && vc_global_loss_init(&g, B, 1, E, &err) == 0, "setup");
    for (int with_ids = 0; with_ids < 2; with_ids++)
        for (int local = 0; local < 2; local++) {
            const int32_t *id = with_ids ? ids : NULL;
            const double want = vc_contrastive_loss(v, t, id, B, E, (vc_real)0.07, dv, dt, &dtemp, scratch);
            double got;
            CHECK(vc_global_loss_run(&g, d, local, v, t, id, (vc_real)0.07, &got, gv, gt, &gtemp, &err) == 0, "%s",
                  err.msg);
            CHECK_CLOSE(got, want, 1e-14, 1e-12);
            CHECK_CLOSE(gtemp, dtemp, 1e-14, 1e-12);
            for (int i = 0; i < B * E; i++) {
                CHECK_CLOSE(gv[i], dv[i], 1e-14, 1e-11);
                CHECK_CLOSE(gt[i], dt[i], 1e-14, 1e-11);
            }
        }
    vc_global_loss_free(&g);
    vc_dist_free(d);
    free(scratch);
}

/* fp32 to 1e-6: the data-parallel algebra. bf16 (the CLI's default here) rounds activations to
 * 8 bits, so a last-bit difference from another summation order (the all-reduce, or oneDNN
 * choosing its kernel by the row count, as for the few class/EOT rows of the towers' last
 * blocks) can flip a rounding and grow over the steps: held to 1e-3 (it is ~1e-4). */
TEST(two_ranks_of_batch_4_train_like_one_rank_of_batch_8_in_float) {
    if (!mpi_available("two_ranks_float")) return;
    CHECK(cli_train("build/tests/dist_one", 1, 8, "--precision fp32", out_buf, sizeof out_buf) == 0, "1 rank: %.2000s",
          out_buf);
    CHECK(cli_train("build/tests/dist_two", 2, 4, "--precision fp32", out_buf, sizeof out_buf) == 0, "2 ranks: %.2000s",
          out_buf);
    CHECK(cli_train("build/tests/dist_two_full", 2, 4, "--precision fp32 --full-loss", out_buf, sizeof out_buf) == 0,
          "2 ranks, full loss: %.2000s", out_buf);
    char why[1024] = "";
    CHECK(runs_agree("build/tests/dist_two", "build/tests/dist_one", 5, 1e-6, why, sizeof why), "local loss: %s", why);
    CHECK(runs_agree("build/tests/dist_two_full", "build/tests/dist_one", 5, 1e-6, why, sizeof why), "full loss: %s", why);
    /* activation recomputation changes memory only: the 2-rank model bit for bit */
    CHECK(cli_train("build/tests/dist_two_ckpt", 2, 4, "--precision fp32 --grad-checkpointing", out_buf, sizeof out_buf) == 0,
          "2 ranks, --grad-checkpointing: %.2000s", out_buf);
    CHECK(system("cmp -s build/tests/dist_two/model.safetensors build/tests/dist_two_ckpt/model.safetensors") == 0,
          "2 ranks: --grad-checkpointing changed the trained model");
    CHECK(cli_train("build/tests/dist_one16", 1, 8, "--precision bf16", out_buf, sizeof out_buf) == 0,
          "1 rank bf16: %.2000s", out_buf);
    CHECK(cli_train("build/tests/dist_two16", 2, 4, "--precision bf16 --full-loss", out_buf, sizeof out_buf) == 0,
          "2 ranks bf16: %.2000s", out_buf);
    CHECK(runs_agree("build/tests/dist_two16", "build/tests/dist_one16", 5, 1e-3, why, sizeof why), "bf16: %s", why);
    /* and the run trained: the loss moved */
    double one[5];
    CHECK(read_log_losses("build/tests/dist_one", one, 5) == 5, "1-rank log");
    CHECK(fabs(one[4] - one[0]) > 1e-3, "loss did not change: %g -> %g", one[0], one[4]);
}

TEST(a_two_rank_checkpoint_resumes_with_two_or_one_ranks_like_the_uninterrupted_run) {
    if (!mpi_available("resume")) return;
    /* the uninterrupted 2-rank run of the test above, made here too so the test stands alone;
     * fp32, as resuming on one rank of batch 8 is held to 1e-6 (see the test above for bf16) */
    CHECK(cli_train("build/tests/dist_two", 2, 4, "--precision fp32", out_buf, sizeof out_buf) == 0, "2 ranks: %.2000s",
          out_buf);
    CHECK(cli_train("build/tests/dist_part", 2, 4, "--precision fp32 --stop-after 3", out_buf, sizeof out_buf) == 0,
          "%.2000s", out_buf);
    CHECK(system("rm -rf build/tests/dist_part1 && cp -r build/tests/dist_part build/tests/dist_part1") == 0, "copy");
    const char *ann = train_data();
    char cmd[2048];
    snprintf(cmd, sizeof cmd, MPIRUN "2 build/viclip train --train-data %s --out build/tests/dist_part " SMALL_RUN
             "--batch-size 4 --precision fp32 --resume build/tests/dist_part/checkpoint.safetensors", ann);
    CHECK(run(cmd, out_buf, sizeof out_buf) == 0, "resume with 2 ranks: %.2000s", out_buf);
    snprintf(cmd, sizeof cmd, "build/viclip train --train-data %s --out build/tests/dist_part1 " SMALL_RUN
             "--batch-size 8 --precision fp32 --resume build/tests/dist_part1/checkpoint.safetensors", ann);
    CHECK(run(cmd, out_buf, sizeof out_buf) == 0, "resume with 1 rank: %.2000s", out_buf);
    char why[1024] = "";
    CHECK(runs_agree("build/tests/dist_part", "build/tests/dist_two", 5, 1e-6, why, sizeof why), "resumed with 2 ranks: %s", why);
    CHECK(runs_agree("build/tests/dist_part1", "build/tests/dist_two", 5, 1e-6, why, sizeof why), "resumed with 1 rank: %s",
          why);
}

/* A training set of the first `lines` synthetic clips plus one unreadable file (NAME.npy, a
 * truncated header) every `every` lines. Returns the annotation path (in the synthetic folder,
 * so the clip paths resolve). */
static const char *set_with_bad_clips(const char *name, int every, int lines) {
    const char *dir = vc_test_synth_dir(4, 16, 96);
    if (!dir) return NULL;
    static char ann[512];
    char path[512], line[1024];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    if (vc_test_write_file(path, "\x93NUMPY\x01", 7)) return NULL;
    snprintf(ann, sizeof ann, "%s/%s.jsonl", dir, name);
    snprintf(path, sizeof path, "%s/train.jsonl", dir);
    FILE *in = fopen(path, "r"), *out = fopen(ann, "w");
    for (int n = 0; in && out && n < lines && fgets(line, sizeof line, in); n++) {
        if (n % every == every - 1) fprintf(out, "{\"video\": \"%s.npy\", \"caption\": \"a bad clip\"}\n", name);
        fputs(line, out);
    }
    if (in) fclose(in);
    if (!out || fclose(out)) return NULL;
    return ann;
}

/* Streamed clips (decoded per step, crop + flip keyed by global position) with unreadable files
 * among them: 2 ranks replace them as 1 rank does. Step 1 comes before any update, so its loss
 * (to 1e-6) shows the same clips, pixels and masks; the later steps and the weights agree to
 * 1e-5 (float summation order, amplified by Adam over the steps). */
TEST(streamed_clips_and_their_replacements_are_the_same_with_two_ranks) {
    if (!mpi_available("streamed")) return;
    const char *ann = set_with_bad_clips("unreadable", 5, 60);
    CHECK(ann, "could not write the training set");
    char cmd[2048];
    const char *opts = SMALL_MODEL "--workers 1 --sampling rand --steps 4";
    snprintf(cmd, sizeof cmd, "rm -rf build/tests/dist_s1 && build/viclip train --train-data %s --out build/tests/dist_s1 %s "
             "--batch-size 8", ann, opts);
    CHECK(run(cmd, out_buf, sizeof out_buf) == 0, "1 rank: %.2000s", out_buf);
    CHECK(strstr(out_buf, "replaced by the next readable clip"), "no clip was replaced: %.1000s", out_buf);
    snprintf(cmd, sizeof cmd, "rm -rf build/tests/dist_s2 && " MPIRUN "2 build/viclip train --train-data %s "
             "--out build/tests/dist_s2 %s --batch-size 4", ann, opts);
    CHECK(run(cmd, out_buf, sizeof out_buf) == 0, "2 ranks: %.2000s", out_buf);
    char why[1024] = "";
    double one[1], two[1];
    CHECK(read_log_losses("build/tests/dist_s1", one, 1) == 1 && read_log_losses("build/tests/dist_s2", two, 1) == 1, "logs");
    CHECK(losses_close(two, one, 1, 1e-6, why, sizeof why), "%s", why);
    CHECK(runs_agree("build/tests/dist_s2", "build/tests/dist_s1", 4, 1e-5, why, sizeof why), "%s", why);
}

/* The double-precision trainer (tests/dist_train.c) under mpirun. */
static int f64_train(const char *out_dir, int ranks, const char *args, double *loss, char *why, size_t cap) {
    const char *dir = vc_test_synth_dir(4, 16, 96);
    if (!dir) return snprintf(why, cap, "no synthetic data"), 0;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf %s && %s%d build/tests/dist_train64 %s %s %s", out_dir, MPIRUN, ranks, dir,
             out_dir, args);
    if (run(cmd, out_buf, sizeof out_buf)) return snprintf(why, cap, "%.300s: %.1000s", cmd, out_buf), 0;
    if (parse_losses(out_buf, loss, 5) != 5) return snprintf(why, cap, "%.300s printed no losses: %.1000s", cmd, out_buf), 0;
    return 1;
}

TEST(double_precision_two_ranks_equal_one_rank_to_1e_10) {
    if (!mpi_available("double_precision")) return;
    static const struct {
        const char *one, *two; /* arguments of the 1-rank and the 2-rank run */
    } cases[] = {
        {"batch=8", "batch=4"},
        {"batch=8", "batch=4 full_loss=1"},
        {"batch=4 accum=2", "batch=2 accum=2"},   /* accumulation: negatives from all micro-batches of all ranks */
        {"batch=8 lock_text=1", "batch=4 lock_text=1"}, /* frozen text tower: never communicated */
        {"batch=8 drop_path=0.3", "batch=4 drop_path=0.3"}, /* drop-path drawn per row of the global batch */
    };
    char why[2048] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double one[5], two[5];
        CHECK(f64_train("build/tests/dist64_one", 1, cases[i].one, one, why, sizeof why), "%s", why);
        CHECK(f64_train("build/tests/dist64_two", 2, cases[i].two, two, why, sizeof why), "%s", why);
        CHECK(losses_close(two, one, 5, 1e-10, why, sizeof why), "%s vs %s: %s", cases[i].two, cases[i].one, why);
        CHECK(models_close("build/tests/dist64_two/model.safetensors", "build/tests/dist64_one/model.safetensors", 1e-10,
                           why, sizeof why), "%s vs %s: %s", cases[i].two, cases[i].one, why);
    }
}

/* The pid of the process of a given rank among those started with VC_TEST_TAG=tag. */
static pid_t find_rank(const char *tag, int rank) {
    char want_tag[128], want_rank[64];
    snprintf(want_tag, sizeof want_tag, "VC_TEST_TAG=%s", tag);
    snprintf(want_rank, sizeof want_rank, "OMPI_COMM_WORLD_RANK=%d", rank);
    FILE *ls = popen("ls /proc", "r");
    if (!ls) return 0;
    char name[64];
    pid_t found = 0;
    while (!found && fgets(name, sizeof name, ls)) {
        pid_t pid = (pid_t)atol(name);
        if (pid <= 0) continue;
        char path[128];
        snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
        /* /proc files report no size: read until the end */
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        static char env[1 << 17];
        const size_t n = fread(env, 1, sizeof env - 1, f);
        fclose(f);
        env[n] = 0;
        int has_tag = 0, has_rank = 0;
        for (size_t k = 0; k < n; k += strlen(env + k) + 1) {
            has_tag |= !strcmp(env + k, want_tag);
            has_rank |= !strcmp(env + k, want_rank);
        }
        /* mpirun itself has the tag but no rank */
        if (has_tag && has_rank) found = pid;
    }
    pclose(ls);
    return found;
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Starts a long 2-rank run in the background, waits for its checkpoint at step >= 2, then
 * sends sig to rank 1. Returns the seconds until mpirun exited (or -1), its status in *rc and
 * its output in out_buf. */
static double fault_run(const char *dir, const char *tag, int sig, const char *extra, int *rc, char *why, size_t cap) {
    const char *ann = train_data();
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s && (VC_TEST_TAG=%s timeout -s KILL 150 " MPIRUN "2 -x VC_TEST_TAG build/viclip train "
             "--train-data %s --out %s " SMALL_MODEL "--batch-size 4 --steps 100000 --save-every 2 %s "
             "> %s/output.txt 2>&1; echo $? > %s/status.txt) &", dir, dir, tag, ann, dir, extra, dir, dir);
    /* never leave a run behind: mpirun gets at most 150 s (the test waits 60 + 90) */
    if (system(cmd) != 0) return snprintf(why, cap, "could not start: %.1000s", cmd), -1;
    char ckpt[512], status[512], output[512];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", dir);
    snprintf(status, sizeof status, "%s/status.txt", dir);
    snprintf(output, sizeof output, "%s/output.txt", dir);
    pid_t victim = 0;
    for (double t0 = vc_now_s(); vc_now_s() - t0 < 60 && (!victim || access(ckpt, F_OK)); sleep_s(0.1))
        if (!victim) victim = find_rank(tag, 1);
    if (!victim || access(ckpt, F_OK)) {
        for (int r = 0; r < 2; r++) { /* stop the run before failing */
            pid_t p = find_rank(tag, r);
            if (p > 0) kill(p, SIGKILL);
        }
        return snprintf(why, cap, victim ? "no checkpoint appeared in 60 s" : "no process of rank 1 found"), -1;
    }
    sleep_s(0.3); /* mid-run: a few more steps, maybe mid-checkpoint */
    kill(victim, sig);
    const double t_kill = vc_now_s();
    while (access(status, F_OK) && vc_now_s() - t_kill < 90) sleep_s(0.1);
    const double took = vc_now_s() - t_kill;
    if (sig == SIGSTOP) kill(victim, SIGKILL); /* never leave a stopped process behind */
    unsigned char *st = vc_test_read_file(status, NULL), *out = vc_test_read_file(output, NULL);
    snprintf(out_buf, sizeof out_buf, "%s", out ? (char *)out : "");
    *rc = st ? atoi((char *)st) : -1;
    free(st), free(out);
    if (access(status, F_OK)) return snprintf(why, cap, "mpirun still runs %.0f s after the signal", took), -1;
    return took;
}

/* The last checkpoint of a killed run loads, and training resumes from it. */
static int checkpoint_resumes(const char *dir, char *why, size_t cap) {
    char ckpt[512], cmd[2048];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", dir);
    vc_adamw opt = {0};
    vc_adamw_params op = vc_adamw_default_params();
    int64_t step = 0;
    uint64_t seed = 0;
    vc_error err;
    vc_model *m = vc_checkpoint_load(ckpt, &opt, &op, &step, &seed, &err);
    if (!m) return snprintf(why, cap, "the last checkpoint does not load: %s", err.msg), 0;
    vc_model_free(m);
    vc_adamw_free(&opt);
    snprintf(cmd, sizeof cmd, MPIRUN "2 build/viclip train --train-data %s --out %s " SMALL_RUN
             "--batch-size 4 --steps 100000 --stop-after %lld --resume %s", train_data(), dir, (long long)step + 2, ckpt);
    if (run(cmd, out_buf, sizeof out_buf)) return snprintf(why, cap, "resume after the fault: %.1500s", out_buf), 0;
    return 1;
}

/* Sends sig to rank 1 of a running 2-rank job: mpirun must fail within max_s with a message
 * containing `expect`, and the last checkpoint must load and resume. */
static int fault_check(const char *dir, const char *tag, int sig, const char *extra, double max_s, const char *expect,
                       char *why, size_t cap) {
    int rc = 0;
    const double took = fault_run(dir, tag, sig, extra, &rc, why, cap);
    if (took < 0) return 0;
    if (rc == 0) return snprintf(why, cap, "mpirun exited 0 after signal %d to rank 1: %.1500s", sig, out_buf), 0;
    if (took >= max_s) return snprintf(why, cap, "mpirun took %.1f s to stop (limit %g s)", took, max_s), 0;
    if (!strstr(out_buf, expect)) return snprintf(why, cap, "no \"%s\" in: %.1500s", expect, out_buf), 0;
    printf("  signal %d to rank 1: mpirun stopped after %.1f s\n", sig, took);
    return checkpoint_resumes(dir, why, cap);
}

/* mpirun sees the death and ends the job, naming the rank. */
TEST(killing_rank_1_stops_rank_0_within_60_s_and_the_checkpoint_loads) {
    if (!mpi_available("kill")) return;
    char why[2048] = "";
    CHECK(fault_check("build/tests/dist_kill", "kill9", SIGKILL, "", 60, "rank 1", why, sizeof why), "%s", why);
}

/* A hung rank (SIGSTOP) is found by the collectives' deadline, and named. */
TEST(a_hung_rank_1_is_named_by_rank_0_after_the_deadline) {
    if (!mpi_available("hang")) return;
    char why[2048] = "";
    CHECK(fault_check("build/tests/dist_hang", "stop", SIGSTOP, "--dist-timeout 3", 30, "rank 1 did not answer", why,
                      sizeof why), "%s", why);
}

TEST_MAIN("dist", T(global_loss_in_one_process_equals_the_contrastive_loss),
          T(gradient_buckets_cover_the_trainable_parameters_and_skip_frozen_towers),
          T(two_ranks_of_batch_4_train_like_one_rank_of_batch_8_in_float),
          T(a_two_rank_checkpoint_resumes_with_two_or_one_ranks_like_the_uninterrupted_run),
          T(double_precision_two_ranks_equal_one_rank_to_1e_10),
          T(streamed_clips_and_their_replacements_are_the_same_with_two_ranks),
          T(killing_rank_1_stops_rank_0_within_60_s_and_the_checkpoint_loads),
          T(a_hung_rank_1_is_named_by_rank_0_after_the_deadline))
