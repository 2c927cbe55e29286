/* test_linear: RF and NT regimes against brute force.
 * - population optima vs minimising the exact risk (data_pop_risk_copt, itself checked
 *   against Monte Carlo in test_data) over an explicit basis of the class;
 * - finite-n solvers (every NT solver path) vs dgelsd on an explicit design;
 * - large n approaches the population optimum; trained risks never beat the class
 *   optimum; NT reaches 0 for N >= d; R_RF >= R_NT; mixture Bayes floor. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "harness.h"
#include "job.h"
#include "linalg.h"
#include "regime.h"
#include "risk.h"
#include "rng.h"
#include "task.h"
#include "theory.h"

static double *gauss(size_t n, uint32_t tag, double scale)
{
    double *x = malloc(sizeof(double) * n);
    rng_normal(rng_key(9, RNG_SITE_TESTING, tag, 0, 0), 0, x, n);
    for (size_t i = 0; i < n; i++)
        x[i] *= scale;
    return x;
}

/* Class generators as d x d matrices (row-major, stacked): RF w_k w_k^T; NT
 * e_j w_i^T + w_i e_j^T. Returns the count. */
static int class_generators(int regime, int d, int N, const double *W, double **E)
{
    int K = regime == REGIME_RF ? N : N * d;
    *E = calloc((size_t)K * d * d, sizeof(double));
    for (int i = 0, k = 0; i < N; i++) {
        const double *w = W + (size_t)i * d;
        if (regime == REGIME_RF) {
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++)
                    (*E)[(size_t)k * d * d + a * d + b] = w[a] * w[b];
            k++;
        } else {
            for (int j = 0; j < d; j++, k++) {
                double *e = *E + (size_t)k * d * d;
                for (int a = 0; a < d; a++) {
                    e[j * d + a] += w[a];
                    e[a * d + j] += w[a];
                }
            }
        }
    }
    return K;
}

/* NT generators in the raw parameters (SPEC §1): da_i -> w_i w_i^T, G_il -> a0_i (w_i e_l^T +
 * e_l w_i^T); N (d + 1) of them. */
static int nt_param_generators(int d, int N, const double *W, const double *a0, double **E)
{
    int K = N * (d + 1);
    *E = calloc((size_t)K * d * d, sizeof(double));
    for (int i = 0; i < N; i++) {
        const double *w = W + (size_t)i * d;
        double *e = *E + (size_t)i * d * d;
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                e[a * d + b] = w[a] * w[b];
        for (int l = 0; l < d; l++) {
            e = *E + (size_t)(N + i * d + l) * d * d;
            for (int a = 0; a < d; a++) {
                e[l * d + a] += a0[i] * w[a];
                e[a * d + l] += a0[i] * w[a];
            }
        }
    }
    return K;
}

static void combine(int K, int d, const double *E, const double *th, double *M)
{
    memset(M, 0, sizeof(double) * d * d);
    for (int k = 0; k < K; k++)
        la_axpy((size_t)d * d, th[k], E + (size_t)k * d * d, M);
}

/* Brute force: R(theta) = R(sum theta_k E_k) with optimal c is a quadratic
 * r0 + q^T theta + theta^T A theta; recover q and A from evaluations and minimise. */
static double brute_pop_opt_ridge(const Target *t, int K, const double *E, double lambda,
                                  double *Mopt);

static double brute_pop_opt(const Target *t, int K, const double *E)
{
    return brute_pop_opt_ridge(t, K, E, 0.0, NULL);
}

/* ... and of R(sum theta_k E_k) + lambda |theta|^2; Mopt (may be NULL) gets the minimiser's
 * M. Returns the minimal risk at lambda = 0, the objective otherwise. */
static double brute_pop_opt_ridge(const Target *t, int K, const double *E, double lambda,
                                  double *Mopt)
{
    int d = t->d;
    double *M = malloc(sizeof(double) * d * d), *th = calloc(K, sizeof(double));
    double *A = malloc(sizeof(double) * K * K), *q = malloc(sizeof(double) * K);
    double *Rk = malloc(sizeof(double) * K);
    combine(K, d, E, th, M);
    double r0 = data_pop_risk_copt(t, M, NULL, NULL);
    for (int k = 0; k < K; k++) {
        th[k] = 1;
        combine(K, d, E, th, M);
        double rp = data_pop_risk_copt(t, M, NULL, NULL);
        th[k] = -1;
        combine(K, d, E, th, M);
        double rm = data_pop_risk_copt(t, M, NULL, NULL);
        th[k] = 0;
        q[k] = 0.5 * (rp - rm);
        A[k * K + k] = 0.5 * (rp + rm) - r0;
        Rk[k] = rp;
    }
    for (int k = 0; k < K; k++)
        for (int l = k + 1; l < K; l++) {
            th[k] = th[l] = 1;
            combine(K, d, E, th, M);
            double r = data_pop_risk_copt(t, M, NULL, NULL);
            th[k] = th[l] = 0;
            A[k * K + l] = A[l * K + k] = 0.5 * (r - Rk[k] - Rk[l] + r0);
        }
    /* minimiser: 2 (A + lambda) theta = -q (min-norm through dgelsd); the minimum is
     * r0 + q^T theta / 2 */
    double *b = malloc(sizeof(double) * K);
    for (int k = 0; k < K; k++) {
        b[k] = -0.5 * q[k];
        A[k * K + k] += lambda;
    }
    la_gelsd(K, K, 1, A, K, b, 1, 1e-12, NULL);
    double rs = r0 + 0.5 * la_dot(K, q, b);
    if (Mopt)
        combine(K, d, E, b, Mopt);
    free(M);
    free(th);
    free(A);
    free(q);
    free(Rk);
    free(b);
    return rs;
}

static FitInput make_input(const JobSpec *job, const Target *t, int N, long n,
                           const double *W, const double *a0, const double *X, const double *y)
{
    FitInput in;
    memset(&in, 0, sizeof in);
    in.job = job;
    in.target = t;
    in.d = t->d;
    in.N = N;
    in.n = n;
    in.X = X;
    in.y = y;
    in.W0 = W;
    in.a0 = a0;
    return in;
}

static double maxdiff(size_t n, const double *a, const double *b);
static double maxabs(size_t n, const double *a);

static double fit_pop_risk(const Regime *rg, const FitInput *in, double *M, double *c)
{
    FitOutput out;
    memset(&out, 0, sizeof out);
    out.M = M;
    if (rg->fit(in, &out) != 0)
        return NAN;
    if (c)
        *c = out.c;
    return data_pop_risk(in->target, out.c, M);
}

static void test_population_brute(void)
{
    GROUP("population optima vs brute force");
    JobSpec job;
    job_defaults(&job);
    job.noise = 0.2;
    job.mixture_rank = 2;
    job.mixture_delta = 0.5;
    int d = 5;
    int Ns[] = {2, 4, 7};
    for (int model = 0; model < 2; model++) {
        Target *t = data_target_create(&job, model, d, 0);
        double *W = gauss(8 * d, 100 + model, 1 / sqrt(d));
        double *M = malloc(sizeof(double) * d * d);
        for (int ni = 0; ni < 3; ni++) {
            int N = Ns[ni];
            FitInput in = make_input(&job, t, N, -1, W, NULL, NULL, NULL);
            for (int regime = 0; regime < 2; regime++) {
                double *E;
                int K = class_generators(regime, d, N, W, &E);
                double brute = brute_pop_opt(t, K, E);
                double th = theory_class_opt(t, regime, W, N);
                double fit = fit_pop_risk(regime == REGIME_RF ? &regime_rf : &regime_nt, &in,
                                          M, NULL);
                char what[96];
                snprintf(what, sizeof what, "model %d %s N=%d theory", model,
                         regime == REGIME_RF ? "rf" : "nt", N);
                /* 1e-8 relative: both exact, only rounding differs */
                CHECK_REL(th, brute, 1e-8, what);
                snprintf(what, sizeof what, "model %d %s N=%d fitted", model,
                         regime == REGIME_RF ? "rf" : "nt", N);
                CHECK_REL(fit, brute, 1e-8, what);
                free(E);
            }
        }
        /* ridge on the raw parameters (da, G): the minimiser of R + lambda |(da, G)|^2 */
        double *a0 = gauss(8, 110 + model, 1.0), *Mb = malloc(sizeof(double) * d * d);
        JobSpec jr = job;
        jr.ridge = 0.05;
        for (int ni = 0; ni < 3; ni++) {
            int N = Ns[ni];
            FitInput in = make_input(&jr, t, N, -1, W, a0, NULL, NULL);
            double *E;
            int K = nt_param_generators(d, N, W, a0, &E);
            brute_pop_opt_ridge(t, K, E, jr.ridge, Mb);
            double fit = fit_pop_risk(&regime_nt, &in, M, NULL);
            double sc = maxabs(d * d, Mb);
            CHECK(isfinite(fit) && maxdiff(d * d, M, Mb) <= 1e-8 * sc,
                  "model %d nt N=%d ridge %g: |dM| %.2g of %.2g", model, N, jr.ridge,
                  maxdiff(d * d, M, Mb), sc);
            free(E);
        }
        free(a0);
        free(Mb);
        free(W);
        free(M);
        data_target_free(t);
    }
}

/* Orthonormal (Frobenius) basis of the NT class from its generators, via SVD. */
static int nt_orthonormal_basis(int d, int N, const double *W, double **Eo)
{
    double *E;
    int K = class_generators(REGIME_NT, d, N, W, &E);
    int dd = d * d;
    double *A = malloc(sizeof(double) * dd * K), *w = malloc(sizeof(double) * dd);
    /* Gram of the generators G = E E^T (K x K); eigenvectors with eigenvalues > 1e-10
     * give the basis E^T v / sqrt(lambda) */
    double *G = malloc(sizeof(double) * K * K);
    la_syrk('N', K, dd, 1.0, E, dd, 0.0, G, K);
    double *ev = malloc(sizeof(double) * K);
    la_syev(K, G, ev);
    int r = 0;
    *Eo = calloc((size_t)K * dd, sizeof(double));
    for (int k = K - 1; k >= 0; k--) {
        if (ev[k] <= 1e-10 * ev[K - 1])
            continue;
        double *o = *Eo + (size_t)r * dd;
        for (int l = 0; l < K; l++)
            la_axpy(dd, G[l * K + k] / sqrt(ev[k]), E + (size_t)l * dd, o);
        r++;
    }
    free(E);
    free(A);
    free(w);
    free(G);
    free(ev);
    return r;
}

/* Brute-force finite-n fit: dgelsd on [s 1, Phi] (s = 1e6 makes c nearly free of the
 * norm: relative effect ~1e-12) with rows / sqrt(n) and sqrt(lambda) I appended. */
static void brute_fit(int K, int d, const double *E, long n, const double *X, const double *y,
                      double lambda, double *c, double *M)
{
    const double s = 1e6;
    int rows = (int)n + (lambda > 0 ? K : 0), cols = K + 1;
    int ldb = rows > cols ? rows : cols;
    double *A = calloc((size_t)rows * cols, sizeof(double)), *b = calloc(ldb, sizeof(double));
    double *f = malloc(sizeof(double) * n);
    double sn = 1 / sqrt((double)n);
    for (int k = 0; k < K; k++) {
        risk_predict(d, 0.0, E + (size_t)k * d * d, n, X, f);
        for (long j = 0; j < n; j++)
            A[j * cols + 1 + k] = f[j] * sn;
    }
    for (long j = 0; j < n; j++) {
        A[j * cols] = s * sn;
        b[j] = y[j] * sn;
    }
    for (int k = 0; k < rows - n; k++)
        A[(n + k) * cols + 1 + k] = sqrt(lambda);
    la_gelsd(rows, cols, 1, A, cols, b, 1, 1e-14, NULL);
    *c = s * b[0];
    combine(K, d, E, b + 1, M);
    free(A);
    free(b);
    free(f);
}

static double maxdiff(size_t n, const double *a, const double *b)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

static double maxabs(size_t n, const double *a)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

/* NT brute force in the raw parameters (SPEC §1): the n x N(d+1) feature matrix of
 * (da_i: <w_i, x>^2; G_il: 2 a0_i <w_i, x> x_l), the offset handled exactly (columns and y
 * centred, c = mean(y - Phi theta)), dgelsd on [Phi_c / sqrt(n); sqrt(lambda) I]: the
 * minimiser of (1/n)|Phi theta + c - y|^2 + lambda |theta|^2, at lambda = 0 the one of
 * minimum |theta| = |(da, G)|. M = W^T diag(da) W + W^T diag(a0) G + G^T diag(a0) W. */
static void nt_param_brute(int d, int N, const double *W, const double *a0, long n,
                           const double *X, const double *y, double lambda, double *c,
                           double *M)
{
    int P = N * (d + 1), rows = (int)n + (lambda > 0 ? P : 0);
    int ldb = rows > P ? rows : P;
    double *A = calloc((size_t)rows * P, sizeof(double)), *b = calloc(ldb, sizeof(double));
    double *mean = calloc(P, sizeof(double)), ybar = 0;
    for (long j = 0; j < n; j++) {
        const double *x = X + j * d;
        for (int i = 0; i < N; i++) {
            double z = la_dot(d, W + i * d, x);
            A[j * P + i] = z * z;
            for (int l = 0; l < d; l++)
                A[j * P + N + i * d + l] = 2 * a0[i] * z * x[l];
        }
        for (int q = 0; q < P; q++)
            mean[q] += A[j * P + q] / n;
        ybar += y[j] / n;
    }
    double sn = 1 / sqrt((double)n);
    for (long j = 0; j < n; j++) {
        for (int q = 0; q < P; q++)
            A[j * P + q] = (A[j * P + q] - mean[q]) * sn;
        b[j] = (y[j] - ybar) * sn;
    }
    for (int q = 0; q < rows - n; q++)
        A[(n + q) * P + q] = sqrt(lambda);
    la_gelsd(rows, P, 1, A, P, b, 1, 1e-14, NULL);
    *c = ybar - la_dot(P, mean, b);
    /* M from (da, G) = b */
    memset(M, 0, sizeof(double) * d * d);
    for (int i = 0; i < N; i++) {
        const double *w = W + i * d, *g = b + N + i * d;
        for (int k = 0; k < d; k++)
            for (int l = 0; l < d; l++)
                M[k * d + l] += b[i] * w[k] * w[l] + a0[i] * (w[k] * g[l] + g[k] * w[l]);
    }
    free(A);
    free(b);
    free(mean);
}

static void test_finite_brute(void)
{
    GROUP("finite-n solvers vs dgelsd on the explicit design");
    JobSpec job;
    job_defaults(&job);
    job.noise = 0.5;
    int d = 5;
    Target *t = data_target_create(&job, MODEL_QUADRATIC, d, 0);
    double *W = gauss(7 * d, 200, 1 / sqrt(d)), *a0 = gauss(7, 201, 1.0);
    long ns[] = {8, 60};          /* under- and over-determined for NT (p = 12 at N=3) */
    double lambdas[] = {0.0, 0.3};
    int Ns[] = {3, 6};            /* N < d and N >= d (all symmetric M, p = 15) */
    const char *solvers[] = {"explicit", "normal", "kernel", "cg"};
    double *M = malloc(sizeof(double) * d * d), *Mb = malloc(sizeof(double) * d * d);
    for (int ni = 0; ni < 2; ni++) {
        long n = ns[ni];
        double *X = malloc(sizeof(double) * n * d), *y = malloc(sizeof(double) * n);
        data_sample(t, rng_key(1, RNG_SITE_TESTING, 300, (uint32_t)n, 0), 0, n, X, y);
        for (int li = 0; li < 2; li++) {
            job.ridge = lambdas[li];
            for (int Ni = 0; Ni < 2; Ni++) {
                int N = Ns[Ni];
                FitInput in = make_input(&job, t, N, n, W, a0, X, y);
                /* RF: brute force over generators w_k w_k^T (parameters a) */
                double *E, c, cb;
                int K = class_generators(REGIME_RF, d, N, W, &E);
                brute_fit(K, d, E, n, X, y, job.ridge, &cb, Mb);
                fit_pop_risk(&regime_rf, &in, M, &c);
                double sc = maxabs(d * d, Mb) + 1;
                /* 1e-8 relative to the largest entry (exact solvers) */
                CHECK(maxdiff(d * d, M, Mb) <= 1e-8 * sc && fabs(c - cb) <= 1e-8 * (fabs(cb) + 1),
                      "rf n=%ld lambda=%g N=%d: |dM| %g, c %g vs %g", n, job.ridge, N,
                      maxdiff(d * d, M, Mb), c, cb);
                free(E);
                K = nt_orthonormal_basis(d, N, W, &E);
                CHECK(K == (N >= d ? d * (d + 1) / 2 : N * d - N * (N - 1) / 2),
                      "NT class dimension %d", K);
                free(E);
                /* NT: brute force in the raw parameters (da, G) */
                nt_param_brute(d, N, W, a0, n, X, y, job.ridge, &cb, Mb);
                sc = maxabs(d * d, Mb) + 1;
                for (int s = 0; s < 4; s++) {
                    nt_force_solver(solvers[s]);
                    fit_pop_risk(&regime_nt, &in, M, &c);
                    /* exact solvers 1e-8; CG stops at a 1e-10 normal-equation residual:
                     * 1e-6 */
                    double tol = s == 3 ? 1e-6 : 1e-8;
                    CHECK(maxdiff(d * d, M, Mb) <= tol * sc && fabs(c - cb) <= tol * (fabs(cb) + 1),
                          "nt[%s] n=%ld lambda=%g N=%d: |dM| %g, c %g vs %g (used %s)",
                          solvers[s], n, job.ridge, N, maxdiff(d * d, M, Mb), c, cb,
                          nt_solver_name());
                    CHECK(strcmp(nt_solver_name(), solvers[s]) == 0, "solver %s used %s",
                          solvers[s], nt_solver_name());
                }
                nt_force_solver(NULL);
                /* the parameter norm is not |M|_F: where the data do not pin M (n < p)
                 * the two minimum-norm interpolants differ */
                if (n < K && job.ridge == 0) {
                    double *Mf = malloc(sizeof(double) * d * d), cf;
                    K = nt_orthonormal_basis(d, N, W, &E);
                    brute_fit(K, d, E, n, X, y, 0.0, &cf, Mf);
                    CHECK(maxdiff(d * d, Mf, Mb) >= 1e-3 * sc,
                          "n=%ld N=%d: min |(da, G)| and min |M|_F interpolants differ by %g", n, N,
                          maxdiff(d * d, Mf, Mb));
                    free(E);
                    free(Mf);
                }
            }
        }
        free(X);
        free(y);
    }
    job.ridge = 0;
    free(M);
    free(Mb);
    free(W);
    free(a0);
    data_target_free(t);
}

/* The solver rule: n >= 2p chooses CG (bench/nt_solvers measured it faster), and its answer
 * is the direct one to 1e-10 relative; with the parameter metric (a ridge, or n <= p) the
 * preconditioned CGs match the whitened direct solve and the kernel form likewise. */
static void test_solver_rule(void)
{
    GROUP("NT solver rule: CG at n >= 2p, = the direct solves to 1e-10");
    JobSpec job;
    job_defaults(&job);
    job.noise = 0.3;
    struct { int d, N; long n; double lambda; const char *direct, *want; } cs[] = {
        {12, 6, 120, 0.0, "explicit", "cg"},  /* p = 57 */
        {20, 20, 420, 0.0, "normal", "cg"},   /* p = 210 */
        {20, 20, 300, 0.0, "cg", "explicit"}, /* p < n < 2p: direct */
        {12, 6, 120, 0.01, "explicit", "cg"}, /* a ridge: CG preconditioned by 2S + lambda */
        {12, 6, 100, 0.01, "cg", "explicit"}, /* p < n < 2p: whitened direct */
        {20, 20, 150, 0.0, "cg", "kernel"},   /* n <= p: kernel (CG preconditioned by S) */
    };
    for (int k = 0; k < 6; k++) {
        int d = cs[k].d, N = cs[k].N;
        long n = cs[k].n;
        job.ridge = cs[k].lambda;
        Target *t = data_target_create(&job, MODEL_QUADRATIC, d, 2);
        double *W = gauss((size_t)N * d, 500 + k, 1 / sqrt(d)), *a0 = gauss(N, 520 + k, 1.0);
        double *X = malloc(sizeof(double) * n * d), *y = malloc(sizeof(double) * n);
        double *M1 = malloc(sizeof(double) * d * d), *M2 = malloc(sizeof(double) * d * d);
        data_sample(t, rng_key(1, RNG_SITE_TESTING, 510, (uint32_t)k, 0), 0, n, X, y);
        FitInput in = make_input(&job, t, N, n, W, a0, X, y);
        double c1, c2;
        nt_force_solver(NULL);
        fit_pop_risk(&regime_nt, &in, M1, &c1);
        CHECK(strcmp(nt_solver_name(), cs[k].want) == 0, "d=%d N=%d n=%ld lambda=%g: auto chose %s",
              d, N, n, job.ridge, nt_solver_name());
        nt_force_solver(cs[k].direct);
        fit_pop_risk(&regime_nt, &in, M2, &c2);
        nt_force_solver(NULL);
        double num = 0, den = 0;
        for (int i = 0; i < d * d; i++) {
            num += (M1[i] - M2[i]) * (M1[i] - M2[i]);
            den += M2[i] * M2[i];
        }
        CHECK(sqrt(num / den) <= 1e-10 && fabs(c1 - c2) <= 1e-10 * (fabs(c2) + 1),
              "d=%d N=%d n=%ld lambda=%g: %s vs %s |dM|/|M| = %.2g, dc = %.2g", d, N, n, job.ridge,
              cs[k].want, cs[k].direct, sqrt(num / den), fabs(c1 - c2));
        free(W);
        free(a0);
        free(X);
        free(y);
        free(M1);
        free(M2);
        data_target_free(t);
    }
}

static void test_large_n(void)
{
    GROUP("large n vs population; class optimum is a floor; NT exact for N >= d");
    JobSpec job;
    job_defaults(&job);
    job.mixture_rank = 2;
    job.mixture_delta = 0.6;
    int d = 10;
    for (int model = 0; model < 2; model++) {
        Target *t = data_target_create(&job, model, d, 1);
        double *W = gauss(12 * d, 400 + model, 1 / sqrt(d)), *a0 = gauss(12, 402 + model, 1.0);
        long n = 20000;
        double *X = malloc(sizeof(double) * n * d), *y = malloc(sizeof(double) * n);
        data_sample(t, rng_key(1, RNG_SITE_TESTING, 401, model, 0), 0, n, X, y);
        double r0 = data_r0(t), *M = malloc(sizeof(double) * d * d);
        int Ns[] = {3, 10, 12};
        for (int ni = 0; ni < 3; ni++) {
            int N = Ns[ni];
            double opt[2], fin[2];
            for (int regime = 0; regime < 2; regime++) {
                const Regime *rg = regime == REGIME_RF ? &regime_rf : &regime_nt;
                opt[regime] = theory_class_opt(t, regime, W, N);
                FitInput in = make_input(&job, t, N, n, W, a0, X, y);
                fin[regime] = fit_pop_risk(rg, &in, M, NULL);
                /* excess risk of least squares ~ p/n * noise level: p <= 55, n = 2e4:
                 * below 0.02 R0 */
                CHECK(fin[regime] - opt[regime] <= 0.02 * r0,
                      "model %d regime %d N=%d: finite %g vs optimum %g", model, regime, N,
                      fin[regime], opt[regime]);
                CHECK(fin[regime] >= opt[regime] - 1e-9 * r0,
                      "model %d regime %d N=%d: trained %g below class optimum %g", model,
                      regime, N, fin[regime], opt[regime]);
                in.n = -1;
                double pop = fit_pop_risk(rg, &in, M, NULL);
                CHECK(pop >= opt[regime] - 1e-9 * r0 && pop <= opt[regime] + 1e-9 * r0,
                      "population fit = optimum");
            }
            CHECK(opt[0] >= opt[1] - 1e-12 * r0, "R_RF %g >= R_NT %g", opt[0], opt[1]);
            if (model == MODEL_QUADRATIC && N >= d) {
                /* target in the class and noiseless: exact to rounding */
                CHECK(opt[1] <= 1e-12 * r0, "NT optimum 0 at N >= d (%g)", opt[1]);
                CHECK(fin[1] <= 1e-10 * r0, "NT with n >> p fits exactly at N >= d (%g)",
                      fin[1]);
            }
        }
        free(M);
        free(X);
        free(y);
        free(W);
        free(a0);
        data_target_free(t);
    }
}

static void test_mixture_bayes(void)
{
    GROUP("mixture: Bayes floor");
    JobSpec job;
    job_defaults(&job);
    job.models[0] = MODEL_MIXTURE;
    job.mixture_rank = 3;
    job.mixture_delta = 0.7;
    job.test_samples = 20000;
    int regimes[] = {REGIME_RF, REGIME_NT};
    for (int r = 0; r < 2; r++) {
        long ns[] = {2000, -1};
        for (int k = 0; k < 2; k++) {
            Task tk = {0, MODEL_MIXTURE, 12, 6, ns[k], regimes[r], 0, NAN, NAN};
            TaskResult res;
            int rc = task_run(&job, &tk, NULL, &res, NULL);
            CHECK(rc == 0, "task ran (cause %s)", task_cause_name(res.cause));
            double se = sqrt(0.25 / job.test_samples);
            /* the Bayes error is a floor for every classifier: 3 binomial SE of slack */
            CHECK(res.bayes_error <= res.error_test + 3 * se,
                  "regime %d n=%ld: Bayes %.4f vs test error %.4f", regimes[r], ns[k],
                  res.bayes_error, res.error_test);
            CHECK(res.risk_pop >= res.theory - 1e-9, "pop risk >= class optimum");
            CHECK(res.theory <= 1.0 + 1e-12, "class optimum <= trivial risk 1");
        }
    }
    task_cache_clear();
}

int main(void)
{
    la_init(1);
    test_population_brute();
    test_finite_brute();
    test_solver_rule();
    test_large_n();
    test_mixture_bayes();
    return th_finish("test_linear");
}
