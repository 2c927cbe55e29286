/* test_store: the results file on one rank (singleton MPI_Init) — layout and fill values,
 * rows read back bitwise, the status marker, refusals that leave the file byte-identical
 * (another job, not HDF5, empty), leftover PATH.creating, run records, the shared done
 * predicate, recovery from the journal (markers, bitwise replay, crashed tasks, nothing
 * DONE touched, damaged journals add nothing); prints the time to create a 10^5-task file
 * and the row write rate. */
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "journal.h"
#include "outcome.h"
#include "recover.h"
#include "store.h"

static char dir[256];

/* Field-wise: Task has padding that compound literals leave unspecified. */
static int task_equal(const Task *a, const Task *b)
{
    return a->id == b->id && a->model == b->model && a->d == b->d && a->N == b->N
           && a->n == b->n && a->regime == b->regime && a->replicate == b->replicate;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static uint64_t file_fnv(const char *path)
{
    uint64_t h = 1469598103934665603ull;
    FILE *f = fopen(path, "rb");
    int c;
    if (!f)
        return 0;
    while ((c = getc(f)) != EOF) {
        h ^= (unsigned char)c;
        h *= 1099511628211ull;
    }
    fclose(f);
    return h;
}

/* model x d x N x n x regime x replicate = 2*2*2*2*2*2 = 64 tasks. */
static void make_grid(JobSpec *job, Grid *g)
{
    static const int ds[] = {4, 6}, Ns[] = {2, 5}, regs[] = {REGIME_RF, REGIME_NN};
    static const long ns[] = {-1, 50};
    job_defaults(job);
    job->n_models = 2;
    job->models[0] = MODEL_QUADRATIC;
    job->models[1] = MODEL_MIXTURE;
    job->target = TARGET_WIGNER;
    job->n_d = 2;
    job->d[0] = 4;
    job->d[1] = 6;
    job->replicates = 2;
    job->mixture_rank = 3;
    job->curve_points = 5;
    job->save_weights = 1;
    g->count = 64;
    g->tasks = calloc(64, sizeof(Task));
    long id = 0;
    for (int m = 0; m < 2; m++)
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                for (int c = 0; c < 2; c++)
                    for (int r = 0; r < 2; r++)
                        for (int rep = 0; rep < 2; rep++, id++)
                            g->tasks[id] = (Task){.id = id, .model = m, .d = ds[a], .N = Ns[b],
                                                  .n = ns[c], .regime = regs[r], .replicate = rep};
}

static TaskResult result_for(long id)
{
    return (TaskResult){.risk_train = 1.0 + id, .risk_test = 0.25 * id, .risk_pop = sqrt(id + 0.5),
                        .r0 = 2.0, .error_test = NAN, .bayes_error = 0.125, .theory = -1.0 / (id + 1),
                        .iterations = 3 * id, .residual = 1e-12 * id, .flops = 1e6 * id,
                        .seconds = 1e-3 * id, .cause = id % 7 == 3 ? CAUSE_SOLVER : CAUSE_NONE,
                        .stop = (int)(id % STOP_COUNT), .restarts = (int)(id % 4),
                        .error_floor = id % 2 ? NAN : 0.5 / (id + 1)};
}

/* Field by field, doubles bitwise (NaN == NaN): TaskResult has padding bytes. */
static int same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }
static int same_result(const TaskResult *a, const TaskResult *b)
{
    return same_double(a->risk_train, b->risk_train) && same_double(a->risk_test, b->risk_test) &&
           same_double(a->risk_pop, b->risk_pop) && same_double(a->r0, b->r0) &&
           same_double(a->error_test, b->error_test) &&
           same_double(a->bayes_error, b->bayes_error) && same_double(a->theory, b->theory) &&
           a->iterations == b->iterations && same_double(a->residual, b->residual) &&
           same_double(a->flops, b->flops) && same_double(a->seconds, b->seconds) &&
           a->cause == b->cause && a->stop == b->stop && a->restarts == b->restarts &&
           same_double(a->error_floor, b->error_floor);
}

static int create_file(const char *path, const JobSpec *job, const Grid *g, const char *hash)
{
    StoreProvenance prov = {"Open MPI test", "OpenBLAS test"};
    int rc = store_create(path, job, "[sweep]\nname = t\n", hash, g, &prov);
    return rc ? rc : store_commit(path);
}

static void test_create_and_fill(const char *path, const JobSpec *job, const Grid *g)
{
    GROUP("create");
    Store *st = NULL;
    char tmp[512];
    store_temp_name(path, tmp, sizeof tmp);
    FILE *f = fopen(tmp, "w"); /* a leftover of a killed create */
    fputs("garbage", f);
    fclose(f);
    CHECK(create_file(path, job, g, "hash-A") == STORE_OK, "create with a leftover .creating");
    CHECK(access(tmp, F_OK) != 0, "PATH.creating renamed away");
    CHECK(store_create(path, job, "x", "hash-A", g, NULL) == STORE_OK
              && store_commit(path) == STORE_ERR, "commit refuses to replace an existing PATH");
    CHECK(access(tmp, F_OK) != 0, "the refused PATH.creating is removed");
    CHECK(store_open(path, MPI_COMM_WORLD, "hash-A", &st) == STORE_OK, "open");
    if (!st)
        return;
    CHECK(store_task_count(st) == 64, "task count %ld", store_task_count(st));
    CHECK(store_curve_points(st) == 5, "curve points");
    uint8_t status[64];
    int attempts[64], target[64], nonzero = 0, nan_rows = 0, same = 0;
    TaskResult res[64];
    Task tasks[64];
    CHECK(store_read_status(st, status) == 0, "read status");
    CHECK(store_read_attempts(st, attempts) == 0, "read attempts");
    CHECK(store_read_results(st, 0, 64, res, NULL, NULL) == 0, "read results");
    CHECK(store_read_tasks(st, tasks, target) == 0, "read tasks");
    for (int i = 0; i < 64; i++) {
        nonzero += status[i] != 0 || attempts[i] != 0;
        nan_rows += isnan(res[i].risk_train) && isnan(res[i].risk_test) && isnan(res[i].risk_pop)
                    && isnan(res[i].r0) && isnan(res[i].seconds) && res[i].cause == 0;
        same += task_equal(&tasks[i], &g->tasks[i])
                && target[i] == (g->tasks[i].model == MODEL_QUADRATIC ? TARGET_WIGNER : -1);
    }
    CHECK(nonzero == 0, "fill: status 0 and attempts 0 (%d not)", nonzero);
    CHECK(nan_rows == 64, "fill: NaN metrics, cause 0 (%d of 64)", nan_rows);
    CHECK(same == 64, "/tasks rows equal the grid (%d of 64)", same);
    double tr[5], te[5];
    long steps[5];
    CHECK(store_read_curve(st, 7, tr, te, steps) == 0 && isnan(tr[0]) && isnan(te[4]) && steps[0] == -1,
          "curves filled with NaN, steps -1");
    const char *names[] = {"format", "job_text", "job_hash", "program_version", "compiler", "cflags",
                           "hdf5_version", "mpi_version", "blas_version", "created", NULL};
    for (int i = 0; names[i]; i++) {
        char *v = store_read_attr(st, names[i]);
        CHECK(v && v[0], "provenance attribute %s present", names[i]);
        free(v);
    }
    char *jt = store_read_attr(st, "job_text"), *hv = store_read_attr(st, "hdf5_version");
    CHECK(jt && strcmp(jt, "[sweep]\nname = t\n") == 0, "job text verbatim");
    CHECK(hv && strcmp(hv, "1.10.8") == 0, "hdf5 version %s", hv ? hv : "(null)");
    free(jt);
    free(hv);
    CHECK(store_close(st) == STORE_OK, "close");
}

static void test_rows(const char *path)
{
    GROUP("rows");
    Store *st = NULL;
    CHECK(store_open(path, MPI_COMM_WORLD, "hash-A", &st) == STORE_OK, "reopen");
    if (!st)
        return;
    StoreRun run;
    char *argv[] = {"test_store", "rows"};
    store_run_from_env(&run, 2, argv);
    run.ranks = 1;
    snprintf(run.hosts, sizeof run.hosts, "localhost");
    CHECK(store_run_begin(st, &run) == STORE_OK, "run begin");
    double W0[5 * 6], a0[5], M[36], c = 0.5, curve_tr[5], curve_te[5];
    long steps[5] = {1, 10, 100, 1000, 2000};
    for (int i = 0; i < 30; i++)
        W0[i] = i * 0.1;
    for (int i = 0; i < 5; i++)
        a0[i] = -i, curve_tr[i] = 1.0 / (i + 1), curve_te[i] = 2.0 / (i + 1);
    for (int i = 0; i < 36; i++)
        M[i] = i * i;
    TaskExtras ex = {.M = M, .c = &c, .W0 = W0, .a0 = a0, .curve_train = curve_tr,
                     .curve_test = curve_te, .curve_steps = steps};
    double B[16], U[12];
    for (int i = 0; i < 16; i++)
        B[i] = i + 0.5;
    for (int i = 0; i < 12; i++)
        U[i] = -i;
    CHECK(store_put_target(st, 4, 1, B, 3.0) == 0, "put target");
    CHECK(store_put_mixture(st, 4, 0, U) == 0, "put mixture frame");
    int ok = 1;
    for (long id = 0; id < 64; id += 3) {
        TaskResult r = result_for(id);
        ok &= store_put_result(st, id, &r, 0, 1, id == 63 ? &ex : NULL) == 0;
    }
    CHECK(ok, "put rows 0, 3, ..., 63");
    TaskResult r10 = result_for(10);
    CHECK(store_put_row(st, 10, &r10, 0, 1, NULL) == 0, "row 10 without its marker");
    CHECK(store_run_end(st, 3, "signal", 22) == 0, "run end");
    CHECK(store_close(st) == STORE_OK, "close");

    CHECK(store_open_readonly(path, "hash-A", &st) == STORE_OK, "open read-only");
    if (!st)
        return;
    uint8_t status[64];
    TaskResult res[64];
    int rank[64], att[64], bitwise = 0, marks = 0;
    CHECK(store_read_status(st, status) == 0 && store_read_results(st, 0, 64, res, rank, att) == 0,
          "read back");
    for (long id = 0; id < 64; id++) {
        TaskResult want = result_for(id);
        int written = id % 3 == 0;
        int st_want = !written ? STORE_PENDING : want.cause ? STORE_FAILED : STORE_DONE;
        marks += status[id] == st_want;
        if (written)
            bitwise += same_result(&res[id], &want) && rank[id] == 0 && att[id] == 1;
    }
    CHECK(marks == 64, "status: 1 done, 2 failed, 0 elsewhere (%d of 64 right)", marks);
    CHECK(bitwise == 22, "rows read back bitwise (%d of 22)", bitwise);
    CHECK(status[10] == STORE_PENDING && att[10] == 1 && res[10].risk_train == 11.0,
          "row written without marker reads as pending");
    double tr[5], te[5];
    long st5[5];
    CHECK(store_read_curve(st, 63, tr, te, st5) == 0 && tr[2] == curve_tr[2] && te[4] == curve_te[4]
              && st5[3] == 1000, "curve read back");
    StoreRun runs[4];
    int n = store_read_runs(st, runs, 4);
    CHECK(n == 1 && runs[0].ranks == 1 && runs[0].exit_status == 3
              && strcmp(runs[0].exit_reason, "signal") == 0 && runs[0].tasks_done == 22
              && runs[0].end >= runs[0].start && strstr(runs[0].command, "test_store rows"),
          "run record (%d records)", n);
    CHECK(store_close(st) == STORE_OK, "close read-only");
}

static void test_refusals(const char *path)
{
    GROUP("refusals");
    Store *st = NULL;
    uint64_t before = file_fnv(path);
    CHECK(store_open_readonly(path, "hash-B", &st) == STORE_EJOB && !st, "read-only other job: EJOB");
    CHECK(store_open_writable(path, "hash-B", &st) == STORE_EJOB && !st, "writable other job: EJOB");
    CHECK(file_fnv(path) == before, "file byte-identical after EJOB");
    CHECK(store_open(path, MPI_COMM_WORLD, "hash-B", &st) == STORE_EJOB && st, "parallel open: "
          "EJOB with a handle to close");
    CHECK(store_close(st) == STORE_OK, "close the refused handle");
    char foreign[512], missing[512], empty[512];
    snprintf(foreign, sizeof foreign, "%s/foreign.h5", dir);
    snprintf(missing, sizeof missing, "%s/missing.h5", dir);
    snprintf(empty, sizeof empty, "%s/empty.h5", dir);
    FILE *f = fopen(foreign, "w");
    fputs("not an HDF5 file\n", f);
    fclose(f);
    fclose(fopen(empty, "w"));
    uint64_t fb = file_fnv(foreign);
    st = NULL;
    CHECK(store_open(path, MPI_COMM_WORLD, "hash-A", &st) == STORE_OK, "right job still opens");
    store_close(st);
    st = NULL;
    CHECK(store_open_writable(foreign, NULL, &st) == STORE_EFOREIGN, "not HDF5: EFOREIGN");
    CHECK(file_fnv(foreign) == fb, "foreign file byte-identical");
    CHECK(store_open_writable(empty, NULL, &st) == STORE_EFOREIGN, "empty: EFOREIGN");
    struct stat sb;
    CHECK(stat(empty, &sb) == 0 && sb.st_size == 0, "empty file stays empty (no superblock written)");
    CHECK(store_open_readonly(missing, NULL, &st) == STORE_EMISSING, "read-only missing");
    CHECK(store_visible(missing) == STORE_EMISSING && store_visible(path) == STORE_OK, "visible");
    CHECK(store_close(NULL) == STORE_OK, "store_close(NULL) no-op");
}

static void test_outcome(void)
{
    GROUP("done predicate");
    TaskResult r = result_for(1); /* cause none, finite */
    CHECK(outcome_of(1, 1, &r) == OUTCOME_DONE, "marker, row, finite: done");
    CHECK(outcome_of(1, 0, &r) == OUTCOME_PENDING, "marker without row: pending");
    CHECK(outcome_of(0, 1, &r) == OUTCOME_PENDING, "row without marker: pending");
    r.risk_pop = NAN;
    CHECK(outcome_of(1, 1, &r) == OUTCOME_PENDING, "non-finite metrics: pending");
    TaskResult f = result_for(3); /* cause solver */
    CHECK(outcome_of(2, 1, &f) == OUTCOME_FAILED && outcome_of(1, 1, &f) == OUTCOME_PENDING,
          "failed needs the failed marker and a cause");
}

/* A file without curves or weights (rows can be replayed from the journal). */
static void test_recover(void)
{
    GROUP("recover");
    JobSpec job;
    Grid g;
    make_grid(&job, &g);
    job.curve_points = 0;
    job.save_weights = 0;
    char path[512], jpath[600];
    snprintf(path, sizeof path, "%s/rec.h5", dir);
    snprintf(jpath, sizeof jpath, "%s.journal", path);
    CHECK(create_file(path, &job, &g, "hash-R") == STORE_OK, "create");
    Store *st = NULL;
    CHECK(store_open_writable(path, "hash-R", &st) == STORE_OK, "open writable");
    TaskResult r0 = result_for(0), r11 = result_for(11), r20 = result_for(20), r50 = result_for(50);
    r20.risk_pop = -0.0; /* a replay must keep every bit */
    r20.error_test = -NAN;
    store_put_result(st, 0, &r0, 1, 1, NULL);   /* done in the file */
    store_put_row(st, 11, &r11, 2, 1, NULL);   /* row without marker */
    store_put_result(st, 50, &r50, 1, 1, NULL);  /* done in the file, at attempt 1 */
    store_close(st);
    Journal *j = NULL;
    char moved[600];
    CHECK(journal_open(jpath, "hash-R", &j, moved, sizeof moved) == JOURNAL_OK && !moved[0], "journal");
    long ids[] = {0, 11, 20, 30, 40, 50};
    int one[] = {1, 1, 1, 1, 1, 1};
    journal_append_ids(j, 'D', 1, ids, one, 6);
    JournalEntry e0 = {.id = 0, .status = 1, .attempt = 1, .rank = 1, .has_row = 1, .row = r0};
    JournalEntry e11 = {.id = 11, .status = 1, .attempt = 1, .rank = 2, .has_row = 1, .row = r11};
    JournalEntry e20 = {.id = 20, .status = 1, .attempt = 1, .rank = 2, .has_row = 1, .row = r20};
    TaskResult bad = result_for(50);
    bad.cause = CAUSE_SOLVER;
    JournalEntry e50 = {.id = 50, .status = 2, .attempt = 1, .rank = 3, .cause = 2, .has_row = 1,
                        .row = bad}; /* disagrees with the DONE file: the file wins */
    journal_append_result(j, &e0);
    journal_append_result(j, &e11);
    journal_append_result(j, &e20);
    journal_append_result(j, &e50);
    int two[] = {2, 2}, three[] = {3};
    long id3040[] = {30, 40}, id30[] = {30};
    journal_append_ids(j, 'D', 1, id3040, two, 2);  /* 30 and 40 killed twice */
    journal_append_ids(j, 'D', 2, id30, three, 1);  /* 30 a third time */
    CHECK(journal_close(j) == JOURNAL_OK, "journal written");

    RecoverTask plan[64];
    RecoverSummary rs;
    RecoverOptions look = {.write = 0, .crash_limit = 3};
    uint64_t before = file_fnv(path);
    CHECK(recover_run(path, jpath, "hash-R", &look, plan, &rs) == 0, "look");
    CHECK(file_fnv(path) == before, "looking writes nothing");
    CHECK(plan[20].outcome == OUTCOME_DONE && plan[20].journal && rs.ahead == 2,
          "looking: the journal is ahead by 2 (ahead %ld)", rs.ahead);
    RecoverOptions wr = {.write = 1, .crash_limit = 3, .compact = 2};
    CHECK(recover_run(path, jpath, "hash-R", &wr, plan, &rs) == 0, "recover");
    CHECK(rs.marked == 1 && rs.replayed == 1 && rs.crashed == 1, "marked %ld replayed %ld crashed %ld",
          rs.marked, rs.replayed, rs.crashed);
    CHECK(plan[40].outcome == OUTCOME_PENDING && plan[40].suspect && plan[40].attempts == 2,
          "killed twice: pending, suspect, 2 attempts counted");
    CHECK(plan[30].outcome == OUTCOME_FAILED && plan[30].attempts == 3, "killed 3 times: failed");
    CHECK(rs.compacted > 0, "journal compacted");
    st = NULL;
    CHECK(store_open_readonly(path, "hash-R", &st) == STORE_OK, "reopen");
    uint8_t s[64];
    TaskResult res[64];
    int rank[64], att[64];
    store_read_state(st, 0, 64, s, res, rank, att);
    store_close(st);
    CHECK(s[11] == 1 && s[20] == 1 && s[30] == 2 && s[50] == 1 && s[40] == 0, "markers %d %d %d %d %d",
          s[11], s[20], s[30], s[50], s[40]);
    CHECK(journal_row_same(&res[20], &r20) && rank[20] == 2 && att[20] == 1,
          "replayed row bit for bit (rank %d attempts %d)", rank[20], att[20]);
    CHECK(res[30].cause == CAUSE_CRASHED && att[30] == 3 && res[50].cause == CAUSE_NONE,
          "crashed row; the DONE row untouched");
    /* after compaction the journal still says the same */
    JournalTask jt[64];
    JournalStats js;
    CHECK(journal_scan(jpath, "hash-R", 64, jt, &js) == JOURNAL_OK && jt[40].unresolved == 2
              && jt[40].max_attempt == 2 && jt[30].status == 2 && jt[20].status == 1 && js.bad == 0,
          "compacted journal keeps unresolved and results");
    /* damaged journals add nothing and never take DONE away */
    const char *garbage[] = {"", "garbage\nmore garbage\n", "# lazysweep-journal 2 job=other\n",
                             "# lazysweep-journal 2 job=hash-R\nR 12 done a=1 r=2 s=1 c=0 row=AAAA check=00000000\n"
                             "R 11 done a=1 r=2 s=1 c=0 row=AAA", NULL};
    for (int k = 0; garbage[k]; k++) {
        FILE *f = fopen(jpath, "w");
        fputs(garbage[k], f);
        fclose(f);
        before = file_fnv(path);
        CHECK(recover_run(path, jpath, "hash-R", &wr, plan, &rs) == 0 && file_fnv(path) == before
                  && rs.done == 4 && plan[0].outcome == OUTCOME_DONE,
              "damaged journal %d: nothing changed, %ld done", k, rs.done);
    }
    unlink(jpath);
    CHECK(recover_run(path, jpath, "hash-R", &wr, plan, &rs) == 0 && rs.journal_rc == JOURNAL_EMISSING
              && rs.done == 4, "no journal: nothing changed");
    free(g.tasks);
}

static void measure(void)
{
    GROUP("measure");
    JobSpec job;
    Grid g;
    char path[512];
    snprintf(path, sizeof path, "%s/big.h5", dir);
    job_defaults(&job);
    job.n_d = 1;
    job.d[0] = 50;
    g.count = 100000;
    g.tasks = calloc((size_t)g.count, sizeof(Task));
    for (long i = 0; i < g.count; i++)
        g.tasks[i] = (Task){.id = i, .model = 0, .d = 50, .N = 1 + (int)(i % 100),
                            .n = 1000, .regime = (int)(i % 3), .replicate = (int)(i / 300)};
    double t0 = now();
    int rc = create_file(path, &job, &g, "hash-big");
    double t_create = now() - t0;
    Store *st = NULL;
    CHECK(rc == 0 && store_open(path, MPI_COMM_WORLD, "hash-big", &st) == 0, "create 1e5 tasks");
    if (!st)
        return;
    t0 = now();
    int ok = 1, rows = 20000;
    for (long id = 0; id < rows; id++) {
        TaskResult r = result_for(id);
        ok &= store_put_result(st, id, &r, 0, 1, NULL) == 0;
    }
    double t_rows = now() - t0;
    t0 = now();
    ok &= store_flush(st) == 0;
    double t_flush = now() - t0;
    CHECK(ok, "rows and flush");
    uint8_t *s = malloc((size_t)g.count);
    t0 = now();
    CHECK(store_read_status(st, s) == 0 && s[rows - 1] == 1 && s[rows] == 0, "status read");
    double t_status = now() - t0;
    store_close(st);
    printf("measure: create 1e5 tasks %.3f s; %d put_result %.3f s (%.0f rows/s); "
           "flush %.4f s; read 1e5 status %.4f s\n",
           t_create, rows, t_rows, rows / t_rows, t_flush, t_status);
    free(s);
    free(g.tasks);
    unlink(path);
}

int main(int argc, char **argv)
{
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
    MPI_Init(&argc, &argv);
    snprintf(dir, sizeof dir, "/tmp/test_store.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/r.h5", dir);
    JobSpec job;
    Grid g;
    make_grid(&job, &g);
    test_create_and_fill(path, &job, &g);
    test_rows(path);
    test_refusals(path);
    test_outcome();
    test_recover();
    measure();
    free(g.tasks);
    if (!getenv("TEST_STORE_KEEP")) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    } else {
        printf("kept %s\n", dir);
    }
    MPI_Finalize();
    return th_finish("test_store");
}
