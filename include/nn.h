/* nn: the quadratic-activation network f(x) = c + sum_i a_i <w_i, x>^2 as numbers —
 * the mean squared loss on samples and the exact population risk with their
 * gradients, the quadratic form M = W^T diag(a) W, and the curve step numbers.
 * The training loops live in regime_nn.c. No MPI, no HDF5; BLAS through linalg.
 * Matrices row-major: X n x d, W N x d (rows w_i), M d x d. */
#ifndef LS_NN_H
#define LS_NN_H

#include "data.h"

/* Workspaces for one (d, N), allocated once by nn_work_create (NULL when out of memory). */
typedef struct {
    int d, N;
    long chunk;            /* samples per block of Z (nn_predict, the kept products) */
    long tchunk;           /* samples per block of Z^T in nn_loss_data (multiple of 8) */
    double *Z;             /* max(chunk, tchunk) rows of N (max(N, d) when 4 N > 3 d):
                            * <w_i, x_j>, then r_j <w_i, x_j>;
                            * for the moment path, X_b M then sqrt|r| X_b (tchunk x d) */
    double *r;             /* max(chunk, tchunk) residuals */
    double *acc;           /* N x 8: dL/da_i in 8 lanes (nn_loss_data) */
    double *Tn;            /* tchunk x d: rows of negative residual (moment path; else NULL) */
    double *D, *M, *G, *WG; /* N x d, d x d, d x d, N x d (population; M, G: moment path) */
} NnWork;

/* NULL when the workspaces cannot be allocated (the caller fails the task: nomem). */
NnWork *nn_work_create(int d, int N);
void nn_work_free(NnWork *w); /* NULL is a no-op */

/* L = (1/n) sum_j (f(x_j) - y_j)^2 over rows of X (n x d), processed in blocks of
 * w->tchunk rows (memory O(tchunk N), not O(n N)); with gradients 4 n N d flops, or
 * when 4 n N > d (3 n + 4 N) (N > 3d/4, n large) (3 n + 4 N) d^2 through the moment
 * G = X^T diag(r) X (two dsyrk split by the sign of r): f_j = c + x_j^T M x_j,
 * dL/dW = (4/n) diag(a) W G, dL/da_i = (2/n) w_i^T G w_i (the same numbers to rounding).
 * When gW is not NULL also gc (scalar), ga (N), gW (N x d) = dL/dc, dL/da, dL/dW:
 *   dL/dc = (2/n) sum r,  dL/da_i = (2/n) sum_j r_j Z_ji^2,
 *   dL/dW = (4/n) diag(a) (Z o r)^T X,   Z = X W^T, r = f - y.
 * gc/ga may be NULL when gW is given (then not computed). */
double nn_loss_data(NnWork *w, const double *X, const double *y, long n, double c,
                    const double *a, const double *W, double *gc, double *ga, double *gW);

/* nn_loss_data with the products P = X W^T (n x N) already formed (by the varpro RF
 * solve at the same W): 2 n N d flops fewer. P NULL: nn_loss_data. */
double nn_loss_data_kept(NnWork *w, const double *X, const double *y, long n, double c,
                         const double *a, const double *W, const double *P, double *gc,
                         double *ga, double *gW);

/* The gradient of the mean squared loss with respect to the quadratic form M of the model
 * (c, a, W): G = (2/n) sum_j (f(x_j) - y_j) x_j x_j^T (d x d, symmetric), in blocks of
 * w->chunk rows. Returns 0, or -1 when its block buffer cannot be allocated. */
int nn_moment(NnWork *w, const double *X, const double *y, long n, double c, const double *a,
              const double *W, double *G);

/* Predictions f(x_j) = c + sum_i a_i <w_i, x_j>^2 for the n rows of X (blocked). */
void nn_predict(NnWork *w, const double *X, long n, double c, const double *a,
                const double *W, double *f);

/* M = W^T diag(a) W (d x d, exactly symmetrised). Uses w->D. */
void nn_form_M(NnWork *w, const double *a, const double *W, double *M);

/* Exact population risk of the network with the optimal offset (returned in *c_opt if
 * not NULL), through data_pop_risk_copt; with gradients (gW not NULL):
 *   dR/da_i = w_i^T G w_i,  dR/dW = 2 diag(a) W G,  G = dR/dM. Cost O(N d^2).
 * ga may be NULL when gW is given. */
double nn_loss_pop(NnWork *w, const Target *t, const double *a, const double *W,
                   double *c_opt, double *ga, double *gW);

/* nn_loss_pop for the quadratic target when the RF solve at W has already formed
 * K = W W^T (N x N) and WB = W B (N x d): the same risk, and dR/dW = 2 diag(a) W G
 * through W G = 4 (K diag(a) W - W B) (O(N^2 d) instead of O(N d^2)). */
double nn_loss_pop_kept(NnWork *w, const Target *t, const double *a, const double *W,
                        const double *K, const double *WB, double *c_opt, double *gW);

/* The curve_points step numbers of an NN task with a budget of `steps`: log-spaced
 * in [1, steps], rounded, strictly increasing when points <= steps (otherwise
 * nondecreasing), the last one = steps. A pure function of (steps, points), so the
 * store can write /curves_steps once per job. */
void nn_curve_steps(long steps, int points, long *out);

#endif
