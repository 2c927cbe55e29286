/* fault: see include/fault.h. */
#include "fault.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fault_rank = 0;

void fault_set_rank(int rank) { fault_rank = rank < 0 ? 0 : rank; }

#define FAULT_STEPS 16
static struct {
    char step[24];
    long seen; /* occurrences so far */
} counters[FAULT_STEPS];

static long *counter(const char *step)
{
    for (int i = 0; i < FAULT_STEPS; i++) {
        if (!counters[i].step[0])
            snprintf(counters[i].step, sizeof counters[i].step, "%s", step);
        if (!strcmp(counters[i].step, step))
            return &counters[i].seen;
    }
    return NULL;
}

int fault_hit(const char *step)
{
    const char *spec = getenv("LAZYSWEEP_FAULT");
    if (!spec || !*spec)
        return 0;
    long *seen = counter(step);
    if (!seen)
        return 0;
    long now = ++*seen;
    size_t len = strlen(step);
    for (const char *p = spec; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        if (strncmp(p, step, len) != 0 || p[len] != '@')
            continue;
        char *end;
        long r = strtol(p + len + 1, &end, 10);
        long nth = *end == '#' ? strtol(end + 1, NULL, 10) : 1;
        if (r == fault_rank && nth == now) {
            errno = ENOSPC;
            return 1;
        }
    }
    return 0;
}

void fault_task(long id)
{
    const char *spec = getenv("LAZYSWEEP_FAULT_TASK");
    if (spec && *spec && strtol(spec, NULL, 10) == id)
        raise(SIGKILL);
}
