/* test_store_writer: a results-file writer for the MPI and kill -9 tests (t_store_mpi.sh).
 *   test_store_writer                                   self-test on 1 rank
 *   test_store_writer run PATH T DELAY_US [PIDDIR]      under mpirun: create (or resume)
 *       a T-task file, each rank writes the pending rows id = k*size + rank, sleeping
 *       DELAY_US after each, collective flush every 25 rounds; PIDDIR gets one empty file
 *       named after each rank's pid (for the killer). WRITER_WEIGHTS=1: save_weights on
 *       (a slower create step, per-task weight datasets written too).
 *   test_store_writer probe PATH HASH                   under mpirun: store_open with HASH
 *       on every rank; prints "probe: rc=R on all ranks" (or "probe: ranks disagree").
 *   test_store_writer verify PATH T [complete]          serial, no MPI: the file is absent
 *       or opens read-only, /tasks is the grid and every done/failed row is bitwise the
 *       expected one; "complete": no row pending. Prints "verify: absent" or counts. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "store.h"

#define WRITER_HASH "writer-hash-1"

/* Field-wise: Task has padding that compound literals leave unspecified. */
static int task_equal(const Task *a, const Task *b)
{
    return a->id == b->id && a->model == b->model && a->d == b->d && a->N == b->N
           && a->n == b->n && a->regime == b->regime && a->replicate == b->replicate;
}

static void writer_grid(long T, Grid *g)
{
    g->count = T;
    g->tasks = calloc((size_t)T, sizeof(Task));
    for (long i = 0; i < T; i++)
        g->tasks[i] = (Task){.id = i, .model = MODEL_QUADRATIC, .d = 6, .N = 1 + (int)(i % 7),
                             .n = i % 2 ? 100 : -1, .regime = (int)(i % 3),
                             .replicate = (int)(i / 100)};
}

static void writer_job(JobSpec *job, int weights)
{
    job_defaults(job);
    job->n_d = 1;
    job->d[0] = 6;
    job->replicates = 1000;
    job->save_weights = weights;
    job->curve_points = 4;
}

static TaskResult writer_result(long id)
{
    return (TaskResult){.risk_train = 1.0 + id, .risk_test = 0.25 * id, .risk_pop = sqrt(id + 0.5),
                        .r0 = 2.0, .error_test = NAN, .bayes_error = NAN, .theory = -1.0 / (id + 1),
                        .iterations = 3 * id, .residual = 1e-12 * id, .flops = 1e6 * id,
                        .seconds = 1e-3 * id, .cause = id % 11 == 5 ? CAUSE_NONFINITE : CAUSE_NONE,
                        .stop = (int)(id % 5)};
}

/* Creates (rank 0 renames) when absent, then opens. */
static int writer_open(const char *path, long T, int rank, Store **st)
{
    JobSpec job;
    Grid g;
    int exists = access(path, F_OK) == 0;
    MPI_Bcast(&exists, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!exists) { /* rank 0 creates alone; the others wait for its verdict */
        int rc = STORE_OK;
        if (rank == 0) {
            writer_job(&job, getenv("WRITER_WEIGHTS") && atoi(getenv("WRITER_WEIGHTS")));
            writer_grid(T, &g);
            StoreProvenance prov = {"Open MPI 4.1.4", "OpenBLAS"};
            rc = store_create(path, &job, "[sweep]\nname = writer\n", WRITER_HASH, &g, &prov);
            free(g.tasks);
            if (rc == STORE_OK)
                rc = store_commit(path);
        }
        MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (rc < 0)
            return rc;
    }
    return store_open(path, MPI_COMM_WORLD, WRITER_HASH, st);
}

static int writer_put(Store *st, long id, int rank, int attempts, int weights)
{
    TaskResult r = writer_result(id);
    double W0[7 * 6], a0[7], M[36], c = (double)id, tr[4], te[4];
    long steps[4] = {1, 10, 100, 1000};
    for (int i = 0; i < 42; i++)
        W0[i] = id + i * 1e-3;
    for (int i = 0; i < 7; i++)
        a0[i] = -id - i;
    for (int i = 0; i < 36; i++)
        M[i] = id * 0.5 + i;
    for (int k = 0; k < 4; k++)
        tr[k] = id + k, te[k] = id - k;
    TaskExtras ex = {.M = M, .c = &c, .W0 = weights ? W0 : NULL, .a0 = weights ? a0 : NULL,
                     .curve_train = tr, .curve_test = te, .curve_steps = steps};
    if (!weights)
        ex.M = ex.c = NULL;
    return store_put_result(st, id, &r, rank, attempts, &ex);
}

static int writer_run(const char *path, long T, long delay_us, const char *piddir)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    Store *st = NULL;
    double t0 = MPI_Wtime();
    int rc = writer_open(path, T, rank, &st);
    double t_open = MPI_Wtime() - t0;
    if (rc != STORE_OK) {
        fprintf(stderr, "writer: rank %d: open failed (%d)\n", rank, rc);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    char *w = store_read_attr(st, "save_weights");
    free(w);
    int weights = getenv("WRITER_WEIGHTS") && atoi(getenv("WRITER_WEIGHTS"));
    if (rank == 0) {
        StoreRun run;
        char *argv[] = {"test_store_writer", "run"};
        store_run_from_env(&run, 2, argv);
        run.ranks = size;
        store_run_begin(st, &run);
    }
    uint8_t *status = malloc((size_t)T);
    int *att = malloc((size_t)T * sizeof *att);
    store_read_status(st, status);
    store_read_attempts(st, att);
    long rounds = (T + size - 1) / size, mine = 0;
    for (long k = 0; k < rounds; k++) {
        long id = k * size + rank;
        if (id < T && status[id] == STORE_PENDING) {
            if (writer_put(st, id, rank, att[id] + 1, weights) != 0)
                MPI_Abort(MPI_COMM_WORLD, 1);
            mine++;
            if (delay_us)
                usleep((useconds_t)delay_us);
        }
        if (k % 25 == 24)
            store_flush(st);
    }
    long total = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    double t_rows = MPI_Wtime() - t0 - t_open;
    MPI_Reduce(&mine, &total, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0 && getenv("WRITER_TIMES"))
        fprintf(stderr, "writer: %d ranks, T=%ld: create/open %.3f s, %ld rows in %.3f s "
                "(%.0f rows/s, flush every 25 rounds)\n", size, T, t_open, total, t_rows,
                total / t_rows);
    if (rank == 0)
        store_run_end(st, 0, "complete", total);
    rc = store_close(st);
    free(status);
    free(att);
    (void)piddir;
    return rc == 0 ? 0 : 1;
}

/* Serial check; returns the number of bad rows (or -1 when the file does not open). */
static long writer_verify(const char *path, long T, int complete, long *done, long *pending)
{
    Store *st = NULL;
    int rc = store_open_readonly(path, WRITER_HASH, &st);
    *done = *pending = 0;
    if (rc == STORE_EMISSING)
        return 0;
    if (rc != STORE_OK || store_task_count(st) != T) {
        store_close(st);
        return -1;
    }
    Grid g;
    writer_grid(T, &g);
    Task *tasks = malloc((size_t)T * sizeof *tasks);
    TaskResult *res = malloc((size_t)T * sizeof *res);
    uint8_t *status = malloc((size_t)T);
    int *att = malloc((size_t)T * sizeof *att), *rk = malloc((size_t)T * sizeof *rk);
    long bad = 0;
    if (store_read_tasks(st, tasks, NULL) || store_read_status(st, status)
        || store_read_results(st, 0, T, res, rk, att))
        bad = T + 1;
    for (long i = 0; i < T && !bad; i++) {
        TaskResult want = writer_result(i);
        bad += !task_equal(&tasks[i], &g.tasks[i]);
        if (status[i] == STORE_PENDING) {
            ++*pending;
            bad += complete;
            continue;
        }
        ++*done;
        int ok = memcmp(&res[i], &want, sizeof want) == 0 && att[i] >= 1 && rk[i] >= 0
                 && status[i] == (want.cause ? STORE_FAILED : STORE_DONE);
        if (!ok && bad < 5)
            fprintf(stderr, "verify: task %ld: status %d attempts %d risk_train %g\n", i, status[i],
                    att[i], res[i].risk_train);
        bad += !ok;
    }
    free(g.tasks);
    free(tasks);
    free(res);
    free(status);
    free(att);
    free(rk);
    store_close(st);
    return bad;
}

static int self_test(void)
{
    char dir[] = "/tmp/test_store_writer.XXXXXX", path[128];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/w.h5", dir);
    long done, pending;
    GROUP("writer self-test");
    CHECK(writer_verify(path, 40, 0, &done, &pending) == 0 && done == 0, "absent file verifies");
    CHECK(writer_run(path, 40, 0, NULL) == 0, "run 40 tasks on 1 rank");
    long bad = writer_verify(path, 40, 1, &done, &pending);
    CHECK(bad == 0 && done == 40, "complete, bitwise (bad %ld, done %ld)", bad, done);
    CHECK(writer_run(path, 40, 0, NULL) == 0, "resume of a complete file");
    Store *st = NULL;
    StoreRun runs[4];
    CHECK(store_open_readonly(path, NULL, &st) == 0 && store_read_runs(st, runs, 4) == 2
              && runs[0].tasks_done == 40 && runs[1].tasks_done == 0, "two run records");
    store_close(st);
    unlink(path);
    rmdir(dir);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "verify") == 0) {
        long done, pending, T = atol(argv[3]);
        int complete = argc > 4 && strcmp(argv[4], "complete") == 0;
        if (access(argv[2], F_OK) != 0) {
            printf("verify: absent\n");
            return 0;
        }
        long bad = writer_verify(argv[2], T, complete, &done, &pending);
        printf("verify: %s done=%ld pending=%ld bad=%ld\n", bad == 0 ? "ok" : "BAD", done, pending, bad);
        return bad == 0 ? 0 : 1;
    }
    if (argc >= 4 && strcmp(argv[1], "probe") == 0) {
        MPI_Init(&argc, &argv);
        Store *st = NULL;
        int rank, rc = store_open(argv[2], MPI_COMM_WORLD, argv[3], &st), lo, hi;
        if (rc == STORE_EFOREIGN || (rc == STORE_ERR && !st))
            rc = STORE_EFOREIGN; /* H5Fopen itself refused it: not HDF5 */
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Allreduce(&rc, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        MPI_Allreduce(&rc, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        store_close(st); /* collective: a handle on every rank, or NULL on every rank */
        if (rank == 0)
            printf(lo == hi ? "probe: rc=%d on all ranks\n" : "probe: ranks disagree\n", lo);
        MPI_Finalize();
        return lo == hi ? 0 : 1;
    }
    if (argc >= 5 && strcmp(argv[1], "run") == 0) {
        if (argc > 5) { /* our pid, before MPI_Init, for the killer */
            char p[512];
            snprintf(p, sizeof p, "%s/%ld", argv[5], (long)getpid());
            FILE *f = fopen(p, "w");
            if (f)
                fclose(f);
        }
        MPI_Init(&argc, &argv);
        int rc = writer_run(argv[2], atol(argv[3]), atol(argv[4]), argc > 5 ? argv[5] : NULL);
        MPI_Finalize();
        return rc;
    }
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
    MPI_Init(&argc, &argv);
    self_test();
    MPI_Finalize();
    return th_finish("test_store_writer");
}
