/* outcome: see include/outcome.h. */
#include "outcome.h"

#include <math.h>

int outcome_of(int status_byte, int attempts, const TaskResult *r)
{
    if (attempts <= 0)
        return OUTCOME_PENDING; /* the marker came without its row */
    if (status_byte == OUTCOME_DONE && r->cause == CAUSE_NONE && isfinite(r->r0)
        && isfinite(r->risk_pop))
        return OUTCOME_DONE;
    if (status_byte == OUTCOME_FAILED && r->cause > CAUSE_NONE && r->cause < CAUSE_COUNT
        && r->cause != CAUSE_STOPPED)
        return OUTCOME_FAILED;
    return OUTCOME_PENDING;
}
