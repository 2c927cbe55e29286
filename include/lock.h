/* lock: the lock file next to the results file (PATH.lock) that keeps two jobs from
 * writing one file (parallel HDF5 takes no lock of its own). Plain POSIX; no MPI, no
 * HDF5. One process (the master) takes it before the file is created or opened and
 * releases it after the collective close.
 *
 * The lock is created atomically with its whole content: written to a private temporary
 * file, then hard-linked to PATH.lock (link fails if it exists; O_CREAT|O_EXCL on file
 * systems without hard links). Content, one key=value per line: host, pid, pid_start
 * (the process start time from /proc, to tell a reused pid), slurm_job_id,
 * slurm_restart_count, start (unix seconds), command. */
#ifndef LS_LOCK_H
#define LS_LOCK_H

#include <stddef.h>

enum {
    LOCK_ACQUIRED = 0,  /* it was free: now ours */
    LOCK_TAKEN_OVER = 1,/* a provably stale lock was replaced (warning in msg) */
    LOCK_HELD = 2,      /* a live (or not provably dead) owner holds it; msg says who */
    LOCK_ERR = -1       /* I/O error; msg says what */
};

typedef struct {
    char path[4096];        /* PATH.lock */
    char host[256];
    long pid;
    unsigned long long pid_start; /* /proc/PID/stat field 22; 0 = unknown */
    char slurm_job_id[64];  /* "" when not under SLURM */
    int slurm_restart_count;/* -1 when not under SLURM */
    long start;             /* unix seconds */
    char command[512];
    int ours;               /* set by lock_acquire when we hold it */
} Lock;

/* Takes RESULTS_PATH.lock for this process. `command` (may be NULL) is recorded. A lock
 * is stale when (a) same host and its pid is gone (kill(pid, 0) -> ESRCH) or is another
 * process (different start time); or (b) it names a SLURM job and `squeue -h -j ID`
 * runs and lists no live job — or the lock is from an earlier incarnation (lower
 * SLURM_RESTART_COUNT) of our own requeued job. Without squeue, another host's lock is
 * never assumed stale. Writes a one-line message into msg for HELD, TAKEN_OVER and ERR. */
int lock_acquire(const char *results_path, const char *command, Lock *lk, char *msg,
                 size_t msglen);
/* Removes the lock file if it still is ours (same host, pid, start). Returns 0 or -1. */
int lock_release(Lock *lk);

/* Reads and parses a lock file; 0 on success, -1 when unreadable or malformed. */
int lock_read(const char *lock_path, Lock *lk);
/* The command run to decide whether a SLURM job is alive ("squeue"); tests override it.
 * The program is called as PROG -h -j ID -o %T. */
void lock_set_squeue(const char *prog);

#endif
