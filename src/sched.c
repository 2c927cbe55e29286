/* sched: see include/sched.h. The only file that calls MPI.
 *
 * Protocol (point to point, rank 0 <-> worker):
 *   worker -> master  TAG_READY  long[1 + 5k]: k, then (id, outcome, cause, attempt,
 *                                microseconds) per report
 *   master -> worker  TAG_ORDER  long[2 + 2m]: command, m, then (id, attempt) per task
 * A worker sends READY (with the reports of its last batch) and waits for an ORDER:
 * WORK (a batch), SYNC (enter the collective sync point) or STOP. Both sides wait
 * with MPI_Iprobe + 1 ms sleeps: a blocking receive would spin a core (measured:
 * 100% against ~1%, notes/machine.md). */
#include "sched.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "progress.h"
#include "timer.h"

enum { TAG_READY = 11, TAG_ORDER = 12 };
enum { CMD_WORK = 1, CMD_SYNC = 2, CMD_STOP = 3 };
#define MAX_BATCH 256
#define REPORT 5 /* longs per report */

static int my_rank, n_ranks;
static volatile sig_atomic_t stop_flag;

/* ---- startup, signals, abort ------------------------------------------------ */

static void on_signal(int sig)
{
    if (stop_flag)
        _exit(LS_EXIT_RESUMABLE); /* second signal: stop at once; the file stays valid */
    stop_flag = sig;
}

static void abort_all(int status)
{
    MPI_Abort(MPI_COMM_WORLD, status);
    _exit(status);
}

void sched_init(int *argc, char ***argv)
{
    int provided;
    MPI_Init_thread(argc, argv, MPI_THREAD_SINGLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);
    log_set_rank(my_rank);
    log_set_abort(abort_all);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* I/O interrupted by the flag-setting handler resumes */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

void sched_finalize(void) { MPI_Finalize(); }
int sched_rank(void) { return my_rank; }
int sched_size(void) { return n_ranks; }
MPI_Comm sched_comm(void) { return MPI_COMM_WORLD; }

const char *sched_mpi_version(void)
{
    static char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(version, &len);
    char *nl = strchr(version, '\n');
    if (nl)
        *nl = '\0';
    return version;
}
const volatile sig_atomic_t *sched_stop_flag(void) { return &stop_flag; }

/* ---- collectives -------------------------------------------------------------- */

void sched_bcast(void *buf, size_t bytes, int root)
{
    /* in chunks: MPI counts are int */
    char *p = buf;
    while (bytes > 0) {
        int chunk = bytes > (1u << 30) ? (1 << 30) : (int)bytes;
        MPI_Bcast(p, chunk, MPI_BYTE, root, MPI_COMM_WORLD);
        p += chunk;
        bytes -= (size_t)chunk;
    }
}

int sched_agree_max(int value)
{
    int out;
    MPI_Allreduce(&value, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return out;
}


char *sched_hostnames(void)
{
    char name[MPI_MAX_PROCESSOR_NAME] = "";
    int len = 0;
    MPI_Get_processor_name(name, &len);
    char *all = ls_calloc((size_t)n_ranks, MPI_MAX_PROCESSOR_NAME);
    MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
                  MPI_COMM_WORLD);
    size_t cap = (size_t)n_ranks * (MPI_MAX_PROCESSOR_NAME + 1) + 1;
    char *out = ls_calloc(cap, 1);
    for (int r = 0; r < n_ranks; r++) {
        const char *h = all + (size_t)r * MPI_MAX_PROCESSOR_NAME;
        int seen = 0;
        for (int q = 0; q < r && !seen; q++)
            seen = !strcmp(h, all + (size_t)q * MPI_MAX_PROCESSOR_NAME);
        if (!seen) {
            if (*out)
                strcat(out, " ");
            strcat(out, h);
        }
    }
    free(all);
    return out;
}

/* ---- helpers ---------------------------------------------------------------------- */

static void nap(void)
{
    struct timespec ts = {0, 1000000}; /* 1 ms */
    nanosleep(&ts, NULL);
}

/* Receive a message of `tag` from `src` (MPI_ANY_SOURCE allowed) without spinning. */
static int wait_recv(long *buf, int max, int src, int tag, int *from)
{
    MPI_Status st;
    int flag = 0;
    for (;;) {
        MPI_Iprobe(src, tag, MPI_COMM_WORLD, &flag, &st);
        if (flag)
            break;
        nap();
    }
    int count;
    MPI_Get_count(&st, MPI_LONG, &count);
    if (count > max)
        ls_fatal("message of %d longs exceeds %d", count, max);
    MPI_Recv(buf, count, MPI_LONG, st.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (from)
        *from = st.MPI_SOURCE;
    return count;
}

/* ---- master ----------------------------------------------------------------------- */

typedef struct {
    const SchedOptions *opt;
    const long *queue;
    long count, next;          /* queue position */
    const int *attempts;
    const double *cost;
    double deadline;           /* 0 = none */
    double rate_seconds, rate_cost; /* observed seconds vs estimated cost, for the time limit */
    int stopping;              /* no new work */
    SchedSummary *sum;
    Progress *prog;
} Master;

static void account(Master *m, long outcome)
{
    if (outcome == SCHED_DONE)
        m->sum->done++;
    else if (outcome == SCHED_FAILED)
        m->sum->failed++;
    else
        m->sum->stopped++;
}

/* Predicted seconds of the next task from the cost model, calibrated by what ran. */
static double predict(const Master *m, long id)
{
    double scale = m->rate_cost > 0 ? m->rate_seconds / m->rate_cost : 1.0;
    return m->cost[id] * scale;
}

/* Should dispatch stop before the next task? Sets the reason flags. */
static int must_stop(Master *m)
{
    if (m->stopping)
        return 1;
    if (stop_flag) {
        m->sum->interrupted = 1;
        m->stopping = 1;
    } else if (m->next >= m->count) {
        m->stopping = 1;
    } else if (m->opt->max_tasks > 0 && m->sum->dispatched >= m->opt->max_tasks) {
        m->stopping = 1;
    } else if (m->deadline > 0 && timer_now() + predict(m, m->queue[m->next]) > m->deadline) {
        m->sum->time_limited = 1;
        m->stopping = 1;
    }
    return m->stopping;
}

/* Next batch: at least one task, more while their predicted time stays small. */
static int next_batch(Master *m, long *order)
{
    int k = 0;
    double t = 0;
    while (k < MAX_BATCH && !must_stop(m)) {
        long id = m->queue[m->next];
        if (k > 0 && t + predict(m, id) > m->opt->batch_seconds)
            break;
        t += predict(m, id);
        order[2 + 2 * k] = id;
        order[3 + 2 * k] = m->attempts[id] + 1;
        m->next++;
        m->sum->dispatched++;
        k++;
    }
    return k;
}

static void master_serial(Master *m, const SchedWork *w)
{
    double last_sync = timer_now();
    while (!must_stop(m)) {
        long id = m->queue[m->next++];
        m->sum->dispatched++;
        int cause = 0;
        double t0 = timer_now();
        double secs = 0;
        int attempt = m->attempts[id] + 1;
        int outcome = w->execute(w->ctx, id, attempt, &cause, &secs);
        if (w->record && outcome != SCHED_STOPPED)
            w->record(w->ctx, id, outcome, cause, attempt, secs, 0);
        m->rate_seconds += timer_now() - t0;
        m->rate_cost += m->cost[id];
        account(m, outcome);
        if (outcome == SCHED_STOPPED)
            m->sum->interrupted = m->stopping = 1;
        progress_update(m->prog, m->sum->done, m->sum->failed, 0, 0);
        if (m->opt->sync_every > 0 && w->sync && timer_now() - last_sync >= m->opt->sync_every) {
            w->sync(w->ctx);
            last_sync = timer_now();
        }
    }
}

static void master_parallel(Master *m, const SchedWork *w)
{
    int workers = n_ranks - 1, active = workers, running = 0;
    double last_sync = timer_now();
    int sync_pending = 0, sync_sent = 0, stop_sent = 0;
    long msg[1 + REPORT * MAX_BATCH], order[2 + 2 * MAX_BATCH];
    double *batch_start = ls_calloc((size_t)n_ranks, sizeof(double));
    double *batch_cost = ls_calloc((size_t)n_ranks, sizeof(double));
    while (active > 0) {
        MPI_Status st;
        int flag = 0;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_READY, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            progress_update(m->prog, m->sum->done, m->sum->failed, running, 0);
            nap();
            continue;
        }
        int from;
        wait_recv(msg, 1 + REPORT * MAX_BATCH, st.MPI_SOURCE, TAG_READY, &from);
        long k = msg[0];
        for (long i = 0; i < k; i++) {
            const long *r = msg + 1 + REPORT * i;
            account(m, r[1]);
            if (r[1] == SCHED_STOPPED) /* a worker saw a signal we may not have */
                m->sum->interrupted = m->stopping = 1;
            else if (w->record)
                w->record(w->ctx, r[0], (int)r[1], (int)r[2], (int)r[3], 1e-6 * (double)r[4], from);
        }
        if (k > 0) {
            running--;
            m->rate_seconds += timer_now() - batch_start[from];
            m->rate_cost += batch_cost[from];
        }
        /* A due sync goes to every worker before anyone is told to stop. Workers that
         * got it wait in the collective until the last one finishes its batch, so a
         * sync is skipped while batches are long compared with the period (idle time
         * would exceed ~5%); the final close flushes anyway. */
        if (!sync_pending && !stop_sent && w->sync && m->opt->sync_every > 0 &&
            timer_now() - last_sync >= m->opt->sync_every) {
            double mean_batch = m->sum->done + m->sum->failed > 0 && m->rate_cost > 0
                                    ? m->rate_seconds / (m->sum->done + m->sum->failed) : 0;
            if (mean_batch <= m->opt->sync_every / 20)
                sync_pending = 1, sync_sent = 0;
            else
                last_sync = timer_now();
        }
        if (sync_pending) {
            order[0] = CMD_SYNC;
            order[1] = 0;
            MPI_Send(order, 2, MPI_LONG, from, TAG_ORDER, MPI_COMM_WORLD);
            if (++sync_sent == workers) {
                w->sync(w->ctx); /* the master joins last; every worker is waiting in it */
                sync_pending = 0;
                last_sync = timer_now();
            }
            continue;
        }
        int nb = next_batch(m, order);
        if (nb == 0) {
            order[0] = CMD_STOP;
            order[1] = 0;
            MPI_Send(order, 2, MPI_LONG, from, TAG_ORDER, MPI_COMM_WORLD);
            stop_sent = 1;
            active--;
            continue;
        }
        order[0] = CMD_WORK;
        order[1] = nb;
        batch_start[from] = timer_now();
        batch_cost[from] = 0;
        for (int i = 0; i < nb; i++)
            batch_cost[from] += m->cost[order[2 + 2 * i]];
        MPI_Send(order, 2 + 2 * nb, MPI_LONG, from, TAG_ORDER, MPI_COMM_WORLD);
        running++;
        progress_update(m->prog, m->sum->done, m->sum->failed, running, 0);
    }
    free(batch_start);
    free(batch_cost);
}

/* ---- worker ------------------------------------------------------------------------ */

static void worker(const SchedWork *w)
{
    long msg[1 + REPORT * MAX_BATCH], order[2 + 2 * MAX_BATCH];
    msg[0] = 0;
    for (;;) {
        MPI_Send(msg, (int)(1 + REPORT * msg[0]), MPI_LONG, 0, TAG_READY, MPI_COMM_WORLD);
        msg[0] = 0;
        wait_recv(order, 2 + 2 * MAX_BATCH, 0, TAG_ORDER, NULL);
        if (order[0] == CMD_STOP)
            return;
        if (order[0] == CMD_SYNC) {
            if (w->sync)
                w->sync(w->ctx);
            continue;
        }
        for (long i = 0; i < order[1]; i++) {
            long id = order[2 + 2 * i];
            int cause = 0, outcome;
            double secs = 0;
            if (stop_flag)
                outcome = SCHED_STOPPED; /* not started: stays pending */
            else
                outcome = w->execute(w->ctx, id, (int)order[3 + 2 * i], &cause, &secs);
            long *r = msg + 1 + REPORT * i;
            r[0] = id;
            r[1] = outcome;
            r[2] = cause;
            r[3] = order[3 + 2 * i];
            r[4] = (long)(secs * 1e6);
            msg[0]++;
        }
    }
}

/* ---- entry ------------------------------------------------------------------------- */

void sched_run(const SchedWork *work, const SchedOptions *opt, const long *queue, long count,
               const int *attempts, const double *cost, long total, long already_done,
               SchedSummary *sum)
{
    double t0 = timer_now();
    if (my_rank != 0) {
        worker(work);
        return;
    }
    memset(sum, 0, sizeof *sum);
    Master m;
    memset(&m, 0, sizeof m);
    m.opt = opt;
    m.queue = queue;
    m.count = count;
    m.attempts = attempts;
    m.cost = cost;
    m.deadline = opt->time_limit > 0 ? t0 + opt->time_limit : 0;
    m.sum = sum;
    m.prog = progress_create(total, already_done, opt->quiet);
    double c0 = timer_cpu();
    if (n_ranks == 1)
        master_serial(&m, work);
    else
        master_parallel(&m, work);
    sum->master_cpu = timer_cpu() - c0;
    sum->remaining = count - m.next;
    sum->seconds = timer_now() - t0;
    const char *why = sum->interrupted ? "stopped by a signal" :
                      sum->time_limited ? "stopped: the time limit leaves too little for the next task" :
                      (opt->max_tasks > 0 && sum->remaining > 0) ? "stopped: --max-tasks reached" : "";
    progress_finish(m.prog, sum->done, sum->failed, why);
    progress_free(m.prog);
}
