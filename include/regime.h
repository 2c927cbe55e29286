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
} FitInput;

typedef struct {
    double c;
    double *M;               /* d x d, caller-allocated, filled by fit */
    long iterations;
    double residual;         /* solve residual or final gradient norm */
    int cause;               /* CAUSE_* (task.h) */
    int stop;                /* STOP_* (task.h) */
    int n_curve;             /* curve capacity (job curve_points); arrays caller-allocated */
    double *curve_train, *curve_test;
    long *curve_steps;
} FitOutput;

typedef struct {
    const char *name;        /* as in job files: "rf", "nt", "nn", "null" */
    /* Fits the model; returns 0, or -1 with out->cause set. Never aborts on numerics. */
    int (*fit)(const FitInput *in, FitOutput *out);
} Regime;

extern const Regime regime_rf, regime_nt, regime_nn, regime_null;
/* NULL-terminated registry; regime_find returns NULL for an unknown name. */
extern const Regime *const regime_registry[];
const Regime *regime_find(const char *name);

#endif
