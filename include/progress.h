/* progress: the master's progress report on stderr — done/total, failures, rate, ETA.
 * A one-line bar redrawn in place when stderr is a terminal; plain lines at a fixed
 * period otherwise (SLURM logs; LAZYSWEEP_PROGRESS_SECONDS, default 30). No MPI, no HDF5. */
#ifndef LS_PROGRESS_H
#define LS_PROGRESS_H

typedef struct Progress Progress;

/* total: tasks in the sweep; already: done before this run (not counted in the rate). */
Progress *progress_create(long total, long already, int quiet);
/* Reports the counts of this run; prints when due (or always when force != 0). */
void progress_update(Progress *p, long done, long failed, long running, int force);
/* Final line (ends the bar). */
void progress_finish(Progress *p, long done, long failed, const char *why);
void progress_free(Progress *p);

#endif
