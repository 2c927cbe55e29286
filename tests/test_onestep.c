/* test_onestep: the onestep regime (SPEC §7) against its oracles — eta~ = 0 is the RF
 * task bit for bit, centred ebar = 0, the step formula W1 = W0 (I + 4 eta~ (B - M0)), the
 * eta~ = inf normalisation, n0 samples -> the population step at rate n0^(-1/2), the
 * readout n -> inf, lowrank exactness iff N >= r(r+1)/2, the population moment against
 * Monte Carlo (quadratic and mixture), and SPEC's "what to expect" table. */
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

typedef struct {
    TaskResult res;
    double *M, c, *W0, *a0, *W1;
    int d, N, rc;
} Run;

static void run_free(Run *r)
{
    free(r->M);
    free(r->W0);
    free(r->a0);
    free(r->W1);
    memset(r, 0, sizeof *r);
}

/* task_run of one task with every extra output */
static void run(const JobSpec *job, int model, int d, int N, long n, int regime, int rep,
                double eta, Run *r)
{
    Task t = {0, model, d, N, n, regime, rep, NAN, regime == REGIME_ONESTEP ? eta : NAN};
    memset(r, 0, sizeof *r);
    r->d = d;
    r->N = N;
    r->M = calloc((size_t)d * d, sizeof(double));
    r->W0 = calloc((size_t)N * d, sizeof(double));
    r->a0 = calloc((size_t)N, sizeof(double));
    r->W1 = calloc((size_t)N * d, sizeof(double));
    TaskExtras ex;
    memset(&ex, 0, sizeof ex);
    ex.M = r->M;
    ex.c = &r->c;
    ex.W0 = r->W0;
    ex.a0 = r->a0;
    ex.W1 = regime == REGIME_ONESTEP ? r->W1 : NULL;
    r->rc = task_run(job, &t, NULL, &r->res, &ex);
}

/* The fields an RF task and an eta~ = 0 onestep task must share, bitwise. */
static int same_rf_numbers(const Run *a, const Run *b)
{
    const TaskResult *x = &a->res, *y = &b->res;
    double fx[] = {x->risk_train,  x->risk_test, x->risk_pop, x->r0,         x->error_test,
                   x->bayes_error, x->theory,    x->residual, x->error_floor};
    double fy[] = {y->risk_train,  y->risk_test, y->risk_pop, y->r0,         y->error_test,
                   y->bayes_error, y->theory,    y->residual, y->error_floor};
    return memcmp(fx, fy, sizeof fx) == 0 && x->stop == y->stop && x->cause == y->cause &&
           memcmp(a->M, b->M, sizeof(double) * (size_t)a->d * a->d) == 0 &&
           memcmp(&a->c, &b->c, sizeof a->c) == 0;
}

static double fro_diff(size_t n, const double *A, const double *B)
{
    double s = 0;
    for (size_t k = 0; k < n; k++)
        s += (A[k] - B[k]) * (A[k] - B[k]);
    return sqrt(s);
}

static void test_eta0(JobSpec *job)
{
    GROUP("eta~ = 0 is the RF task bit for bit");
    const int models[] = {MODEL_QUADRATIC, MODEL_MIXTURE};
    const long ns[] = {-1, 150, 3000}; /* 3000 x 8: normal equations, 150: dgelsd */
    const NSpec n0s[] = {{NFORM_INF, 0}, {NFORM_D, 20}};
    job->noise = 0.1;
    for (int mi = 0; mi < 2; mi++)
        for (int ni = 0; ni < 3; ni++)
            for (int k = 0; k < 2; k++) {
                job->onestep_n0[0] = n0s[k];
                Run rf, os, os1;
                int d = 10, N = 8;
                run(job, models[mi], d, N, ns[ni], REGIME_RF, 1, 0, &rf);
                run(job, models[mi], d, N, ns[ni], REGIME_ONESTEP, 1, 0.0, &os);
                run(job, models[mi], d, N, ns[ni], REGIME_ONESTEP, 1, 0.7, &os1);
                CHECK(rf.rc == 0 && os.rc == 0 && os1.rc == 0,
                      "model %d n %ld: rf %s, onestep %s %s", models[mi], ns[ni],
                      task_cause_name(rf.res.cause), task_cause_name(os.res.cause),
                      task_cause_name(os1.res.cause));
                CHECK(same_rf_numbers(&rf, &os), "model %d n %ld n0 %d: risks %.17g vs %.17g",
                      models[mi], ns[ni], k, rf.res.risk_pop, os.res.risk_pop);
                CHECK(memcmp(os.W1, os.W0, sizeof(double) * N * d) == 0 && os.res.step_norm == 0,
                      "W1 = W0 at eta~ = 0");
                CHECK(os.res.risk_rf0 == rf.res.risk_pop && os1.res.risk_rf0 == rf.res.risk_pop,
                      "risk_rf0 = the RF task's risk_pop (%.17g %.17g %.17g)", os.res.risk_rf0,
                      os1.res.risk_rf0, rf.res.risk_pop);
                CHECK(os.res.iterations == 0 && os1.res.iterations == 1 &&
                          os1.res.stop == STOP_EXACT && os1.res.step_norm > 0,
                      "iterations %ld %ld, stop %d", os.res.iterations, os1.res.iterations,
                      os1.res.stop);
                CHECK(os1.res.risk_pop != rf.res.risk_pop, "a step changes the result");
                run_free(&rf);
                run_free(&os);
                run_free(&os1);
            }
    job->noise = 0;
    job->onestep_n0[0] = (NSpec){NFORM_INF, 0};
}

/* M0 = a0 W0^T W0 */
static void model0(int d, int N, const double *W0, double a0, double *M0)
{
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int k = 0; k < N; k++)
                s += W0[(size_t)k * d + i] * W0[(size_t)k * d + j];
            M0[(size_t)i * d + j] = a0 * s;
        }
}

static void test_step_formula(JobSpec *job)
{
    GROUP("centred ebar = 0, W1 = W0 (I + 4 eta~ (B - M0)), eta~ = inf");
    int d = 12, N = 7, rep = 2;
    double eta = 0.37;
    Target *tg = data_target_create(job, MODEL_QUADRATIC, d, rep);
    double *M0 = malloc(sizeof(double) * d * d), *W = malloc(sizeof(double) * N * d);
    const NSpec n0s[] = {{NFORM_INF, 0}, {NFORM_D, 50}};
    for (int k = 0; k < 2; k++) {
        job->onestep_n0[0] = n0s[k];
        Run r;
        run(job, MODEL_QUADRATIC, d, N, -1, REGIME_ONESTEP, rep, eta, &r);
        double scale = fabs(tg->b0) + 1.0;
        CHECK(r.rc == 0 && fabs(r.res.ebar) <= 1e-13 * scale, "n0 %s: centred ebar %.3g",
              k ? "50d" : "inf", r.res.ebar);
        Run m;
        run(job, MODEL_MIXTURE, d, N, -1, REGIME_ONESTEP, rep, eta, &m);
        CHECK(m.rc == 0 && fabs(m.res.ebar) <= 1e-13, "mixture n0 %s: centred ebar %.3g",
              k ? "50d" : "inf", m.res.ebar);
        if (k == 0) {
            model0(d, N, r.W0, 1.0 / N, M0);
            for (int i = 0; i < N; i++)
                for (int j = 0; j < d; j++) {
                    double s = r.W0[(size_t)i * d + j];
                    for (int l = 0; l < d; l++)
                        s += 4 * eta * r.W0[(size_t)i * d + l] *
                             (tg->B[(size_t)l * d + j] - M0[(size_t)l * d + j]);
                    W[(size_t)i * d + j] = s;
                }
            double e = fro_diff((size_t)N * d, r.W1, W) / fro_diff((size_t)N * d, W, r.W0);
            CHECK(e <= 1e-13, "W1 = W0 (I + 4 eta~ (B - M0)): relative error %.3g", e);
            CHECK_REL(r.res.step_norm,
                      fro_diff((size_t)N * d, W, r.W0) / la_nrm2((size_t)N * d, r.W0), 1e-12,
                      "step_norm");
            CHECK_REL(r.res.risk_pop, r.res.theory, 1e-10, "n = inf readout = RF optimum at W1");
        }
        run_free(&r);
        run_free(&m);
    }
    /* uncentred: ebar = b0 + tr(B - M0) = -tr M0 (exponential b0 = -tr B), mixture -tr M0 */
    job->onestep_center = 0;
    for (int k = 0; k < 2; k++) {
        job->onestep_n0[0] = n0s[k];
        Run r, m;
        run(job, MODEL_QUADRATIC, d, N, -1, REGIME_ONESTEP, rep, eta, &r);
        run(job, MODEL_MIXTURE, d, N, -1, REGIME_ONESTEP, rep, eta, &m);
        double trM0 = la_dot((size_t)N * d, r.W0, r.W0) / N;
        /* finite n0: the sample mean of r, whose s.e. is about sqrt(R0 / n0) */
        double tol = k ? 4 * sqrt((r.res.r0 + trM0 * trM0) / (50.0 * d)) : 1e-12 * trM0;
        CHECK(r.rc == 0 && fabs(r.res.ebar + trM0) <= tol,
              "uncentred n0 %s: ebar %.6g vs -tr M0 %.6g", k ? "50d" : "inf", r.res.ebar, -trM0);
        CHECK(m.rc == 0 &&
                  fabs(m.res.ebar + trM0) <= (k ? 4 * sqrt((1 + trM0 * trM0) / (50.0 * d)) : tol),
              "mixture uncentred n0 %s: ebar %.6g vs %.6g", k ? "50d" : "inf", m.res.ebar, -trM0);
        run_free(&r);
        run_free(&m);
    }
    job->onestep_center = 1;
    job->onestep_n0[0] = (NSpec){NFORM_INF, 0};

    /* eta~ = inf: rows of W0 (B - M0), rescaled to the norms of W0's rows */
    Run r, big;
    run(job, MODEL_QUADRATIC, d, N, -1, REGIME_ONESTEP, rep, INFINITY, &r);
    run(job, MODEL_QUADRATIC, d, N, -1, REGIME_ONESTEP, rep, 1e7, &big);
    model0(d, N, r.W0, 1.0 / N, M0);
    double worst = 0, worst_norm = 0;
    for (int i = 0; i < N; i++) {
        double *v = W + (size_t)i * d;
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int l = 0; l < d; l++)
                s += r.W0[(size_t)i * d + l] * (tg->B[(size_t)l * d + j] - M0[(size_t)l * d + j]);
            v[j] = s;
        }
        double nv = la_nrm2(d, v), nw = la_nrm2(d, r.W0 + (size_t)i * d);
        double n1 = la_nrm2(d, r.W1 + (size_t)i * d);
        double cs = la_dot(d, v, r.W1 + (size_t)i * d) / (nv * n1);
        worst = fmax(worst, fabs(1 - cs));
        worst_norm = fmax(worst_norm, fabs(n1 / nw - 1));
    }
    CHECK(r.rc == 0 && worst <= 1e-13 && worst_norm <= 1e-13,
          "eta~ = inf: rows parallel to W0 (B - M0) (1 - cos %.3g), norms of W0's (%.3g)", worst,
          worst_norm);
    CHECK_REL(big.res.risk_pop, r.res.risk_pop, 1e-6, "eta~ = 1e7 -> the eta~ = inf risk");
    run_free(&r);
    run_free(&big);
    free(M0);
    free(W);
    data_target_free(tg);
}

static void test_n0_rate(JobSpec *job)
{
    GROUP("n0 samples -> the population step at rate n0^(-1/2)");
    /* SPEC §7 (d = 30, N = 15, eta~ = 0.5, one draw): 1.086, 0.536, 0.268, 0.134 at
     * n0 = 16d, 64d, 256d, 1024d. The ratio does not depend on eta~; it does on the draw of
     * target and W0 (NumPy, 20 draws: 1.32 +- 0.15 sd at 16d) and, within a draw, on the
     * samples (relative sd 5-7%). Here: the mean over 4 replicates, so rho(n0) sqrt(n0/16d)
     * has relative sd ~4% between n0 values: tolerance 15% of rho(16d) (> 3.5 sd); the
     * 16d value within 40% of SPEC's one draw. */
    const int d = 30, N = 15, R = 4;
    const double K[] = {16, 64, 256, 1024};
    double rho[4] = {0};
    for (int rep = 0; rep < R; rep++) {
        job->onestep_n0[0] = (NSpec){NFORM_INF, 0};
        Run pop;
        run(job, MODEL_QUADRATIC, d, N, -1, REGIME_ONESTEP, rep, 0.5, &pop);
        double den = fro_diff((size_t)N * d, pop.W1, pop.W0);
        for (int k = 0; k < 4; k++) {
            job->onestep_n0[0] = (NSpec){NFORM_D, K[k]};
            Run r;
            run(job, MODEL_QUADRATIC, d, N, -1, REGIME_ONESTEP, rep, 0.5, &r);
            CHECK(r.rc == 0 && memcmp(r.W0, pop.W0, sizeof(double) * N * d) == 0, "n0 = %gd ran",
                  K[k]);
            rho[k] += fro_diff((size_t)N * d, r.W1, pop.W1) / den / R;
            run_free(&r);
        }
        run_free(&pop);
    }
    job->onestep_n0[0] = (NSpec){NFORM_INF, 0};
    printf("n0 rate: rho = %.4f %.4f %.4f %.4f at n0 = 16d 64d 256d 1024d (SPEC one draw: "
           "1.086 0.536 0.268 0.134)\n",
           rho[0], rho[1], rho[2], rho[3]);
    for (int k = 1; k < 4; k++)
        CHECK_REL(rho[k] * sqrt(K[k] / 16), rho[0], 0.15, "rho(n0) sqrt(n0/16d) = rho(16d)");
    /* least-squares slope of log rho against log n0 */
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int k = 0; k < 4; k++) {
        double x = log(K[k]), y = log(rho[k]);
        sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    double slope = (4 * sxy - sx * sy) / (4 * sxx - sx * sx);
    CHECK_NEAR(slope, -0.5, 0.05, "slope of log rho against log n0");
    CHECK_REL(rho[0], 1.086, 0.4, "rho(16d) against SPEC's draw");
}

static void test_readout_n(JobSpec *job)
{
    GROUP("readout n -> inf: |R_n/R_inf - 1| <= 2(N+1)/n for n >= 32N");
    /* The bound holds for the expected excess, not for every draw of the n samples:
     * measured over 60 draws (d = 20, N = 10, eta~ = 1), |R_n/R_inf - 1| n/(N+1) has mean
     * 1.2 (n = 32N) and 1.4 (n = 128N), sd 0.6-0.67, and exceeds 2 in 12-15% of the draws.
     * So the bound is checked on the mean over R = 12 replicates (sd of the mean ~0.19 in
     * these units: the margin 2 - 1.4 is > 3 sd); each draw must still have R_n >= R_inf. */
    enum { R = 12 };
    const int d = 20, N = 10;
    const long ns[] = {32 * N, 128 * N, 512 * N};
    double dev[3] = {0}, worst[3] = {0};
    for (int rep = 0; rep < R; rep++) {
        Run inf;
        run(job, MODEL_QUADRATIC, d, N, -1, REGIME_ONESTEP, rep, 1.0, &inf);
        for (int k = 0; k < 3; k++) {
            Run r;
            run(job, MODEL_QUADRATIC, d, N, ns[k], REGIME_ONESTEP, rep, 1.0, &r);
            CHECK(r.rc == 0 && inf.rc == 0 && r.res.risk_pop >= inf.res.risk_pop * (1 - 1e-12),
                  "rep %d n %ld: R_n %.6g >= R_inf %.6g", rep, ns[k], r.res.risk_pop,
                  inf.res.risk_pop);
            double e = fabs(r.res.risk_pop / inf.res.risk_pop - 1);
            dev[k] += e / R;
            worst[k] = fmax(worst[k], e);
            run_free(&r);
        }
        run_free(&inf);
    }
    for (int k = 0; k < 3; k++) {
        double bound = 2.0 * (N + 1) / ns[k];
        printf("readout: n = %ld: mean |R_n/R_inf - 1| = %.4g, largest %.4g (bound %.4g)\n", ns[k],
               dev[k], worst[k], bound);
        CHECK(dev[k] <= bound, "n %ld: mean |R_n/R_inf - 1| = %.3g, bound %.3g", ns[k], dev[k],
              bound);
    }
}

static void test_lowrank(JobSpec *job)
{
    GROUP("lowrank:4, a0 = 1e-9, eta~ = inf: exact iff N >= r(r+1)/2 = 10");
    job->target = TARGET_LOWRANK;
    job->rank = 4;
    job->onestep_a0 = 1e-9;
    for (int rep = 0; rep < 3; rep++) {
        Run r10, r9;
        run(job, MODEL_QUADRATIC, 30, 10, -1, REGIME_ONESTEP, rep, INFINITY, &r10);
        run(job, MODEL_QUADRATIC, 30, 9, -1, REGIME_ONESTEP, rep, INFINITY, &r9);
        double e10 = r10.res.risk_pop / r10.res.r0, e9 = r9.res.risk_pop / r9.res.r0;
        printf("lowrank: rep %d: R/R0 = %.3g at N = 10, %.3g at N = 9\n", rep, e10, e9);
        CHECK(r10.rc == 0 && e10 <= 1e-10, "N = 10: R/R0 = %.3g", e10);
        /* N = 9: one direction of the 10-dimensional span is missing, and B's component
         * along it varies over decades between draws (measured 0.108, 1.1e-3, 6e-5; SPEC's
         * draw 0.020): "not exact" means far above the exactness level 1e-10 */
        CHECK(r9.rc == 0 && e9 >= 1e-8, "N = 9: R/R0 = %.3g (SPEC: 0.020)", e9);
        run_free(&r10);
        run_free(&r9);
    }
    job->target = TARGET_EXPONENTIAL;
    job->rank = 5;
    job->onestep_a0 = ONESTEP_A0_INV_N;
}

/* Monte Carlo of E[r x x^T] against data_pop_moment: every entry within 4 s.e. */
static void mc_moment(JobSpec *job, int model, double c, double a0, const char *what)
{
    int d = 6, N = 4;
    long n = 400000, chunk = 20000;
    Target *tg = data_target_create(job, model, d, 0);
    double *W0 = malloc(sizeof(double) * N * d), *a = malloc(sizeof(double) * N);
    double *M0 = malloc(sizeof(double) * d * d), *C = malloc(sizeof(double) * d * d);
    double *S1 = calloc((size_t)d * d + 1, sizeof(double)),
           *S2 = calloc((size_t)d * d + 1, sizeof(double));
    double *X = malloc(sizeof(double) * chunk * d), *y = malloc(sizeof(double) * chunk);
    task_initial_weights(job, d, N, 0, W0, a);
    model0(d, N, W0, a0, M0);
    double ebar = data_pop_moment(tg, c, M0, C);
    RngKey key = rng_key(99, 777, (uint32_t)model, (uint32_t)d, 0);
    for (long j0 = 0; j0 < n; j0 += chunk) {
        data_sample(tg, key, j0, chunk, X, y);
        for (long j = 0; j < chunk; j++) {
            const double *x = X + j * d;
            double q = 0;
            for (int i = 0; i < d; i++)
                for (int k = 0; k < d; k++)
                    q += x[i] * M0[i * d + k] * x[k];
            double r = y[j] - c - q;
            for (int i = 0; i < d; i++)
                for (int k = 0; k < d; k++) {
                    double v = r * x[i] * x[k];
                    S1[i * d + k] += v;
                    S2[i * d + k] += v * v;
                }
            S1[d * d] += r;
            S2[d * d] += r * r;
        }
    }
    double worst = 0;
    for (int k = 0; k <= d * d; k++) {
        double m = S1[k] / n, se = sqrt((S2[k] / n - m * m) / n);
        double want = k < d * d ? C[k] : ebar;
        worst = fmax(worst, fabs(m - want) / se);
    }
    printf("MC %s: largest |MC - formula| = %.2f s.e. over %d entries and E r\n", what, worst,
           d * d);
    CHECK(worst <= 4.0, "%s: population moment vs Monte Carlo: %.2f s.e.", what, worst);
    data_target_free(tg);
    free(W0), free(a), free(M0), free(C), free(S1), free(S2), free(X), free(y);
}

static void test_monte_carlo(JobSpec *job)
{
    GROUP("population step E[r x x^T] against Monte Carlo");
    job->noise = 0.3;
    mc_moment(job, MODEL_QUADRATIC, 0.0, 0.25, "quadratic, c0 = 0, a0 = 1/4, noise 0.3");
    mc_moment(job, MODEL_QUADRATIC, 0.8, 1.0, "quadratic, c0 = 0.8, a0 = 1");
    job->noise = 0;
    job->target = TARGET_WIGNER;
    mc_moment(job, MODEL_QUADRATIC, -0.3, 0.5, "quadratic wigner, c0 = -0.3, a0 = 1/2");
    job->target = TARGET_EXPONENTIAL;
    job->mixture_rank = 2;
    job->mixture_delta = 0.6;
    mc_moment(job, MODEL_MIXTURE, 0.0, 0.25, "mixture s = 2, delta 0.6, c0 = 0, a0 = 1/4");
    mc_moment(job, MODEL_MIXTURE, 0.4, 1.0, "mixture s = 2, delta 0.6, c0 = 0.4, a0 = 1");
    job->mixture_rank = 4;
    job->mixture_delta = 0.5;
}

static void test_table(JobSpec *job)
{
    GROUP("SPEC §7 what to expect (d = 40, N = 20, exponential, a0 = 1/N)");
    /* SPEC's numbers are the mean of 3 draws; ours of K other draws. A difference of means
     * has sd s sqrt(1/3 + 1/K), s the spread of one draw (measured here, per column, over
     * our K draws): tolerance 3 such sd. NumPy over 200 draws gave 0.810 0.761 0.660 0.439
     * 0.331 0.331 0.350, NT 0.382, EY 0.038 (SPEC's draws are on the low side). */
    enum { K = 12, E = 7 };
    const double eta[E] = {0, 0.1, 0.3, 1, 3, 10, INFINITY};
    const double spec[E] = {0.804, 0.749, 0.639, 0.405, 0.305, 0.308, 0.325};
    const int d = 40, N = 20;
    double v[E + 2][K], dinf[K];
    for (int rep = 0; rep < K; rep++) {
        for (int e = 0; e < E; e++) {
            Run r;
            run(job, MODEL_QUADRATIC, d, N, -1, REGIME_ONESTEP, rep, eta[e], &r);
            CHECK(r.rc == 0, "rep %d eta %g: %s", rep, eta[e], task_cause_name(r.res.cause));
            v[e][rep] = r.res.risk_pop / r.res.r0;
            if (e == 0) {
                v[E][rep] = r.res.risk_nt / r.res.r0;
                v[E + 1][rep] = r.res.risk_ey / r.res.r0;
            }
            run_free(&r);
        }
        dinf[rep] = v[E - 1][rep] - fmin(v[4][rep], v[5][rep]);
    }
    const char *names[E + 2] = {"0", "0.1", "0.3", "1", "3", "10", "inf", "NT", "EY"};
    double want[E + 2];
    memcpy(want, spec, sizeof spec);
    want[E] = 0.340;
    want[E + 1] = 0.029;
    double mean[E + 2];
    printf("table: eta~      ");
    for (int e = 0; e < E + 2; e++)
        printf(" %7s", names[e]);
    printf("\ntable: SPEC (3)  ");
    for (int e = 0; e < E + 2; e++)
        printf(" %7.3f", want[e]);
    printf("\ntable: ours (%d) ", K);
    for (int e = 0; e < E + 2; e++) {
        double m = 0, s2 = 0;
        for (int k = 0; k < K; k++)
            m += v[e][k] / K;
        for (int k = 0; k < K; k++)
            s2 += (v[e][k] - m) * (v[e][k] - m) / (K - 1);
        mean[e] = m;
        double tol = 3 * sqrt(s2) * sqrt(1.0 / 3 + 1.0 / K);
        printf(" %7.3f", m);
        CHECK(fabs(m - want[e]) <= tol, "eta~ = %s: mean %.4f vs SPEC %.3f (tol %.4f)", names[e], m,
              want[e], tol);
    }
    printf("\n");
    for (int e = 1; e < 5; e++)
        CHECK(mean[e] < mean[e - 1], "decreasing up to eta~ = 3 (%.4f < %.4f)", mean[e],
              mean[e - 1]);
    double m = 0, s2 = 0;
    for (int k = 0; k < K; k++)
        m += dinf[k] / K;
    for (int k = 0; k < K; k++)
        s2 += (dinf[k] - m) * (dinf[k] - m) / (K - 1);
    printf("table: R(inf) - min(R(3), R(10)) = %.4f +- %.4f (s.e.)\n", m, sqrt(s2 / K));
    CHECK(m > 2 * sqrt(s2 / K), "not monotone: eta~ = inf is worse than the best finite step");
    CHECK(mean[E - 1] > mean[E + 1] + 0.1, "one step does not reach Eckart-Young");

    /* a0 = 1/sqrt(N): M0 comparable to B, the large step fails (SPEC: 0.883 at eta~ = inf) */
    job->onestep_a0 = ONESTEP_A0_INV_SQRT_N;
    double w[K];
    m = 0, s2 = 0;
    for (int rep = 0; rep < K; rep++) {
        Run r;
        run(job, MODEL_QUADRATIC, d, N, -1, REGIME_ONESTEP, rep, INFINITY, &r);
        w[rep] = r.res.risk_pop / r.res.r0;
        m += w[rep] / K;
        run_free(&r);
    }
    for (int k = 0; k < K; k++)
        s2 += (w[k] - m) * (w[k] - m) / (K - 1);
    printf("table: a0 = 1/sqrt(N), eta~ = inf: %.4f (SPEC 0.883)\n", m);
    CHECK(fabs(m - 0.883) <= 3 * sqrt(s2) * sqrt(1.0 / 3 + 1.0 / K), "a0 = 1/sqrtN: %.4f vs 0.883",
          m);
    job->onestep_a0 = ONESTEP_A0_INV_N;
}

static void test_mixture_and_ridge(JobSpec *job)
{
    GROUP("mixture, ridge, finite readout run and stay consistent");
    job->ridge = 1e-3;
    Run rf, os, r;
    run(job, MODEL_MIXTURE, 12, 6, 400, REGIME_RF, 0, 0, &rf);
    run(job, MODEL_MIXTURE, 12, 6, 400, REGIME_ONESTEP, 0, 0, &os);
    CHECK(rf.rc == 0 && os.rc == 0 && same_rf_numbers(&rf, &os), "mixture, ridge: eta~ = 0 = RF");
    run(job, MODEL_MIXTURE, 12, 6, 400, REGIME_ONESTEP, 0, INFINITY, &r);
    CHECK(r.rc == 0 && isfinite(r.res.risk_pop) && isfinite(r.res.error_test) &&
              r.res.stop == STOP_EXACT,
          "mixture eta~ = inf: %s", task_cause_name(r.res.cause));
    run_free(&rf);
    run_free(&os);
    run_free(&r);
    job->ridge = 0;
}

int main(void)
{
    la_init(1);
    JobSpec job;
    job_defaults(&job);
    job.test_samples = 2000;
    job.replicates = 12;
    test_eta0(&job);
    test_step_formula(&job);
    test_n0_rate(&job);
    test_readout_n(&job);
    test_lowrank(&job);
    test_monte_carlo(&job);
    test_table(&job);
    test_mixture_and_ridge(&job);
    task_cache_clear();
    return th_finish("test_onestep");
}
