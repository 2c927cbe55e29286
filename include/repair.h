/* repair: `lazysweep repair FILE` — rebuilds /status of a results file from its journal
 * (FILE.journal) when the status dataset was damaged. Serial; holds FILE.lock meanwhile. */
#ifndef LS_REPAIR_H
#define LS_REPAIR_H

#include "cli.h"

int repair_main(const CliArgs *args);

#endif
