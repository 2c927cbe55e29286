/* calibrate: `lazysweep plan --calibrate FILE JOB` — the cost model (include/cost.h)
 * against a results file of JOB: per regime family predicted vs measured seconds, flops
 * and iterations, and suggested kernel rates. No MPI; writes nothing. */
#ifndef LS_CALIBRATE_H
#define LS_CALIBRATE_H

#include "grid.h"
#include "job.h"

/* Prints the comparison; returns an exit status (2: FILE is not a results file of JOB). */
int calibrate_main(const char *file, const JobSpec *job, const Grid *grid);

#endif
