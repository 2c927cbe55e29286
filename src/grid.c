/* grid: the task table and its memory model (see include/grid.h).
 * Order: model, d, N, n, regime, replicate — each axis in the order the job lists
 * it. Each task also gets a packed key of its axis indices; keys increase with the
 * id, so grid_id is a binary search. */
#include "grid.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost.h"
#include "log.h"
#include "regime.h"

/* Packed key: model 4 bits, d/N/n indices 8 bits each, regime 4 bits, axis index
 * (alpha or eta) 8 bits, replicate 24. */
static uint64_t pack(int mi, int di, int wi, int ni, int ri, int ai, int rep)
{
    return ((uint64_t)mi << 60) | ((uint64_t)di << 52) | ((uint64_t)wi << 44) |
           ((uint64_t)ni << 36) | ((uint64_t)ri << 32) | ((uint64_t)ai << 24) | (uint64_t)rep;
}

/* Values on the regime's own axis (1 for regimes without one). */
static int axis_len(const JobSpec *job, int regime)
{
    switch (job_regime_axis(regime)) {
    case AXIS_ALPHA: return job->n_alpha;
    case AXIS_ETA: return job->n_eta;
    default: return 1;
    }
}


static int width_at(const JobSpec *job, int w, int d)
{
    return job->width_is_rho ? (int)lround(job->rho[w] * d) : job->N[w];
}

/* Is width w at dimension d a repeat of an earlier width in the list? */
static int width_dup(const JobSpec *job, int w, int d)
{
    int N = width_at(job, w, d);
    for (int k = 0; k < w; k++)
        if (width_at(job, k, d) == N)
            return 1;
    return 0;
}

/* The first width index that is not a duplicate at d (where width-free regimes run). */
static int first_width(const JobSpec *job, int d)
{
    for (int w = 0; w < job->n_width; w++)
        if (!width_dup(job, w, d))
            return w;
    return 0;
}

static int n_dup(const JobSpec *job, int i, int d, int N)
{
    long n = job_n_value(&job->n[i], d, N);
    for (int k = 0; k < i; k++)
        if (job_n_value(&job->n[k], d, N) == n)
            return 1;
    return 0;
}

/* Walks the grid; with tasks == NULL it only counts. */
static long walk(const JobSpec *job, Task *tasks, uint64_t *keys, int *dup_w, int *dup_n)
{
    long count = 0;
    *dup_w = *dup_n = 0;
    for (int mi = 0; mi < job->n_models; mi++)
        for (int di = 0; di < job->n_d; di++) {
            int d = job->d[di];
            for (int wi = 0; wi < job->n_width; wi++) {
                if (width_dup(job, wi, d)) {
                    (*dup_w)++;
                    continue;
                }
                int N = width_at(job, wi, d);
                for (int ni = 0; ni < job->n_n; ni++) {
                    if (n_dup(job, ni, d, N)) {
                        (*dup_n)++;
                        continue;
                    }
                    long n = job_n_value(&job->n[ni], d, N);
                    for (int ri = 0; ri < job->n_regimes; ri++) {
                        int r = job->regimes[ri], wide = job_regime_has_width(r);
                        if (!wide && wi != first_width(job, d))
                            continue; /* krr: one task per (model, d, n, replicate) */
                        for (int ai = 0; ai < axis_len(job, r); ai++)
                            for (int rep = 0; rep < job->replicates; rep++) {
                                if (tasks) {
                                    Task *t = &tasks[count];
                                    t->id = count;
                                    t->model = job->models[mi];
                                    t->d = d;
                                    t->N = wide ? N : 0;
                                    t->n = n;
                                    t->regime = r;
                                    t->replicate = rep;
                                    t->alpha = job_regime_axis(r) == AXIS_ALPHA ? job->alpha[ai] : NAN;
                                    t->eta = job_regime_axis(r) == AXIS_ETA ? job->eta[ai] : NAN;
                                    keys[count] = pack(mi, di, wi, ni, ri, ai, rep);
                                }
                                count++;
                                if (count > GRID_MAX_TASKS)
                                    return count;
                            }
                    }
                }
            }
        }
    return count;
}

/* The message for a grid over the cap: the axes' product (in 64 bits, checked), blamed on
 * the key with the longest axis. */
static void too_many(const JobSpec *job, char *err, size_t errlen)
{
    static const char *const sec[] = {"model", "grid", "grid", "grid", "grid", "sweep"};
    static const char *const name[] = {"kind", "d", "rho", "n", "regime", "replicates"};
    static const char *const unit[][2] = {{"model", "models"}, {"d", "d"}, {"width", "widths"},
                                          {"n", "n"}, {"regime", "regimes"}, {"replicate", "replicates"}};
    long axis[6] = {job->n_models, job->n_d, job->n_width, job->n_n, job->n_regimes, job->replicates};
    int64_t product = 1;
    int big = 0, overflow = 0;
    char factors[200] = "";
    for (int a = 0; a < 6; a++) {
        overflow |= __builtin_mul_overflow(product, (int64_t)axis[a], &product);
        if (axis[a] >= axis[big])
            big = a;
        size_t used = strlen(factors);
        snprintf(factors + used, sizeof factors - used, "%s%ld %s", a ? " x " : "", axis[a], unit[a][axis[a] != 1]);
    }
    char where[600];
    job_where(job, sec[big], big == 2 && !job->width_is_rho ? "N" : name[big], where, sizeof where);
    if (overflow)
        snprintf(err, errlen, "%s: expected at most %ld tasks, got more than 2^63 (%s); split the "
                 "sweep into several jobs", where, GRID_MAX_TASKS, factors);
    else
        snprintf(err, errlen, "%s: expected at most %ld tasks, got %lld (%s, before dropping "
                 "duplicates); split the sweep into several jobs", where, GRID_MAX_TASKS,
                 (long long)product, factors);
}

int grid_build(const JobSpec *job, Grid *grid, int warn, char *err, size_t errlen)
{
    memset(grid, 0, sizeof *grid);
    int dup_w, dup_n;
    long count = walk(job, NULL, NULL, &dup_w, &dup_n);
    if (count > GRID_MAX_TASKS) {
        too_many(job, err, errlen);
        return -1;
    }
    if (count == 0) {
        snprintf(err, errlen, "%s: the grid has no tasks", job->path);
        return -1;
    }
    if (job->replicates >= (1 << 24)) {
        snprintf(err, errlen, "%s: [sweep] replicates: expected < 16777216", job->path);
        return -1;
    }
    grid->tasks = ls_malloc(sizeof(Task) * (size_t)count);
    grid->keys = ls_malloc(sizeof(uint64_t) * (size_t)count);
    grid->count = walk(job, grid->tasks, grid->keys, &grid->dup_width, &grid->dup_n);
    if (warn && grid->dup_width)
        log_warn("%s: %d (d, width) pairs repeat an earlier width after rounding N = rho*d; "
                 "dropped", job->path, grid->dup_width);
    if (warn && grid->dup_n)
        log_warn("%s: %d (d, N, n) points repeat an earlier n; dropped", job->path, grid->dup_n);
    return 0;
}

void grid_free(Grid *grid)
{
    if (!grid)
        return;
    free(grid->tasks);
    free(grid->keys);
    memset(grid, 0, sizeof *grid);
}

const Task *grid_task(const Grid *grid, long id)
{
    return id >= 0 && id < grid->count ? &grid->tasks[id] : NULL;
}

long grid_id(const Grid *grid, const JobSpec *job, const Task *t)
{
    int mi = -1, di = -1, wi = -1, ni = -1, ri = -1;
    for (int i = 0; i < job->n_models; i++)
        if (job->models[i] == t->model)
            mi = i;
    for (int i = 0; i < job->n_d; i++)
        if (job->d[i] == t->d)
            di = i;
    for (int i = 0; i < job->n_regimes; i++)
        if (job->regimes[i] == t->regime)
            ri = i;
    if (mi < 0 || di < 0 || ri < 0 || t->replicate < 0 || t->replicate >= job->replicates)
        return -1;
    int wide = job_regime_has_width(t->regime), ai = -1;
    if (!wide)
        wi = t->N == 0 ? first_width(job, t->d) : -1;
    for (int i = 0; wide && i < job->n_width && wi < 0; i++)
        if (width_at(job, i, t->d) == t->N)
            wi = i; /* the first occurrence is the one kept */
    int Nw = wi >= 0 ? width_at(job, wi, t->d) : 0;
    for (int i = 0; wi >= 0 && i < job->n_n && ni < 0; i++)
        if (job_n_value(&job->n[i], t->d, Nw) == t->n)
            ni = i;
    switch (job_regime_axis(t->regime)) { /* exact values: they come from the job itself */
    case AXIS_ALPHA:
        for (int i = 0; i < job->n_alpha && ai < 0; i++)
            if (job->alpha[i] == t->alpha)
                ai = i;
        break;
    case AXIS_ETA:
        for (int i = 0; i < job->n_eta && ai < 0; i++)
            if (job->eta[i] == t->eta)
                ai = i;
        break;
    default: ai = 0;
    }
    if (wi < 0 || ni < 0 || ai < 0)
        return -1;
    uint64_t key = pack(mi, di, wi, ni, ri, ai, t->replicate);
    long lo = 0, hi = grid->count - 1;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (grid->keys[mid] == key)
            return mid;
        if (grid->keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* ---- memory model ----------------------------------------------------------------
 * Peak memory of the task's own arrays, by the regimes' algorithms (SPEC §1); the flops
 * (and seconds) are the cost model's (src/cost.c). Sizes the memory check of `plan`. */

static double nt_params(int d, int N)
{
    return N >= d ? 0.5 * d * (d + 1.0) + 1 : (double)N * d - 0.5 * N * (N - 1.0) + 1;
}

TaskCost grid_cost(const JobSpec *job, const Task *t)
{
    double d = t->d, N = t->N, n = t->n > 0 ? (double)t->n : 0;
    double Nq = N < d ? N : d; /* NT's row space has dimension min(N, d) */
    double nt = (double)job->test_samples;
    TaskCost c = {cost_task(job, t).flops_total, 0};
    c.bytes += 8.0 * ((n + nt) * d + 4.0 * d * d + 3.0 * N * d + 2.0 * n + nt);
    switch (t->regime) {
    case REGIME_RF: /* features in 4096-row blocks unless small (regime_rf.c) */
        c.bytes += 8.0 * ((n * N <= 2097152 ? n * (N + 1) : 4096.0 * (N + 1)) + 3.0 * (N + 1) * (N + 1));
        break;
    case REGIME_NT: { /* solver choice as in regime_nt.c */
        double p = nt_params(t->d, t->N) - 1; /* independent parameters of M */
        if (n <= 0) {
            c.bytes += 8.0 * 3.0 * d * d;
            break;
        }
        /* the parameter metric S (ridge, or the data do not pin M): O(N Nq^2) per product */
        int metric = !(job->ridge == 0 && n > p);
        c.bytes += 8.0 * n * (d + Nq + 2); /* X in the Q basis, and its N-block */
        switch (nt_solver_for(n, p, job->ridge)) {
        case NT_SOLVER_EXPLICIT: c.bytes += 8.0 * (n * p + (metric ? p * p + n * p : 0)); break;
        case NT_SOLVER_NORMAL: c.bytes += 8.0 * (metric ? 4.0 : 2.0) * p * p; break;
        case NT_SOLVER_KERNEL: c.bytes += 8.0 * 4.0 * n * n; break;
        default: c.bytes += 8.0 * 6.0 * Nq * d; /* CG */
        }
        break;
    }
    case REGIME_NN: {
        int method = job_nn_method(job, t->n);
        /* losses in blocks of 2^17 entries (nn.c); L-BFGS pairs; varpro's N x N systems */
        c.bytes += 8.0 * (131072.0 + 22.0 * N * d + 2.0 * d * d +
                          (method == NN_METHOD_VARPRO ? 5.0 * N * N : 0) +
                          /* varpro at finite n keeps X W^T up to 2^23 entries */
                          (method == NN_METHOD_VARPRO && n > 0 ? fmin(n * N, 8388608.0) : 0) +
                          (method == NN_METHOD_SGD ? job->nn_batch * (d + N) : 0));
        break;
    }
    case REGIME_ALPHA:
    case REGIME_ALPHA_LIN:
        c.bytes += 8.0 * (131072.0 + 8.0 * N * d + 4.0 * d * d);
        break;
    case REGIME_ONESTEP: { /* the step on n0 samples, then the RF readout */
        long n0 = job_n_value(&job->onestep_n0[0], t->d, t->N);
        double s0 = n0 > 0 ? (double)n0 : 0;
        c.bytes += 8.0 * (s0 * d + 2.0 * N * d + 3.0 * (N + 1) * (N + 1) +
                          (n * N <= 2097152 ? n * (N + 1) : 4096.0 * (N + 1)));
        break;
    }
    case REGIME_KRR_RF:
    case REGIME_KRR_NT: { /* solver choice as in regime_krr.c (P = d(d+1)/2 features) */
        int direct = job->krr_solver == KRR_SOLVER_DIRECT ||
                     (job->krr_solver == KRR_SOLVER_AUTO && n <= job->krr_max_direct);
        double P = (double)d * (d + 1) / 2;
        if (n <= 0)
            break;
        if (!direct)
            c.bytes += 8.0 * (2.0 * n * d + 8.0 * d * d);
        else if (n <= P)
            c.bytes += 8.0 * (n * n + n * d);
        else if (n * P <= 4194304)
            c.bytes += 8.0 * (2.0 * n * P + 2.0 * P * P);
        else
            c.bytes += 8.0 * (3.0 * P * P + 1024.0 * P);
        break;
    }
    default:
        break;
    }
    return c;
}
