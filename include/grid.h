/* grid: the task table of a job (DESIGN §4). A task is one (model, d, N, n, regime,
 * [alpha or eta], replicate); its id is its position in the fixed mixed-radix order of
 * the job's axes in that order, after removing duplicates (two rho values giving the
 * same N, two n forms giving the same n). The alpha axis expands only the alpha and
 * alpha_lin regimes, the onestep_eta axis only onestep; the krr regimes have no width
 * (one task at the first width, N = 0). A job without those regimes has the ids it
 * always had. The same job always gives the same ids.
 * Also the memory model used by plan (peak bytes per task). */
#ifndef LS_GRID_H
#define LS_GRID_H

#include <stdint.h>

#include "job.h"

typedef struct {
    long id;
    int model;     /* MODEL_* */
    int d;
    int N;
    long n;        /* training samples, -1 = population (n = inf) */
    int regime;    /* REGIME_* */
    int replicate; /* 0 .. replicates-1 */
    double alpha;  /* alpha regimes: the scale; NaN otherwise */
    double eta;    /* onestep: eta~ (may be INFINITY); NaN otherwise */
} Task;

typedef struct {
    long count;
    Task *tasks;       /* count entries, tasks[i].id == i */
    uint64_t *keys;    /* packed axis indices, increasing with the id (for grid_id) */
    int dup_width;     /* (d, width) pairs dropped as duplicates */
    int dup_n;         /* (d, N, n) triples dropped as duplicates */
} Grid;

/* The largest grid a job may have (and a results file may claim). */
#define GRID_MAX_TASKS 50000000L

/* Builds the table; warns once per kind of duplicate on stderr when warn != 0.
 * Returns 0, or -1 (message in err) when the grid is empty or too large. */
int grid_build(const JobSpec *job, Grid *grid, int warn, char *err, size_t errlen);
void grid_free(Grid *grid);

/* id <-> task. grid_task returns NULL for an id out of range; grid_id returns -1
 * when no task has these parameters (the id field of `t` is ignored). */
const Task *grid_task(const Grid *grid, long id);
long grid_id(const Grid *grid, const JobSpec *job, const Task *t);

/* Estimated cost of one task: its memory, and the cost model's flops (include/cost.h,
 * which also turns them into seconds). */
typedef struct {
    double flops;   /* floating-point operations (cost_task's flops_total) */
    double bytes;   /* peak memory of the task's own arrays */
} TaskCost;
TaskCost grid_cost(const JobSpec *job, const Task *t);
#endif
