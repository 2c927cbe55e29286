/* data: the two data models of SPEC §2 — target draws, sampling, and the exact
 * population quantities of SPEC §3 (risk of any (c, M), its gradient, R0, Bayes error).
 * Random draws come only from rng streams keyed as DESIGN §4. No MPI, no HDF5. */
#ifndef LS_DATA_H
#define LS_DATA_H

#include "job.h"
#include "rng.h"

typedef struct {
    int model;      /* MODEL_QUADRATIC | MODEL_MIXTURE */
    int target;     /* TARGET_* (quadratic) */
    int d;
    /* quadratic: y = b0 + x^T B x + eps, eps ~ N(0, tau^2) */
    double b0;
    double *B;      /* d x d row-major symmetric; NULL for the mixture */
    double tau;
    /* mixture: y = +-1 w.p. 1/2, x | y ~ N(0, I + y delta U U^T) */
    int s;
    double delta;
    double *U;      /* d x s row-major, orthonormal columns; NULL for quadratic */
} Target;

/* The target of (model, d, replicate), drawn from stream (seed, RNG_SITE_TARGET, model, d,
 * replicate) (layout of the sub-streams: top of src/data.c). Wigner: off-diagonal
 * N(0, 1/d), diagonal N(0, 2/d) (GOE). lowrank: r clamped to [1, d]. The mixture
 * frame s is clamped to [1, d] likewise and its tau is 0. NULL on failure. */
Target *data_target_create(const JobSpec *job, int model, int d, int replicate);
void data_target_free(Target *t); /* NULL is a no-op */

/* Samples rows [first, first + n) of stream `key`: X (n x d row-major) and y (n).
 * Sample j is sub-stream j of `key` and depends only on (key, j): d + 1 normals, the
 * first d are z ~ N(0, I), the last is the noise (quadratic) or the label sign
 * (mixture). Returns 0 or -1. */
int data_sample(const Target *t, RngKey key, long first, long n, double *X, double *y);

/* Trivial risk R0: the population risk of the best constant predictor. */
double data_r0(const Target *t);
/* Exact population square risk of f(x) = c + x^T M x (M d x d symmetric), SPEC §3.
 * Mixture, general c: 1/2[(1 - c - m+)^2 + (1 + c + m-)^2] + tr(M S+ M S+) + tr(M S- M S-),
 * m+- = tr(M S+-) = E[x^T M x | y = +-1]. */
double data_pop_risk(const Target *t, double c, const double *M);
/* Same with the optimal c (returned in *c_opt if not NULL); if grad is not NULL it
 * receives dR/dM (d x d, symmetric) at that c. */
double data_pop_risk_copt(const Target *t, const double *M, double *c_opt, double *grad);
/* data_pop_risk_copt for the quadratic model (the mixture: NAN), no gradient, with the
 * sum over M's entries in four lanes (bits apart at rounding level), and M symmetric
 * only up to rounding (a GEMM's W^T diag(a) W, not symmetrised): its antisymmetric
 * part, O(eps |M|), changes the risk by O(eps^2 |M|^2), far below the risk's own
 * rounding. c_opt has data_pop_risk_copt's bits. */
double data_pop_risk_copt_fast(const Target *t, const double *M, double *c_opt);
/* Mixture: exact Bayes 0-1 error through the chi^2_s law of ||U^T x||^2 (NaN for
 * quadratic). */
double data_bayes_error(const Target *t);
/* The population moment C = E[r x x^T] of the residual r = y - c - x^T M x of the model
 * (c, M) (M d x d symmetric) — the one-step direction of SPEC §7: quadratic ebar I +
 * 2 (B - M); mixture 1/2 sum_y [(y - c - tr(M S_y)) S_y - 2 S_y M S_y]. C d x d
 * caller-allocated. Returns ebar = E r, or NaN when out of memory. O(d^2 s). */
double data_pop_moment(const Target *t, double c, const double *M, double *C);
/* Mixture: the best square-loss quadratic predictor of rank <= k (k >= s: M* = gamma U U^T)
 * — its 0-1 error (exact through the chi^2_k law; k >= s: the floor of the square-loss
 * regimes) and its risk R*_k = 2(1 + delta^2)/(2(1 + delta^2) + k delta^2) (trivial risk
 * 1), SPEC §3. NaN for quadratic. */
double data_lsq_error(const Target *t, int k);
double data_lsq_risk(const Target *t, int k);
/* Regularized lower incomplete gamma P(a, x) = gamma(a, x)/Gamma(a); P(s/2, x/2) is the
 * chi^2_s distribution function. NaN for a <= 0 or x < 0. */
double data_gammp(double a, double x);

#endif
