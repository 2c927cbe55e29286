/* run: `lazysweep run JOB -o FILE` — the sweep, start to end. Ties the pieces
 * together in order: rank 0 validates the job and takes the lock, all ranks agree on
 * the verdict, the results file is created (collectively) or reopened for resume, the
 * scheduler hands out the tasks, each worker runs its task and writes its own row,
 * then the file is closed collectively and the exit status says what happened.
 * MPI lives in sched, HDF5 in store; this file only calls them. */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"
#include "grid.h"
#include "journal.h"
#include "linalg.h"
#include "lock.h"
#include "log.h"
#include "outputs.h"
#include "plan.h"
#include "sched.h"
#include "store.h"
#include "task.h"

enum { MODE_CREATE = 1, MODE_RESUME = 2 };

typedef struct {
    JobSpec job;
    Grid grid;
    Store *store;
    Journal *journal;
    int rank;
    int last_model, last_d, last_rep; /* target last written (save_weights) */
} RunCtx;

/* save_weights: the task's target, once per (model, d, replicate) in a row on this
 * rank (tasks of one target tend to come together; a repeat writes the same bytes). */
static void put_target(RunCtx *c, const Task *t)
{
    if (t->model == c->last_model && t->d == c->last_d && t->replicate == c->last_rep)
        return;
    Target *tg = data_target_create(&c->job, t->model, t->d, t->replicate);
    if (!tg)
        ls_fatal("cannot draw the target of task %ld", t->id);
    int rc = t->model == MODEL_MIXTURE ? store_put_mixture(c->store, t->d, t->replicate, tg->U)
                                       : store_put_target(c->store, t->d, t->replicate, tg->B, tg->b0);
    data_target_free(tg);
    if (rc != STORE_OK)
        ls_fatal("cannot write the target of task %ld", t->id);
    c->last_model = t->model;
    c->last_d = t->d;
    c->last_rep = t->replicate;
}

/* ---- the worker's task: compute, write the row, journal it ------------------------ */

static int execute(void *vctx, long id, int attempt, int *cause, double *seconds)
{
    RunCtx *c = vctx;
    const Task *t = grid_task(&c->grid, id);
    const JobSpec *job = &c->job;
    TaskResult res;
    TaskExtras ex;
    memset(&ex, 0, sizeof ex);
    size_t d = (size_t)t->d, N = (size_t)t->N, P = (size_t)job->curve_points;
    double c_out = 0;
    if (job->save_weights) {
        ex.M = ls_malloc(sizeof(double) * d * d);
        ex.W0 = ls_malloc(sizeof(double) * N * d);
        ex.a0 = ls_malloc(sizeof(double) * N);
        ex.c = &c_out;
        if (t->regime == REGIME_ONESTEP)
            ex.W1 = ls_malloc(sizeof(double) * N * d);
    }
    if (P > 0 && t->regime == REGIME_NN) {
        ex.curve_train = ls_malloc(sizeof(double) * P);
        ex.curve_test = ls_malloc(sizeof(double) * P);
        ex.curve_steps = ls_malloc(sizeof(long) * P);
    }
    task_run(job, t, sched_stop_flag(), &res, &ex);
    int outcome;
    if (res.cause == CAUSE_STOPPED) {
        outcome = SCHED_STOPPED; /* not written: the task stays pending and reruns */
    } else {
        if (job->save_weights)
            put_target(c, t);
        if (store_put_result(c->store, id, &res, c->rank, attempt, &ex) != STORE_OK)
            ls_fatal("cannot write the result of task %ld", id);
        outcome = res.cause == CAUSE_NONE ? SCHED_DONE : SCHED_FAILED;
    }
    *cause = res.cause;
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

/* The master journals every finished task: one writer, so the journal stays whole on
 * file systems without atomic appends across nodes (NFS). */
static void record(void *vctx, long id, int outcome, int cause, int attempt, double seconds,
                   int rank)
{
    RunCtx *c = vctx;
    JournalEntry e = {id, outcome == SCHED_DONE ? STORE_DONE : STORE_FAILED, attempt, rank,
                      seconds, cause};
    if (c->journal && journal_append(c->journal, &e) != JOURNAL_OK)
        log_warn("cannot append to the journal: %s", strerror(errno));
}

static void sync_point(void *vctx)
{
    RunCtx *c = vctx;
    if (store_flush(c->store) != STORE_OK)
        ls_fatal("collective flush of the results file failed");
}

/* ---- rank 0: what to run ---------------------------------------------------------- */

typedef struct {
    long *queue;
    long count, done, failed, total;
    int *attempts;
    double *cost;
} Queue;

static const double *sort_cost; /* qsort has no context argument */
static int by_cost_desc(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    if (sort_cost[x] != sort_cost[y])
        return sort_cost[x] < sort_cost[y] ? 1 : -1;
    return x < y ? -1 : x > y; /* stable: the grid order */
}

static void build_queue(RunCtx *c, const CliArgs *args, Queue *q)
{
    long n = c->grid.count;
    uint8_t *status = ls_malloc((size_t)n);
    q->attempts = ls_calloc((size_t)n, sizeof(int));
    q->cost = ls_malloc(sizeof(double) * (size_t)n);
    q->queue = ls_malloc(sizeof(long) * (size_t)n);
    if (store_read_status(c->store, status) != STORE_OK ||
        store_read_attempts(c->store, q->attempts) != STORE_OK)
        ls_fatal("cannot read /status of %s", args->out);
    q->count = q->done = q->failed = 0;
    q->total = n;
    for (long i = 0; i < n; i++) {
        /* only the order and the batching use it */
        q->cost[i] = grid_cost(&c->job, &c->grid.tasks[i]).flops / GRID_FLOPS_PER_SECOND;
        if (status[i] == STORE_DONE && q->attempts[i] > 0)
            q->done++;
        else if (status[i] == STORE_FAILED && !args->retry_failed)
            q->failed++;
        else /* pending, retried, or a marker whose row never reached the disk */
            q->queue[q->count++] = i;
    }
    sort_cost = q->cost;
    qsort(q->queue, (size_t)q->count, sizeof(long), by_cost_desc);
    free(status);
}

/* ---- prolog: validate, lock, agree ------------------------------------------------- */

static int prolog_rank0(const CliArgs *args, RunCtx *c, char **text, Lock *lock, int *mode)
{
    int rc = plan_load(args->job, args->mem_per_rank, &c->job, &c->grid, text);
    if (rc)
        return rc;
    char msg[1024];
    if (outputs_check_results(args->out, args->job, msg, sizeof msg) != 0) {
        log_error("%s", msg); /* before the lock and MPI I/O touch anything */
        return LS_EXIT_USAGE;
    }
    char cmd[512] = "";
    for (int i = 0; i < args->argc; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "%s%s", i ? " " : "", args->argv[i]);
    int lk = lock_acquire(args->out, cmd, lock, msg, sizeof msg);
    if (lk == LOCK_HELD || lk == LOCK_ERR) {
        log_error("%s", msg);
        return LS_EXIT_USAGE;
    }
    if (lk == LOCK_TAKEN_OVER)
        log_warn("%s", msg);
    if (la_blas_warning())
        log_warn("%s", la_blas_warning());
    *mode = access(args->out, F_OK) == 0 ? MODE_RESUME : MODE_CREATE;
    if (*mode == MODE_RESUME && access(args->out, R_OK | W_OK) != 0) {
        log_error("%s: cannot resume: the results file is not readable and writable: %s",
                  args->out, strerror(errno));
        return LS_EXIT_USAGE;
    }
    return LS_EXIT_OK;
}

static void share_job(RunCtx *c, char **text)
{
    /* JobSpec holds no pointers: it travels as bytes; each rank rebuilds the grid. */
    sched_bcast(&c->job, sizeof c->job, 0);
    long len = sched_rank() == 0 ? (long)strlen(*text) : 0;
    sched_bcast(&len, sizeof len, 0);
    if (sched_rank() != 0) {
        *text = ls_malloc((size_t)len + 1);
        (*text)[len] = '\0';
        char err[512];
        if (grid_build(&c->job, &c->grid, 0, err, sizeof err) != 0)
            ls_fatal("grid differs between ranks: %s", err);
    }
    sched_bcast(*text, (size_t)len, 0);
}

/* Creates (collectively) or opens the results file; returns an exit status. */
static int open_results(const CliArgs *args, RunCtx *c, const char *text, const char *hash, int mode)
{
    if (mode == MODE_CREATE) {
        StoreProvenance prov = {sched_mpi_version(), la_blas_info()};
        int rc = store_create(args->out, sched_comm(), c->rank, &c->job, text, hash, &c->grid, &prov);
        rc = -sched_agree_max(-rc); /* the worst code; also: every rank has closed the file */
        if (rc == STORE_OK)
            rc = store_commit(args->out, c->rank);
        sched_bcast(&rc, sizeof rc, 0);
        if (rc != STORE_OK) {
            if (c->rank == 0)
                log_error("%s: cannot create the results file", args->out);
            return LS_EXIT_INTERNAL;
        }
    }
    int rc = store_open(args->out, sched_comm(), hash, &c->store);
    rc = -sched_agree_max(-rc);
    if (rc == STORE_OK && store_task_count(c->store) != c->grid.count) {
        if (c->rank == 0)
            log_error("%s: holds %ld tasks, the grid of %s has %ld: made by another version or "
                      "job; give another -o", args->out, store_task_count(c->store), args->job,
                      c->grid.count);
        store_close(c->store);
        c->store = NULL;
        return LS_EXIT_USAGE;
    }
    if (rc == STORE_OK)
        return LS_EXIT_OK;
    if (c->rank == 0) {
        if (rc == STORE_EJOB)
            log_error("%s: made from a different job than %s (job hash %s); give another -o "
                      "or the job file that made it (its text is in the file: "
                      "h5dump -a job_text %s)%s", args->out, args->job, hash, args->out,
                      job_has_regime(&c->job, REGIME_NN) && c->job.nn_method == NN_METHOD_DEFAULT
                          ? "; a file made when nn_method = auto meant gd/population resumes "
                            "with nn_method = classic"
                          : "");
        else if (rc == STORE_EFOREIGN)
            log_error("%s: exists but is not a lazysweep results file; give another -o", args->out);
        else
            log_error("%s: cannot open the results file", args->out);
    }
    if (c->store) {
        store_close(c->store);
        c->store = NULL;
    }
    return rc == STORE_EJOB || rc == STORE_EFOREIGN ? LS_EXIT_USAGE : LS_EXIT_INTERNAL;
}

/* ---- the command ------------------------------------------------------------------- */

int run_main(const CliArgs *args)
{
    sched_init(NULL, NULL);
    RunCtx c;
    memset(&c, 0, sizeof c);
    c.rank = sched_rank();
    c.last_d = -1;
    char *text = NULL;
    Lock lock;
    memset(&lock, 0, sizeof lock);
    int mode = 0;
    int status = c.rank == 0 ? prolog_rank0(args, &c, &text, &lock, &mode) : LS_EXIT_OK;
    status = sched_agree_max(status);       /* rank 0 decides, everyone agrees */
    if (status != LS_EXIT_OK) {
        if (c.rank == 0 && lock.ours)
            lock_release(&lock);
        free(text);
        grid_free(&c.grid);
        sched_finalize();
        return c.rank == 0 ? status : LS_EXIT_OK;
    }
    sched_bcast(&mode, sizeof mode, 0);
    share_job(&c, &text);
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)job_hash(&c.job));

    status = open_results(args, &c, text, hash, mode);
    Queue q;
    memset(&q, 0, sizeof q);
    SchedSummary sum;
    memset(&sum, 0, sizeof sum);
    if (status == LS_EXIT_OK) {
        char jpath[4200];
        snprintf(jpath, sizeof jpath, "%s.journal", args->out);
        if (c.rank == 0 && journal_open(jpath, hash, mode == MODE_CREATE, &c.journal) != JOURNAL_OK)
            log_warn("%s: cannot open the journal; results go to the HDF5 file only", jpath);
        char *hosts = sched_hostnames(); /* collective */
        if (c.rank == 0) {
            build_queue(&c, args, &q);
            StoreRun run;
            store_run_from_env(&run, args->argc, args->argv);
            run.ranks = sched_size();
            if (!getenv("SLURM_JOB_NODELIST"))
                snprintf(run.hosts, sizeof run.hosts, "%s", hosts);
            if (store_run_begin(c.store, &run) != STORE_OK)
                log_warn("%s: no free run record; this run is not recorded", args->out);
            if (q.done || q.failed)
                log_info("resuming %s: %ld done, %ld failed, %ld to run", args->out, q.done,
                         q.failed, q.count);
        }
        free(hosts);
        SchedOptions opt = {args->max_tasks, args->time_limit, args->sync_every, 0.05, args->quiet};
        SchedWork work = {execute, record, sync_point, &c};
        sched_run(&work, &opt, q.queue, q.count, q.attempts, q.cost, q.total,
                  q.done + q.failed, &sum);
        if (c.rank == 0) {
            /* from what the master knows: reading /status back would need a sync to
             * see the workers' writes on every file system */
            long failed = q.failed + sum.failed;
            long pending = c.grid.count - q.done - sum.done - failed;
            status = pending ? LS_EXIT_RESUMABLE : failed ? LS_EXIT_FAILED : LS_EXIT_OK;
            const char *reason = sum.interrupted ? "signal" : sum.time_limited ? "time-limit" :
                                 pending ? "max-tasks" : failed ? "failed-tasks" : "complete";
            store_run_end(c.store, status, reason, sum.done + sum.failed);
            fprintf(stderr, "lazysweep: %s: %ld ok, %ld failed, %ld pending of %ld tasks "
                    "(this run: %ld done, %ld failed in %.1f s); exit %d\n", args->out,
                    c.grid.count - pending - failed, failed, pending, c.grid.count, sum.done,
                    sum.failed, sum.seconds, status);
            if (getenv("LAZYSWEEP_REPORT_MASTER_CPU"))
                fprintf(stderr, "lazysweep: master cpu %.3f s of %.3f s wall (%.2f%%)\n",
                        sum.master_cpu, sum.seconds, 100 * sum.master_cpu / (sum.seconds > 0 ? sum.seconds : 1));
        }
        sched_bcast(&status, sizeof status, 0);
        if (store_close(c.store) != STORE_OK)
            status = LS_EXIT_INTERNAL;
        journal_close(c.journal);
    }
    if (c.rank == 0 && lock.ours)
        lock_release(&lock);
    free(q.queue);
    free(q.attempts);
    free(q.cost);
    free(text);
    grid_free(&c.grid);
    sched_finalize();
    /* Rank 0 speaks for the job: mpirun aborts the others when a rank exits non-zero,
     * and srun reports the largest status, so workers return 0 unless they failed. */
    return c.rank == 0 || status == LS_EXIT_INTERNAL ? status : LS_EXIT_OK;
}
