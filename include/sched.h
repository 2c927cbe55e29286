/* sched: the only module that calls MPI. Rank 0 is the master: it hands tasks to worker
 * ranks (largest estimated cost first, small tasks in batches), waits without burning a
 * core (MPI_Iprobe + short sleeps), and prints progress. Every order carries what the
 * worker needs to run the task (an opaque description from the master's table: workers
 * never hold the task table), and every report carries the worker's whole result (opaque
 * bytes the master journals). Workers run each task through a callback and report
 * done / failed / stopped. With one rank the master runs the tasks in-process.
 * Also: startup/shutdown, the fatal-abort hook, signal flags, and the collective steps
 * around them (agree, broadcast, the barrier-then-watchdog that every collective file
 * operation goes through, so that a rank lost inside one ends the job instead of hanging it).
 * Knows nothing of HDF5 or of the numerics: both come in through callbacks. */
#ifndef LS_SCHED_H
#define LS_SCHED_H

#include <mpi.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Task outcome as reported to the master. */
enum {
    SCHED_DONE = 1,
    SCHED_FAILED = 2,
    SCHED_STOPPED = 3, /* started, stopped by a signal: not done, stays pending */
    SCHED_SKIPPED = 4  /* handed back unstarted (stop flag, or an earlier I/O failure) */
};
#define SCHED_PAYLOAD_MAX 1024 /* bytes of a task description or report */

typedef struct {
    size_t spec_bytes;   /* bytes of each task's description (describe -> execute) */
    size_t report_bytes; /* bytes of each report (execute -> record) */
    /* Master: writes task id's description into spec. */
    void (*describe)(void *ctx, long id, void *spec);
    /* Worker side (any rank that runs tasks): run task `id` (attempt `attempt`, 1 for
     * the first), write its result, fill `report`, and return SCHED_DONE / SCHED_FAILED /
     * SCHED_STOPPED. *stored = 0 when the result could not be written (I/O failure: the
     * run then stops, the report still reaches the journal); *seconds its wall time.
     * Local. */
    int (*execute)(void *ctx, long id, int attempt, const void *spec, void *report,
                   int *stored, double *seconds);
    /* Master: k tasks (ids, attempts) are about to be sent to `rank`. 0, or -1 when they
     * cannot be recorded (the run stops). */
    int (*dispatched)(void *ctx, int rank, const long *ids, const int *attempts, int k);
    /* Master: task id came back from `rank` with `outcome` (report: the worker's bytes,
     * meaningful for DONE / FAILED). 0, or -1 when it cannot be recorded (the run stops). */
    int (*record)(void *ctx, long id, int outcome, int attempt, int rank, int stored,
                  const void *report);
    /* Master: make what dispatched/record queued durable. Called before any order is sent
     * after new records, and at the end. 0, or -1 (the run stops). */
    int (*commit)(void *ctx);
    /* Collective sync point (all ranks, after all arrived), e.g. a file flush: returns the
     * agreed result (0 or negative). May be NULL. */
    int (*sync)(void *ctx);
    void *ctx;
} SchedWork;

typedef struct {
    long max_tasks;       /* stop after dispatching this many (0 = no limit) */
    double time_limit;    /* seconds from sched_run's start; 0 = none */
    double sync_every;    /* seconds between collective sync points; 0 = none (end only) */
    double batch_seconds; /* group small tasks until their estimated time reaches this */
    int quiet;            /* no progress lines */
} SchedOptions;

typedef struct {
    long dispatched, done, failed, stopped;
    long remaining;       /* queue entries never dispatched */
    long skipped_time;    /* of those, passed over because they would not fit in the time left */
    int interrupted;      /* a signal stopped the run */
    int time_limited;     /* --time-limit stopped or thinned dispatching */
    int io_failed;        /* a result could not be stored, or a record/commit failed: the
                           * run stopped (rank 0: any rank's; a worker: its own) */
    double seconds;       /* wall time of sched_run */
    double master_cpu;    /* CPU seconds the master used while waiting (rank 0) */
    long messages;        /* reports received (rank 0) */
} SchedSummary;

/* MPI_Init (or a singleton), rank/size, the fatal-abort hook, signal handlers for
 * SIGTERM, SIGINT and SIGUSR1 (first: set the stop flag; second: _exit(3)). Collective. */
void sched_init(int *argc, char ***argv);
/* MPI_Finalize. Collective. */
void sched_finalize(void);
int sched_rank(void);
int sched_size(void);
MPI_Comm sched_comm(void);  /* for the store's MPI-IO driver only */
const char *sched_mpi_version(void); /* MPI library version string, for provenance */

/* Nonzero once SIGTERM/SIGINT/SIGUSR1 arrived (the flag iterative fits poll). */
const volatile sig_atomic_t *sched_stop_flag(void);

/* Collectives (all ranks, same arguments except the data). They wait without spinning,
 * so ranks may arrive far apart (rank 0 creating a large file). */
void sched_bcast(void *buf, size_t bytes, int root);
int sched_agree_max(int value);          /* max over ranks: errors propagate */
int sched_agree_min(int value);          /* min over ranks (negative error codes) */
void sched_sum_longs(long *v, int n);    /* v[0..n) summed over ranks, in place */
/* Hostnames of all ranks as one string "host1 host2 ..." (distinct, in rank order) on
 * every rank; caller frees. */
char *sched_hostnames(void);

/* A collective file step: sched_enter waits (without spinning) until every rank has
 * arrived, then arms a watchdog: if sched_leave is not reached within
 * LAZYSWEEP_COLLECTIVE_TIMEOUT seconds (default 600), this rank prints one line naming
 * the step and exits 1 (mpirun/srun then end the job): a rank that failed inside an HDF5
 * collective never leaves the others waiting forever. sched_leave disarms it and returns
 * the minimum of `rc` over all ranks: every rank learns whether any failed. */
void sched_enter(const char *step);
int sched_leave(int rc);

/* The sweep. Collective: every rank calls it with the same options; only rank 0's
 * `queue` (task ids in dispatch order), `attempts` (previous attempts per task id,
 * indexed by id), `cost` (estimated seconds per task id) and `isolate` (per task id, how
 * many deaths of a rank it was in flight at: 1 = dispatch it in a batch of its own, >= 2 =
 * alone with nothing else running, so that the next death is charged to it only; may be
 * NULL) and `group` (per task id, its data group 0, 1, ...: tasks of a group share data,
 * so a worker gets the next task of its last group where largest-first allows; may be
 * NULL) are read (NULL elsewhere).
 * On rank 0, `total` is the number of tasks the progress line counts against (including
 * ones already done before this run: `already_done`). Fills `sum` (see SchedSummary).
 * Returns when every rank has stopped; no sync is called after the last task (the
 * caller closes the file collectively). */
void sched_run(const SchedWork *work, const SchedOptions *opt, const long *queue, long count,
               const int *attempts, const double *cost, const uint8_t *isolate,
               const int *group, long total, long already_done, SchedSummary *sum);

#endif
