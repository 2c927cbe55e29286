/* aggregate: `lazysweep aggregate FILE [--csv OUT]` — the replicate means and standard
 * errors of the normalised risks per (model, target, d, N, n, regime), with the SPEC §3
 * limit beside them. Serial; runs on a login node. */
#ifndef LS_AGGREGATE_H
#define LS_AGGREGATE_H

#include "cli.h"

int aggregate_main(const CliArgs *args);

#endif
