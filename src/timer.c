/* timer: see include/timer.h. */
#include "timer.h"

#include <time.h>

static double seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double timer_now(void) { return seconds(CLOCK_MONOTONIC); }
double timer_cpu(void) { return seconds(CLOCK_PROCESS_CPUTIME_ID); }
