/* sched: see include/sched.h. The only file that calls MPI.
 *
 * Protocol (point to point, rank 0 <-> worker; MPI_BYTE messages: every rank runs the
 * same binary on the same architecture):
 *   worker -> master  TAG_READY  Head{k, io_failed} + k x (Report{id, outcome, attempt,
 *                                stored, seconds} + report_bytes of the worker's result)
 *   master -> worker  TAG_ORDER  Head{command, k} + k x (Order{id, attempt} + spec_bytes
 *                                of the task's description)
 * A worker sends READY (with the reports of its last batch) and waits for an ORDER:
 * WORK (a batch), SYNC (enter the collective sync point) or STOP. Both sides wait
 * with MPI_Iprobe + 1 ms sleeps: a blocking receive would spin a core (measured:
 * 100% against ~1%, notes/machine.md). The master takes every READY that is waiting,
 * records them, calls commit once (one fsync for the group) and only then sends the
 * replies: a result is durable before its worker gets new work. */
#include "sched.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"
#include "progress.h"
#include "timer.h"

enum { TAG_READY = 11, TAG_ORDER = 12 };
enum { CMD_WORK = 1, CMD_SYNC = 2, CMD_STOP = 3 };
#define MAX_BATCH 256
#define MAX_GROUP 64 /* READY messages taken before one commit */

typedef struct {
    int32_t k, flag;
} Head;
typedef struct {
    int64_t id;
    int32_t outcome, attempt, stored, pad;
    double seconds;
} Report;
typedef struct {
    int64_t id;
    int32_t attempt, pad;
} Order;

static int my_rank, n_ranks;
static volatile sig_atomic_t stop_flag;

/* ---- startup, signals, abort, watchdog ------------------------------------------- */

static void on_signal(int sig)
{
    if (stop_flag)
        _exit(LS_EXIT_RESUMABLE); /* second signal: stop at once; the file stays valid */
    stop_flag = sig;
}

static char watchdog_msg[512];
static size_t watchdog_len;

static void on_alarm(int sig)
{
    (void)sig;
    ssize_t w = write(STDERR_FILENO, watchdog_msg, watchdog_len);
    (void)w;
    _exit(LS_EXIT_INTERNAL);
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
    fault_set_rank(my_rank);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* I/O interrupted by the flag-setting handler resumes */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
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

static void nap(void)
{
    struct timespec ts = {0, 1000000}; /* 1 ms */
    nanosleep(&ts, NULL);
}

/* Completes a nonblocking collective without spinning a core. */
static void wait_request(MPI_Request *req)
{
    int done = 0;
    for (;;) {
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        nap();
    }
}

void sched_bcast(void *buf, size_t bytes, int root)
{
    /* in chunks: MPI counts are int */
    char *p = buf;
    while (bytes > 0) {
        int chunk = bytes > (1u << 30) ? (1 << 30) : (int)bytes;
        MPI_Request req;
        MPI_Ibcast(p, chunk, MPI_BYTE, root, MPI_COMM_WORLD, &req);
        wait_request(&req);
        p += chunk;
        bytes -= (size_t)chunk;
    }
}

static int agree(int value, MPI_Op op)
{
    int out;
    MPI_Request req;
    MPI_Iallreduce(&value, &out, 1, MPI_INT, op, MPI_COMM_WORLD, &req);
    wait_request(&req);
    return out;
}

int sched_agree_max(int value) { return agree(value, MPI_MAX); }

void sched_sum_longs(long *v, int n)
{
    MPI_Request req;
    MPI_Iallreduce(MPI_IN_PLACE, v, n, MPI_LONG, MPI_SUM, MPI_COMM_WORLD, &req);
    wait_request(&req);
}
int sched_agree_min(int value) { return agree(value, MPI_MIN); }

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

void sched_enter(const char *step)
{
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    wait_request(&req); /* every rank is here: HDF5 will not spin waiting for one */
    const char *env = getenv("LAZYSWEEP_COLLECTIVE_TIMEOUT");
    double secs = env && atof(env) > 0 ? atof(env) : 600;
    int n = snprintf(watchdog_msg, sizeof watchdog_msg,
                     "lazysweep: rank %d: fatal: the collective step '%s' did not finish within "
                     "%g s (another rank failed inside it); stopping the job\n", my_rank, step, secs);
    watchdog_len = n > 0 && (size_t)n < sizeof watchdog_msg ? (size_t)n : 0;
    struct itimerval it = {{0, 0}, {(long)secs, (long)((secs - (long)secs) * 1e6)}};
    setitimer(ITIMER_REAL, &it, NULL);
}

int sched_leave(int rc)
{
    int all = sched_agree_min(rc); /* still under the watchdog: a lost rank never gets here */
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    return all;
}

/* ---- helpers ---------------------------------------------------------------------- */

static size_t round8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Receive a message of `tag` from `src` (MPI_ANY_SOURCE allowed) without spinning;
 * returns its size in bytes. */
static int wait_recv(char *buf, size_t max, int src, int tag, int *from)
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
    MPI_Get_count(&st, MPI_BYTE, &count);
    if (count < 0 || (size_t)count > max)
        ls_fatal("message of %d bytes exceeds %zu", count, max);
    MPI_Recv(buf, count, MPI_BYTE, st.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (from)
        *from = st.MPI_SOURCE;
    return count;
}

/* ---- master ----------------------------------------------------------------------- */

typedef struct {
    const SchedOptions *opt;
    const SchedWork *w;
    const long *queue;
    long count, next;          /* queue position */
    const int *attempts;
    const double *cost;
    const uint8_t *isolate;    /* per task id: run it alone (may be NULL) */
    const int *group;          /* per task id: its data group (may be NULL) */
    uint8_t *taken;            /* per queue position: dispatched or passed over */
    long taken_count;
    long *group_head;          /* per group: its first queue position not taken, or -1 */
    long *group_next;          /* per queue position: the next one of its group, or -1 */
    int *rank_group;           /* per rank: the group of its last task, or -1 */
    double cost_left;          /* estimated cost of the positions not taken */
    double deadline;           /* 0 = none */
    double rate_seconds, rate_cost; /* observed seconds vs estimated cost, for the time limit */
    int stopping;              /* no new work */
    int failing;               /* a record, commit or store failed: stop, exit 1 */
    long undispatched;         /* taken from the queue but never sent (commit failed) */
    SchedSummary *sum;
    Progress *prog;
    size_t spec_stride, report_stride;
} Master;

static void account(Master *m, long outcome)
{
    if (outcome == SCHED_DONE)
        m->sum->done++;
    else if (outcome == SCHED_FAILED)
        m->sum->failed++;
    else if (outcome == SCHED_STOPPED)
        m->sum->stopped++;
}

/* Predicted seconds of the next task from the cost model, calibrated by what ran. */
static double predict(const Master *m, long id)
{
    double scale = m->rate_cost > 0 ? m->rate_seconds / m->rate_cost : 1.0;
    return m->cost[id] * scale;
}

static void fail(Master *m)
{
    m->failing = m->stopping = 1;
    m->sum->io_failed = 1;
}

/* Should dispatch stop before the next task? Sets the reason flags. */
static int must_stop(Master *m)
{
    if (m->stopping)
        return 1;
    if (stop_flag) {
        m->sum->interrupted = 1;
        m->stopping = 1;
    } else if (m->taken_count >= m->count) {
        m->stopping = 1;
    } else if (m->opt->max_tasks > 0 && m->sum->dispatched >= m->opt->max_tasks) {
        m->stopping = 1;
    } else if (m->deadline > 0 && timer_now() >= m->deadline) {
        m->sum->time_limited = 1;
        m->stopping = 1;
    }
    return m->stopping;
}

/* Levels of suspicion: in flight at one death -> dispatched on its own (no batch-mates
 * charged with the next death); at two or more -> alone, nothing else running. */
static int single(const Master *m, long id) { return m->isolate && m->isolate[id] >= 1; }
static int isolated(const Master *m, long id) { return m->isolate && m->isolate[id] >= 2; }

/* ---- which task next: largest first, with data affinity ----
 * Tasks of one data group (same training and test sets, include/datacache.h) go to the
 * worker that ran the group's last task, so that it reuses the data it holds, as long as
 * this does not break largest-first where it matters: the group's next task is at least
 * a quarter of the largest one left, or the work left is still large against the largest
 * task (the tail, where the order decides the wall time, is far away). Otherwise, and
 * for a worker without a group, the largest task left. */
static long first_free(Master *m)
{
    while (m->next < m->count && m->taken[m->next])
        m->next++;
    return m->next < m->count ? m->next : -1;
}

static long pick(Master *m, int rank)
{
    long head = first_free(m);
    int g = m->group && rank >= 0 ? m->rank_group[rank] : -1;
    if (head < 0 || g < 0)
        return head;
    long p = m->group_head[g];
    while (p >= 0 && m->taken[p])
        p = m->group_next[p];
    m->group_head[g] = p;
    if (p < 0 || (m->isolate && (m->isolate[m->queue[head]] || m->isolate[m->queue[p]])))
        return head; /* suspects keep their order: alone means alone */
    double mine = m->cost[m->queue[p]], top = m->cost[m->queue[head]];
    if (n_ranks == 1)
        return p; /* one worker: the order changes no wall time */
    return mine >= 0.25 * top || m->cost_left >= 20.0 * (n_ranks - 1) * top ? p : head;
}

static void take(Master *m, long p, int rank)
{
    long id = m->queue[p];
    m->taken[p] = 1;
    m->taken_count++;
    m->cost_left -= m->cost[id];
    if (m->group && rank >= 0)
        m->rank_group[rank] = m->group[id];
}

/* Next batch for `rank` into ids/atts/specs: at least one task, more while their
 * predicted time stays small. With a time limit, tasks that would not finish in time are
 * passed over (they stay pending) and smaller ones that fit are taken. A task that was
 * running when a rank died goes in a batch of its own, so that the next death is charged
 * to no batch-mate. */
static int next_batch(Master *m, int rank, long *ids, int *atts, char *specs)
{
    int k = 0;
    double t = 0;
    while (k < MAX_BATCH && !must_stop(m)) {
        long pos = pick(m, rank);
        long id = m->queue[pos];
        double p = predict(m, id);
        if (m->deadline > 0 && timer_now() + p > m->deadline) {
            take(m, pos, -1);
            m->sum->skipped_time++;
            m->sum->time_limited = 1;
            continue;
        }
        if (k > 0 && (t + p > m->opt->batch_seconds || single(m, id) || single(m, ids[0])))
            break;
        t += p;
        ids[k] = id;
        atts[k] = m->attempts[id] + 1;
        if (m->w->describe && specs)
            m->w->describe(m->w->ctx, id, specs + (size_t)k * m->spec_stride);
        take(m, pos, rank);
        m->sum->dispatched++;
        k++;
    }
    return k;
}

/* Is the next task one to isolate (nothing else may run beside it)? */
static int next_isolated(Master *m)
{
    return !must_stop(m) && isolated(m, m->queue[first_free(m)]);
}

static int record(Master *m, long id, int outcome, int attempt, int rank, int stored,
                  const void *report)
{
    account(m, outcome);
    if (outcome == SCHED_STOPPED) /* a worker saw a signal we may not have */
        m->sum->interrupted = m->stopping = 1;
    if (!stored) {
        fail(m);
        log_error("rank %d could not store the result of task %ld; stopping (the journal "
                  "keeps it: a resume or `lazysweep repair` writes it)", rank, id);
    }
    if (m->w->record && m->w->record(m->w->ctx, id, outcome, attempt, rank, stored, report) < 0)
        fail(m);
    return 0;
}

static void master_serial(Master *m, const SchedWork *w)
{
    double last_sync = timer_now();
    long ids[MAX_BATCH];
    int atts[MAX_BATCH];
    char *specs = ls_malloc(MAX_BATCH * m->spec_stride + 1);
    char *report = ls_malloc(m->report_stride + 1);
    while (!must_stop(m)) {
        int nb = next_batch(m, 0, ids, atts, specs);
        if (nb == 0)
            break;
        /* the dispatch is durable (and so every earlier result) before the batch runs */
        if ((w->dispatched && w->dispatched(w->ctx, 0, ids, atts, nb) < 0)
            || (w->commit && w->commit(w->ctx) < 0)) {
            fail(m);
            m->sum->dispatched -= nb;
            m->undispatched += nb;
            break;
        }
        for (int i = 0; i < nb; i++) {
            if (stop_flag || m->failing) {
                record(m, ids[i], SCHED_SKIPPED, atts[i], 0, 1, NULL);
                continue;
            }
            int stored = 1;
            double t0 = timer_now(), secs = 0;
            memset(report, 0, m->report_stride);
            int outcome = w->execute(w->ctx, ids[i], atts[i], specs + (size_t)i * m->spec_stride,
                                     report, &stored, &secs);
            record(m, ids[i], outcome, atts[i], 0, stored, report);
            m->rate_seconds += timer_now() - t0;
            m->rate_cost += m->cost[ids[i]];
            progress_update(m->prog, m->sum->done, m->sum->failed, 0, 0);
        }
        if (!m->stopping && m->opt->sync_every > 0 && w->sync &&
            timer_now() - last_sync >= m->opt->sync_every) {
            if (w->sync(w->ctx) < 0)
                fail(m);
            last_sync = timer_now();
        }
    }
    if (w->commit && w->commit(w->ctx) < 0)
        fail(m);
    free(specs);
    free(report);
}

typedef struct {
    int dest, cmd, k;
    char *buf;      /* Head + k orders */
    size_t bytes;
    double cost;
} Reply;

static void master_parallel(Master *m, const SchedWork *w)
{
    int workers = n_ranks - 1, active = workers, running = 0;
    double last_sync = timer_now();
    int sync_pending = 0, sync_sent = 0, stop_sent = 0;
    size_t order_entry = sizeof(Order) + m->spec_stride;
    size_t report_entry = sizeof(Report) + m->report_stride;
    size_t msg_cap = sizeof(Head) + MAX_BATCH * report_entry;
    size_t ord_cap = sizeof(Head) + MAX_BATCH * order_entry;
    int group = workers < MAX_GROUP ? workers : MAX_GROUP;
    char *msg = ls_malloc(msg_cap);
    char *specs = ls_malloc(MAX_BATCH * m->spec_stride + 1);
    Reply *rep = ls_calloc((size_t)group, sizeof *rep);
    for (int g = 0; g < group; g++)
        rep[g].buf = ls_malloc(ord_cap);
    int *waiting = ls_calloc((size_t)n_ranks, sizeof(int)), nwait = 0;
    double *batch_start = ls_calloc((size_t)n_ranks, sizeof(double));
    double *batch_cost = ls_calloc((size_t)n_ranks, sizeof(double));
    long ids[MAX_BATCH];
    int atts[MAX_BATCH];
    while (active > 0) {
        /* 1. take every report that is waiting (up to a group) */
        int n = 0;
        while (n < group) {
            MPI_Status st;
            int flag = 0;
            MPI_Iprobe(MPI_ANY_SOURCE, TAG_READY, MPI_COMM_WORLD, &flag, &st);
            if (!flag)
                break;
            int from;
            wait_recv(msg, msg_cap, st.MPI_SOURCE, TAG_READY, &from);
            m->sum->messages++;
            n++;
            const Head *h = (const Head *)msg;
            for (int i = 0; i < h->k; i++) {
                const char *e = msg + sizeof(Head) + (size_t)i * report_entry;
                const Report *r = (const Report *)e;
                record(m, (long)r->id, r->outcome, r->attempt, from, r->stored, e + sizeof(Report));
            }
            if (h->flag)
                fail(m); /* the worker stopped on an I/O failure of its own */
            if (h->k > 0) {
                running--;
                m->rate_seconds += timer_now() - batch_start[from];
                m->rate_cost += batch_cost[from];
            }
            waiting[nwait++] = from;
        }
        /* 2. a due sync goes to every worker before anyone is told to stop; workers that
         * got it wait (without spinning) until the last one finishes its batch, so a sync
         * is skipped while batches are long compared with the period (idle time would
         * exceed ~5%); the final close flushes anyway */
        if (!sync_pending && !stop_sent && !m->stopping && w->sync && m->opt->sync_every > 0 &&
            timer_now() - last_sync >= m->opt->sync_every) {
            double mean = m->sum->done + m->sum->failed > 0 && m->rate_cost > 0
                              ? m->rate_seconds / (m->sum->done + m->sum->failed) : 0;
            if (mean <= m->opt->sync_every / 20)
                sync_pending = 1, sync_sent = 0;
            else
                last_sync = timer_now();
        }
        /* 3. replies to waiting workers; one to isolate waits until nothing else runs */
        int nrep = 0, work_given = 0;
        for (int i = 0; i < nwait && nrep < group;) {
            Reply *r = &rep[nrep];
            r->dest = waiting[i];
            r->k = 0;
            r->cost = 0;
            if (sync_pending) {
                r->cmd = CMD_SYNC;
                sync_sent++;
            } else {
                if (next_isolated(m) && (running > 0 || work_given)) {
                    i++; /* keeps waiting */
                    continue;
                }
                int nb = next_batch(m, r->dest, ids, atts, specs);
                if (nb > 0 && w->dispatched && w->dispatched(w->ctx, r->dest, ids, atts, nb) < 0) {
                    fail(m);
                    m->sum->dispatched -= nb;
                    m->undispatched += nb;
                    nb = 0;
                }
                r->cmd = nb > 0 ? CMD_WORK : CMD_STOP;
                r->k = nb;
                work_given |= nb > 0;
                for (int q = 0; q < nb; q++) {
                    Order *o = (Order *)(r->buf + sizeof(Head) + (size_t)q * order_entry);
                    o->id = ids[q];
                    o->attempt = atts[q];
                    o->pad = 0;
                    memcpy((char *)o + sizeof(Order), specs + (size_t)q * m->spec_stride, m->spec_stride);
                    r->cost += m->cost[ids[q]];
                }
            }
            nrep++;
            waiting[i] = waiting[--nwait];
        }
        if (nrep == 0) {
            if (n == 0) {
                progress_update(m->prog, m->sum->done, m->sum->failed, running, 0);
                nap();
            }
            continue;
        }
        /* 4. one fsync for the group, before any of its workers gets new work */
        if (w->commit && w->commit(w->ctx) < 0)
            fail(m);
        for (int g = 0; g < nrep; g++) {
            Reply *r = &rep[g];
            if (r->cmd == CMD_WORK && m->failing) { /* not durable: do not start it */
                m->sum->dispatched -= r->k;
                m->undispatched += r->k;
                r->cmd = CMD_STOP;
                r->k = 0;
            }
            Head *h = (Head *)r->buf;
            h->k = r->k;
            h->flag = r->cmd;
            if (r->cmd == CMD_STOP) {
                stop_sent = 1;
                active--;
            } else if (r->cmd == CMD_WORK) {
                batch_start[r->dest] = timer_now();
                batch_cost[r->dest] = r->cost;
                running++;
            }
            MPI_Send(r->buf, (int)(sizeof(Head) + (size_t)r->k * order_entry), MPI_BYTE, r->dest,
                     TAG_ORDER, MPI_COMM_WORLD);
        }
        if (sync_pending && sync_sent == workers) {
            if (w->sync(w->ctx) < 0) /* the master joins last; every worker is waiting in it */
                fail(m);
            sync_pending = 0;
            last_sync = timer_now();
        }
        progress_update(m->prog, m->sum->done, m->sum->failed, running, 0);
    }
    for (int g = 0; g < group; g++)
        free(rep[g].buf);
    free(rep);
    free(waiting);
    free(msg);
    free(specs);
    free(batch_start);
    free(batch_cost);
}

/* ---- worker ------------------------------------------------------------------------ */

static void worker(const SchedWork *w, SchedSummary *sum)
{
    size_t spec_stride = round8(w->spec_bytes), report_stride = round8(w->report_bytes);
    size_t order_entry = sizeof(Order) + spec_stride, report_entry = sizeof(Report) + report_stride;
    size_t msg_cap = sizeof(Head) + MAX_BATCH * report_entry;
    size_t ord_cap = sizeof(Head) + MAX_BATCH * order_entry;
    char *msg = ls_calloc(msg_cap, 1), *order = ls_malloc(ord_cap);
    Head *out = (Head *)msg;
    out->k = 0;
    out->flag = 0;
    for (;;) {
        MPI_Send(msg, (int)(sizeof(Head) + (size_t)out->k * report_entry), MPI_BYTE, 0, TAG_READY,
                 MPI_COMM_WORLD);
        out->k = 0;
        wait_recv(order, ord_cap, 0, TAG_ORDER, NULL);
        const Head *in = (const Head *)order;
        if (in->flag == CMD_STOP)
            break;
        if (in->flag == CMD_SYNC) {
            if (w->sync && w->sync(w->ctx) < 0)
                sum->io_failed = 1; /* agreed: the master knows too */
            continue;
        }
        for (int i = 0; i < in->k; i++) {
            const Order *o = (const Order *)(order + sizeof(Head) + (size_t)i * order_entry);
            char *e = msg + sizeof(Head) + (size_t)i * report_entry;
            Report *r = (Report *)e;
            memset(e, 0, report_entry);
            r->id = o->id;
            r->attempt = o->attempt;
            r->stored = 1;
            if (stop_flag || sum->io_failed) {
                r->outcome = SCHED_SKIPPED; /* not started: stays pending */
            } else {
                int stored = 1;
                r->outcome = w->execute(w->ctx, (long)o->id, o->attempt, (const char *)o + sizeof(Order),
                                        e + sizeof(Report), &stored, &r->seconds);
                r->stored = stored;
                if (!stored)
                    sum->io_failed = 1;
            }
            if (r->outcome == SCHED_DONE)
                sum->done++;
            else if (r->outcome == SCHED_FAILED)
                sum->failed++;
            out->k++;
        }
        out->flag = sum->io_failed;
    }
    free(msg);
    free(order);
}

/* Per group, its queue positions in queue order (a list through group_next). */
static void affinity_setup(Master *m, const int *group)
{
    m->taken = ls_calloc((size_t)(m->count > 0 ? m->count : 1), 1);
    for (long p = 0; p < m->count; p++)
        m->cost_left += m->cost[m->queue[p]];
    int groups = 0;
    for (long p = 0; group && p < m->count; p++)
        groups = group[m->queue[p]] >= groups ? group[m->queue[p]] + 1 : groups;
    if (groups == 0)
        return;
    m->group = group;
    m->group_head = ls_malloc(sizeof(long) * (size_t)groups);
    m->group_next = ls_malloc(sizeof(long) * (size_t)m->count);
    m->rank_group = ls_malloc(sizeof(int) * (size_t)n_ranks);
    for (int g = 0; g < groups; g++)
        m->group_head[g] = -1;
    for (int r = 0; r < n_ranks; r++)
        m->rank_group[r] = -1;
    for (long p = m->count - 1; p >= 0; p--) {
        int g = group[m->queue[p]];
        m->group_next[p] = m->group_head[g];
        m->group_head[g] = p;
    }
}

/* ---- entry ------------------------------------------------------------------------- */

void sched_run(const SchedWork *work, const SchedOptions *opt, const long *queue, long count,
               const int *attempts, const double *cost, const uint8_t *isolate,
               const int *group, long total, long already_done, SchedSummary *sum)
{
    double t0 = timer_now();
    memset(sum, 0, sizeof *sum);
    if (work->spec_bytes > SCHED_PAYLOAD_MAX || work->report_bytes > SCHED_PAYLOAD_MAX)
        ls_fatal("task description or report larger than %d bytes", SCHED_PAYLOAD_MAX);
    if (my_rank != 0) {
        worker(work, sum);
        sum->seconds = timer_now() - t0;
        return;
    }
    Master m;
    memset(&m, 0, sizeof m);
    m.opt = opt;
    m.w = work;
    m.queue = queue;
    m.count = count;
    m.attempts = attempts;
    m.cost = cost;
    m.isolate = isolate;
    affinity_setup(&m, group);
    m.deadline = opt->time_limit > 0 ? t0 + opt->time_limit : 0;
    m.sum = sum;
    m.spec_stride = round8(work->spec_bytes);
    m.report_stride = round8(work->report_bytes);
    m.prog = progress_create(total, already_done, opt->quiet);
    double c0 = timer_cpu();
    if (n_ranks == 1)
        master_serial(&m, work);
    else
        master_parallel(&m, work);
    sum->master_cpu = timer_cpu() - c0;
    sum->remaining = count - m.taken_count + m.undispatched + sum->skipped_time;
    free(m.taken);
    free(m.group_head);
    free(m.group_next);
    free(m.rank_group);
    sum->seconds = timer_now() - t0;
    const char *why = sum->io_failed ? "stopped: a result or the journal could not be written" :
                      sum->interrupted ? "stopped by a signal" :
                      sum->time_limited ? "stopped: the time limit leaves too little for the tasks left" :
                      (opt->max_tasks > 0 && sum->remaining > 0) ? "stopped: --max-tasks reached" : "";
    progress_finish(m.prog, sum->done, sum->failed, why);
    progress_free(m.prog);
}
