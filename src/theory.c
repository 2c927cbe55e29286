/* theory: see include/theory.h. */
#include "theory.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "linalg.h"
#include "regime.h"

static double trace_fro(const Target *t, double *fro2)
{
    int d = t->d;
    double tr = 0;
    for (int i = 0; i < d; i++)
        tr += t->B[(size_t)i * d + i];
    *fro2 = la_dot((size_t)d * d, t->B, t->B);
    return tr;
}

double theory_kappa(const Target *t)
{
    if (t->model != MODEL_QUADRATIC)
        return NAN;
    double f2, tr = trace_fro(t, &f2);
    return f2 > 0 ? tr * tr / t->d / f2 : NAN;
}

double theory_rf_limit(double rho, double kappa) { return 1.0 - kappa * rho / (1.0 + rho); }

double theory_nt_limit(double rho, double kappa)
{
    double p = rho < 1 ? 1 - rho : 0;
    return p * p * (1 - kappa) + p * kappa;
}

double theory_nn_limit(int target, double rho)
{
    if (rho < 0)
        return NAN;
    switch (target) {
    case TARGET_EXPONENTIAL:
        if (rho >= 1)
            return 0.0;
        if (rho == 0)
            return 1.0;
        return 1.0 - rho * (1.0 - log(rho) + 0.5 * log(rho) * log(rho));
    case TARGET_LOWRANK:
        return rho > 0 ? 0.0 : 1.0;
    case TARGET_SIGNED:
        return rho < 1 ? 1.0 - rho : 0.0;
    case TARGET_WIGNER: {
        if (rho >= 1)
            return 0.0;
        /* semicircle on [-2, 2], lambda = 2 sin th: P(|lambda| < t) = (2 th + sin 2th)/pi,
         * int_{|lambda| < t} lambda^2 = (4 th - sin 4th)/(2 pi) (total 1) */
        double lo = 0, hi = M_PI / 2;
        for (int i = 0; i < 200; i++) {
            double th = 0.5 * (lo + hi);
            if ((2 * th + sin(2 * th)) / M_PI < 1 - rho)
                lo = th;
            else
                hi = th;
        }
        double th = 0.5 * (lo + hi);
        return (4 * th - sin(4 * th)) / (2 * M_PI);
    }
    default:
        return NAN;
    }
}

double theory_limit(int model, int target, int regime, double rho)
{
    if (model != MODEL_QUADRATIC)
        return NAN;
    double kappa;
    switch (target) {
    case TARGET_EXPONENTIAL: kappa = 0.5; break;
    case TARGET_WIGNER:
    case TARGET_LOWRANK:
    case TARGET_SIGNED: kappa = 0.0; break;
    default: return NAN;
    }
    switch (regime) {
    case REGIME_RF: return theory_rf_limit(rho, kappa);
    case REGIME_NT: return theory_nt_limit(rho, kappa);
    case REGIME_NN: return theory_nn_limit(target, rho);
    default: return NAN;
    }
}

/* Population fit through the regime solvers (lambda = 0), then its exact risk. */
static double opt_by_solve(const Target *t, int regime, const double *W, int N)
{
    int d = t->d;
    JobSpec job;
    job_defaults(&job);
    job.ridge = 0;
    FitInput in;
    memset(&in, 0, sizeof in);
    in.job = &job;
    in.target = t;
    in.d = d;
    in.N = N;
    in.n = -1;
    in.W0 = W;
    double *M = calloc((size_t)d * d, sizeof(double));
    double *a = malloc(sizeof(double) * (size_t)(N > 0 ? N : 1));
    double *Wa = malloc(sizeof(double) * (size_t)(N > 0 ? N : 1) * d);
    double c = 0, r = NAN;
    if (!M || !a || !Wa)
        goto out;
    if (regime == REGIME_RF) {
        if (rf_solve_at(&in, W, N, &c, a) != 0)
            goto out;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < d; k++)
                Wa[(size_t)i * d + k] = a[i] * W[(size_t)i * d + k];
        la_gemm('T', 'N', d, d, N, 1.0, W, d, Wa, d, 0.0, M, d);
    } else if (nt_pop_solve(&in, W, N, &c, M, NULL, NULL) != 0) {
        goto out;
    }
    r = data_pop_risk_copt(t, M, NULL, NULL);
out:
    free(M);
    free(a);
    free(Wa);
    return r;
}

double theory_rf_opt(const Target *t, const double *W, int N)
{
    if (t->model != MODEL_QUADRATIC)
        return opt_by_solve(t, REGIME_RF, W, N);
    int d = t->d;
    double f2;
    trace_fro(t, &f2);
    double *G = malloc(sizeof(double) * (size_t)N * N);
    double *T = malloc(sizeof(double) * (size_t)N * d);
    double *v = malloc(sizeof(double) * (size_t)N), *a = malloc(sizeof(double) * (size_t)N);
    double r = NAN;
    if (!G || !T || !v || !a)
        goto out;
    la_syrk('N', N, d, 1.0, W, d, 0.0, G, N);
    for (size_t k = 0; k < (size_t)N * N; k++)
        G[k] *= G[k];
    la_gemm('N', 'N', N, d, d, 1.0, W, d, t->B, d, 0.0, T, d);
    for (int i = 0; i < N; i++)
        v[i] = la_dot((size_t)d, T + (size_t)i * d, W + (size_t)i * d);
    if (la_sym_ridge_solve(N, G, v, 0.0, 1e-12, a) != 0)
        goto out;
    r = 2.0 * (f2 - la_dot((size_t)N, v, a)) + t->tau * t->tau;
out:
    free(G);
    free(T);
    free(v);
    free(a);
    return r;
}

double theory_nt_opt(const Target *t, const double *W, int N)
{
    if (t->model != MODEL_QUADRATIC)
        return opt_by_solve(t, REGIME_NT, W, N);
    int d = t->d;
    if (N >= d)
        return t->tau * t->tau;
    int k = d - N;
    double *Wt = malloc(sizeof(double) * (size_t)d * (N > 0 ? N : 1));
    double *Q = malloc(sizeof(double) * (size_t)d * d);
    double *BQ = malloc(sizeof(double) * (size_t)d * k);
    double *K = malloc(sizeof(double) * (size_t)k * k);
    double r = NAN;
    if (!Wt || !Q || !BQ || !K)
        goto out;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < d; j++)
            Wt[(size_t)j * N + i] = W[(size_t)i * d + j];
    if (la_qr_full(d, N, Wt, Q) != 0)
        goto out;
    la_gemm('N', 'N', d, k, d, 1.0, t->B, d, Q + N, d, 0.0, BQ, k);
    la_gemm('T', 'N', k, k, d, 1.0, Q + N, d, BQ, k, 0.0, K, k);
    r = 2.0 * la_dot((size_t)k * k, K, K) + t->tau * t->tau;
out:
    free(Wt);
    free(Q);
    free(BQ);
    free(K);
    return r;
}

static int by_abs_desc(const void *a, const void *b)
{
    double x = fabs(*(const double *)a), y = fabs(*(const double *)b);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Eigenvalues of B (ascending) into a malloc'd array; NULL on failure. */
static double *target_eigenvalues(const Target *t)
{
    int d = t->d;
    double *A = malloc(sizeof(double) * (size_t)d * d), *w = malloc(sizeof(double) * d);
    if (A && w) {
        memcpy(A, t->B, sizeof(double) * (size_t)d * d);
        if (la_syev_values(d, A, w) != 0) {
            free(w);
            w = NULL;
        }
    }
    free(A);
    return w;
}

double theory_nn_opt(const Target *t, int N)
{
    if (t->model == MODEL_MIXTURE)
        return data_lsq_risk(t, N);
    double *w = t->model == MODEL_QUADRATIC ? target_eigenvalues(t) : NULL;
    if (!w)
        return NAN;
    int d = t->d;
    qsort(w, (size_t)d, sizeof(double), by_abs_desc);
    double r = 0;
    for (int j = N > 0 ? N : 0; j < d; j++)
        r += w[j] * w[j];
    free(w);
    return 2.0 * r + t->tau * t->tau;
}

/* 2 (sum of the eigenvalues squared left out of the best rank-N fit of sign `sign`). */
static double cone_opt(const Target *t, int N, int sign)
{
    double *w = t->model == MODEL_QUADRATIC ? target_eigenvalues(t) : NULL;
    if (!w)
        return NAN;
    int d = t->d, keep = N > 0 ? N : 0;
    /* ascending: keep the N largest eigenvalues of sign * B that are positive */
    double r = 0;
    for (int j = 0; j < d; j++) {
        int rank = sign > 0 ? d - 1 - j : j; /* 0 for the most useful one */
        if (!(sign * w[j] > 0 && rank < keep))
            r += w[j] * w[j];
    }
    free(w);
    return 2.0 * r + t->tau * t->tau;
}

double theory_nn_psd_opt(const Target *t, int N)
{
    if (t->model == MODEL_MIXTURE) /* M* = gamma U U^T is semidefinite */
        return data_lsq_risk(t, N);
    return cone_opt(t, N, 1);
}

double theory_nn_shared_opt(const Target *t, int N)
{
    if (t->model == MODEL_MIXTURE)
        return data_lsq_risk(t, N);
    return fmin(cone_opt(t, N, 1), cone_opt(t, N, -1));
}

double theory_class_opt(const Target *t, int regime, const double *W, int N)
{
    switch (regime) {
    case REGIME_RF: return theory_rf_opt(t, W, N);
    case REGIME_NT: return theory_nt_opt(t, W, N);
    case REGIME_NN: return theory_nn_opt(t, N);
    default: return NAN;
    }
}

double theory_nt_mean(const Target *t, int N)
{
    if (t->model != MODEL_QUADRATIC)
        return NAN;
    double d = t->d, k = N >= t->d ? 0 : t->d - N;
    double f2, tr = trace_fro(t, &f2);
    double bk = k * (d - k) / (d * (d - 1) * (d + 2));
    double ak = k * (k + 2) / (d * (d + 2)) - bk;
    return 2.0 * (ak * f2 + bk * tr * tr) + t->tau * t->tau;
}
