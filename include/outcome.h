/* outcome: the one definition of a task's state in a results file (DESIGN §6), shared by
 * run, status, aggregate and repair (analysis/lazysweep.py mirrors it): DONE needs the
 * /status byte DONE *and* a row that was written (attempts > 0) with cause none and finite
 * metrics (r0, risk_pop); FAILED needs the byte FAILED and a written row with a cause;
 * anything else — a marker without its row, a row without its marker, a torn row — is
 * pending and runs again. No MPI, no HDF5. */
#ifndef LS_OUTCOME_H
#define LS_OUTCOME_H

#include <stdint.h>

#include "task.h"

enum { OUTCOME_PENDING = 0, OUTCOME_DONE = 1, OUTCOME_FAILED = 2 };

/* status_byte: the task's /status value (0 pending, 1 done, 2 failed); attempts: the
 * row's attempts field (0 = never written); r: the row. */
int outcome_of(int status_byte, int attempts, const TaskResult *r);

#endif
