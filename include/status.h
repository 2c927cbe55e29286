/* status: `lazysweep status FILE [--json]` — done / failed / pending of a results file,
 * readable on a login node while a job writes it. No MPI. */
#ifndef LS_STATUS_H
#define LS_STATUS_H

#include "cli.h"

int status_main(const CliArgs *args);

#endif
