/* plan: `lazysweep plan JOB` — validates a job and prints its task counts, the
 * largest task, the estimated core-hours and the first tasks. No MPI, no files written. */
#ifndef LS_PLAN_H
#define LS_PLAN_H

#include "cli.h"
#include <stddef.h>

#include "grid.h"

int plan_main(const CliArgs *args);

/* Loads and validates a job and builds its grid; checks every task's memory against
 * mem_per_rank (bytes; 0 = physical memory / online cores). On error prints one line
 * and returns LS_EXIT_USAGE; `text` (may be NULL) receives the job file's bytes. */
int plan_load(const char *path, double mem_per_rank, JobSpec *job, Grid *grid, char **text);

/* Every task's memory against mem_per_rank (bytes; 0 = the default): 0, or -1 with one
 * line "FILE:LINE: [section] key: N task(s) need more memory ..." in err. */
int plan_check_memory(const JobSpec *job, const Grid *grid, double mem_per_rank, char *err,
                      size_t errlen);

/* Default memory budget per rank: physical memory / online cores. */
double plan_default_mem_per_rank(void);
/* "1.2 GiB", "350 MiB" ... */
void plan_format_bytes(double bytes, char *buf, int len);

#endif
