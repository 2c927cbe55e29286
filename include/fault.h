/* fault: test-only fault injection, so that every failure path of a run can be exercised
 * on purpose. LAZYSWEEP_FAULT=STEP@RANK[#N][,STEP@RANK[#N]...] makes the N-th time (default:
 * the first) that rank RANK reaches STEP fail as if the operating system had refused
 * (errno ENOSPC): the caller sees an ordinary failure and must handle it like a real one.
 * Steps: create (rank 0's create step), visible (the check that a rank sees the results
 * file), open, row (a worker's row write), flush, close, journal (a journal write),
 * flush-skip (the rank silently skips the collective flush: what an HDF5-internal error
 * on one rank does; the others must not wait forever). Unset: never fails.
 * LAZYSWEEP_FAULT_TASK=ID makes the process that runs task ID kill itself (SIGKILL) before
 * it writes the result: a task that kills its rank (segfault, OOM kill).
 * Plain C; no MPI, no HDF5. */
#ifndef LS_FAULT_H
#define LS_FAULT_H

/* The rank this process is (for STEP@RANK); -1 or unset counts as rank 0. */
void fault_set_rank(int rank);
/* 1 when this occurrence of `step` is to fail (errno is then set to ENOSPC), else 0. */
int fault_hit(const char *step);
/* Kills this process when LAZYSWEEP_FAULT_TASK names task `id`. */
void fault_task(long id);

#endif
