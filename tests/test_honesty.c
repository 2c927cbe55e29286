/* test_honesty: a fit that stops short says so (issue 9, DESIGN §6 `stop`), and the
 * default NN method reaches its class optimum. Oracles are independent of the NN code:
 * class optima from the eigenvalues of the drawn B (LAPACK) or closed forms (signed
 * target, mixture), the NT least squares from a direct solve, the mixture's 0-1 error
 * floor by Monte Carlo on the engine's own sampler.
 * Cases (the issue's list): shared a with varpro on an indefinite target (was the trivial
 * predictor, stop = tol); signed at N = d (was stuck at k/d R0); the default method at
 * n = inf on every target x nn_a_init (within 1e-6 R0, converged); finite n at N >= d
 * interpolates (training risk <= 1e-8 R0); the mixture with N = s (was the rank-(s-1)
 * optimum); NT whose CG stops short (direct fallback to 1e-8, or cause solver); a failed
 * line search is `linesearch`; no DONE task carries a NaN metric. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "harness.h"
#include "job.h"
#include "linalg.h"
#include "optim.h"
#include "regime.h"
#include "task.h"
#include "theory.h"

static JobSpec base_job(int target, int a_init)
{
    JobSpec job;
    job_defaults(&job);
    job.target = target;
    job.rank = 4;
    job.nn_a_init = a_init;
    job.test_samples = 0;
    return job;
}

static int run(const JobSpec *job, int model, int d, int N, long n, int regime, int rep,
               TaskResult *r)
{
    Task t = {0, model, d, N, n, regime, rep, NAN, NAN};
    return task_run(job, &t, NULL, r, NULL);
}

/* Eigenvalues of the drawn target B (ascending), for the oracles. */
static void target_eigs(const JobSpec *job, int d, int rep, double *w)
{
    Target *t = data_target_create(job, MODEL_QUADRATIC, d, rep);
    double *A = malloc(sizeof(double) * (size_t)d * d);
    memcpy(A, t->B, sizeof(double) * (size_t)d * d);
    la_syev_values(d, A, w);
    free(A);
    data_target_free(t);
}

/* The class optimum of the NN task from the spectrum (raw risk, noiseless): Eckart-Young
 * (rank <= N, any sign) or, for a shared scalar, the better of the two cones. */
static double oracle_nn(const double *w, int d, int N, int shared)
{
    double all = 0, best = 0;
    for (int j = 0; j < d; j++)
        all += w[j] * w[j];
    if (shared) {
        double pos = 0, neg = 0;
        for (int k = 0; k < N && k < d; k++) {
            if (w[d - 1 - k] > 0)
                pos += w[d - 1 - k] * w[d - 1 - k];
            if (w[k] < 0)
                neg += w[k] * w[k];
        }
        best = fmax(pos, neg);
    } else {
        double *a = malloc(sizeof(double) * d);
        for (int j = 0; j < d; j++)
            a[j] = fabs(w[j]);
        for (int k = 0; k < N && k < d; k++) { /* N largest |lambda| */
            int arg = 0;
            for (int j = 1; j < d; j++)
                if (a[j] > a[arg])
                    arg = j;
            best += a[arg] * a[arg];
            a[arg] = -1;
        }
        free(a);
    }
    return 2.0 * (all - best);
}

/* The default method (varpro with escapes) at n = inf, every target x nn_a_init. */
static void default_reaches_optimum(void)
{
    GROUP("default NN method at n = inf");
    const int targets[] = {TARGET_EXPONENTIAL, TARGET_LOWRANK, TARGET_SIGNED, TARGET_WIGNER};
    const int inits[] = {NN_A_NORMAL, NN_A_POSITIVE, NN_A_SHARED};
    const int d = 24, Ns[] = {6, 12, 24, 36};
    double w[24];
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 3; b++) {
            JobSpec job = base_job(targets[a], inits[b]);
            job.seed = 11;
            int reached = 0, honest = 0, total = 0;
            for (int rep = 0; rep < 2; rep++) {
                target_eigs(&job, d, rep, w);
                for (int i = 0; i < 4; i++) {
                    TaskResult r;
                    int rc = run(&job, MODEL_QUADRATIC, d, Ns[i], -1, REGIME_NN, rep, &r);
                    double opt = oracle_nn(w, d, Ns[i], inits[b] == NN_A_SHARED);
                    double gap = (r.risk_pop - opt) / r.r0;
                    total++;
                    reached += rc == 0 && gap <= 1e-6 && gap >= -1e-9;
                    honest += rc == 0 && fabs(r.theory - opt) <= 1e-9 * r.r0 &&
                              (r.stop == STOP_CONVERGED) == (gap <= job.nn_opt_tol + 1e-12);
                }
            }
            CHECK(reached == total, "%s, a %s: %d of %d within 1e-6 R0 of the optimum",
                  job_target_name(targets[a]), job_a_init_name(inits[b]), reached, total);
            CHECK(honest == total, "%s, a %s: theory = the oracle, converged iff at it (%d of %d)",
                  job_target_name(targets[a]), job_a_init_name(inits[b]), honest, total);
        }
    task_cache_clear();
}

/* The issue's cases at their sizes. */
static void issue_cases(void)
{
    GROUP("issue cases");
    TaskResult r;
    /* shared a, varpro, signed, d = 40, N = 10, seed 11: was the trivial predictor.
     * B = diag(+-1)/sqrt(d): the cone optimum is 1 - min(N, #same sign)/d of R0. */
    JobSpec job = base_job(TARGET_SIGNED, NN_A_SHARED);
    job.seed = 11;
    job.nn_method = NN_METHOD_VARPRO;
    for (int rep = 0; rep < 3; rep++) {
        double w[40];
        target_eigs(&job, 40, rep, w);
        int pos = 0;
        for (int j = 0; j < 40; j++)
            pos += w[j] > 0;
        int best = (pos < 10 ? pos : 10) > (40 - pos < 10 ? 40 - pos : 10)
                       ? (pos < 10 ? pos : 10)
                       : (40 - pos < 10 ? 40 - pos : 10);
        int rc = run(&job, MODEL_QUADRATIC, 40, 10, -1, REGIME_NN, rep, &r);
        CHECK(rc == 0 && fabs(r.risk_pop / r.r0 - (1.0 - best / 40.0)) <= 1e-6 &&
                  r.stop == STOP_CONVERGED,
              "signed, shared, N = 10, replicate %d: %.6f R0 (want %.6f), stop %s", rep,
              r.risk_pop / r.r0, 1.0 - best / 40.0, task_stop_name(r.stop));
    }
    /* signed at N = d = 40, varpro, nn_tol = 1e-12: was stuck at k/d R0 */
    job = base_job(TARGET_SIGNED, NN_A_NORMAL);
    job.seed = 11;
    job.nn_tol = 1e-12;
    for (int rep = 0; rep < 3; rep++) {
        int rc = run(&job, MODEL_QUADRATIC, 40, 40, -1, REGIME_NN, rep, &r);
        CHECK(rc == 0 && r.risk_pop / r.r0 <= 1e-6 && r.stop == STOP_CONVERGED,
              "signed, N = d = 40, replicate %d: %.3g R0, stop %s, %d restarts", rep,
              r.risk_pop / r.r0, task_stop_name(r.stop), r.restarts);
    }
    /* mixture s = 8, N = 8, d = 24, delta = 0.8, seed 31: was the rank-7 optimum */
    job = base_job(TARGET_EXPONENTIAL, NN_A_NORMAL);
    job.models[0] = MODEL_MIXTURE;
    job.mixture_rank = 8;
    job.mixture_delta = 0.8;
    job.seed = 31;
    double rstar = 2 * (1 + 0.64) / (2 * (1 + 0.64) + 8 * 0.64); /* SPEC §3: 0.390476 */
    for (int rep = 0; rep < 4; rep++) {
        int rc = run(&job, MODEL_MIXTURE, 24, 8, -1, REGIME_NN, rep, &r);
        CHECK(rc == 0 && fabs(r.risk_pop - rstar) <= 1e-6 && fabs(r.theory - rstar) <= 1e-12 &&
                  r.stop == STOP_CONVERGED,
              "mixture N = s = 8, replicate %d: %.6f (want %.6f), theory %.6f, stop %s", rep,
              r.risk_pop, rstar, r.theory, task_stop_name(r.stop));
    }
    double r7 = 2 * (1 + 0.64) / (2 * (1 + 0.64) + 7 * 0.64);
    int rc = run(&job, MODEL_MIXTURE, 24, 7, -1, REGIME_NN, 1, &r);
    CHECK(rc == 0 && fabs(r.theory - r7) <= 1e-12 && fabs(r.risk_pop - r7) <= 1e-6,
          "mixture N = 7 < s: R*_7 = %.6f, got %.6f", r7, r.risk_pop);
    task_cache_clear();
}

/* Finite n at N >= d: the default interpolates (the least-squares minimum is 0). */
static void finite_interpolates(void)
{
    GROUP("default NN method at finite n, N >= d");
    const int targets[] = {TARGET_EXPONENTIAL, TARGET_SIGNED, TARGET_WIGNER};
    const int d = 12;
    for (int a = 0; a < 3; a++)
        for (int N = d; N <= 2 * d; N += d / 2) {
            JobSpec job = base_job(targets[a], NN_A_NORMAL);
            job.seed = 5;
            TaskResult r;
            int rc = run(&job, MODEL_QUADRATIC, d, N, 4L * d * d, REGIME_NN, 0, &r);
            CHECK(rc == 0 && r.risk_train / r.r0 <= 1e-8 && task_stop_is_converged(r.stop),
                  "%s d = %d N = %d n = 4d^2: training risk %.3g R0, stop %s",
                  job_target_name(targets[a]), d, N, r.risk_train / r.r0, task_stop_name(r.stop));
        }
    task_cache_clear();
}

/* The classic method reports what its dynamics reach, honestly: never converged or tol
 * above the optimum at n = inf. */
static void classic_is_honest(void)
{
    GROUP("classic method is honest");
    int checked = 0, honest = 0, short_ = 0;
    for (int a = 0; a < 3; a++) {
        JobSpec job = base_job(a == 0 ? TARGET_EXPONENTIAL : a == 1 ? TARGET_WIGNER : TARGET_SIGNED,
                               NN_A_NORMAL);
        job.nn_method = NN_METHOD_CLASSIC;
        job.nn_steps = 300;
        for (int N = 4; N <= 16; N += 6) {
            TaskResult r;
            if (run(&job, MODEL_QUADRATIC, 16, N, -1, REGIME_NN, 0, &r) != 0)
                continue;
            checked++;
            double gap = (r.risk_pop - r.theory) / r.r0;
            int certified = task_stop_is_converged(r.stop) || r.stop == STOP_TOL;
            honest += certified ? gap <= job.nn_opt_tol : 1;
            short_ += !task_stop_is_converged(r.stop);
        }
    }
    CHECK(checked == 9 && honest == checked, "%d of %d population GD stops honest", honest, checked);
    CHECK(short_ > 0, "300 GD steps stop short somewhere (%d of %d): the test can fail", short_,
          checked);
    task_cache_clear();
}

/* task_judge_stop at n = inf: the optimum decides. */
static void judge(void)
{
    GROUP("n = inf judged against the optimum");
    JobSpec job;
    job_defaults(&job);
    double r0 = 2.0, opt = 0.5;
    CHECK(task_judge_stop(&job, REGIME_NN, -1, STOP_TOL, opt + 1e-3, opt, r0) == STOP_STALLED,
          "tol above the optimum -> stalled");
    CHECK(task_judge_stop(&job, REGIME_NN, -1, STOP_CONVERGED, opt + 1e-3, opt, r0) == STOP_STALLED,
          "stationary above the optimum -> stalled");
    CHECK(task_judge_stop(&job, REGIME_NN, -1, STOP_BUDGET, opt + 1e-3, opt, r0) == STOP_BUDGET,
          "budget above the optimum stays budget");
    CHECK(task_judge_stop(&job, REGIME_NN, -1, STOP_LINESEARCH, opt + 1e-3, opt, r0) ==
              STOP_LINESEARCH, "linesearch above the optimum stays linesearch");
    CHECK(task_judge_stop(&job, REGIME_NN, -1, STOP_BUDGET, opt + 1e-10, opt, r0) == STOP_CONVERGED,
          "within nn_opt_tol R0 -> converged");
    CHECK(task_judge_stop(&job, REGIME_NN, 100, STOP_TOL, opt + 1, opt, r0) == STOP_TOL,
          "finite n keeps the optimiser's word");
    CHECK(task_judge_stop(&job, REGIME_NN, -1, STOP_SIGNAL, opt + 1, opt, r0) == STOP_SIGNAL,
          "signal stays signal");
}

/* A wrong gradient: every step along -g goes uphill, so the line search must fail. */
static double uphill(void *ctx, const double *x, double *g)
{
    (void)ctx;
    double f = 0;
    for (int i = 0; i < 3; i++) {
        f += x[i] * x[i];
        if (g)
            g[i] = -2 * x[i];
    }
    return f;
}

static void linesearch(void)
{
    GROUP("failed line search");
    OptOptions o = {0};
    o.max_iter = 100;
    o.tol = 1e-10;
    o.gtol = 1e-9;
    o.f_stop = -INFINITY;
    OptResult r;
    double x[3] = {1, -2, 0.5};
    CHECK(opt_lbfgs(uphill, NULL, 3, x, &o, &r) == 0 && r.why == OPT_LINESEARCH,
          "L-BFGS: why %d, want OPT_LINESEARCH", r.why);
    double y[3] = {1, -2, 0.5};
    CHECK(opt_gd(uphill, NULL, 3, y, &o, &r) == 0 && r.why == OPT_LINESEARCH,
          "backtracking GD: why %d, want OPT_LINESEARCH", r.why);
    CHECK((int)OPT_LINESEARCH == (int)STOP_LINESEARCH &&
              (int)OPT_CONVERGED == (int)STOP_CONVERGED && (int)OPT_TOL == (int)STOP_TOL &&
              (int)OPT_BUDGET == (int)STOP_BUDGET,
          "optimiser codes are the stop codes");
}

/* NT: a CG that stops short is replaced by a direct solve, or the task fails. */
static void nt_cg_short(void)
{
    GROUP("NT when CG stops short");
    JobSpec job = base_job(TARGET_EXPONENTIAL, NN_A_NORMAL);
    job.noise = 0.5;
    const int d = 14, N = 14;      /* p = d(d+1)/2 = 105 */
    const long ns[] = {104, 105, 150}; /* at and around the interpolation threshold */
    for (int k = 0; k < 3; k++) {
        double M1[196], M2[196];
        TaskResult r1, r2;
        TaskExtras e1 = {.M = M1}, e2 = {.M = M2};
        Task t = {0, MODEL_QUADRATIC, d, N, ns[k], REGIME_NT, 0, NAN, NAN};
        nt_force_solver(ns[k] < 105 ? "kernel" : "normal");
        int rc1 = task_run(&job, &t, NULL, &r1, &e1);
        nt_force_solver("cg");
        nt_test_limits(5, -1); /* 5 iterations cannot solve it */
        int rc2 = task_run(&job, &t, NULL, &r2, &e2);
        double num = 0, den = 0;
        for (int i = 0; i < d * d; i++) {
            num += (M1[i] - M2[i]) * (M1[i] - M2[i]);
            den += M1[i] * M1[i];
        }
        CHECK(rc1 == 0 && rc2 == 0 && sqrt(num / den) <= 1e-8 && r2.stop == STOP_EXACT,
              "n = %ld: short CG -> direct fallback, |dM|/|M| = %.2g, stop %s", ns[k],
              sqrt(num / den), task_stop_name(r2.stop));
        nt_test_limits(5, 0); /* and nothing may follow: the task fails */
        int rc3 = task_run(&job, &t, NULL, &r2, NULL);
        CHECK(rc3 != 0 && r2.cause == CAUSE_SOLVER && r2.stop == STOP_FAILED,
              "n = %ld: short CG without a fallback fails with cause solver (cause %s)", ns[k],
              task_cause_name(r2.cause));
        nt_test_limits(0, -1);
        nt_force_solver(NULL);
    }
    /* a CG that converges says converged, a direct solve exact */
    Task t = {0, MODEL_QUADRATIC, d, N, 400, REGIME_NT, 0, NAN, NAN};
    TaskResult r;
    nt_force_solver("cg");
    CHECK(task_run(&job, &t, NULL, &r, NULL) == 0 && r.stop == STOP_CONVERGED && r.residual <= 1e-10,
          "converged CG: stop %s, residual %.2g", task_stop_name(r.stop), r.residual);
    nt_force_solver(NULL); /* n = 400 >= 2p: the automatic choice is CG too */
    CHECK(task_run(&job, &t, NULL, &r, NULL) == 0 && r.stop == STOP_CONVERGED &&
              strcmp(nt_solver_name(), "cg") == 0,
          "auto at n >= 2p: stop %s, solver %s", task_stop_name(r.stop), nt_solver_name());
    t.n = 150; /* p < n < 2p: direct */
    CHECK(task_run(&job, &t, NULL, &r, NULL) == 0 && r.stop == STOP_EXACT, "direct: stop %s",
          task_stop_name(r.stop));
    task_cache_clear();
}

/* Mixture: the 0-1 error floor of M* (chi^2 law) against Monte Carlo with M* itself,
 * and R*_k against the exact population risk of gamma_k V V^T. */
static void mixture_floor(void)
{
    GROUP("mixture least-squares optimum");
    JobSpec job = base_job(TARGET_EXPONENTIAL, NN_A_NORMAL);
    job.models[0] = MODEL_MIXTURE;
    job.mixture_rank = 3;
    job.mixture_delta = 0.6;
    const int d = 10, s = 3;
    Target *t = data_target_create(&job, MODEL_MIXTURE, d, 0);
    double M[100];
    for (int k = 1; k <= s; k++) {
        double dl = 0.6, gamma = dl / (2 * (1 + dl * dl) + k * dl * dl);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double v = 0;
                for (int l = 0; l < k; l++)
                    v += t->U[i * s + l] * t->U[j * s + l];
                M[i * d + j] = gamma * v;
            }
        CHECK_NEAR(data_pop_risk_copt(t, M, NULL, NULL), data_lsq_risk(t, k), 1e-12,
                   "R*_k = the exact risk of gamma_k V V^T");
        if (k < s)
            continue;
        long n = 400000;
        double *X = malloc(sizeof(double) * n * d), *y = malloc(sizeof(double) * n);
        RngKey key = rng_key(99, 7, 1, 2, 3);
        data_sample(t, key, 0, n, X, y);
        long wrong = 0;
        for (long j = 0; j < n; j++) {
            double q = 0;
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++)
                    q += X[j * d + a] * M[a * d + b] * X[j * d + b];
            wrong += ((q - gamma * s >= 0) ? 1.0 : -1.0) != y[j];
        }
        double p = data_lsq_error(t, s), mc = (double)wrong / n, se = sqrt(p * (1 - p) / n);
        CHECK(fabs(mc - p) <= 4 * se, "0-1 error of M*: chi^2 %.5f, Monte Carlo %.5f (se %.1e)",
              p, mc, se);
        CHECK(p >= data_bayes_error(t), "the floor is above the Bayes error (%.4f >= %.4f)", p,
              data_bayes_error(t));
        free(X);
        free(y);
    }
    data_target_free(t);
    TaskResult r;
    JobSpec j2 = job;
    j2.test_samples = 1000;
    CHECK(run(&j2, MODEL_MIXTURE, d, 4, -1, REGIME_RF, 0, &r) == 0 &&
              fabs(r.error_floor - data_lsq_error(t = data_target_create(&job, MODEL_MIXTURE, d, 0), s)) < 1e-15,
          "mixture tasks store the floor (%.5f)", r.error_floor);
    data_target_free(t);
    task_cache_clear();
}

/* No DONE task carries a non-finite metric, over every regime, model and size kind,
 * including a diverging fixed-step GD. */
static void never_nan_done(void)
{
    GROUP("no NaN in a done row");
    int bad = 0, runs = 0, failed = 0;
    for (int model = 0; model < MODEL_COUNT; model++)
        for (int regime = 0; regime < REGIME_NULL; regime++)
            for (int k = 0; k < 3; k++) {
                JobSpec job = base_job(TARGET_WIGNER, NN_A_NORMAL);
                job.models[0] = model;
                job.mixture_rank = 2;
                job.test_samples = 300;
                if (k == 2) { /* a step that diverges */
                    job.nn_method = NN_METHOD_GD;
                    job.nn_lr = 1e3;
                }
                TaskResult r;
                long n = k == 0 ? -1 : 200;
                int rc = run(&job, model, 8, 6, n, regime, 0, &r);
                runs++;
                failed += rc != 0;
                if (rc == 0)
                    bad += !isfinite(r.risk_pop) || !isfinite(r.r0) || !isfinite(r.risk_test) ||
                           (n > 0 && !isfinite(r.risk_train)) ||
                           (model == MODEL_MIXTURE && !isfinite(r.error_test)) ||
                           r.stop == STOP_FAILED;
                else
                    bad += r.stop != STOP_FAILED && r.stop != STOP_SIGNAL;
            }
    CHECK(bad == 0, "%d of %d tasks done with a non-finite metric or a failed stop", bad, runs);
    CHECK(failed >= 1, "the diverging GD fails (%d failed)", failed);
    task_cache_clear();
}

int main(void)
{
    la_init(1);
    judge();
    linesearch();
    issue_cases();
    default_reaches_optimum();
    finite_interpolates();
    classic_is_honest();
    nt_cg_short();
    mixture_floor();
    never_nan_done();
    return th_finish("honesty");
}
