/* optim: unconstrained minimisers for a smooth objective given as a callback —
 * gradient descent (fixed step with drops, or backtracking Armijo with step growth)
 * and L-BFGS with a strong-Wolfe line search. Knows nothing about networks or data.
 * Workspaces are allocated once per call, never inside the iteration loop.
 * No MPI, no HDF5, no BLAS (plain loops on vectors). */
#ifndef LS_OPTIM_H
#define LS_OPTIM_H

#include <signal.h>
#include <stddef.h>

/* Objective: returns f(x) and, when g is not NULL, writes the gradient (n) into g.
 * May return a non-finite value (the minimisers treat it as "too far"). */
typedef double (*OptFunc)(void *ctx, const double *x, double *g);
/* Called after iteration `iter` (1-based) has moved x, with f = f(x). */
typedef void (*OptMonitor)(void *ctx, long iter, const double *x, double f);

typedef struct {
    long max_iter;          /* iteration budget (>= 0) */
    double tol;             /* stop when 0 <= f_old - f_new <= tol * |f_old| */
    double floor;           /* also stop (OPT_TOL) once f <= floor * f(x0); 0 = off */
    double lr;              /* opt_gd: > 0 fixed step, 0 = backtracking (auto) */
    int n_drops;            /* opt_gd fixed step: from iteration drop_step[k] on (0-based */
    const long *drop_step;  /*   count of steps already taken), lr *= drop_factor[k] */
    const double *drop_factor;
    int memory;             /* opt_lbfgs: pairs kept (0 = 10) */
    const volatile sig_atomic_t *stop; /* polled every evaluation; may be NULL */
    OptMonitor monitor;     /* may be NULL */
    void *monitor_ctx;
} OptOptions;

/* Why a minimiser returned (values equal to task.h's STOP_* on purpose). */
enum { OPT_TOL = 1, OPT_BUDGET = 2, OPT_SIGNAL = 3, OPT_NONFINITE = 4 };
enum { OPT_NOMEM = -1 }; /* a workspace could not be allocated (the task fails: nomem) */

typedef struct {
    long iterations;  /* iterations taken */
    long evals;       /* objective evaluations */
    double f;         /* final objective */
    double gnorm;     /* Euclidean norm of the final gradient */
    int why;          /* OPT_* */
} OptResult;

/* Gradient descent from x (n, updated in place). Fixed step (o->lr > 0, with the
 * drops): x -= lr g each iteration. Auto (o->lr == 0): backtracking line search on f
 * (Armijo, sufficient-decrease constant 1/4, halving) starting from the previous
 * accepted step, doubled after a step accepted at the first try.
 * Returns 0 (converged, budget) or -1 (OPT_SIGNAL, OPT_NONFINITE in r->why); x then
 * holds the last finite iterate. */
int opt_gd(OptFunc f, void *ctx, size_t n, double *x, const OptOptions *o, OptResult *r);

/* L-BFGS from x with a strong-Wolfe line search (c1 = 1e-4, c2 = 0.9, bracketing and
 * safeguarded cubic zoom). A pair with s^T y <= 0 is skipped; a failed line search
 * restarts once from steepest descent and then stops as converged (OPT_TOL: no
 * representable decrease left). Same return convention as opt_gd. */
int opt_lbfgs(OptFunc f, void *ctx, size_t n, double *x, const OptOptions *o, OptResult *r);

#endif
