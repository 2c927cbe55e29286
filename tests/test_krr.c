/* test_krr: the kernel limits krr_rf and krr_nt (SPEC §8), tolerances from SPEC §8.
 * - kernel entries against finite features at N = 1e5 (within 3 standard errors), both
 *   inits, a0 normal / positive / shared;
 * - the predictor identity sum_mu beta_mu K(x, x_mu) = x^T M x (1e-10 relative), and the
 *   regime's (c, M) against an independent dense solve of the bordered system;
 * - n >= P + 1 noiseless: risk_pop <= 1e-10 R0; SPEC's single-draw numbers at n = 205;
 * - every solver (kernel, explicit, normal, cg) gives the same fit; a CG forced to stop
 *   short falls back to the direct solve or fails with cause solver; the stop flag;
 * - n = inf: R = tau^2 (quadratic), R* with a stationary M* (mixture);
 * - ridgeless finite-N RF and NT (the engine's rf and nt regimes, same data; nt in the
 *   parameter norm |(da, G)|, checked against an independent solve with the empirical NT
 *   kernel) approach KRR with RMS deviation <= 3/sqrt(N) for N >= 16 n. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "harness.h"
#include "job.h"
#include "linalg.h"
#include "regime.h"
#include "rng.h"
#include "task.h"

static JobSpec base_job(void)
{
    JobSpec job;
    job_defaults(&job);
    job.test_samples = 0;
    return job;
}

static double *gauss(size_t n, uint32_t tag)
{
    double *x = malloc(sizeof(double) * n);
    rng_normal(rng_key(7, RNG_SITE_TESTING, tag, 0, 0), 0, x, n);
    return x;
}

static int run(const JobSpec *job, int model, int d, int N, long n, int regime, int rep,
               TaskResult *r, double *M, double *c)
{
    Task t = {0, model, d, N, n, regime, rep, NAN, NAN};
    TaskExtras ex = {.M = M, .c = c};
    return task_run(job, &t, NULL, r, M || c ? &ex : NULL);
}

static double rel_diff(size_t n, const double *a, const double *b)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static double quad(int d, const double *M, const double *x)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            s += x[i] * M[(size_t)i * d + j] * x[j];
    return s;
}

/* [K + lambda I, 1; 1^T, 0] [beta; c] = [y; 0] by the pseudo-inverse of the bordered
 * (n+1) x (n+1) matrix (independent of regime_krr's solvers). K n x n is not modified. */
static int bordered_solve(long n, const double *K, const double *y, double lambda,
                          double *beta, double *c)
{
    size_t m = (size_t)n + 1;
    double *A = calloc(m * m, sizeof(double)), *b = calloc(m, sizeof(double));
    double *x = malloc(sizeof(double) * m);
    for (long i = 0; i < n; i++) {
        for (long j = 0; j < n; j++)
            A[i * m + j] = K[(size_t)i * n + j];
        A[i * m + i] += lambda;
        A[i * m + n] = A[(size_t)n * m + i] = 1.0;
        b[i] = y[i];
    }
    int rc = la_sym_pinv_solve((int)m, A, b, x, 1e-15);
    memcpy(beta, x, sizeof(double) * (size_t)n);
    *c = x[n];
    free(A);
    free(b);
    free(x);
    return rc;
}

/* ---- kernel entries against finite features ---- */
static void kernel_entries(void)
{
    GROUP("kernel entries vs N = 1e5 finite features (3 s.e.)");
    const int d = 10, N = 100000, pairs = 3;
    double *W0 = malloc(sizeof(double) * (size_t)N * d), *a0 = malloc(sizeof(double) * N);
    double *zx = malloc(sizeof(double) * N), *zp = malloc(sizeof(double) * N);
    double *xs = gauss((size_t)2 * pairs * d, 1);
    const int inits[2] = {INIT_GAUSSIAN, INIT_SPHERE};
    const int ainit[3] = {NN_A_NORMAL, NN_A_POSITIVE, NN_A_SHARED};
    for (int ii = 0; ii < 2; ii++)
        for (int aa = 0; aa < 3; aa++) {
            JobSpec job = base_job();
            job.init = inits[ii];
            job.nn_a_init = ainit[aa];
            task_initial_weights(&job, d, N, 0, W0, a0);
            for (int p = 0; p < pairs; p++) {
                const double *x = xs + (size_t)2 * p * d, *xp = x + d;
                la_gemv('N', N, d, 1.0, W0, d, x, 0.0, zx);
                la_gemv('N', N, d, 1.0, W0, d, xp, 0.0, zp);
                double g = la_dot((size_t)d, x, xp);
                for (int reg = 0; reg < 2; reg++) {
                    int regime = reg ? REGIME_KRR_NT : REGIME_KRR_RF;
                    if (reg == 0 && aa > 0)
                        continue; /* RF does not depend on a0 */
                    double s1 = 0, s2 = 0;
                    for (int i = 0; i < N; i++) {
                        double v = zx[i] * zx[i] * zp[i] * zp[i];
                        if (reg)
                            v += 4.0 * a0[i] * a0[i] * zx[i] * zp[i] * g;
                        s1 += v;
                        s2 += v * v;
                    }
                    double mean = s1 / N, se = sqrt((s2 / N - mean * mean) / (N - 1));
                    double k = krr_kernel(&job, regime, d, x, xp);
                    CHECK(fabs(mean - k) <= 3 * se,
                          "%s init %s a0 %s pair %d: K = %.6g, features %.6g +- %.2g (%.2f s.e.)",
                          job_regime_name(regime), ii ? "sphere" : "gaussian",
                          job_a_init_name(ainit[aa]), p, k, mean, se, fabs(mean - k) / se);
                }
            }
        }
    /* shared a0: E[a0^2] = 0 in the limit, so K_NT = K_RF */
    JobSpec job = base_job();
    job.nn_a_init = NN_A_SHARED;
    CHECK(krr_kernel(&job, REGIME_KRR_NT, d, xs, xs + d) == krr_kernel(&job, REGIME_KRR_RF, d, xs, xs + d),
          "shared a0: K_NT = K_RF");
    free(W0);
    free(a0);
    free(zx);
    free(zp);
    free(xs);
}

/* ---- the predictor identity and the bordered system ---- */
static void predictor_identity(void)
{
    GROUP("predictor identity (1e-10) and the bordered system");
    const int d = 12;
    const long n = 50;
    double *X = gauss((size_t)n * d, 2), *beta = gauss((size_t)n, 3), *xt = gauss(20 * d, 4);
    double *M = malloc(sizeof(double) * d * d);
    for (int ii = 0; ii < 2; ii++)
        for (int reg = 0; reg < 2; reg++) {
            JobSpec job = base_job();
            job.init = ii ? INIT_SPHERE : INIT_GAUSSIAN;
            int regime = reg ? REGIME_KRR_NT : REGIME_KRR_RF;
            CHECK(krr_predictor(&job, regime, d, n, X, beta, M) == 0, "predictor");
            double worst = 0, scale = 0;
            for (int t = 0; t < 20; t++) {
                const double *x = xt + (size_t)t * d;
                double fk = 0;
                for (long m = 0; m < n; m++)
                    fk += beta[m] * krr_kernel(&job, regime, d, x, X + (size_t)m * d);
                worst = fmax(worst, fabs(fk - quad(d, M, x)));
                scale = fmax(scale, fabs(fk));
            }
            CHECK(worst <= 1e-10 * scale, "%s %s: |sum beta K - x^T M x| = %.3g of %.3g",
                  job_regime_name(regime), ii ? "sphere" : "gaussian", worst, scale);
        }
    /* the regime's fit against an independent dense solve of the bordered system, through
     * the regime interface on the same data (ridge 0: n < P, interpolation; ridge 0.5) */
    const double lambdas[2] = {0.0, 0.5};
    for (int model = 0; model < 2; model++)
        for (int li = 0; li < 2; li++)
            for (int reg = 0; reg < 2; reg++) {
                JobSpec job = base_job();
                job.ridge = lambdas[li];
                job.noise = 0.2;
                int regime = reg ? REGIME_KRR_NT : REGIME_KRR_RF;
                Target *tg = data_target_create(&job, model, d, 0);
                double *y = malloc(sizeof(double) * n), *K = malloc(sizeof(double) * n * n);
                double *b = malloc(sizeof(double) * n), *Mr = malloc(sizeof(double) * d * d);
                data_sample(tg, rng_key(7, RNG_SITE_TESTING, 5, 0, 0), 0, n, X, y);
                FitInput in;
                memset(&in, 0, sizeof in);
                in.job = &job;
                in.target = tg;
                in.d = d;
                in.n = n;
                in.X = X;
                in.y = y;
                FitOutput out;
                memset(&out, 0, sizeof out);
                out.M = M;
                const Regime *rg = regime_find(job_regime_name(regime));
                int rc = rg->fit(&in, &out);
                for (long i = 0; i < n; i++)
                    for (long j = 0; j < n; j++)
                        K[i * n + j] = krr_kernel(&job, regime, d, X + i * d, X + j * d);
                double cr;
                bordered_solve(n, K, y, job.ridge, b, &cr);
                krr_predictor(&job, regime, d, n, X, b, Mr);
                double dm = rel_diff((size_t)d * d, M, Mr);
                CHECK(rc == 0 && out.stop == STOP_EXACT && dm <= 1e-8 &&
                          fabs(out.c - cr) <= 1e-8 * (fabs(cr) + 1),
                      "%s %s lambda %g: |dM|/|M| = %.2g, c %.10g vs %.10g (solver %s)",
                      model ? "mixture" : "quadratic", job_regime_name(regime),
                      job.ridge, dm, out.c, cr, krr_solver_name());
                if (job.ridge == 0) { /* n < P: interpolation */
                    double worst = 0;
                    for (long i = 0; i < n; i++)
                        worst = fmax(worst, fabs(out.c + quad(d, M, X + i * d) - y[i]));
                    CHECK(worst <= 1e-9, "lambda 0, n < P: interpolates (max |f - y| = %.2g)", worst);
                }
                data_target_free(tg);
                free(y);
                free(K);
                free(b);
                free(Mr);
            }
    free(X);
    free(beta);
    free(xt);
    free(M);
}

/* ---- exact at n >= P + 1, SPEC's single-draw numbers ---- */
static void interpolation_threshold(void)
{
    GROUP("n >= P + 1 noiseless -> 0; SPEC numbers at d = 20");
    const int d = 20; /* P = 210 */
    const long ns[3] = {211, 212, 400};
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 3; k++)
            for (int reg = 0; reg < 2; reg++) {
                JobSpec job = base_job();
                job.krr_solver = s ? KRR_SOLVER_CG : KRR_SOLVER_AUTO;
                int regime = reg ? REGIME_KRR_NT : REGIME_KRR_RF;
                TaskResult r;
                int rc = run(&job, MODEL_QUADRATIC, d, 0, ns[k], regime, 0, &r, NULL, NULL);
                CHECK(rc == 0 && r.risk_pop <= 1e-10 * r.r0 && task_stop_is_converged(r.stop),
                      "%s n = %ld solver %s: R/R0 = %.3g, stop %s", job_regime_name(regime), ns[k],
                      s ? "cg" : "auto", r.risk_pop / r.r0, task_stop_name(r.stop));
            }
    /* SPEC §8 measured one draw: 0.022 (RF), 0.020 (NT) at n = 205. Ours (seed 1,
     * replicates 0..7): the SPEC value must be a plausible single draw, within 3 standard
     * deviations of our draws' mean; and n = 205 is far below n = 120's risk */
    const double spec[2] = {0.022, 0.020};
    for (int reg = 0; reg < 2; reg++) {
        JobSpec job = base_job();
        int regime = reg ? REGIME_KRR_NT : REGIME_KRR_RF;
        double s1 = 0, s2 = 0, lo = 1, hi = 0;
        for (int rep = 0; rep < 8; rep++) {
            TaskResult r;
            run(&job, MODEL_QUADRATIC, d, 0, 205, regime, rep, &r, NULL, NULL);
            double v = r.risk_pop / r.r0;
            s1 += v;
            s2 += v * v;
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
        double mean = s1 / 8, sd = sqrt((s2 - 8 * mean * mean) / 7);
        printf("  %s n = 205, d = 20, seed 1, 8 draws: R/R0 mean %.4f sd %.4f [%.4f, %.4f] "
               "(SPEC one draw %.3f)\n",
               job_regime_name(regime), mean, sd, lo, hi, spec[reg]);
        CHECK(fabs(mean - spec[reg]) <= 3 * sd && hi < 0.1,
              "%s n = 205: mean %.4f sd %.4f vs SPEC %.3f", job_regime_name(regime), mean, sd,
              spec[reg]);
    }
}

/* ---- solvers agree; short CG; stop flag ---- */
static void solvers(void)
{
    GROUP("every solver gives the same fit; a short CG falls back or fails");
    const int d = 16; /* P = 136 */
    double M1[256], M2[256];
    struct {
        int model;
        long n;
        double ridge, noise;
    } cases[] = {{MODEL_QUADRATIC, 60, 0, 0},   {MODEL_QUADRATIC, 120, 0, 0.3},
                 {MODEL_QUADRATIC, 120, 0.3, 0}, {MODEL_QUADRATIC, 300, 0, 0.5},
                 {MODEL_QUADRATIC, 300, 2.0, 0.5}, {MODEL_MIXTURE, 100, 0, 0},
                 {MODEL_MIXTURE, 400, 0, 0},     {MODEL_MIXTURE, 400, 1.0, 0}};
    const char *names[4] = {"kernel", "explicit", "normal", "cg"};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int reg = 0; reg < 2; reg++) {
            JobSpec job = base_job();
            job.ridge = cases[k].ridge;
            job.noise = cases[k].noise;
            int regime = reg ? REGIME_KRR_NT : REGIME_KRR_RF;
            TaskResult r1, r2;
            double c1, c2;
            int rc = run(&job, cases[k].model, d, 0, cases[k].n, regime, 1, &r1, M1, &c1);
            const char *autoname = krr_solver_name();
            int want_kernel = cases[k].n <= d * (d + 1) / 2;
            CHECK(rc == 0 && r1.stop == STOP_EXACT &&
                      strcmp(autoname, want_kernel ? "kernel" : "explicit") == 0 &&
                      r1.residual <= 1e-6 && r1.risk_pop >= r1.theory - 1e-12 * r1.r0,
                  "auto n = %ld: solver %s, stop %s, residual %.2g, R %.6g >= optimum %.6g",
                  cases[k].n, autoname, task_stop_name(r1.stop), r1.residual, r1.risk_pop, r1.theory);
            for (int s = 0; s < 4; s++) {
                if (s == 0 && !want_kernel && job.ridge == 0)
                    continue; /* K is singular: the kernel solve hands over (checked below) */
                krr_force_solver(names[s]);
                rc = run(&job, cases[k].model, d, 0, cases[k].n, regime, 1, &r2, M2, &c2);
                double dm = rel_diff(256, M2, M1);
                double tol = s == 3 ? 1e-6 : 1e-8;
                CHECK(rc == 0 && dm <= tol && fabs(c2 - c1) <= tol * (fabs(c1) + 1) &&
                          strcmp(krr_solver_name(), names[s]) == 0 &&
                          r2.stop == (s == 3 ? STOP_CONVERGED : STOP_EXACT),
                      "%s %s n = %ld ridge %g noise %g: [%s] used %s, |dM|/|M| = %.2g, dc %.2g, "
                      "stop %s, %ld iterations",
                      cases[k].model ? "mixture" : "quadratic", job_regime_name(regime), cases[k].n,
                      job.ridge, job.noise, names[s], krr_solver_name(), dm, c2 - c1,
                      task_stop_name(r2.stop), r2.iterations);
            }
            krr_force_solver(NULL);
        }
    /* ridge 0 and n > P: K is singular; a forced kernel solve hands over to the feature
     * space and stays exact */
    JobSpec job = base_job();
    job.noise = 0.5;
    TaskResult r1, r2;
    double c1, c2;
    run(&job, MODEL_QUADRATIC, d, 0, 300, REGIME_KRR_RF, 1, &r1, M1, &c1);
    krr_force_solver("kernel");
    int rc = run(&job, MODEL_QUADRATIC, d, 0, 300, REGIME_KRR_RF, 1, &r2, M2, &c2);
    krr_force_solver(NULL);
    CHECK(rc == 0 && rel_diff(256, M2, M1) <= 1e-8 && r2.stop == STOP_EXACT,
          "singular K: kernel -> %s, |dM|/|M| = %.2g", krr_solver_name(), rel_diff(256, M2, M1));

    /* a CG forced to stop short: direct fallback (exact), or, with no room for it, cause
     * solver; the cg key itself */
    for (int k = 0; k < 2; k++) {
        long n = k ? 300 : 100;
        job = base_job();
        job.noise = 0.3;
        run(&job, MODEL_QUADRATIC, d, 0, n, REGIME_KRR_NT, 0, &r1, M1, &c1);
        job.krr_solver = KRR_SOLVER_CG;
        krr_test_limits(5, -1);
        rc = run(&job, MODEL_QUADRATIC, d, 0, n, REGIME_KRR_NT, 0, &r2, M2, &c2);
        CHECK(rc == 0 && r2.stop == STOP_EXACT && r2.iterations == 5 &&
                  rel_diff(256, M2, M1) <= 1e-8 && strcmp(krr_solver_name(), "cg") != 0,
              "n = %ld: 5 CG iterations -> %s, stop %s, |dM|/|M| = %.2g", n, krr_solver_name(),
              task_stop_name(r2.stop), rel_diff(256, M2, M1));
        krr_test_limits(5, 0);
        rc = run(&job, MODEL_QUADRATIC, d, 0, n, REGIME_KRR_NT, 0, &r2, NULL, NULL);
        CHECK(rc != 0 && r2.cause == CAUSE_SOLVER && r2.stop == STOP_FAILED,
              "n = %ld: short CG, no fallback: cause %s, stop %s", n, task_cause_name(r2.cause),
              task_stop_name(r2.stop));
        krr_test_limits(0, -1);
        rc = run(&job, MODEL_QUADRATIC, d, 0, n, REGIME_KRR_NT, 0, &r2, M2, &c2);
        CHECK(rc == 0 && r2.stop == STOP_CONVERGED && r2.residual <= 1e-8 && r2.iterations > 5 &&
                  rel_diff(256, M2, M1) <= 1e-6,
              "krr_solver = cg: stop %s after %ld iterations, residual %.2g", task_stop_name(r2.stop),
              r2.iterations, r2.residual);
        /* krr_max_direct below n under auto: CG */
        job.krr_solver = KRR_SOLVER_AUTO;
        job.krr_max_direct = n - 1;
        rc = run(&job, MODEL_QUADRATIC, d, 0, n, REGIME_KRR_NT, 0, &r2, NULL, NULL);
        CHECK(rc == 0 && strcmp(krr_solver_name(), "cg") == 0 && r2.stop == STOP_CONVERGED,
              "auto, n > krr_max_direct: %s", krr_solver_name());
    }
    /* the stop flag */
    volatile sig_atomic_t flag = 1;
    job = base_job();
    job.krr_solver = KRR_SOLVER_CG;
    Task t = {0, MODEL_QUADRATIC, d, 0, 300, REGIME_KRR_RF, 0, NAN, NAN};
    rc = task_run(&job, &t, &flag, &r2, NULL);
    CHECK(rc != 0 && r2.cause == CAUSE_STOPPED && r2.stop == STOP_SIGNAL,
          "stop flag: cause %s, stop %s", task_cause_name(r2.cause), task_stop_name(r2.stop));
    /* shared a0: krr_nt is krr_rf */
    job = base_job();
    job.nn_a_init = NN_A_SHARED;
    run(&job, MODEL_QUADRATIC, d, 0, 100, REGIME_KRR_RF, 0, &r1, M1, &c1);
    run(&job, MODEL_QUADRATIC, d, 0, 100, REGIME_KRR_NT, 0, &r2, M2, &c2);
    CHECK(rel_diff(256, M2, M1) == 0 && c1 == c2, "shared a0: krr_nt = krr_rf");
    task_cache_clear();
}

/* ---- n = inf ---- */
static void population(void)
{
    GROUP("n = inf: R = tau^2; mixture R* at a stationary M*");
    const int d = 12;
    double M[144], G[144];
    for (int reg = 0; reg < 2; reg++) {
        int regime = reg ? REGIME_KRR_NT : REGIME_KRR_RF;
        JobSpec job = base_job();
        job.noise = 0.3;
        TaskResult r;
        int rc = run(&job, MODEL_QUADRATIC, d, 0, -1, regime, 0, &r, M, NULL);
        CHECK(rc == 0 && fabs(r.risk_pop - 0.09) <= 1e-14 && fabs(r.theory - 0.09) <= 1e-14 &&
                  r.stop == STOP_EXACT,
              "%s quadratic: R = %.17g (tau^2 = 0.09), theory %.17g", job_regime_name(regime),
              r.risk_pop, r.theory);
        job = base_job();
        rc = run(&job, MODEL_MIXTURE, d, 0, -1, regime, 0, &r, M, NULL);
        Target *tg = data_target_create(&job, MODEL_MIXTURE, d, 0);
        double rs = data_lsq_risk(tg, tg->s);
        data_pop_risk_copt(tg, M, NULL, G);
        CHECK(rc == 0 && fabs(r.risk_pop - rs) <= 1e-13 && fabs(r.theory - rs) <= 1e-15 &&
                  la_nrm2(144, G) <= 1e-12,
              "%s mixture: R = %.15g, R* = %.15g, |dR/dM| = %.2g", job_regime_name(regime),
              r.risk_pop, rs, la_nrm2(144, G));
        /* finite n: theory is the same optimum, and never beaten */
        rc = run(&job, MODEL_MIXTURE, d, 0, 500, regime, 0, &r, NULL, NULL);
        CHECK(rc == 0 && r.theory == rs && r.risk_pop >= rs, "finite n: theory R* = %.6g <= R = %.6g",
              r.theory, r.risk_pop);
        data_target_free(tg);
    }
    task_cache_clear();
}

/* ---- finite N -> the kernel ----
 * RF: the engine's rf regime at width N on the training set the krr task sees (the
 * training stream is keyed by (model, d, n, replicate), not N). NT: ridgeless NT in the
 * parameter norm, i.e. interpolation with the empirical NT kernel
 * (1/N) sum_i [phi_i phi_i' + 4 a0_i^2 <w_i, x><w_i, x'><x, x'>] on the same W0, a0, data;
 * its quadratic form M = (1/N) [W^T diag(sum_mu beta_mu z_mu^2) W + 4 sym(W^T diag(a0^2) W A)],
 * A = X^T diag(beta) X. */
static double nt_param_norm_risk(const JobSpec *job, const Target *tg, int d, int N, long n,
                                 const double *X, const double *y, const double *W,
                                 const double *a0)
{
    double *Z = malloc(sizeof(double) * n * N), *Z2 = malloc(sizeof(double) * n * N);
    double *K = malloc(sizeof(double) * n * n), *H = malloc(sizeof(double) * n * n);
    double *G = malloc(sizeof(double) * n * n), *beta = malloc(sizeof(double) * n);
    double *cw = malloc(sizeof(double) * N), *WS = malloc(sizeof(double) * N * d);
    double *M = calloc((size_t)d * d, sizeof(double)), *A = malloc(sizeof(double) * d * d);
    double *S = malloc(sizeof(double) * d * d), *T = malloc(sizeof(double) * d * d);
    la_gemm('N', 'T', (int)n, N, d, 1.0, X, d, W, d, 0.0, Z, N); /* z_mu,i = <w_i, x_mu> */
    for (size_t k = 0; k < (size_t)n * N; k++)
        Z2[k] = Z[k] * Z[k];
    la_gemm('N', 'T', (int)n, (int)n, N, 1.0 / N, Z2, N, Z2, N, 0.0, K, (int)n);
    for (long m = 0; m < n; m++)
        for (int i = 0; i < N; i++)
            Z2[(size_t)m * N + i] = Z[(size_t)m * N + i] * a0[i] * a0[i];
    la_gemm('N', 'T', (int)n, (int)n, N, 4.0 / N, Z2, N, Z, N, 0.0, H, (int)n);
    la_gemm('N', 'T', (int)n, (int)n, d, 1.0, X, d, X, d, 0.0, G, (int)n);
    for (size_t k = 0; k < (size_t)n * n; k++)
        K[k] += H[k] * G[k];
    double c;
    bordered_solve(n, K, y, job->ridge, beta, &c);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (long m = 0; m < n; m++)
            s += beta[m] * Z[(size_t)m * N + i] * Z[(size_t)m * N + i];
        cw[i] = s / N;
    }
    for (int i = 0; i < N; i++)
        for (int k = 0; k < d; k++)
            WS[(size_t)i * d + k] = cw[i] * W[(size_t)i * d + k];
    la_gemm('T', 'N', d, d, N, 1.0, W, d, WS, d, 0.0, M, d);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < d; k++)
            WS[(size_t)i * d + k] = 4.0 / N * a0[i] * a0[i] * W[(size_t)i * d + k];
    la_gemm('T', 'N', d, d, N, 1.0, W, d, WS, d, 0.0, S, d); /* (4/N) W^T diag(a0^2) W */
    memset(A, 0, sizeof(double) * d * d); /* A = X^T diag(beta) X */
    for (long m = 0; m < n; m++)
        for (int i = 0; i < d; i++)
            for (int k = 0; k < d; k++)
                A[i * d + k] += beta[m] * X[m * d + i] * X[m * d + k];
    la_gemm('N', 'N', d, d, d, 1.0, S, d, A, d, 0.0, T, d);
    for (int i = 0; i < d; i++)
        for (int k = 0; k < d; k++)
            M[i * d + k] += 0.5 * (T[i * d + k] + T[k * d + i]);
    double r = data_pop_risk(tg, c, M);
    free(Z);
    free(Z2);
    free(K);
    free(H);
    free(G);
    free(beta);
    free(cw);
    free(WS);
    free(M);
    free(A);
    free(S);
    free(T);
    return r;
}

/* The engine's fit (regime rf or nt) on the task's W0, a0 and training set, called
 * directly: task_run would also compute the rf task's N x N population optimum `theory`
 * (minutes at N = 8000). Returns R_pop / R0; X, y (n x d, n), W, a0 (N x d, N) scratch. */
static double engine_fit(const JobSpec *job, const Regime *rg, int d, int N, long n, int rep,
                         double *X, double *y, double *W, double *a0, double *nt_indep)
{
    Target *tg = data_target_create(job, MODEL_QUADRATIC, d, rep);
    data_sample(tg, task_train_key(job, MODEL_QUADRATIC, d, n, rep), 0, n, X, y);
    task_initial_weights(job, d, N, rep, W, a0);
    FitInput in;
    memset(&in, 0, sizeof in);
    in.job = job;
    in.target = tg;
    in.d = d;
    in.N = N;
    in.n = n;
    in.X = X;
    in.y = y;
    in.W0 = W;
    in.a0 = a0;
    double *M = malloc(sizeof(double) * d * d);
    FitOutput out;
    memset(&out, 0, sizeof out);
    out.M = M;
    CHECK(rg->fit(&in, &out) == 0, "%s fit at N = %d", rg->name, N);
    double r = data_pop_risk(tg, out.c, M) / data_r0(tg);
    if (nt_indep)
        *nt_indep = nt_param_norm_risk(job, tg, d, N, n, X, y, W, a0) / data_r0(tg);
    free(M);
    data_target_free(tg);
    return r;
}

static void finite_width(void)
{
    GROUP("ridgeless finite-N RF / NT -> KRR, RMS <= 3/sqrt(N) for N >= 16 n");
    const int d = 20, reps = 4;
    const long n = 120;
    const int Nrf[2] = {2000, 8000}, Nnt[4] = {500, 2000, 8000, 32000};
    /* SPEC §8's NT numbers (its seed): RMS 0.025, 0.024, 0.0079, 0.0031 */
    JobSpec job = base_job();
    double *X = malloc(sizeof(double) * n * d), *y = malloc(sizeof(double) * n);
    double *W = malloc(sizeof(double) * Nnt[3] * d), *a0 = malloc(sizeof(double) * Nnt[3]);
    double krr[2][4];
    /* the krr and the rf / nt tasks at one (model, d, n, replicate) draw the same training
     * set */
    for (int rep = 0; rep < reps; rep++) {
        TaskResult r;
        run(&job, MODEL_QUADRATIC, d, 0, n, REGIME_KRR_RF, rep, &r, NULL, NULL);
        krr[0][rep] = r.risk_pop / r.r0;
        run(&job, MODEL_QUADRATIC, d, 0, n, REGIME_KRR_NT, rep, &r, NULL, NULL);
        krr[1][rep] = r.risk_pop / r.r0;
    }
    for (int k = 0; k < 2; k++) {
        int N = Nrf[k];
        double rf2 = 0;
        for (int rep = 0; rep < reps; rep++) {
            double drf = engine_fit(&job, &regime_rf, d, N, n, rep, X, y, W, a0, NULL) - krr[0][rep];
            rf2 += drf * drf / reps;
        }
        printf("  RF N = %d: RMS (R_N - R_KRR)/R0 %.4f; 3/sqrt(N) = %.4f\n", N, sqrt(rf2),
               3 / sqrt(N));
        CHECK(sqrt(rf2) <= 3 / sqrt(N), "RF N = %d: RMS %.4f <= %.4f", N, sqrt(rf2), 3 / sqrt(N));
    }
    for (int k = 0; k < 4; k++) {
        int N = Nnt[k];
        double nt2 = 0;
        for (int rep = 0; rep < reps; rep++) {
            /* the engine's nt regime (minimum |(da, G)|), once against an independent
             * solve of the bordered system with the empirical NT kernel */
            double ind = NAN;
            double rn = engine_fit(&job, &regime_nt, d, N, n, rep, X, y, W, a0,
                                   N == 2000 ? &ind : NULL);
            if (N == 2000)
                CHECK(fabs(rn - ind) <= 1e-8 * ind, "rep %d: engine nt %.12g = kernel solve %.12g",
                      rep, rn, ind);
            nt2 += (rn - krr[1][rep]) * (rn - krr[1][rep]) / reps;
        }
        printf("  NT N = %d: RMS (R_N - R_KRR)/R0 %.4f; 3/sqrt(N) = %.4f\n", N, sqrt(nt2),
               3 / sqrt(N));
        if (N >= 16 * n)
            CHECK(sqrt(nt2) <= 3 / sqrt(N), "NT N = %d: RMS %.4f <= %.4f", N, sqrt(nt2),
                  3 / sqrt(N));
    }
    free(X);
    free(y);
    free(W);
    free(a0);
    task_cache_clear();
}

int main(void)
{
    la_init(1);
    kernel_entries();
    predictor_identity();
    interpolation_threshold();
    solvers();
    population();
    finite_width();
    return th_finish("test_krr");
}
