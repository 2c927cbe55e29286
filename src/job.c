/* job: TEMPORARY STUB (defaults and names only); the real parser replaces it. */
#include "job.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void job_defaults(JobSpec *job)
{
    memset(job, 0, sizeof *job);
    snprintf(job->name, sizeof job->name, "unnamed");
    job->seed = 1;
    job->replicates = 1;
    job->n_models = 1;
    job->models[0] = MODEL_QUADRATIC;
    job->target = TARGET_EXPONENTIAL;
    job->rank = 5;
    job->mixture_rank = 4;
    job->mixture_delta = 0.5;
    job->init = INIT_GAUSSIAN;
    job->nn_method = NN_METHOD_DEFAULT;
    job->nn_a_init = NN_A_NORMAL;
    job->nn_steps = 2000;
    job->nn_lr = 0;
    job->nn_batch = 100;
    job->nn_tol = 1e-10;
    job->test_samples = 10000;
}

long job_n_value(const NSpec *ns, int d, int N)
{
    double f = 1;
    switch (ns->form) {
    case NFORM_INF: return -1;
    case NFORM_ABS: f = 1; break;
    case NFORM_D: f = d; break;
    case NFORM_D2: f = (double)d * d; break;
    case NFORM_ND: f = (double)N * d; break;
    }
    return lround(ns->coef * f);
}

int job_nn_method(const JobSpec *job, long n)
{
    if (job->nn_method == NN_METHOD_DEFAULT)
        return n < 0 ? NN_METHOD_POPULATION : NN_METHOD_GD;
    return job->nn_method;
}

static const char *const model_names[] = {"quadratic", "mixture"};
static const char *const target_names[] = {"exponential", "wigner", "lowrank", "signed"};
static const char *const regime_names[] = {"rf", "nt", "nn", "null"};
static const char *const method_names[] = {"default", "gd", "sgd", "population", "varpro"};
static const char *const a_init_names[] = {"normal", "positive", "shared"};

const char *job_model_name(int m) { return m >= 0 && m < MODEL_COUNT ? model_names[m] : "?"; }
const char *job_target_name(int t) { return t >= 0 && t < TARGET_COUNT ? target_names[t] : "?"; }
const char *job_regime_name(int r) { return r >= 0 && r < REGIME_COUNT ? regime_names[r] : "?"; }
const char *job_nn_method_name(int m) { return m >= 0 && m <= NN_METHOD_VARPRO ? method_names[m] : "?"; }
const char *job_a_init_name(int a) { return a >= 0 && a <= NN_A_SHARED ? a_init_names[a] : "?"; }

int job_load(const char *path, JobSpec *job, char *err, size_t errlen)
{
    (void)job;
    snprintf(err, errlen, "%s: job parser not implemented yet", path);
    return -1;
}
