/* cost: the predicted seconds of a job's tasks on one core (plan's core-hours, the
 * scheduler's largest-first order and its first time predictions).
 *
 * A task's seconds = its counted work (the flops la_flops counts: the fit, the class
 * optimum `theory`, the risks) at the measured rate of the kernel that does it, with
 * iterative fits at their *typical* iteration counts (formulas fitted to counts recorded
 * in results files), plus a fixed per-task time. Data are drawn once per group
 * (src/datacache.c): a training set per (model, d, n, replicate), a target and test set
 * per (model, d, replicate); their cost is shared by the group's tasks. Every constant
 * lives in src/cost.c with how it was measured; `lazysweep plan --calibrate` compares the
 * model with a finished results file and suggests new rates. Pure: no MPI, no HDF5. */
#ifndef LS_COST_H
#define LS_COST_H

#include "grid.h"
#include "job.h"

/* The kernel classes the model has a rate for (COST_K_*). */
enum {
    COST_K_DENSE,  /* blocked level-3 and LAPACK at the size d: NT, KRR, theory, risks */
    COST_K_GRAM,   /* the same at the size max(d, N): RF's Gram systems and features */
    COST_K_NN,     /* NN objective + gradient passes over samples (X W^T, elementwise) */
    COST_K_STREAM, /* level-1/2 and small-matrix work: GD at n = inf, risks, sampling's y */
    COST_K_BATCH,  /* full-batch GD passes over n samples (long-k GEMMs, fused elementwise) */
    COST_K_COUNT
};
const char *cost_kernel_name(int k);

/* The model's constants (src/cost.c: cost_default), one place for every number. */
typedef struct {
    double rate[COST_K_COUNT]; /* flops per second of each kernel class, one core */
    double dense_m;            /* dense rates: rate m / (m + dense_m); m = d, gram: max(d, N) */
    double nn_d;               /* the NN rate at d: rate[COST_K_NN] d / (d + nn_d) */
    double normal_s;           /* seconds per standard normal drawn (data, W0) */
    double task_s;             /* fixed seconds per task (setup, result row) */
    double iter_s;             /* fixed seconds per varpro iteration at n = inf */
} CostRates;
const CostRates *cost_rates(void);
/* The rate of kernel class k for a task at dimension d and width N (flops per second):
 * dense work runs faster on larger matrices, NN passes faster at larger d. */
double cost_kernel_rate(int k, int d, int N);

/* One task without its data draws. */
typedef struct {
    double flops[COST_K_COUNT]; /* predicted counted work by kernel class */
    double flops_total;
    double iterations;          /* typical iterations of an iterative fit, 0 closed form */
    double seconds;             /* the work at the rates, plus W0's normals and task_s */
} CostTask;
CostTask cost_task(const JobSpec *job, const Task *t);
/* The regime family a task's cost comes from, for per-regime reports: a short stable
 * name ("rf", "nt", "nn-varpro n<inf", ...) written into buf. */
void cost_family(const JobSpec *job, const Task *t, char *buf, size_t len);

/* Seconds to draw one data group: a training set of n samples at d (n > 0), or a target
 * with its test set (n = 0). */
double cost_draw_seconds(const JobSpec *job, int model, int d, long n);

/* The whole job: per-task seconds with each group's draws shared by its tasks (may be
 * NULL), and the totals. Returns 0, or -1 when out of memory (nothing filled). */
typedef struct {
    double seconds;      /* sum over tasks and groups */
    double task_seconds; /* the tasks' own work */
    double draw_seconds; /* the data groups' draws */
    long train_groups, target_groups;
} CostTotal;
int cost_job(const JobSpec *job, const Grid *grid, double *task_seconds, CostTotal *total);

#endif
