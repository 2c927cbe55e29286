/* regime: the training regimes behind one interface (STYLE point 4). Each regime is
 * one file with `static` functions and one exported table; regime_find selects by
 * name from a NULL-terminated registry. A regime fits (c, M) — the trained model
 * as a quadratic form f(x) = c + x^T M x — from the data it is given. No MPI/HDF5. */
#ifndef LS_REGIME_H
#define LS_REGIME_H

#include <signal.h>

#include "data.h"
#include "job.h"
#include "rng.h"

typedef struct {
    const JobSpec *job;
    const Target *target;
    int d, N;
    long n;                  /* training samples; -1 = population (n = inf) */
    const double *X, *y;     /* n x d row-major and n; NULL when n = -1 */
    const double *W0;        /* N x d row-major initial first layer */
    const double *a0;        /* N initial second layer (already per nn_a_init) */
    int nn_method;           /* NN_METHOD_* resolved for this task (never DEFAULT) */
    RngKey sgd_key;          /* fresh samples for online SGD / minibatch indices */
    const volatile sig_atomic_t *stop; /* nonzero: iterative fits return STOP_SIGNAL */
    const double *Xtest, *ytest; /* test set for curves (n_test rows) */
    long n_test;
    int nn_optimizer;        /* NN_OPT_*: engine of gd/population when nn_lr = auto */
    double r_star;           /* n = inf: the exact class optimum of this task (raw risk,
                              * SPEC §3), NaN when unknown; fits may stop once within
                              * job nn_opt_tol R0 of it */
    double alpha;            /* alpha, alpha_lin: the scale (SPEC §6) */
    double eta;              /* onestep: eta~ >= 0 or INFINITY (SPEC §7) */
    long n0;                 /* onestep: samples of the step, -1 = the population step */
    RngKey onestep_key;      /* onestep: their stream (sample j = sub-stream j) */
} FitInput;

/* FitInput.nn_optimizer. 0 (NN_OPT_AUTO, what a zeroed FitInput holds) = the default,
 * backtracking gradient descent; NN_OPT_LBFGS: joint L-BFGS (regime_nn.c). */
enum { NN_OPT_AUTO = 0, NN_OPT_BACKTRACK = 1, NN_OPT_LBFGS = 2 };

typedef struct {
    double c;
    double *M;               /* d x d, caller-allocated, filled by fit */
    long iterations;
    double residual;         /* solve residual or final gradient norm */
    int cause;               /* CAUSE_* (task.h) */
    int stop;                /* STOP_* (task.h) */
    int restarts;            /* escapes from stationary points taken (NN varpro) */
    double theory;           /* regimes beyond the paper: their class optimum (raw), NaN */
    double t_final, theta_dist, risk_nt, risk_ey; /* alpha (TaskResult fields of the name) */
    int dead;
    double ebar, step_norm, risk_rf0;             /* onestep */
    double *W1;              /* onestep: N x d moved first layer, caller-allocated or NULL */
    int n_curve;             /* curve capacity (job curve_points); arrays caller-allocated */
    double *curve_train, *curve_test;
    long *curve_steps;
} FitOutput;

typedef struct {
    const char *name;        /* as in job files: "rf", "nt", "nn", "null" */
    /* Fits the model; returns 0, or -1 with out->cause set. Never aborts on numerics. */
    int (*fit)(const FitInput *in, FitOutput *out);
} Regime;

extern const Regime regime_rf, regime_nt, regime_nn, regime_null, regime_alpha,
    regime_alpha_lin, regime_onestep, regime_krr_rf, regime_krr_nt;
/* NULL-terminated registry; regime_find returns NULL for an unknown name. */
extern const Regime *const regime_registry[];
const Regime *regime_find(const char *name);

/* Exact RF solution (c, a) for arbitrary first-layer weights W (N x d row-major): the
 * least-squares fit of y by c + sum_i a_i <w_i, x>^2 with ridge in->job->ridge on a
 * (never on c): minimises (1/n) sum_j (f(x_j) - y_j)^2 + lambda ||a||^2 on in->X, in->y
 * when in->n > 0, or the population risk + lambda ||a||^2 when in->n = -1 (both models,
 * in->target). lambda = 0: among all minimisers, the one of minimum ||a|| (the limit
 * lambda -> 0+). Uses in->job, in->target, in->d, in->n, in->X, in->y only. c (1) and a
 * (N) are caller-allocated. Returns 0, or -1 when a solve failed (out of memory,
 * LAPACK failure). Cost O(n N d + n N^2) or, population, O(N^2 d + N d s + N^3). */
int rf_solve_at(const FitInput *in, const double *W, int N, double *c, double *a);

/* NT population optimum for the first layer W0 (N x d): the trained (c, M) minimising
 * the population risk + lambda ||(da, G)||^2 (the raw parameters of SPEC §1), lambda =
 * in->job->ridge, c optimal. lambda = 0 (in->a0 unused): quadratic M = B - P_perp B P_perp
 * (SPEC §3), mixture: CG on the class; lambda > 0 needs in->a0 (N) and runs CG in the
 * parameters. M d x d caller-allocated; iterations and residual (may be NULL)
 * report the CG solve. Returns 0 or -1. */
int nt_pop_solve(const FitInput *in, const double *W0, int N, double *c, double *M,
                 long *iterations, double *residual);
/* NT's finite-n solvers, and the rule that picks one for n samples, p independent
 * parameters of M and ridge lambda (regime_nt.c; plan's cost and memory estimates follow
 * it). The parameter metric is used unless lambda = 0 and n > p. */
enum { NT_SOLVER_EXPLICIT, NT_SOLVER_NORMAL, NT_SOLVER_KERNEL, NT_SOLVER_CG };
int nt_solver_for(double n, double p, double lambda);
/* Which finite-n NT solver the last NT fit of this process used: "explicit" (dgelsd on
 * the design), "normal" (normal equations), "kernel" (n x n bordered system), "cg", or
 * "closed-form" (population). For diagnostics and tests. */
const char *nt_solver_name(void);
/* Tests only: force the finite-n NT solver ("explicit", "normal", "kernel", "cg"), or
 * NULL / "auto" for the automatic choice. Returns 0, or -1 for an unknown name. */
int nt_force_solver(const char *name);
/* Tests only: the parameters (a: N, W: N x d) at the end of this process's last alpha or
 * alpha_lin fit; 0, or -1 when there is none of that size. */
int alpha_test_last_theta(double *a, double *W, int N, int d);
/* Tests only: the CG iteration limit (<= 0: the default 3000) and the largest direct
 * solve that may follow a CG that stopped short (< 0: the default 1 GiB; 0: none, so the
 * task fails with cause solver). */
void nt_test_limits(long cg_maxit, double fallback_bytes);

/* Kernel limits (regime_krr.c, SPEC §8). regime is REGIME_KRR_RF or REGIME_KRR_NT; the
 * kernel depends on job->init (d^2 or d(d+2)) and, for NT, job->nn_a_init through
 * E[a0^2] = krr_a0_moment (1 for normal and positive, 0 for shared: a0 = 1/N -> 0).
 * krr_kernel: K(x, x') for x, x' in R^d. krr_predictor: the quadratic form M (d x d) of
 * f(x) = sum_mu beta_mu K(x, x_mu), X n x d row-major, beta n; 0 or -1 (memory). */
double krr_a0_moment(int nn_a_init);
double krr_kernel(const JobSpec *job, int regime, int d, const double *x, const double *xp);
int krr_predictor(const JobSpec *job, int regime, int d, long n, const double *X,
                  const double *beta, double *M);
/* Which solver the last finite-n KRR fit of this process used: "kernel" (n x n bordered
 * Cholesky), "explicit" (dgelsd on the n x P feature design), "normal" (P x P normal
 * equations), "cg", or "closed-form" (population). For diagnostics and tests. */
const char *krr_solver_name(void);
/* Tests only: force a KRR solver by the names above ("cg" or a direct one; NULL / "auto":
 * the job's choice); 0, or -1 for an unknown name. krr_test_limits: the CG iteration limit
 * (<= 0: the default 3000) and the largest direct solve after a CG that stopped short
 * (< 0: the default 1 GiB; 0: none, so the task fails with cause solver). */
int krr_force_solver(const char *name);
void krr_test_limits(long cg_maxit, double fallback_bytes);

#endif
