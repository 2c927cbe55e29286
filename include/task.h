/* task: runs one task in-process (data -> regime fit -> risks) and fills a
 * TaskResult. Pure numerics: no MPI, no HDF5; the scheduler and the store call it.
 * Field names are those of the results file's /results dataset (DESIGN §6). */
#ifndef LS_TASK_H
#define LS_TASK_H

#include <signal.h>

#include "grid.h"
#include "job.h"
#include "rng.h"

/* Failure causes (/results cause). Never renumber: results files store them. */
enum {
    CAUSE_NONE = 0,
    CAUSE_NONFINITE = 1, /* loss or parameters became NaN/Inf */
    CAUSE_SOLVER = 2,    /* a factorization or solver failed */
    CAUSE_NOMEM = 3,     /* the task does not fit its memory budget */
    CAUSE_STOPPED = 4,   /* interrupted by a signal: not done, rerun on resume */
    CAUSE_INVALID = 5,   /* combination the regime cannot run */
    CAUSE_CRASHED = 6,   /* dispatched crash_limit times without a result: it kills its
                          * rank (segfault, OOM kill); recorded by the master */
    CAUSE_COUNT
};
/* Why a fit stopped (/results stop, DESIGN §6). Never renumber: results files store
 * them. Only STOP_EXACT and STOP_CONVERGED say "this is the fit the class allows"; the
 * others are honest about stopping short. */
enum {
    STOP_EXACT = 0,      /* closed form or direct solve */
    STOP_TOL = 1,        /* relative decrease below the tolerance only (no stationarity
                          * certificate; at n = inf never above the class optimum) */
    STOP_BUDGET = 2,     /* step / iteration budget exhausted */
    STOP_SIGNAL = 3,     /* stop flag raised */
    STOP_FAILED = 4,     /* the task failed (cause says why) */
    STOP_CONVERGED = 5,  /* stationarity test passed (gradient norm, or an iterative
                          * solver's residual) and, at n = inf, the risk is within
                          * tolerance of the exact class optimum */
    STOP_LINESEARCH = 6, /* the line search found no decrease (not stationary) */
    STOP_STALLED = 7,    /* stationary (or no decrease left) above the known class optimum */
    STOP_HORIZON = 8,    /* alpha regimes: the prescribed time horizon T was reached, where
                          * the result is defined (SPEC §6): a complete fit */
    STOP_COUNT
};
const char *task_cause_name(int cause);
const char *task_stop_name(int stop);
/* 1 when a stop code certifies the fit (exact, converged, or the alpha regimes' horizon),
 * 0 when it stopped short. */
int task_stop_is_converged(int stop);
/* The stop code of a finished task, judged at n = inf (n < 0) for NN against the exact
 * class optimum `theory` (raw risks): converged iff risk_pop - theory <= nn_opt_tol r0
 * (whatever the optimiser said); otherwise converged and tol become stalled, budget and
 * linesearch stay. Finite n and the other regimes keep `stop`. */
int task_judge_stop(const JobSpec *job, int regime, long n, int stop, double risk_pop,
                    double theory, double r0);

typedef struct {
    double risk_train;   /* mean squared error on the training set (NaN for n = inf) */
    double risk_test;    /* on test_samples fresh points */
    double risk_pop;     /* exact population risk of the trained (c, M) */
    double r0;           /* trivial risk (best constant predictor), for normalising */
    double error_test;   /* 0-1 error of sign(f) on the test set (mixture; NaN otherwise) */
    double bayes_error;  /* Bayes 0-1 error (mixture; NaN otherwise) */
    double theory;       /* class optimum for the task's W0 at n = inf (SPEC §3), NaN if none */
    long iterations;     /* optimiser iterations (0 for closed forms) */
    double residual;     /* solve residual or final gradient norm */
    double flops;        /* counted by linalg */
    double seconds;      /* wall time of the task */
    int cause;           /* CAUSE_* */
    int stop;            /* STOP_* */
    int restarts;        /* NN escapes from stationary points that were taken (0 otherwise) */
    double error_floor;  /* mixture: 0-1 error of the best square-loss quadratic predictor
                          * M* (SPEC §3), the floor of the square-loss regimes; NaN otherwise */
    /* Regimes beyond the paper (SPEC §6-7); NaN (dead: -1) where they do not apply. */
    double t_final;      /* alpha: time sum_k eta_k reached */
    double theta_dist;   /* alpha: |theta - theta0| (a, W) at the end */
    int dead;            /* alpha: neurons with |a_i| |w_i|^2 < 1e-3 of the sum */
    double risk_nt;      /* alpha, onestep: the NT class optimum at W0 (raw population risk) */
    double risk_ey;      /* alpha, onestep: the Eckart-Young risk (rank-N optimum, raw) */
    double ebar;         /* onestep: E r at the initial model (population or n0-sample mean) */
    double step_norm;    /* onestep: |W1 - W0|_F / |W0|_F */
    double risk_rf0;     /* onestep: population risk of the same RF readout at W0 */
} TaskResult;

/* The values of a result never written (those of a fresh /results row): NaN metrics,
 * iterations -1, stop -1, dead -1, cause none, restarts 0. */
void task_result_fill(TaskResult *r);

/* Optional outputs, caller-allocated (NULL = not wanted). */
typedef struct {
    double *M;           /* d x d trained quadratic form */
    double *c;           /* trained offset */
    double *W0, *a0;     /* N x d, N initial weights */
    double *W1;          /* onestep: N x d first layer after the step */
    double *curve_train, *curve_test; /* curve_points values each (NN) */
    long *curve_steps;   /* curve_points step numbers */
} TaskExtras;

/* Runs the task. `stop` (may be NULL) is polled by iterative fits; when it becomes
 * nonzero the fit returns with cause CAUSE_STOPPED. Returns 0 when the task
 * succeeded, -1 when it failed (res->cause says why); never aborts on numerics. */
int task_run(const JobSpec *job, const Task *t, const volatile sig_atomic_t *stop,
             TaskResult *res, TaskExtras *extras);

/* Frees the targets, test and training sets task_run keeps between tasks that share them
 * (include/datacache.h). Safe to call any time. */
void task_cache_clear(void);
/* The initial weights of (d, replicate): W0 (N x d row-major), a0 (N), streams as in
 * src/task.c (row i is sub-stream i: the first N rows do not depend on N). */
void task_initial_weights(const JobSpec *job, int d, int N, int replicate, double *W0,
                          double *a0);
/* The training-set stream of (model, d, n, replicate); sample j is sub-stream j. */
RngKey task_train_key(const JobSpec *job, int model, int d, long n, int replicate);

#endif
