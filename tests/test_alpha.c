/* test_alpha: the lazy <-> rich regimes of SPEC §6 through task_run, against independent
 * references: the class optimum R*_alpha from the eigenvalues of B + alpha M0 computed
 * here (LAPACK on the drawn B and W0), the NT risk (closed form) and the NT least-squares
 * fit of the nt regime on the same data, and the SPEC's measured tolerances:
 *   - alpha = 10, 100, 1000 against alpha_lin after the same 2000 steps: <= 0.5/alpha R0,
 *     alpha |theta - theta0| bounded (population, d = 30, N = 10; finite n, d = 20, N = 5,
 *     n = 600, 1500 steps);
 *   - a0 > 0, PSD B, alpha <= 10, run to convergence: R*_alpha to 1e-4 R0;
 *   - R*_alpha between the Eckart-Young and the NT risks, O(alpha) and O(1/alpha) at the ends;
 *   - linearised GD to convergence = the NT risk (population) and the NT least-squares
 *     fit (finite n; below the parameter count, the interpolant of minimum |(da, G)|);
 *   - the auto horizon: alpha_lin stops there within alpha_horizon_tol R0 of the NT risk;
 *   - the mixture runs at both sizes with finite results;
 *   - GD drifts from the flow's conserved a_i^2 - |w_i|^2 / 2 by O(eta). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "harness.h"
#include "job.h"
#include "linalg.h"
#include "regime.h"
#include "task.h"
#include "theory.h"

static JobSpec job_for(int a_init)
{
    JobSpec job;
    job_defaults(&job);
    job.seed = 3;
    job.nn_a_init = a_init;
    job.test_samples = 0;
    return job;
}

static int run(const JobSpec *job, int regime, int d, int N, long n, double alpha,
               TaskResult *r)
{
    Task t = {0, job->models[0], d, N, n, regime, 0, alpha, NAN};
    return task_run(job, &t, NULL, r, NULL);
}

/* R*_alpha from the spectrum of B + alpha M0, M0 = W0^T diag(a0) W0 (SPEC §6). */
static double oracle_r_star(const JobSpec *job, int d, int N, double alpha, int positive)
{
    Target *t = data_target_create(job, MODEL_QUADRATIC, d, 0);
    double *W0 = malloc(sizeof(double) * N * d), *a0 = malloc(sizeof(double) * N);
    double *A = malloc(sizeof(double) * d * d), *lam = malloc(sizeof(double) * d);
    task_initial_weights(job, d, N, 0, W0, a0);
    for (int k = 0; k < d; k++)
        for (int l = 0; l < d; l++) {
            double m = 0;
            for (int i = 0; i < N; i++)
                m += a0[i] * W0[i * d + k] * W0[i * d + l];
            A[k * d + l] = t->B[k * d + l] + alpha * m;
        }
    double all = 0;
    for (int k = 0; k < d * d; k++)
        all += A[k] * A[k];
    la_syev_values(d, A, lam);
    double kept = 0;
    for (int k = 0; k < N; k++) { /* by |lambda| (signs free) or the largest positive */
        int arg = -1;
        for (int j = 0; j < d; j++) {
            double v = positive ? lam[j] : fabs(lam[j]);
            if (isfinite(lam[j]) && (arg < 0 || v > (positive ? lam[arg] : fabs(lam[arg]))))
                arg = j;
        }
        if (arg < 0 || (positive && !(lam[arg] > 0)))
            break;
        kept += lam[arg] * lam[arg];
        lam[arg] = NAN;
    }
    double r = 2 * (all - kept);
    free(W0);
    free(a0);
    free(A);
    free(lam);
    data_target_free(t);
    return r;
}

static void lazy_limit(void)
{
    GROUP("alpha vs its linearisation, equal steps");
    JobSpec job = job_for(NN_A_POSITIVE);
    job.nn_steps = 2000;
    job.alpha_horizon = 1e12; /* the budget decides: the same 2000 steps for both */
    job.alpha_tol = 0;
    const double alphas[] = {10, 100, 1000};
    for (int k = 0; k < 3; k++) {
        TaskResult ra, rl;
        int ok = run(&job, REGIME_ALPHA, 30, 10, -1, alphas[k], &ra) == 0 &&
                 run(&job, REGIME_ALPHA_LIN, 30, 10, -1, alphas[k], &rl) == 0;
        double gap = fabs(ra.risk_pop - rl.risk_pop) / ra.r0;
        CHECK(ok && gap <= 0.5 / alphas[k] && ra.iterations == 2000 && ra.stop == STOP_BUDGET,
              "population, alpha = %g: |R - R_lin| = %.3g R0 (<= %.3g)", alphas[k], gap,
              0.5 / alphas[k]);
        CHECK(ok && alphas[k] * ra.theta_dist < 3,
              "alpha |theta - theta0| = %.3g stays bounded", alphas[k] * ra.theta_dist);
    }
    job.nn_steps = 1500;
    for (int k = 0; k < 3; k++) {
        TaskResult ra, rl;
        int ok = run(&job, REGIME_ALPHA, 20, 5, 600, alphas[k], &ra) == 0 &&
                 run(&job, REGIME_ALPHA_LIN, 20, 5, 600, alphas[k], &rl) == 0;
        double gap = fabs(ra.risk_pop - rl.risk_pop) / ra.r0;
        CHECK(ok && gap <= 0.5 / alphas[k], "n = 600, alpha = %g: |R - R_lin| = %.3g R0 (<= %.3g)",
              alphas[k], gap, 0.5 / alphas[k]);
    }
    task_cache_clear();
}

static void class_optimum(void)
{
    GROUP("the class optimum at every alpha");
    JobSpec job = job_for(NN_A_POSITIVE);
    job.nn_steps = 400000;
    job.alpha_horizon = 1e12; /* to convergence */
    job.alpha_tol = 1e-12;
    const double alphas[] = {0.01, 0.1, 1, 10};
    for (int k = 0; k < 4; k++) {
        TaskResult r;
        int rc = run(&job, REGIME_ALPHA, 16, 4, -1, alphas[k], &r);
        double want = oracle_r_star(&job, 16, 4, alphas[k], 1);
        CHECK(rc == 0 && fabs(r.theory - want) <= 1e-10 * r.r0,
              "alpha = %g: theory %.8g = the oracle %.8g", alphas[k], r.theory, want);
        CHECK(rc == 0 && fabs(r.risk_pop - want) <= 1e-4 * r.r0 && task_stop_is_converged(r.stop),
              "alpha = %g, a0 > 0, PSD B: R = %.6f R0 against R* = %.6f R0 (stop %s, %ld steps)",
              alphas[k], r.risk_pop / r.r0, want / r.r0, task_stop_name(r.stop), r.iterations);
    }
    /* the ends: Eckart-Young as alpha -> 0, NT as alpha -> inf, monotone between */
    JobSpec jn = job_for(NN_A_NORMAL);
    double prev = 0;
    int mono = 1;
    const double grid[] = {1e-3, 0.01, 0.1, 1, 10, 100, 1000};
    Target *t = data_target_create(&jn, MODEL_QUADRATIC, 30, 0);
    double *W0 = malloc(sizeof(double) * 300), *a0 = malloc(sizeof(double) * 10);
    task_initial_weights(&jn, 30, 10, 0, W0, a0);
    double ey = theory_nn_opt(t, 10), nt = theory_nt_opt(t, W0, 10), r0 = data_r0(t);
    for (int k = 0; k < 7; k++) {
        double rs = oracle_r_star(&jn, 30, 10, grid[k], 0);
        mono &= rs >= prev - 1e-12 * r0 && rs >= ey - 1e-12 * r0 && rs <= nt + 1e-12 * r0;
        prev = rs;
        if (k == 0)
            CHECK(rs - ey <= 10 * grid[k] * r0, "alpha = 1e-3: R* - EY = %.2g R0, O(alpha)",
                  (rs - ey) / r0);
        if (k == 6)
            CHECK(nt - rs <= 10 / grid[k] * r0, "alpha = 1e3: NT - R* = %.2g R0, O(1/alpha)",
                  (nt - rs) / r0);
    }
    CHECK(mono, "R*_alpha rises from Eckart-Young to NT");
    TaskResult r;
    CHECK(run(&jn, REGIME_ALPHA, 30, 10, -1, 1.0, &r) == 0 &&
              fabs(r.risk_ey - ey) <= 1e-12 * r0 && fabs(r.risk_nt - nt) <= 1e-12 * r0 &&
              fabs(r.theory - oracle_r_star(&jn, 30, 10, 1.0, 0)) <= 1e-10 * r0,
          "stored NT, Eckart-Young and R* (signs free for normal a0)");
    free(W0);
    free(a0);
    data_target_free(t);
    task_cache_clear();
}

static void linearised(void)
{
    GROUP("the linearisation converges to NT");
    JobSpec job = job_for(NN_A_NORMAL);
    job.nn_steps = 400000;
    job.alpha_horizon = 1e12;
    job.alpha_tol = 1e-13;
    TaskResult r, nt;
    int rc = run(&job, REGIME_ALPHA_LIN, 12, 4, -1, 1.0, &r);
    CHECK(rc == 0 && fabs(r.risk_pop - r.risk_nt) <= 1e-6 * r.r0,
          "population: R_lin %.8g = NT %.8g (%ld steps)", r.risk_pop, r.risk_nt, r.iterations);
    rc = run(&job, REGIME_ALPHA_LIN, 10, 3, 300, 1.0, &r);
    int rn = run(&job, REGIME_NT, 10, 3, 300, NAN, &nt);
    CHECK(rc == 0 && rn == 0 && fabs(r.risk_pop - nt.risk_pop) <= 1e-6 * nt.risk_pop &&
              fabs(r.risk_train - nt.risk_train) <= 1e-6 * nt.risk_train,
          "n = 300: linearised GD %.8g (train %.8g) = the NT least-squares fit %.8g (%.8g)",
          r.risk_pop, r.risk_train, nt.risk_pop, nt.risk_train);
    /* n = 20 < p = 27: the data do not pin M; GD from zero picks the interpolant of
     * minimum |(da, G)|, which the nt regime computes (SPEC §1) */
    double Ml[100], Mn[100];
    TaskExtras el = {.M = Ml}, en = {.M = Mn};
    Task tl = {0, job.models[0], 10, 3, 20, REGIME_ALPHA_LIN, 0, 1.0, NAN};
    Task tn = {0, job.models[0], 10, 3, 20, REGIME_NT, 0, NAN, NAN};
    JobSpec js = job;
    js.alpha_lr = 0.01; /* the auto step (population K_0) diverges on 20 samples */
    rc = task_run(&js, &tl, NULL, &r, &el);
    rn = task_run(&job, &tn, NULL, &nt, &en);
    double dm = 0, nm = 0;
    for (int i = 0; i < 100; i++) {
        dm += (Ml[i] - Mn[i]) * (Ml[i] - Mn[i]);
        nm += Mn[i] * Mn[i];
    }
    CHECK(rc == 0 && rn == 0 && sqrt(dm / nm) <= 1e-6 &&
              fabs(r.risk_pop - nt.risk_pop) <= 1e-6 * nt.risk_pop && r.risk_train <= 1e-10 * r.r0,
          "n = 20 < p: linearised GD (train %.3g) = the minimum-|(da, G)| NT fit: |dM|/|M| = %.2g, "
          "R %.8g vs %.8g (%ld steps)", r.risk_train, sqrt(dm / nm), r.risk_pop, nt.risk_pop,
          r.iterations);
    /* the auto horizon */
    JobSpec ja = job_for(NN_A_POSITIVE);
    ja.nn_steps = 1000000;
    rc = run(&ja, REGIME_ALPHA_LIN, 20, 5, -1, 100.0, &r);
    CHECK(rc == 0 && r.stop == STOP_HORIZON && r.t_final > 0 &&
              (r.risk_pop - r.risk_nt) / r.r0 <= ja.alpha_horizon_tol + 1e-3,
          "auto horizon: stop %s at t = %.4g, R_lin - NT = %.3g R0", task_stop_name(r.stop),
          r.t_final, (r.risk_pop - r.risk_nt) / r.r0);
    TaskResult r2;
    CHECK(run(&ja, REGIME_ALPHA, 20, 5, -1, 100.0, &r2) == 0 && r2.t_final == r.t_final &&
              r2.iterations == r.iterations, "alpha and alpha_lin share the steps and horizon");
    task_cache_clear();
}

static void mixture(void)
{
    GROUP("mixture");
    JobSpec job = job_for(NN_A_POSITIVE);
    job.models[0] = MODEL_MIXTURE;
    job.mixture_rank = 3;
    job.nn_steps = 1500;
    job.alpha_horizon = 1e12;
    job.alpha_tol = 0;
    job.test_samples = 500;
    for (int k = 0; k < 2; k++) {
        TaskResult ra, rl;
        long n = k ? 600 : -1;
        int ok = run(&job, REGIME_ALPHA, 20, 5, n, 1000, &ra) == 0 &&
                 run(&job, REGIME_ALPHA_LIN, 20, 5, n, 1000, &rl) == 0;
        CHECK(ok && isfinite(ra.risk_pop) && isfinite(ra.error_test) &&
                  fabs(ra.risk_pop - rl.risk_pop) <= 0.5e-3 * ra.r0,
              "n = %ld, alpha = 1000: R %.6f, R_lin %.6f", n, ra.risk_pop, rl.risk_pop);
    }
    task_cache_clear();
}

/* Gradient flow conserves a_i^2 - |w_i|^2 / 2 (SPEC §6); GD drifts by O(eta). */
static void conserved(void)
{
    GROUP("conserved quantity");
    const int d = 12, N = 4;
    JobSpec job = job_for(NN_A_NORMAL);
    job.alpha_tol = 0;
    job.nn_steps = 10000000;
    double a0[4], W0[48], a[4], W[48], drift[2];
    task_initial_weights(&job, d, N, 0, W0, a0);
    for (int k = 0; k < 2; k++) {
        job.alpha_lr = k ? 2e-3 : 1e-3;
        job.alpha_horizon = 2.0; /* the same time for both steps */
        TaskResult r;
        int rc = run(&job, REGIME_ALPHA, d, N, -1, 1.0, &r);
        drift[k] = NAN;
        if (rc == 0 && alpha_test_last_theta(a, W, N, d) == 0) {
            drift[k] = 0;
            for (int i = 0; i < N; i++) {
                double q0 = a0[i] * a0[i], q = a[i] * a[i];
                for (int l = 0; l < d; l++)
                    q0 -= W0[i * d + l] * W0[i * d + l] / 2, q -= W[i * d + l] * W[i * d + l] / 2;
                drift[k] = fmax(drift[k], fabs(q - q0));
            }
        }
        CHECK(rc == 0 && r.stop == STOP_HORIZON && r.theta_dist > 0.1,
              "eta = %g: ran to t = 2, moved %.3g", job.alpha_lr, r.theta_dist);
    }
    printf("conserved: drift %.3g at eta, %.3g at 2 eta\n", drift[0], drift[1]);
    CHECK(drift[0] < 1e-2 && drift[1] / drift[0] > 1.6 && drift[1] / drift[0] < 2.4,
          "drift of a^2 - |w|^2/2: %.3g at eta, %.3g at 2 eta (ratio %.3f, ~2: O(eta))", drift[0],
          drift[1], drift[1] / drift[0]);
    task_cache_clear();
}

int main(void)
{
    la_init(1);
    lazy_limit();
    class_optimum();
    linearised();
    mixture();
    conserved();
    return th_finish("alpha");
}
