/* timer: monotonic wall-clock and process CPU seconds, for task timings, progress,
 * the scheduler's waits and the journal's fsync pacing. Nothing else. */
#ifndef LS_TIMER_H
#define LS_TIMER_H

double timer_now(void); /* monotonic seconds (arbitrary origin) */
double timer_cpu(void); /* CPU seconds used by this process */

#endif
