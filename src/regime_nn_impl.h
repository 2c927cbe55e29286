/* regime_nn_impl: what regime_nn.c and nn_escape.c share — the NN objective and its
 * state. Private to those files. No MPI, no HDF5. */
#ifndef LS_REGIME_NN_IMPL_H
#define LS_REGIME_NN_IMPL_H

#include <stddef.h>

#include "nn.h"
#include "regime.h"

typedef struct {
    const FitInput *in;
    const FitInput *rf_in;      /* in, with ridge 0: varpro's (c, a) minimise the loss itself */
    NnWork *w;
    int d, N;
    int pop, varpro, shared, has_c, sgd;
    size_t off_a, off_W, np;    /* layout of theta */
    const double *X, *y;        /* rows the sample loss runs over (n of them) */
    long n;
    double c;                   /* offset and second layer of the last evaluation */
    double *a, *ga, *ones;      /* N each */
    double *phi;                /* shared varpro, finite n: features (n) */
    double R0, *G0;             /* shared varpro, population: R(0) and dR/dM at 0 */
    double *Mt;                 /* d x d, for curve evaluations */
    double *P;                  /* varpro, finite n: X W^T (n x N) of the last solve, or NULL */
    double *K, *WB;             /* varpro, population, quadratic, per-neuron a: W W^T (N x N)
                                 * and W B (N x d) of the last RF solve, for the gradient */
    int solve_failed;
    /* curves */
    const long *steps;
    int n_curve, next;
    long iter_base;             /* iterations of earlier optimiser runs (escapes) */
    double *ctrain, *ctest;
    double batch_sum;           /* online SGD: batch losses since the previous point */
    long batch_count;
} NnObj;

/* The objective of every method (an OptFunc): the sample loss or the population risk
 * at theta = [c | a or log s | W] (varpro: W only, (c, a) solved); sets o->c, o->a.
 * NaN when varpro's solve fails (o->solve_failed set). */
double nn_obj_eval(void *ctx, const double *th, double *g);

/* Escape from a stationary point of the varpro objective (nn_escape.c). With G = dL/dM
 * at the current model (population: exact; finite n: nn_moment), tries re-seating each
 * of the 3 weakest neurons (smallest |a_i| |w_i|^2) along each of the 2 eigenvectors of
 * G with the largest useful eigenvalue (|lambda|; shared a: the sign that lowers the
 * loss with the current s), at the typical row norm (shared: also 2^-3 .. 2^3 times it),
 * (c, a) re-solved each time. The best swap is applied to th when it lowers the loss
 * below *f; then *f is its loss and 1 is returned. 0: no swap lowers the loss. -1: out
 * of memory or an eigensolver failure (th untouched). */
int nn_escape(NnObj *o, double *th, double *f);

/* Shared varpro only: a start in the cone of sign `sign` (+1: s > 0, -1: s < 0). Row i
 * becomes |w0_i| times the eigenvector of G(0) (the loss gradient at M = 0, c optimal)
 * with the i-th most useful eigenvalue for that sign; rows beyond the useful ones keep
 * W0. *gain receives sum over the N most useful eigenvalues of lambda^2 / 8, which is
 * exactly the best loss decrease of that cone for the quadratic population risk (and
 * an estimate at finite n). 0 or -1 (out of memory, eigensolver failure). */
int nn_branch_start(NnObj *o, int sign, double *th, double *gain);

#endif
