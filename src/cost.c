/* cost: see include/cost.h.
 *
 * Flop counts follow the regimes' algorithms (SPEC §1; the solver choices of
 * regime_rf.c, regime_nt.c, regime_krr.c) and are checked against the counted flops of
 * real runs by `plan --calibrate` (the "flops" columns). Iterative fits use typical
 * iteration counts (the *_iterations functions below), never the budget, except where
 * the method always spends it (SGD). */
#include "cost.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regime.h"

/* ---- the constants --------------------------------------------------------------
 * Measured with 1 rank (rank 0 runs every task, BLAS on 1 thread) on the 2-core
 * development machine (machine A of docs/BENCH.md), shared with other work (load
 * averages 1-7; the constants follow the runs at load <= 3, where a task gets most of a
 * core), by `lazysweep plan --calibrate` on the results of every job in jobs/ (full, and
 * the scaled copies of bench/plan_check.sh) and bench/mixed.ini: each rate is what the
 * families whose work is mostly of that kernel class ran at ("GF/s" there).
 * Re-calibrate: run bench/plan_check.sh, or `lazysweep plan --calibrate FILE JOB` on any
 * finished run, and copy the suggested rates here. */
static const CostRates cost_default = {
    .rate = {
        [COST_K_DENSE] = 55e9,  /* NT / KRR solves, theory, risks at d >> dense_m: 14-22
                                 * GF/s seen at d = 30-45, 27 at d = 80-100, 4-9 at d = 20 */
        [COST_K_GRAM] = 55e9,   /* RF's N x N systems and n x N features at max(d, N) >>
                                 * dense_m: 52 GF/s at N = 2560 (DGEMM 400^3: ~49) */
        [COST_K_NN] = 40e9,     /* NN objective + gradient (over n samples, or at n = inf),
                                 * at d >> nn_d: 10 GF/s seen at d = 30-40, 19 at d = 50-100,
                                 * 26 at d = 450 (n = inf, load 3); after varpro's reuse of
                                 * the RF solve's products, plan --calibrate suggested 35-54
                                 * on demo, learning-curve, paper-mixture, -population, mixed */
        [COST_K_STREAM] = 15e9, /* GD steps at n = inf (alpha: 14 GF/s) */
        [COST_K_BATCH] = 35e9,  /* full-batch GD at finite n: 31-41 GF/s at d = 40, N = 10-60
                                 * (bench/e2e.ini, nn.c's fused pass and moment route) */
    },
    .dense_m = 80,              /* dense rates are rate * m / (m + dense_m): m = d, and
                                 * m = max(d, N) for the gram class (work >= linear in N, so
                                 * seconds still grow with N) */
    .nn_d = 60,                 /* the NN rate is rate * d / (d + nn_d): thin X W^T */
    .normal_s = 5e-9,           /* per normal drawn (and y = x^T B x's bookkeeping): 4 ns
                                 * for rng_normal_rows (bench/kernels: 250 M normals/s,
                                 * AVX-512), and SGD's step time against N on the scalar
                                 * sampler was 6100 normals x 25 ns + its flops */
    .task_s = 1e-4,             /* W0 setup, result row, malloc of the task's arrays: the
                                 * smallest tasks (alpha, d = 20) take 0.15 ms in all */
    .iter_s = 40e-6,            /* per varpro iteration at n = inf besides its flops (line
                                 * search, small LAPACK calls): 75 us an iteration at d = 30 */
};

const CostRates *cost_rates(void) { return &cost_default; }

double cost_kernel_rate(int k, int d, int N)
{
    double r = cost_default.rate[k], m = k == COST_K_GRAM && N > d ? N : d;
    if (k == COST_K_DENSE || k == COST_K_GRAM)
        return r * m / (m + cost_default.dense_m);
    return k == COST_K_NN ? r * d / (d + cost_default.nn_d) : r;
}

static const char *const kernel_names[COST_K_COUNT] = {"dense", "gram", "nn", "stream", "batch"};

const char *cost_kernel_name(int k) { return k >= 0 && k < COST_K_COUNT ? kernel_names[k] : "?"; }

/* ---- typical iteration counts -----------------------------------------------------
 * Fitted by eye to the iterations recorded in results files (jobs/demo.ini,
 * learning-curve.ini, paper-mixture.ini, paper-quadratic-population.ini, lazy-rich.ini,
 * bench/mixed.ini; 1 rank): typical, not worst case, and always capped by the budget. */

static double nt_params(double d, double N)
{
    return N >= d ? 0.5 * d * (d + 1.0) + 1 : N * d - 0.5 * N * (N - 1.0) + 1;
}

/* Variable projection. n = inf: ~20 sqrt(N) up to N ~ d/2, then flat (30-200 seen).
 * Finite n, by r = n / p (p = N d - N(N-1)/2, the class's parameter count): below
 * interpolation (r < 0.6) it fits fast, ~200 r; then a ramp to the threshold r = 1,
 * where it often spends the budget, ~6 x the base 25 sqrt(min(N, d)); beyond, base
 * (1 + 5 r^-0.9) (falling slower than 1/r, so the cost still grows with n); half the
 * base at N >= d. The cost is monotone
 * in n, not in N: at fixed n a wider net can leave the slow threshold (as measured).
 * Sum of predicted / recorded iterations, flop-weighted: ~0.9 demo, ~0.7
 * learning-curve, ~1.4 paper-mixture. */
static double varpro_iterations(const JobSpec *job, const Task *t)
{
    double d = t->d, N = t->N, it;
    if (t->n < 0) {
        it = 20.0 * sqrt(fmax(1.0, fmin(N, 0.5 * d)));
    } else {
        double r = (double)t->n / nt_params(d, N);
        double base = 25.0 * sqrt(fmin(N, d)) * (N >= d ? 0.5 : 1);
        it = r < 0.6 ? fmax(10.0, 200.0 * r)
             : r < 1 ? 120 + (6 * base - 120) * (r - 0.6) / 0.4 /* the ramp to the bump */
                     : base * (1 + 5 * pow(r, -0.9));
    }
    return fmin(it, (double)job->nn_steps);
}

/* GD / L-BFGS on (a, W) (nn_method = gd, population): slower than varpro. */
static double gd_iterations(const JobSpec *job, const Task *t)
{
    return fmin(100.0 * sqrt((double)t->N), (double)job->nn_steps);
}

/* The alpha regimes (SPEC §6), jobs/lazy-rich.ini at d = 20: ~25 N steps to the horizon
 * for alpha >= 1; below, the step eta_1 alpha^(4/3) makes the linearised run take
 * alpha^(-4/3) times more (to the budget), the non-linear one ~alpha^(-0.9) (it
 * converges first). */
static double alpha_iterations(const JobSpec *job, const Task *t)
{
    double a = t->alpha > 0 ? fmin(1.0, t->alpha) : 1;
    double p = t->regime == REGIME_ALPHA_LIN ? 4.0 / 3.0 : 0.9;
    return fmin(25.0 * t->N * pow(a, -p), (double)job->nn_steps);
}

/* ---- per task ---------------------------------------------------------------------- */

/* RF's N x N solve (regime_rf.c gram_solve): Gram matrix (syrk, B's quadratic form),
 * Cholesky; the pseudo-inverse (a full eigendecomposition, 9 N^3 as la_syev counts)
 * when the matrix is singular: N > d(d+1)/2 features span no more, or fewer samples.
 * d = 0: the solve alone. */
static double rf_gram_flops(double d, double N, int singular)
{
    double f = N * N * d + 2.0 * N * d * d + N * N * N / 3 + 4.0 * N * N;
    if (singular)
        f += 9.0 * N * N * N + 4.0 * N * N;
    return f;
}

/* The NN fit at N >= d and auto is NT's solve (regime_nn.c, nn_is_convex_case). */
static int nn_is_nt(const JobSpec *job, const Task *t)
{
    long P = (long)t->d * (t->d + 1) / 2;
    return job->nn_method == NN_METHOD_DEFAULT && job->nn_a_init != NN_A_SHARED &&
           job->ridge == 0 && job->curve_points == 0 && t->N >= t->d && (t->n < 0 || t->n >= P + 1);
}

static void nt_fit_flops(const JobSpec *job, double d, double N, double n, int mixture,
                         double *f)
{
    double Nq = N < d ? N : d, p = nt_params(d, N);
    if (n <= 0) { /* closed form (QR, B in Q coordinates); mixture: CG on the class */
        f[COST_K_DENSE] += 12.0 * d * d * d;
        if (mixture)
            f[COST_K_STREAM] += 30.0 * 8.0 * d * d * d / 4;
        return;
    }
    f[COST_K_DENSE] += 4.0 * d * d * d + 2.0 * n * d * d; /* QR, X Q */
    /* the solver regime_nt.c picks; the parameter metric S where a ridge is set or the
     * data do not pin M (O(N Nq^2) per product with S) */
    double q = p - 1; /* independent parameters of M */
    int metric = !(job->ridge == 0 && n > q);
    double op = 4.0 * n * Nq * d + (metric ? 4.0 * N * Nq * Nq : 0);
    double white = metric ? 4.0 * q * N * Nq * Nq + q * q * q / 3 : 0;
    /* CG iterations: ~240, 84, 44, 29 at n = 1.25, 2, 4, 8 q (bench/nt_solvers) */
    double cg_it = n > 1.1 * q ? 20.0 + 64.0 * q / (n - q) : 200.0;
    switch (nt_solver_for(n, q, job->ridge)) {
    case NT_SOLVER_EXPLICIT: /* the explicit design, dgelsd as counted */
        f[COST_K_DENSE] += 4.0 * n * q * fmin(n, q) + white + (metric ? 2.0 * n * q * q : 0);
        break;
    case NT_SOLVER_NORMAL: /* normal equations: syrk, Cholesky */
        f[COST_K_DENSE] += n * q * q + q * q * q / 3 + white + (metric ? 4.0 * q * q * q : 0);
        break;
    case NT_SOLVER_KERNEL: /* the n x n kernel K_N */
        f[COST_K_DENSE] += n * n * N + 2.0 * n * N * Nq + 2.0 * n * n * (Nq + d) + n * n * n / 3;
        break;
    default:
        f[COST_K_DENSE] += cg_it * op;
    }
}

CostTask cost_task(const JobSpec *job, const Task *t)
{
    CostTask c;
    memset(&c, 0, sizeof c);
    double *f = c.flops;
    double d = t->d, N = t->N, n = t->n > 0 ? (double)t->n : 0;
    double nt = (double)job->test_samples;
    int mixture = t->model == MODEL_MIXTURE;
    /* risks: test (and training) set through X M, the population risk */
    f[COST_K_DENSE] += 2.0 * (nt + n) * d * d + 2.0 * d * d * d;
    switch (t->regime) {
    case REGIME_RF: { /* the fit, and theory: the population solve (the fit's own at n = inf) */
        double P = d * (d + 1) / 2; /* rank bound of the Gram matrix of <w_i, x>^2 */
        f[COST_K_GRAM] += (n > 0 ? 1 : 2) * rf_gram_flops(d, N, N > P);
        if (n > 0 && n * N <= 2097152) /* features, then the centred design by dgelsd */
            f[COST_K_GRAM] += 2.0 * n * N * d + 4.0 * n * N * fmin(n, N);
        else if (n > 0) /* normal equations in row blocks, the N x N solve */
            f[COST_K_GRAM] += 2.0 * n * N * d + n * N * N +
                               rf_gram_flops(0, N, N > fmin(n - 1, P)) - N * N * N / 3;
        break;
    }
    case REGIME_NT:
        nt_fit_flops(job, d, N, n, mixture, f);
        f[COST_K_DENSE] += 4.0 * d * d * N + 4.0 * d * d * d; /* theory: QR, B in Q */
        break;
    case REGIME_NN: {
        f[COST_K_DENSE] += 4.0 * d * d * d; /* theory: the spectrum of B (Eckart-Young) */
        if (nn_is_nt(job, t)) {
            nt_fit_flops(job, d, N, n, mixture, f);
            break;
        }
        int method = job_nn_method(job, t->n);
        double it, per;
        int k = COST_K_NN;
        if (method == NN_METHOD_SGD) { /* every step, on fresh samples */
            double b = job->nn_batch;
            it = (double)job->nn_steps;
            per = 4.25 * b * N * d + 2.0 * b * d * d; /* as counted: 4.25 b N d + 2 b d^2 */
            c.seconds += it * b * (d + 1) * cost_default.normal_s; /* the fresh batches */
            k = COST_K_DENSE; /* b x d by d x N products: 39 GF/s at d = 60, 47 at d = 450 */
        } else if (method == NN_METHOD_VARPRO) {
            it = varpro_iterations(job, t);
            /* finite n: ~1.25 evaluations per iteration (line search), each with the (c, a)
             * solve, counted ~10 n N d + 2 n N^2; n = inf: W B-sized products and N x N
             * solves, at the NN rate too (seen: 8 GF/s at d = 30, 19 at d = 20-80, 21 at
             * d = 50-100, 26 at d = 450) */
            per = n > 0 ? 1.25 * 8.0 * n * N * d + 2.0 * n * (N + 1) * (N + 1)
                        : 4.0 * N * d * d + 2.0 * d * d + 2.0 * N * N * d + 2.0 * N * d * d;
            c.seconds += t->n < 0 ? it * cost_default.iter_s : 0;
        } else { /* gd / population on (c, a, W): one pass per iteration at a fixed step */
            it = gd_iterations(job, t);
            /* finite n: X W^T, or X M and X^T diag(r) X by dsyrk (nn.h's rule) */
            int moment = n > 0 && 4.0 * n * N > d * (3.0 * n + 4.0 * N);
            per = n > 0 ? (moment ? (3.0 * n + 4.0 * N) * d * d + 3.0 * n * d : 4.25 * n * N * d)
                        : 4.0 * N * d * d + 2.0 * d * d;
            if (n > 0)
                k = COST_K_BATCH;
        }
        c.iterations = it;
        f[k] += it * per;
        break;
    }
    case REGIME_ALPHA:
    case REGIME_ALPHA_LIN: { /* GD steps (SPEC §6): O(N d^2) population, O(n N d) finite n */
        double it = alpha_iterations(job, t);
        c.iterations = it;
        f[COST_K_STREAM] += it * (n > 0 ? 6.0 * n * N * d : 6.0 * N * d * d);
        f[COST_K_DENSE] += 12.0 * d * d * d; /* NT optimum and Eckart-Young at W0 */
        break;
    }
    case REGIME_ONESTEP: { /* the step on n0 samples, then the RF readout */
        long n0 = job_n_value(&job->onestep_n0[0], t->d, t->N);
        double s0 = n0 > 0 ? (double)n0 : 0;
        f[COST_K_DENSE] += 4.0 * s0 * N * d + 2.0 * s0 * d * d + 4.0 * N * d * d +
                           (n > 0 ? 2.0 * n * N * d + 2.0 * n * (N + 1) * (N + 1) : 2.0 * N * d * d) +
                           10.0 * N * N * N + 12.0 * d * d * d;
        c.seconds += s0 * (d + 1) * cost_default.normal_s; /* the n0 samples of the step */
        break;
    }
    case REGIME_KRR_RF:
    case REGIME_KRR_NT: { /* solver choice as in regime_krr.c (P = d(d+1)/2 features) */
        int direct = job->krr_solver == KRR_SOLVER_DIRECT ||
                     (job->krr_solver == KRR_SOLVER_AUTO && n <= job->krr_max_direct);
        double P = d * (d + 1) / 2;
        if (n <= 0)
            f[COST_K_DENSE] += 2.0 * d * d;
        else if (!direct) /* CG: ~4 n d^2 per iteration, typically tens of iterations */
            f[COST_K_STREAM] += 50.0 * 4.0 * n * d * d;
        else if (n <= P) /* the n x n bordered system */
            f[COST_K_DENSE] += n * n * n / 3 + 2.0 * n * n * d;
        else if (n * P <= 4194304) /* the explicit n x P design */
            f[COST_K_DENSE] += 2.0 * n * P * P;
        else /* the P x P normal equations */
            f[COST_K_DENSE] += n * P * P + 3.0 * P * P * P;
        break;
    }
    default:
        break;
    }
    for (int k = 0; k < COST_K_COUNT; k++) {
        c.flops_total += f[k];
        c.seconds += f[k] / cost_kernel_rate(k, t->d, t->N);
    }
    c.seconds += N * d * cost_default.normal_s + cost_default.task_s; /* W0, fixed */
    return c;
}

void cost_family(const JobSpec *job, const Task *t, char *buf, size_t len)
{
    const char *fin = t->n < 0 ? "n=inf" : "n<inf";
    if (t->regime == REGIME_NN) {
        const char *m;
        if (nn_is_nt(job, t))
            m = "nt-solve";
        else
            switch (job_nn_method(job, t->n)) {
            case NN_METHOD_SGD: m = "sgd"; break;
            case NN_METHOD_VARPRO: m = "varpro"; break;
            case NN_METHOD_GD: m = "gd"; break;
            default: m = "population"; break;
            }
        snprintf(buf, len, "nn-%s %s", m, fin);
    } else {
        snprintf(buf, len, "%s %s", job_regime_name(t->regime), fin);
    }
}

/* ---- data groups ------------------------------------------------------------------- */

double cost_draw_seconds(const JobSpec *job, int model, int d, long n)
{
    double dd = d, rows = n > 0 ? (double)n : (double)job->test_samples;
    /* d + 1 normals a row (the last: noise or label), then y = x^T B x (X B, level 3) or,
     * mixture, X += Z U U^T f (rank s) */
    double s = rows * (dd + 1) * cost_default.normal_s;
    double fl = model == MODEL_MIXTURE ? 4.0 * rows * dd * job->mixture_rank : 2.0 * rows * dd * dd;
    s += fl / cost_kernel_rate(COST_K_DENSE, d, 0);
    if (n <= 0) /* the target itself: B from d^2 normals, its spectrum */
        s += dd * dd * cost_default.normal_s + 4.0 * dd * dd * dd / cost_kernel_rate(COST_K_DENSE, d, 0);
    return s;
}

typedef struct {
    uint64_t key;
    long idx;
} KeyIdx;

static int by_key(const void *a, const void *b)
{
    const KeyIdx *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* splitmix64 of the fields: distinct groups collide with probability ~ count^2 / 2^64 */
static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

/* Groups of one kind (train: (model, d, n, rep) with n > 0; target: (model, d, rep)):
 * adds each group's draw seconds to the total and, shared, to its tasks. */
static int share_groups(const JobSpec *job, const Grid *grid, int train, double *per,
                        double *sum, long *groups)
{
    KeyIdx *k = malloc(sizeof *k * (size_t)(grid->count > 0 ? grid->count : 1));
    if (!k)
        return -1;
    long m = 0;
    for (long i = 0; i < grid->count; i++) {
        const Task *t = &grid->tasks[i];
        if (train && t->n <= 0)
            continue;
        uint64_t h = mix(mix(mix(1, (uint64_t)t->model), (uint64_t)t->d), (uint64_t)t->replicate);
        if (train)
            h = mix(h, (uint64_t)t->n);
        k[m].key = h;
        k[m++].idx = i;
    }
    qsort(k, (size_t)m, sizeof *k, by_key);
    for (long a = 0, b; a < m; a = b) {
        for (b = a + 1; b < m && k[b].key == k[a].key; b++)
            ;
        const Task *t = &grid->tasks[k[a].idx];
        double s = cost_draw_seconds(job, t->model, t->d, train ? t->n : 0);
        *sum += s;
        (*groups)++;
        if (per)
            for (long j = a; j < b; j++)
                per[k[j].idx] += s / (double)(b - a);
    }
    free(k);
    return 0;
}

int cost_job(const JobSpec *job, const Grid *grid, double *task_seconds, CostTotal *total)
{
    CostTotal tot;
    memset(&tot, 0, sizeof tot);
    for (long i = 0; i < grid->count; i++) {
        double s = cost_task(job, &grid->tasks[i]).seconds;
        tot.task_seconds += s;
        if (task_seconds)
            task_seconds[i] = s;
    }
    if (share_groups(job, grid, 1, task_seconds, &tot.draw_seconds, &tot.train_groups) ||
        share_groups(job, grid, 0, task_seconds, &tot.draw_seconds, &tot.target_groups))
        return -1;
    tot.seconds = tot.task_seconds + tot.draw_seconds;
    if (total)
        *total = tot;
    return 0;
}
