/* repair: `lazysweep repair FILE` — adds to a results file what its journal (FILE.journal)
 * knows and the file lacks: result rows that never reached it (replayed bit for bit) and
 * /status markers whose row is there (a damaged /status). Only adds: a file or journal it
 * refuses is left byte-identical, nothing DONE is touched. Compacts the journal. Serial;
 * holds FILE.lock meanwhile. */
#ifndef LS_REPAIR_H
#define LS_REPAIR_H

#include "cli.h"

int repair_main(const CliArgs *args);

#endif
