/* sched: the only module that calls MPI. Rank 0 is the master: it hands task ids to
 * worker ranks (largest estimated cost first, small tasks in batches), waits without
 * burning a core (MPI_Iprobe + short sleeps), and prints progress. Workers run each
 * task through a callback and report done / failed / stopped. With one rank the
 * master runs the tasks in-process. Also: startup/shutdown, the fatal-abort hook,
 * signal flags, and the few collectives the run needs (broadcast, agree, gather).
 * Knows nothing of HDF5 or of the numerics: both come in through callbacks. */
#ifndef LS_SCHED_H
#define LS_SCHED_H

#include <mpi.h>
#include <signal.h>
#include <stddef.h>

/* Task outcome as reported to the master. */
enum { SCHED_DONE = 1, SCHED_FAILED = 2, SCHED_STOPPED = 3 };

typedef struct {
    /* Worker side (any rank that runs tasks): run task `id` (attempt number `attempt`,
     * 1 for the first), write its result, and return SCHED_DONE / SCHED_FAILED /
     * SCHED_STOPPED. `cause` receives the failure cause code, `seconds` its wall time.
     * Local. */
    int (*execute)(void *ctx, long id, int attempt, int *cause, double *seconds);
    /* Master side (rank 0): a task finished (SCHED_DONE or SCHED_FAILED) on `rank`, e.g.
     * to journal it from one process only. May be NULL. */
    void (*record)(void *ctx, long id, int outcome, int cause, int attempt, double seconds,
                   int rank);
    /* Collective sync point (all ranks call it together), e.g. a file flush. May be NULL. */
    void (*sync)(void *ctx);
    void *ctx;
} SchedWork;

typedef struct {
    long max_tasks;       /* stop after dispatching this many (0 = no limit) */
    double time_limit;    /* seconds from sched_run's start; 0 = none */
    double sync_every;    /* seconds between collective sync points; 0 = only at the end */
    double batch_seconds; /* group small tasks until their estimated time reaches this */
    int quiet;            /* no progress lines */
} SchedOptions;

typedef struct {
    long dispatched, done, failed, stopped;
    long remaining;       /* queue entries never dispatched */
    int interrupted;      /* a signal stopped the run */
    int time_limited;     /* --time-limit stopped dispatching */
    double seconds;       /* wall time of sched_run */
    double master_cpu;    /* CPU seconds the master used while waiting (rank 0) */
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

/* Collectives (all ranks, same arguments except the data). */
void sched_bcast(void *buf, size_t bytes, int root);
int sched_agree_max(int value);          /* max over ranks: errors propagate */
/* Hostnames of all ranks as one string "host1 host2 ..." (distinct, in rank order) on
 * every rank; caller frees. */
char *sched_hostnames(void);

/* The sweep. Collective: every rank calls it with the same options; only rank 0's
 * `queue` (task ids in dispatch order), `attempts` (previous attempts per task id,
 * indexed by id) and `cost` (estimated seconds per task id) are read. On rank 0,
 * `total` is the number of tasks the progress line counts against (including ones
 * already done before this run: `already_done`). Fills `sum` on rank 0.
 * Returns when every rank has stopped; no sync is called after the last task (the
 * caller closes the file collectively). */
void sched_run(const SchedWork *work, const SchedOptions *opt, const long *queue, long count,
               const int *attempts, const double *cost, long total, long already_done,
               SchedSummary *sum);

#endif
