/* run: `lazysweep run JOB -o FILE` under mpirun/srun (1 rank works: master and worker
 * in one process). Creates the results file or resumes it; exit status per DESIGN §2. */
#ifndef LS_RUN_H
#define LS_RUN_H

#include "cli.h"

int run_main(const CliArgs *args);

#endif
