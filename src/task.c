/* task: see include/task.h.
 *
 * Random streams of one task (DESIGN §4; never change, results depend on them):
 *   target    data_target_create: rng_key(seed, RNG_SITE_TARGET, model, d, replicate)
 *   W0 row i  rng_key(seed, RNG_SITE_W0, d, replicate, 0), sub-stream i: d normals
 *             scaled by 1/sqrt(d) (init = gaussian) or rng_sphere (init = sphere); so
 *             the first N rows do not depend on N, nor on the model or the regime
 *   a0_i      rng_key(seed, RNG_SITE_A0, d, replicate, 0), sub-stream i, one normal z:
 *             normal a0 = z, positive a0 = |z|, shared a0 = 1/N for every neuron (the
 *             shared scalar starts at 1 in the mean-field scale (1/N) sum_i)
 *   train     rng_key(seed, RNG_SITE_TRAIN, model << 24 | d, (uint32_t)n, replicate),
 *             sample j = sub-stream j (d < 2^24; n's low 32 bits)
 *   test      rng_key(seed, RNG_SITE_TEST, model, d, replicate), test_samples rows
 *   sgd       rng_key(seed, RNG_SITE_SGD, model, d, replicate) (FitInput.sgd_key)
 *   onestep   rng_key(seed, RNG_SITE_ONESTEP, model << 24 | d, (uint32_t)n0, replicate): the
 *             n0 samples of the one step, their own stream (not the training set's)
 * RF, NT and NN at the same (model, d, N, n, replicate) therefore see the same target,
 * W0, a0, training and test sets.
 * Targets, test sets and training sets are shared by every task of their key: a worker
 * keeps them between tasks (src/datacache.c); task_cache_clear frees them. */
#include "task.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "datacache.h"
#include "linalg.h"
#include "regime.h"
#include "risk.h"
#include "theory.h"
#include "timer.h"

static const char *const cause_names[] = {"none", "nonfinite", "solver", "nomem", "stopped",
                                          "invalid", "crashed"};
static const char *const stop_names[] = {"exact",     "tol",        "budget",
                                         "signal",    "failed",     "converged",
                                         "linesearch", "stalled",   "horizon"};

const char *task_cause_name(int cause)
{
    return cause >= 0 && cause < CAUSE_COUNT ? cause_names[cause] : "?";
}

const char *task_stop_name(int stop)
{
    return stop >= 0 && stop < STOP_COUNT ? stop_names[stop] : "?";
}

void task_result_fill(TaskResult *r)
{
    memset(r, 0, sizeof *r); /* padding too: rows are compared as bytes */
    r->risk_train = r->risk_test = r->risk_pop = r->r0 = r->error_test = NAN;
    r->bayes_error = r->theory = r->residual = r->flops = r->seconds = r->error_floor = NAN;
    r->t_final = r->theta_dist = r->risk_nt = r->risk_ey = r->ebar = r->step_norm = NAN;
    r->risk_rf0 = NAN;
    r->dead = -1;
    r->iterations = -1;
    r->cause = CAUSE_NONE;
    r->stop = -1;
}

int task_stop_is_converged(int stop)
{
    return stop == STOP_EXACT || stop == STOP_CONVERGED || stop == STOP_HORIZON;
}

int task_judge_stop(const JobSpec *job, int regime, long n, int stop, double risk_pop,
                    double theory, double r0)
{
    if (n >= 0 || regime != REGIME_NN || !isfinite(theory) || !(r0 > 0))
        return stop;
    if (stop == STOP_SIGNAL || stop == STOP_FAILED)
        return stop;
    if ((risk_pop - theory) / r0 <= job->nn_opt_tol)
        return STOP_CONVERGED; /* a global certificate, however the fit stopped */
    if (stop == STOP_CONVERGED || stop == STOP_TOL)
        return STOP_STALLED; /* stationary, or no decrease left, above the optimum */
    return stop;             /* budget, linesearch */
}

void task_cache_clear(void) { datacache_clear(); }

void task_initial_weights(const JobSpec *job, int d, int N, int replicate, double *W0,
                          double *a0)
{
    RngKey kw = rng_key(job->seed, RNG_SITE_W0, (uint32_t)d, (uint32_t)replicate, 0);
    RngKey ka = rng_key(job->seed, RNG_SITE_A0, (uint32_t)d, (uint32_t)replicate, 0);
    /* row i of W0 is sub-stream i of kw, a0_i value 0 of sub-stream i of ka */
    if (job->init == INIT_SPHERE) {
        for (int i = 0; i < N; i++)
            rng_sphere(kw, (uint64_t)i, W0 + (size_t)i * d, (size_t)d);
    } else {
        double sq = 1.0 / sqrt((double)d);
        rng_normal_rows(kw, 0, (size_t)N, (size_t)d, W0);
        for (size_t k = 0; k < (size_t)N * d; k++)
            W0[k] *= sq;
    }
    rng_normal_rows(ka, 0, (size_t)N, 1, a0);
    for (int i = 0; i < N; i++) {
        double z = a0[i];
        a0[i] = job->nn_a_init == NN_A_POSITIVE ? fabs(z)
                : job->nn_a_init == NN_A_SHARED ? 1.0 / N
                                                : z;
    }
}

RngKey task_train_key(const JobSpec *job, int model, int d, long n, int replicate)
{
    return rng_key(job->seed, RNG_SITE_TRAIN, ((uint32_t)model << 24) | (uint32_t)d,
                   (uint32_t)n, (uint32_t)replicate);
}

int task_run(const JobSpec *job, const Task *t, const volatile sig_atomic_t *stop,
             TaskResult *res, TaskExtras *extras)
{
    double t0 = timer_now();
    la_flops_reset();
    task_result_fill(res);
    res->iterations = 0;
    res->flops = 0;
    res->seconds = 0;
    res->stop = STOP_EXACT;

    int d = t->d, N = t->N;
    long n = t->n;
    double *W0 = NULL, *a0 = NULL, *M = NULL;
    const double *X = NULL, *y = NULL;
    const Regime *rg = regime_find(job_regime_name(t->regime));
    if (!rg || d <= 0 || N < 0 || n == 0) {
        res->cause = CAUSE_INVALID;
        goto done;
    }
    const CachedTarget *cache = datacache_target(job, t->model, d, t->replicate);
    if (!cache) {
        res->cause = CAUSE_NOMEM;
        goto done;
    }
    const Target *tg = cache->t;
    res->r0 = data_r0(tg);
    res->bayes_error = cache->bayes;
    W0 = malloc(sizeof(double) * (size_t)(N > 0 ? N : 1) * d);
    a0 = malloc(sizeof(double) * (size_t)(N > 0 ? N : 1));
    M = calloc((size_t)d * d, sizeof(double));
    if (!W0 || !a0 || !M) {
        res->cause = CAUSE_NOMEM;
        goto done;
    }
    task_initial_weights(job, d, N, t->replicate, W0, a0);
    if (n > 0) {
        if (datacache_train(job, tg, task_train_key(job, t->model, d, n, t->replicate), t->model,
                            d, n, t->replicate, &X, &y)) {
            res->cause = CAUSE_NOMEM;
            goto done;
        }
    } else {
        datacache_release_train();
    }
    la_flops_reset(); /* targets and samples, shared or not, are not the task's own work */
    FitInput in;
    memset(&in, 0, sizeof in);
    in.job = job;
    in.target = tg;
    in.d = d;
    in.N = N;
    in.n = n;
    in.X = X;
    in.y = y;
    in.W0 = W0;
    in.a0 = a0;
    in.nn_method = job_nn_method(job, n);
    in.nn_optimizer = job->nn_optimizer == NN_OPTIMIZER_LBFGS ? NN_OPT_LBFGS : NN_OPT_BACKTRACK;
    in.sgd_key = rng_key(job->seed, RNG_SITE_SGD, (uint32_t)t->model, (uint32_t)d,
                         (uint32_t)t->replicate);
    in.stop = stop;
    in.Xtest = cache->Xt;
    in.ytest = cache->yt;
    in.n_test = cache->n_test;
    /* The class optimum first: at n = inf a fit may stop once it is reached. */
    res->theory = t->regime == REGIME_NN && job->nn_a_init == NN_A_SHARED
                      ? theory_nn_shared_opt(tg, N) /* M = s W^T W, s of either sign */
                      : theory_class_opt(tg, t->regime, W0, N);
    in.r_star = n < 0 ? res->theory : NAN;
    in.alpha = t->alpha;
    in.eta = t->eta;
    in.n0 = job_n_value(&job->onestep_n0[0], d, N);
    in.onestep_key = rng_key(job->seed, RNG_SITE_ONESTEP, ((uint32_t)t->model << 24) | (uint32_t)d,
                             (uint32_t)in.n0, (uint32_t)t->replicate);
    FitOutput out;
    memset(&out, 0, sizeof out);
    out.M = M;
    out.theory = out.t_final = out.theta_dist = out.risk_nt = out.risk_ey = NAN;
    out.ebar = out.step_norm = out.risk_rf0 = NAN;
    out.dead = -1;
    out.W1 = extras ? extras->W1 : NULL;
    if (extras && job->curve_points > 0 && extras->curve_train) {
        out.n_curve = job->curve_points;
        out.curve_train = extras->curve_train;
        out.curve_test = extras->curve_test;
        out.curve_steps = extras->curve_steps;
    }
    int frc = rg->fit(&in, &out);
    res->iterations = out.iterations;
    res->residual = out.residual;
    res->stop = out.stop;
    res->restarts = out.restarts;
    if (t->regime > REGIME_NULL) /* the regimes beyond the paper know their own optimum */
        res->theory = out.theory;
    res->t_final = out.t_final;
    res->theta_dist = out.theta_dist;
    res->dead = out.dead;
    res->risk_nt = out.risk_nt;
    res->risk_ey = out.risk_ey;
    res->ebar = out.ebar;
    res->step_norm = out.step_norm;
    res->risk_rf0 = out.risk_rf0;
    if (frc != 0) {
        res->cause = out.cause != CAUSE_NONE ? out.cause : CAUSE_SOLVER;
        if (stop && *stop && res->cause != CAUSE_STOPPED && t->regime == REGIME_NN)
            res->cause = CAUSE_STOPPED;
        goto done;
    }
    /* Every metric the task has must be finite: a DONE row never holds a NaN. */
    int bad = 0, nomem = 0;
    if (n > 0)
        nomem |= risk_eval(d, out.c, M, n, X, y, &res->risk_train, NULL) != 0;
    if (cache->n_test > 0)
        nomem |= risk_eval(d, out.c, M, cache->n_test, cache->Xt, cache->yt, &res->risk_test,
                           t->model == MODEL_MIXTURE ? &res->error_test : NULL) != 0;
    res->risk_pop = data_pop_risk(tg, out.c, M);
    if (t->model == MODEL_MIXTURE)
        res->error_floor = data_lsq_error(tg, tg->s);
    bad |= !isfinite(out.c) || !isfinite(res->risk_pop) || !isfinite(res->r0);
    bad |= n > 0 && !isfinite(res->risk_train);
    bad |= cache->n_test > 0 && !isfinite(res->risk_test);
    bad |= cache->n_test > 0 && t->model == MODEL_MIXTURE && !isfinite(res->error_test);
    if (nomem || bad) {
        res->cause = nomem ? CAUSE_NOMEM : CAUSE_NONFINITE;
        res->stop = STOP_FAILED;
        goto done;
    }
    res->stop = task_judge_stop(job, t->regime, n, res->stop, res->risk_pop, res->theory,
                                res->r0);
    if (extras) {
        if (extras->M)
            memcpy(extras->M, M, sizeof(double) * (size_t)d * d);
        if (extras->c)
            *extras->c = out.c;
    }
done:
    if (extras && W0 && a0 && res->cause != CAUSE_INVALID) {
        if (extras->W0)
            memcpy(extras->W0, W0, sizeof(double) * (size_t)N * d);
        if (extras->a0)
            memcpy(extras->a0, a0, sizeof(double) * (size_t)N);
    }
    free(W0);
    free(a0);
    free(M);
    res->flops = la_flops();
    res->seconds = timer_now() - t0;
    return res->cause == CAUSE_NONE ? 0 : -1;
}
