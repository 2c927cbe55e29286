/* theory: the formulas of SPEC §3 — limits d -> inf, N/d -> rho of the normalised
 * population risks of RF, NT and NN, and the exact class optima for a given first
 * layer W (n = inf), plus the exact finite-d mean of the NT risk over a random row
 * space. Risks here are raw (not normalised) unless the name says "limit". No MPI/HDF5. */
#ifndef LS_THEORY_H
#define LS_THEORY_H

#include "data.h"

/* kappa = ((tr B)^2 / d) / ||B||_F^2 of a quadratic target (NaN for the mixture). */
double theory_kappa(const Target *t);
/* Limits of R/R0 (noiseless) as functions of rho = N/d and kappa. */
double theory_rf_limit(double rho, double kappa);          /* 1 - kappa rho/(1 + rho) */
double theory_nt_limit(double rho, double kappa);          /* (1-rho)_+^2 (1-kappa) + (1-rho)_+ kappa */
/* NN limit (spectral tail) for a target kind: exponential 1 - rho(1 - ln rho + ln^2 rho/2)
 * (rho < 1, else 0); lowrank 0 (for rho > 0: N = rho d >= r eventually); signed
 * (1 - rho)_+; wigner the semicircle tail (4 th - sin 4 th)/(2 pi) with
 * (2 th + sin 2 th)/pi = 1 - rho. NaN for an unknown target. */
double theory_nn_limit(int target, double rho);
/* The limit of R/R0 for (model, target, regime): the three above with the target's
 * limiting kappa (exponential 1/2; wigner, lowrank, signed 0). NaN where SPEC has no
 * formula (mixture, null regime). */
double theory_limit(int model, int target, int regime, double rho);

/* Exact class optima at n = inf for first layer W (N x d row-major), raw risks:
 * RF  2(||B||^2 - v^T G^+ v) + tau^2 (quadratic); mixture 1/(1 + g^T H^+ g/4) via the
 *     population solve;
 * NT  2||P_perp B P_perp||_F^2 + tau^2 (quadratic); mixture via the population solve;
 * NN  2 sum_{j > N} lambda_(j)^2 + tau^2, eigenvalues by decreasing |lambda| (quadratic);
 *     mixture R*_N = 2(1 + delta^2)/(2(1 + delta^2) + min(N, s) delta^2) (SPEC §3).
 *     NaN on failure. */
double theory_rf_opt(const Target *t, const double *W, int N);
double theory_nt_opt(const Target *t, const double *W, int N);
double theory_nn_opt(const Target *t, int N);
/* NN restricted to M = s W^T W with s > 0 (positive semidefinite, rank <= N): the
 * optimum keeps the N largest positive eigenvalues, 2 (sum of the other eigenvalues
 * squared) + tau^2 (quadratic; mixture: R*_N, whose M* is semidefinite). */
double theory_nn_psd_opt(const Target *t, int N);
/* NN with one shared second layer of either sign (nn_a_init = shared): the better of
 * the best positive and negative semidefinite rank-N fits (SPEC §1). */
double theory_nn_shared_opt(const Target *t, int N);
/* Dispatch by REGIME_* (NaN for the null regime). */
double theory_class_opt(const Target *t, int regime, const double *W, int N);
/* E over a uniformly random N-dimensional row space of the NT optimum (quadratic):
 * 2(a_k ||B||^2 + b_k (tr B)^2) + tau^2, k = d - N, b_k = k(d-k)/(d(d-1)(d+2)),
 * a_k = k(k+2)/(d(d+2)) - b_k. */
double theory_nt_mean(const Target *t, int N);

#endif
