/* task_cmd: `lazysweep task JOB --id K` — runs one task in-process (no MPI, no file)
 * and prints its parameters and results as one JSON object whose keys are the field
 * names of /tasks and /results. For debugging a single grid point. */
#ifndef LS_TASK_CMD_H
#define LS_TASK_CMD_H

#include "cli.h"

int task_cmd_main(const CliArgs *args);

#endif
