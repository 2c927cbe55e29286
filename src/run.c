/* run: `lazysweep run JOB -o FILE` — the sweep, start to end. Ties the pieces
 * together in order: rank 0 validates the job, takes the lock, creates the results file
 * (alone, with the serial driver) or checks it and adds what the journal knows
 * (recover), opens the journal and orders the tasks — all before any other rank touches
 * the file; all ranks agree on the verdict; every rank checks that it sees the file,
 * they agree; the file is opened collectively, they agree; the scheduler hands out the
 * tasks (each order carries the task, each report the whole result row, which the master
 * journals before the worker gets new work); then the file is closed collectively and
 * the exit status says what happened. Every collective file step goes through
 * sched_enter/sched_leave: all ranks take it or all stop together, none waits forever.
 * MPI lives in sched, HDF5 in store; this file only calls them. */
#include "run.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cost.h"
#include "data.h"
#include "datacache.h"
#include "fault.h"
#include "grid.h"
#include "journal.h"
#include "linalg.h"
#include "lock.h"
#include "log.h"
#include "outputs.h"
#include "outcome.h"
#include "plan.h"
#include "recover.h"
#include "rng.h"
#include "sched.h"
#include "store.h"
#include "task.h"
#include "timer.h"

typedef struct {
    JobSpec job;
    Grid grid;                 /* rank 0 only: workers get each task in its order */
    Store *store;
    Journal *journal;          /* rank 0 only */
    int rank;
    int last_model, last_d, last_rep; /* target last written (save_weights) */
    char path[4096];           /* the results file as rank 0 resolved it (absolute) */
    char jpath[4200];
    int journal_broken;        /* rank 0: a journal write failed (reported once) */
} RunCtx;

/* save_weights: the task's target, once per (model, d, replicate) in a row on this
 * rank (tasks of one target tend to come together; a repeat writes the same bytes). */
static int put_target(RunCtx *c, const Task *t)
{
    if (t->model == c->last_model && t->d == c->last_d && t->replicate == c->last_rep)
        return STORE_OK;
    Target *tg = data_target_create(&c->job, t->model, t->d, t->replicate);
    if (!tg)
        return STORE_ERR;
    int rc = t->model == MODEL_MIXTURE ? store_put_mixture(c->store, t->d, t->replicate, tg->U)
                                       : store_put_target(c->store, t->d, t->replicate, tg->B, tg->b0);
    data_target_free(tg);
    if (rc == STORE_OK) {
        c->last_model = t->model;
        c->last_d = t->d;
        c->last_rep = t->replicate;
    }
    return rc;
}

/* ---- the scheduler's callbacks ------------------------------------------------------ */

/* Master: a task's description travels with its order. */
static void describe(void *vctx, long id, void *spec)
{
    RunCtx *c = vctx;
    memcpy(spec, grid_task(&c->grid, id), sizeof(Task));
}

/* Worker: compute, write the row (status byte last), report the whole result. */
static int execute(void *vctx, long id, int attempt, const void *spec, void *report,
                   int *stored, double *seconds)
{
    RunCtx *c = vctx;
    Task t;
    memcpy(&t, spec, sizeof t);
    const JobSpec *job = &c->job;
    TaskResult res;
    TaskExtras ex;
    memset(&ex, 0, sizeof ex);
    size_t d = (size_t)t.d, N = (size_t)t.N, P = (size_t)job->curve_points;
    double c_out = 0;
    if (job->save_weights) {
        ex.M = ls_malloc(sizeof(double) * d * d);
        ex.W0 = ls_malloc(sizeof(double) * N * d);
        ex.a0 = ls_malloc(sizeof(double) * N);
        ex.c = &c_out;
        if (t.regime == REGIME_ONESTEP)
            ex.W1 = ls_malloc(sizeof(double) * N * d);
    }
    if (P > 0 && t.regime == REGIME_NN) {
        ex.curve_train = ls_malloc(sizeof(double) * P);
        ex.curve_test = ls_malloc(sizeof(double) * P);
        ex.curve_steps = ls_malloc(sizeof(long) * P);
    }
    fault_task(id);
    task_run(job, &t, sched_stop_flag(), &res, &ex);
    int outcome;
    *stored = 1;
    if (res.cause == CAUSE_STOPPED) {
        outcome = SCHED_STOPPED; /* not written: the task stays pending and reruns */
    } else {
        if ((job->save_weights && put_target(c, &t) != STORE_OK)
            || store_put_result(c->store, id, &res, c->rank, attempt, &ex) != STORE_OK) {
            log_error("%s: cannot write the result of task %ld (%s)", c->path, id, strerror(errno));
            *stored = 0;
        }
        outcome = res.cause == CAUSE_NONE ? SCHED_DONE : SCHED_FAILED;
    }
    memcpy(report, &res, sizeof res);
    *seconds = res.seconds;
    free(ex.M);
    free(ex.W0);
    free(ex.a0);
    free(ex.W1);
    free(ex.curve_train);
    free(ex.curve_test);
    free(ex.curve_steps);
    return outcome;
}

static int journal_failed(RunCtx *c)
{
    if (!c->journal_broken)
        log_error("%s: cannot write the journal: %s; stopping (exit 1): rows already written "
                  "stay in the results file; resume when the problem is fixed", c->jpath,
                  strerror(errno));
    c->journal_broken = 1;
    return -1;
}

/* Master: the dispatch record, before the order leaves. */
static int dispatched(void *vctx, int rank, const long *ids, const int *attempts, int k)
{
    RunCtx *c = vctx;
    return journal_append_ids(c->journal, 'D', rank, ids, attempts, k) == JOURNAL_OK ? 0
                                                                                     : journal_failed(c);
}

/* Master: one writer, so the journal stays whole on file systems without atomic appends
 * across nodes (NFS). The result row is the worker's, bit for bit. */
static int record(void *vctx, long id, int outcome, int attempt, int rank, int stored,
                  const void *report)
{
    RunCtx *c = vctx;
    int rc;
    long ids[1] = {id};
    int atts[1] = {attempt};
    if (outcome == SCHED_DONE || outcome == SCHED_FAILED) {
        JournalEntry e;
        memset(&e, 0, sizeof e);
        memcpy(&e.row, report, sizeof e.row);
        e.id = id;
        e.status = outcome == SCHED_DONE ? STORE_DONE : STORE_FAILED;
        e.attempt = attempt;
        e.rank = rank;
        e.cause = e.row.cause;
        e.seconds = e.row.seconds;
        e.has_row = 1;
        rc = journal_append_result(c->journal, &e);
    } else {
        rc = journal_append_ids(c->journal, outcome == SCHED_STOPPED ? 'S' : 'X', rank, ids, atts, 1);
    }
    (void)stored;
    return rc == JOURNAL_OK ? 0 : journal_failed(c);
}

static int commit(void *vctx)
{
    RunCtx *c = vctx;
    return journal_sync(c->journal) == JOURNAL_OK ? 0 : journal_failed(c);
}

/* All ranks: a collective flush once every rank has arrived. */
static int sync_point(void *vctx)
{
    RunCtx *c = vctx;
    sched_enter("flush");
    return sched_leave(store_flush(c->store));
}

/* ---- rank 0: what to run ---------------------------------------------------------- */

typedef struct {
    long *queue;
    long count, done, failed, total, suspects;
    int *attempts;
    double *cost;
    uint8_t *isolate;  /* dispatches without a result so far: such tasks go last, alone */
    int *group;        /* per task id: its data group (model, d, n, replicate), 0, 1, ... */
} Queue;

static const double *sort_cost; /* qsort has no context argument */
static const uint8_t *sort_last;
static int by_cost_desc(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    if (sort_last[x] != sort_last[y]) /* tasks that may kill their rank go last, the most
                                       * suspect ones at the very end */
        return sort_last[x] < sort_last[y] ? -1 : 1;
    if (sort_cost[x] != sort_cost[y])
        return sort_cost[x] < sort_cost[y] ? 1 : -1;
    return x < y ? -1 : x > y; /* stable: the grid order */
}

static const Task *sort_tasks;
static int by_data(const void *a, const void *b)
{
    const Task *x = &sort_tasks[*(const long *)a], *y = &sort_tasks[*(const long *)b];
    if (x->model != y->model)
        return x->model < y->model ? -1 : 1;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return (x->replicate > y->replicate) - (x->replicate < y->replicate);
}

/* Tasks with the same (model, d, n, replicate) share their target, test and training
 * sets: one group each, numbered 0, 1, ... */
static int *data_groups(const Grid *g)
{
    long n = g->count;
    long *ids = ls_malloc(sizeof(long) * (size_t)(n > 0 ? n : 1));
    int *group = ls_malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++)
        ids[i] = i;
    sort_tasks = g->tasks;
    qsort(ids, (size_t)n, sizeof(long), by_data);
    int k = -1;
    for (long i = 0; i < n; i++) {
        if (i == 0 || by_data(&ids[i - 1], &ids[i]) != 0)
            k++;
        group[ids[i]] = k;
    }
    free(ids);
    return group;
}

static void build_queue(RunCtx *c, const CliArgs *args, const RecoverTask *plan, Queue *q)
{
    long n = c->grid.count;
    q->attempts = ls_calloc((size_t)n, sizeof(int));
    q->cost = ls_malloc(sizeof(double) * (size_t)n);
    q->queue = ls_malloc(sizeof(long) * (size_t)n);
    uint8_t *last = q->isolate = ls_calloc((size_t)n, 1);
    q->count = q->done = q->failed = q->suspects = 0;
    q->total = n;
    /* predicted seconds (draws shared by each data group): only the order, the batching
     * and the first time predictions use it; without memory for the groups, no shares */
    if (cost_job(&c->job, &c->grid, q->cost, NULL) != 0)
        for (long i = 0; i < n; i++)
            q->cost[i] = cost_task(&c->job, &c->grid.tasks[i]).seconds;
    for (long i = 0; i < n; i++) {
        q->attempts[i] = plan ? plan[i].attempts : 0;
        int o = plan ? plan[i].outcome : OUTCOME_PENDING;
        if (o == OUTCOME_DONE) {
            q->done++;
        } else if (o == OUTCOME_FAILED && !args->retry_failed) {
            q->failed++;
        } else { /* pending, retried, or a marker whose row never reached the disk */
            q->queue[q->count++] = i;
            last[i] = plan ? plan[i].suspect : 0;
            q->suspects += last[i] > 0;
        }
    }
    sort_cost = q->cost;
    sort_last = last;
    qsort(q->queue, (size_t)q->count, sizeof(long), by_cost_desc);
    q->group = data_groups(&c->grid);
}

/* ---- prolog: validate, lock, create or check and recover, journal (rank 0) ---------- */

/* The results file as an absolute path, so that ranks started in other directories
 * open the same file. */
static int resolve_path(const char *out, char *buf, size_t len)
{
    char dir[4096], base[4096], real[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", out);
    snprintf(base, sizeof base, "%s", out);
    if (!realpath(dirname(dir), real)) {
        log_error("%s: cannot use this path: %s", out, strerror(errno));
        return -1;
    }
    int n = snprintf(buf, len, "%s/%s", real, basename(base));
    if (n < 0 || (size_t)n >= len) {
        log_error("%s: path too long", out);
        return -1;
    }
    return 0;
}

static int refuse(const char *path, const char *job, const char *hash, int rc,
                  const JobSpec *spec)
{
    if (rc == STORE_EJOB)
        log_error("%s: made from a different job than %s (job hash %s); give another -o "
                  "or the job file that made it (its text is in the file: "
                  "h5dump -a job_text %s)%s", path, job, hash, path,
                  job_has_regime(spec, REGIME_NN) && spec->nn_method == NN_METHOD_DEFAULT
                      ? "; a file made when nn_method = auto meant gd/population resumes "
                        "with nn_method = classic"
                      : "");
    else if (rc == STORE_EFOREIGN)
        log_error("%s: exists but is %s; give another -o", path, store_error());
    else if (rc == STORE_EOLD)
        log_error("%s: %s: resuming would mix two releases' results in one file; finish it "
                  "with the release that made it (see `lazysweep status`), or give another "
                  "-o (status, aggregate and analysis/ still read it)", path, store_error());
    else if (rc == STORE_EBAD)
        log_error("%s: %s: damaged, or made by another version or job; give another -o", path,
                  store_error());
    else
        log_error("%s: cannot read the results file (%s)", path, store_error());
    return rc == STORE_ERR ? LS_EXIT_INTERNAL : LS_EXIT_USAGE;
}

/* Checks an existing file against the job and adds what the journal knows. */
static int resume_rank0(RunCtx *c, const CliArgs *args, const char *hash, RecoverTask **plan)
{
    Store *st = NULL;
    /* the format first: a file of an earlier release is refused as such, whatever job */
    int rc = store_open_readonly(c->path, NULL, &st);
    if (rc == STORE_OK)
        rc = store_check_current(st);
    if (st && store_close(st) != STORE_OK && rc == STORE_OK)
        rc = STORE_ERR;
    st = NULL;
    if (rc == STORE_OK)
        rc = store_open_readonly(c->path, hash, &st);
    if (rc == STORE_OK)
        rc = store_check_grid(st, &c->job, &c->grid);
    int close_rc = st ? store_close(st) : STORE_OK;
    if (rc != STORE_OK)
        return refuse(args->out, args->job, hash, rc, &c->job);
    if (close_rc != STORE_OK)
        return LS_EXIT_INTERNAL;
    if (access(c->path, R_OK | W_OK) != 0) {
        log_error("%s: cannot resume: the results file is not readable and writable: %s",
                  args->out, strerror(errno));
        return LS_EXIT_USAGE;
    }
    *plan = ls_malloc(sizeof(RecoverTask) * (size_t)c->grid.count);
    RecoverOptions ro = {.write = 1, .crash_limit = c->job.crash_limit, .compact = 1};
    RecoverSummary rs;
    if (recover_run(c->path, c->jpath, hash, &ro, *plan, &rs) != 0) {
        log_error("%s: cannot bring the results file up to date with %s", args->out, c->jpath);
        return LS_EXIT_INTERNAL;
    }
    if (rs.js.bad > 0)
        log_warn("%s: %ld damaged or torn lines skipped", c->jpath, rs.js.bad);
    if (rs.replayed || rs.marked)
        log_info("%s: replayed %ld results from the journal that the file lacked (%ld rows, "
                 "%ld markers)", args->out, rs.replayed + rs.marked, rs.replayed, rs.marked);
    if (rs.crashed)
        log_warn("%s: %ld tasks were dispatched %d times without a result (they kill their "
                 "rank): recorded failed, cause crashed (--retry-failed runs them again)",
                 args->out, rs.crashed, c->job.crash_limit);
    if (rs.rerun)
        log_info("%s: %ld journaled results run again (their curves or weights are not in the "
                 "journal)", args->out, rs.rerun);
    if (rs.compacted)
        log_info("%s: compacted from %ld to %ld bytes", c->jpath, rs.js.bytes, rs.compacted);
    return LS_EXIT_OK;
}

static int create_rank0(RunCtx *c, const CliArgs *args, const char *text, const char *hash)
{
    char moved[4300];
    if (access(c->jpath, F_OK) == 0) { /* from an earlier file of that name: keep it */
        if (journal_move_aside(c->jpath, moved, sizeof moved) != 0) {
            log_error("%s: cannot move the old journal aside: %s", c->jpath, strerror(errno));
            return LS_EXIT_INTERNAL;
        }
        log_warn("%s: a journal without its results file; moved to %s", c->jpath, moved);
    }
    StoreProvenance prov = {sched_mpi_version(), la_blas_info()};
    if (store_create(c->path, &c->job, text, hash, &c->grid, &prov) != STORE_OK
        || store_commit(c->path) != STORE_OK) {
        log_error("%s: cannot create the results file", args->out);
        return LS_EXIT_INTERNAL;
    }
    return LS_EXIT_OK;
}

static int prolog_rank0(const CliArgs *args, RunCtx *c, Lock *lock, Queue *q)
{
    char *text = NULL;
    RecoverTask *plan = NULL;
    int rc = plan_load(args->job, args->mem_per_rank, &c->job, &c->grid, &text);
    if (rc)
        return rc;
    char msg[1024], cmd[512] = "", hash[32];
    if (outputs_check_results(args->out, args->job, msg, sizeof msg) != 0) {
        log_error("%s", msg); /* before the lock and MPI I/O touch anything */
        rc = LS_EXIT_USAGE;
        goto done;
    }
    if (resolve_path(args->out, c->path, sizeof c->path) != 0) {
        rc = LS_EXIT_USAGE;
        goto done;
    }
    snprintf(c->jpath, sizeof c->jpath, "%s.journal", c->path);
    for (int i = 0; i < args->argc; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "%s%s", i ? " " : "", args->argv[i]);
    int lk = lock_acquire(args->out, cmd, lock, msg, sizeof msg);
    if (lk == LOCK_HELD || lk == LOCK_ERR) {
        log_error("%s", msg);
        rc = LS_EXIT_USAGE;
        goto done;
    }
    if (lk == LOCK_TAKEN_OVER)
        log_warn("%s", msg);
    if (la_blas_warning())
        log_warn("%s", la_blas_warning());
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)job_hash(&c->job));
    rc = access(c->path, F_OK) == 0 ? resume_rank0(c, args, hash, &plan)
                                    : create_rank0(c, args, text, hash);
    if (rc != LS_EXIT_OK)
        goto done;
    char moved[4300];
    if (journal_open(c->jpath, hash, &c->journal, moved, sizeof moved) != JOURNAL_OK) {
        log_error("%s: cannot open the journal: %s; not running without it", c->jpath,
                  strerror(errno));
        rc = LS_EXIT_INTERNAL;
        goto done;
    }
    if (moved[0])
        log_warn("%s: not a journal of this job; moved to %s, a new one started", c->jpath, moved);
    build_queue(c, args, plan, q);
    if (q->done || q->failed)
        log_info("resuming %s: %ld done, %ld failed, %ld to run", args->out, q->done, q->failed,
                 q->count);
    if (q->suspects)
        log_warn("%s: %ld tasks were running when a rank died; they run last, each on its own",
                 args->out, q->suspects);
done:
    free(plan);
    free(text);
    return rc;
}

/* ---- all ranks: see the file, open it -------------------------------------------------- */

/* Every rank must see the file rank 0 made (NFS caches may lag behind a rename). */
static int agree_visible(RunCtx *c)
{
    const char *env = getenv("LAZYSWEEP_VISIBLE_SECONDS"), *fault = getenv("LAZYSWEEP_FAULT");
    double wait = env ? atof(env) : 30, t0 = timer_now();
    if (fault && *fault)
        wait = 0; /* an injected invisibility is for good */
    int rc;
    while ((rc = store_visible(c->path)) == STORE_EMISSING && timer_now() - t0 < wait)
        usleep(200000);
    int worst = sched_agree_max(rc != STORE_OK ? c->rank + 1 : 0);
    if (worst && c->rank == 0)
        log_error("%s: rank %d does not see the results file (or may not write it)%s; all ranks "
                  "must share the file system that holds it", c->path, worst - 1,
                  wait > 0 ? " after waiting" : "");
    return worst ? LS_EXIT_INTERNAL : LS_EXIT_OK;
}

static int open_collective(RunCtx *c, const char *hash)
{
    sched_enter("open");
    int rc = store_open(c->path, sched_comm(), hash, &c->store);
    if (rc != STORE_OK)
        log_error("%s", store_error());
    rc = sched_leave(rc);
    if (rc == STORE_OK)
        return LS_EXIT_OK;
    if (c->rank == 0)
        log_error("%s: the ranks could not open the results file together; stopping", c->path);
    sched_enter("close");
    sched_leave(store_close(c->store));
    c->store = NULL;
    return LS_EXIT_INTERNAL;
}

/* ---- the command ------------------------------------------------------------------- */

int run_main(const CliArgs *args)
{
    sched_init(NULL, NULL);
    RunCtx c;
    memset(&c, 0, sizeof c);
    c.rank = sched_rank();
    c.last_d = -1;
    Lock lock;
    memset(&lock, 0, sizeof lock);
    Queue q;
    memset(&q, 0, sizeof q);
    SchedSummary sum;
    memset(&sum, 0, sizeof sum);
    long done_now = 0, failed_now = 0, pending_now = 0;
    long data_reuse[4] = {0, 0, 0, 0}; /* training hits, draws; target hits, draws */
    int ran = 0;
    int status = c.rank == 0 ? prolog_rank0(args, &c, &lock, &q) : LS_EXIT_OK;
    status = sched_agree_max(status);       /* rank 0 decides, everyone agrees */
    /* A CPU without FMA draws its normals with SLEEF's cinz functions (last bits differ):
     * mixed with FMA CPUs, results would depend on which rank ran a task. Every rank
     * takes both collectives. */
    int generic = strcmp(rng_isa(), "generic") == 0;
    int any_generic = sched_agree_max(generic), all_generic = -sched_agree_max(-generic);
    if (c.rank == 0 && any_generic && !all_generic)
        log_warn("some ranks' CPUs lack FMA: their random normals differ in the last bits "
                 "from the other ranks', so results depend on which rank ran a task; run on "
                 "one kind of CPU (see `lazysweep --version`)");
    char hash[32] = "";
    if (status == LS_EXIT_OK) {
        /* JobSpec holds no pointers: it travels as bytes; the task table stays on rank 0 */
        sched_bcast(&c.job, sizeof c.job, 0);
        sched_bcast(c.path, sizeof c.path, 0);
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)job_hash(&c.job));
        status = agree_visible(&c);
    }
    if (status == LS_EXIT_OK)
        status = open_collective(&c, hash);
    if (status == LS_EXIT_OK) {
        char *hosts = sched_hostnames(); /* collective */
        if (c.rank == 0) {
            StoreRun run;
            store_run_from_env(&run, args->argc, args->argv);
            run.ranks = sched_size();
            if (!getenv("SLURM_JOB_NODELIST"))
                snprintf(run.hosts, sizeof run.hosts, "%s", hosts);
            if (store_run_begin(c.store, &run) != STORE_OK)
                log_warn("%s: no free run record; this run is not recorded", args->out);
        }
        free(hosts);
        SchedOptions opt = {args->max_tasks, args->time_limit, args->sync_every, 0.05, args->quiet};
        SchedWork work = {sizeof(Task), sizeof(TaskResult), describe, execute, dispatched,
                          record, commit, sync_point, &c};
        datacache_stats_reset();
        const char *aff = getenv("LAZYSWEEP_AFFINITY"); /* "0": plain largest first (bench) */
        sched_run(&work, &opt, q.queue, q.count, q.attempts, q.cost, q.isolate,
                  aff && !strcmp(aff, "0") ? NULL : q.group,
                  q.total, q.done + q.failed, &sum);
        ran = 1;
        DataCacheStats ds = datacache_stats();
        long reuse[4] = {ds.train_hits, ds.train_draws, ds.target_hits, ds.target_draws};
        sched_sum_longs(reuse, 4); /* collective: every rank is back from the sweep */
        memcpy(data_reuse, reuse, sizeof reuse);
        if (c.rank == 0) {
            /* from what the master knows: reading /status back would need a sync to
             * see the workers' writes on every file system */
            long failed = q.failed + sum.failed;
            long pending = c.grid.count - q.done - sum.done - failed;
            status = sum.io_failed ? LS_EXIT_INTERNAL : pending ? LS_EXIT_RESUMABLE
                     : failed ? LS_EXIT_FAILED : LS_EXIT_OK;
            const char *reason = sum.io_failed ? "io-error" : sum.interrupted ? "signal"
                                 : sum.time_limited ? "time-limit" : pending ? "max-tasks"
                                 : failed ? "failed-tasks" : "complete";
            store_run_end(c.store, status, reason, sum.done + sum.failed);
            done_now = c.grid.count - pending - failed;
            failed_now = failed;
            pending_now = pending;
        }
        sched_bcast(&status, sizeof status, 0);
        sched_enter("close");
        int rc = sched_leave(store_close(c.store));
        c.store = NULL;
        if (rc != STORE_OK) {
            if (c.rank == 0)
                log_error("%s: the collective close failed; the rows written stay valid (exit 1)",
                          args->out);
            status = LS_EXIT_INTERNAL;
        }
    }
    if (c.rank == 0 && journal_close(c.journal) != JOURNAL_OK && status != LS_EXIT_USAGE) {
        if (!c.journal_broken)
            log_error("%s: cannot write the journal: %s", c.jpath, strerror(errno));
        status = LS_EXIT_INTERNAL;
    }
    if (ran && getenv("LAZYSWEEP_REPORT_MASTER_CPU")) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        fprintf(stderr, "lazysweep: rank %d: peak resident memory %.1f MiB\n", c.rank,
                ru.ru_maxrss / 1024.0);
    }
    if (c.rank == 0 && ran) {
        fprintf(stderr, "lazysweep: %s: %ld ok, %ld failed, %ld pending of %ld tasks "
                "(this run: %ld done, %ld failed in %.1f s); exit %d\n", args->out, done_now,
                failed_now, pending_now, c.grid.count, sum.done, sum.failed, sum.seconds, status);
        if (data_reuse[0] + data_reuse[1] + data_reuse[2] + data_reuse[3] > 0)
            fprintf(stderr, "lazysweep: data reuse: training sets %ld of %ld tasks, test sets "
                    "and targets %ld of %ld\n", data_reuse[0], data_reuse[0] + data_reuse[1],
                    data_reuse[2], data_reuse[2] + data_reuse[3]);
        if (getenv("LAZYSWEEP_REPORT_MASTER_CPU"))
            fprintf(stderr, "lazysweep: master cpu %.3f s of %.3f s wall (%.2f%%), %ld "
                    "reports, %.0f tasks/s\n", sum.master_cpu, sum.seconds,
                    100 * sum.master_cpu / (sum.seconds > 0 ? sum.seconds : 1), sum.messages,
                    (sum.done + sum.failed) / (sum.seconds > 0 ? sum.seconds : 1));
    }
    if (c.rank == 0 && lock.ours)
        lock_release(&lock);
    free(q.queue);
    free(q.attempts);
    free(q.cost);
    free(q.isolate);
    free(q.group);
    grid_free(&c.grid);
    sched_finalize();
    /* Rank 0 speaks for the job: mpirun aborts the others when a rank exits non-zero,
     * and srun reports the largest status, so workers return 0 unless the job failed
     * internally (an agreed verdict: every rank knows). */
    return c.rank == 0 || status == LS_EXIT_INTERNAL ? status : LS_EXIT_OK;
}
