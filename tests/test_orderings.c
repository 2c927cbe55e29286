/* test_orderings: SPEC §4 facts on trained models, through task_run (population and
 * finite n): R_RF >= R_NT always (nested classes, same W0); R_NT >= R_NN for
 * semidefinite targets (exponential, lowrank) with NN trained to its class optimum
 * (varpro); NT and NN reach ~0 for N >= d; and for the mixture the Bayes error is a
 * floor under every regime's 0-1 error, which NN with N >= s approaches. */
#include <math.h>

#include "harness.h"
#include "job.h"
#include "linalg.h"
#include "task.h"

static double run(const JobSpec *job, int model, int d, int N, long n, int regime, TaskResult *r)
{
    Task t = {0, model, d, N, n, regime, 0, NAN, NAN};
    int rc = task_run(job, &t, NULL, r, NULL);
    CHECK(rc == 0, "task d=%d N=%d n=%ld regime %s ran (cause %s)", d, N, n,
          job_regime_name(regime), task_cause_name(r->cause));
    return r->risk_pop / r->r0;
}

static void quadratic(int target)
{
    JobSpec job;
    job_defaults(&job);
    job.target = target;
    job.rank = 3;
    job.nn_method = NN_METHOD_VARPRO;
    job.nn_steps = 3000;
    job.test_samples = 500;
    const int d = 12, Ns[] = {2, 4, 6, 9, 12, 16};
    const long ns[] = {-1, 4L * d * d};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 6; i++) {
            TaskResult r;
            int N = Ns[i];
            double rf = run(&job, MODEL_QUADRATIC, d, N, ns[k], REGIME_RF, &r);
            double nt = run(&job, MODEL_QUADRATIC, d, N, ns[k], REGIME_NT, &r);
            double nn = run(&job, MODEL_QUADRATIC, d, N, ns[k], REGIME_NN, &r);
            /* population: exact optima, so only rounding slack (1e-9); finite n: each
             * regime's fit is exact for its own training risk, and the population
             * risk ordering holds with a statistical slack of 0.02 R0 at n = 4d^2 */
            double tol = ns[k] < 0 ? 1e-9 : 0.02;
            CHECK(rf >= nt - tol, "%s N=%d n=%ld: RF %.6f >= NT %.6f", job_target_name(target),
                  N, ns[k], rf, nt);
            CHECK(nt >= nn - (ns[k] < 0 ? 1e-6 : tol), "%s N=%d n=%ld: NT %.6f >= NN %.6f",
                  job_target_name(target), N, ns[k], nt, nn);
            if (N >= d && ns[k] < 0) {
                CHECK(nt < 1e-9, "NT ~ 0 for N >= d (%.3g)", nt);
                CHECK(nn < 1e-6, "NN ~ 0 for N >= d (%.3g)", nn);
            }
        }
    task_cache_clear();
}

static void mixture(void)
{
    JobSpec job;
    job_defaults(&job);
    job.models[0] = MODEL_MIXTURE;
    job.mixture_rank = 2;
    job.mixture_delta = 0.6;
    job.nn_method = NN_METHOD_VARPRO;
    job.nn_steps = 2000;
    job.test_samples = 40000;
    const int d = 10;
    double se = sqrt(0.25 / job.test_samples); /* binomial SE of a 0-1 error near 1/2 */
    for (int N = 1; N <= 4; N++) {
        TaskResult rf, nt, nn;
        run(&job, MODEL_MIXTURE, d, N, -1, REGIME_RF, &rf);
        run(&job, MODEL_MIXTURE, d, N, -1, REGIME_NT, &nt);
        run(&job, MODEL_MIXTURE, d, N, -1, REGIME_NN, &nn);
        double bayes = nn.bayes_error;
        CHECK(bayes <= rf.error_test + 3 * se && bayes <= nt.error_test + 3 * se &&
                  bayes <= nn.error_test + 3 * se,
              "N=%d: Bayes %.4f under RF %.4f, NT %.4f, NN %.4f (3 SE)", N, bayes, rf.error_test,
              nt.error_test, nn.error_test);
        if (N >= job.mixture_rank)
            /* the square-loss optimum M is proportional to U U^T: its sign rule is the
             * Bayes rule up to the threshold; 0.01 + 3 SE of slack */
            CHECK(nn.error_test <= bayes + 0.01 + 3 * se, "N=%d >= s: NN error %.4f near Bayes %.4f",
                  N, nn.error_test, bayes);
    }
    task_cache_clear();
}

int main(void)
{
    la_init(1);
    GROUP("exponential target");
    quadratic(TARGET_EXPONENTIAL);
    GROUP("lowrank target");
    quadratic(TARGET_LOWRANK);
    GROUP("mixture");
    mixture();
    return th_finish("orderings");
}
