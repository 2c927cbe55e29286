/* plan: see include/plan.h. */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calibrate.h"
#include "cost.h"
#include "log.h"
#include "regime.h"


double plan_default_mem_per_rank(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (pages <= 0 || psize <= 0)
        return 4.0 * 1024 * 1024 * 1024;
    return (double)pages * psize / (cores > 0 ? cores : 1);
}

void plan_format_bytes(double b, char *buf, int len)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(buf, (size_t)len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

static void task_line(const JobSpec *job, const Task *t, char *buf, size_t len)
{
    char nb[32];
    if (t->n < 0)
        snprintf(nb, sizeof nb, "inf");
    else
        snprintf(nb, sizeof nb, "%ld", t->n);
    char ax[48] = "";
    if (job_regime_axis(t->regime) == AXIS_ALPHA)
        snprintf(ax, sizeof ax, " alpha=%g", t->alpha);
    else if (job_regime_axis(t->regime) == AXIS_ETA)
        snprintf(ax, sizeof ax, " eta=%g", t->eta);
    snprintf(buf, len, "%s d=%d N=%d n=%s %s%s rep=%d",
             t->model == MODEL_QUADRATIC ? job_target_name(job->target) : job_model_name(t->model),
             t->d, t->N, nb, job_regime_name(t->regime), ax, t->replicate);
}

/* The value on a task's own axis (alpha or eta) for the task table, "-" if none. */
static void axis_text(const Task *t, char *buf, size_t len)
{
    int axis = job_regime_axis(t->regime);
    if (axis == AXIS_ALPHA)
        snprintf(buf, len, "%g", t->alpha);
    else if (axis == AXIS_ETA)
        snprintf(buf, len, "%g", t->eta);
    else
        snprintf(buf, len, "-");
}

/* The conventions of the regimes beyond the paper, stated (SPEC §6-8). */
static void print_conventions(const JobSpec *job)
{
    if (job_has_regime(job, REGIME_ALPHA) || job_has_regime(job, REGIME_ALPHA_LIN)) {
        char lr[64], hz[96];
        if (job->alpha_lr > 0)
            snprintf(lr, sizeof lr, "%g", job->alpha_lr);
        else
            snprintf(lr, sizeof lr, "auto: eta_1 min(1, alpha)^(4/3), eta_1 = 1/lambda_max(K_0)");
        if (job->alpha_horizon > 0)
            snprintf(hz, sizeof hz, "T = %g", job->alpha_horizon);
        else
            snprintf(hz, sizeof hz, "auto: linearised GD within %g R0 of the NT risk",
                     job->alpha_horizon_tol);
        printf("alpha: centred model g = alpha c + x^T alpha (M - M0) x, loss E(y - g)^2 / (2 "
               "alpha^2); step %s; horizon %s; tol %g over 200 steps; budget %ld steps\n",
               lr, hz, job->alpha_tol, job->nn_steps);
    }
    if (job_has_regime(job, REGIME_ONESTEP)) {
        char a0[32], n0[32];
        if (job->onestep_a0 == ONESTEP_A0_INV_N)
            snprintf(a0, sizeof a0, "1/N");
        else if (job->onestep_a0 == ONESTEP_A0_INV_SQRT_N)
            snprintf(a0, sizeof a0, "1/sqrt(N)");
        else
            snprintf(a0, sizeof a0, "%g", job->onestep_a0);
        job_n_format(&job->onestep_n0[0], n0, sizeof n0);
        printf("onestep: a0 = %s for every neuron, c0 = %s, one step on the half squared loss "
               "(dw_i = 2 eta~ C w_i, raw step eta~/a0) from n0 = %s samples, then RF "
               "least squares (ridge %g) on the grid's n\n",
               a0, job->onestep_center ? "the optimal offset (ebar = 0)" : "0 (uncentred)", n0,
               job->ridge);
    }
    if (job_has_regime(job, REGIME_KRR_RF) || job_has_regime(job, REGIME_KRR_NT))
        printf("krr: kernel ridge regression with a free offset, [K + ridge I, 1; 1^T, 0] (ridge %g "
               "on the summed loss); K_RF = (|x|^2|x'|^2 + 2<x,x'>^2)/%s, K_NT = K_RF + "
               "4 E[a0^2] <x,x'>^2/d with E[a0^2] = %g (nn_a_init = %s%s); solver %s (direct up "
               "to n = %ld, else CG on the structured kernel product)\n",
               job->ridge, job->init == INIT_SPHERE ? "(d(d+2))" : "d^2",
               krr_a0_moment(job->nn_a_init), job_a_init_name(job->nn_a_init),
               job->nn_a_init == NN_A_SHARED ? ": a0 = 1/N -> 0, so krr_nt = krr_rf" : "",
               job->krr_solver == KRR_SOLVER_DIRECT ? "direct"
               : job->krr_solver == KRR_SOLVER_CG   ? "cg"
                                                    : "auto",
               job->krr_max_direct);
}

/* The key to blame for a task that needs too much memory: the one of d, the width, n
 * and test_samples whose halving saves the most (for a one-line message with its line). */
static void memory_culprit(const JobSpec *job, const Task *t, char *where, size_t len)
{
    double base = grid_cost(job, t).bytes, best = -1;
    const char *sec = "grid", *key = "n";
    /* in this order, so that a tie goes to the test set (the less obvious culprit), then n */
    for (int a = 3; a >= 0; a = a == 3 ? 0 : a < 2 ? a + 1 : -1) {
        Task h = *t;
        JobSpec jh;
        const JobSpec *j = job;
        if (a == 0 && t->n > 1)
            h.n = t->n / 2;
        else if (a == 1 && t->N > 1)
            h.N = t->N / 2;
        else if (a == 2 && t->d > 1)
            h.d = t->d / 2;
        else if (a == 3 && job->test_samples > 1) {
            jh = *job;
            jh.test_samples = job->test_samples / 2;
            j = &jh;
        } else
            continue;
        double saved = base - grid_cost(j, &h).bytes;
        if (saved > best) {
            best = saved;
            sec = a == 3 ? "eval" : "grid";
            key = a == 0 ? "n" : a == 1 ? (job->width_is_rho ? "rho" : "N") : a == 2 ? "d" : "test_samples";
        }
    }
    job_where(job, sec, key, where, len);
}

int plan_check_memory(const JobSpec *job, const Grid *grid, double mem_per_rank, char *err,
                      size_t errlen)
{
    if (mem_per_rank <= 0)
        mem_per_rank = plan_default_mem_per_rank();
    long over = 0, worst = -1;
    double worst_bytes = 0;
    for (long i = 0; i < grid->count; i++) {
        double b = grid_cost(job, &grid->tasks[i]).bytes;
        if (b > mem_per_rank) {
            over++;
            if (b > worst_bytes) {
                worst_bytes = b;
                worst = i;
            }
        }
    }
    if (!over)
        return 0;
    char need[32], have[32], what[256], where[600];
    plan_format_bytes(worst_bytes, need, sizeof need);
    plan_format_bytes(mem_per_rank, have, sizeof have);
    task_line(job, &grid->tasks[worst], what, sizeof what);
    memory_culprit(job, &grid->tasks[worst], where, sizeof where);
    snprintf(err, errlen, "%s: %ld task(s) need more memory than the %s per rank; the largest, "
             "id %ld (%s), needs %s: lower d, N, n or test_samples, or raise --mem-per-rank (fewer ranks per node)",
             where, over, have, worst, what, need);
    return -1;
}

int plan_load(const char *path, double mem_per_rank, JobSpec *job, Grid *grid, char **text)
{
    char err[1024];
    if (job_load(path, job, text, err, sizeof err) != 0) {
        log_error("%s", err);
        return LS_EXIT_USAGE;
    }
    if (grid_build(job, grid, 1, err, sizeof err) != 0) {
        log_error("%s", err);
        goto fail;
    }
    if (plan_check_memory(job, grid, mem_per_rank, err, sizeof err) != 0) {
        log_error("%s", err);
        grid_free(grid);
        goto fail;
    }
    return LS_EXIT_OK;
fail:
    if (text) {
        free(*text);
        *text = NULL;
    }
    return LS_EXIT_USAGE;
}

int plan_main(const CliArgs *args)
{
    JobSpec job;
    Grid grid;
    int rc = plan_load(args->job, args->mem_per_rank, &job, &grid, NULL);
    if (rc)
        return rc;
    if (args->calibrate) {
        rc = calibrate_main(args->calibrate, &job, &grid);
        grid_free(&grid);
        return rc;
    }
    CostTotal cost;
    if (cost_job(&job, &grid, NULL, &cost) != 0) {
        log_error("out of memory for the cost model's data groups");
        grid_free(&grid);
        return LS_EXIT_INTERNAL;
    }

    long per[MODEL_COUNT][REGIME_COUNT];
    memset(per, 0, sizeof per);
    double flops = 0, max_bytes = 0, max_flops = 0;
    long max_id = 0;
    for (long i = 0; i < grid.count; i++) {
        const Task *t = &grid.tasks[i];
        TaskCost c = grid_cost(&job, t);
        per[t->model][t->regime]++;
        flops += c.flops;
        if (c.bytes > max_bytes)
            max_bytes = c.bytes;
        if (c.flops > max_flops) {
            max_flops = c.flops;
            max_id = i;
        }
    }
    printf("job %s (%s), seed %llu, hash %016llx\n", job.name, job.path,
           (unsigned long long)job.seed, (unsigned long long)job_hash(&job));
    printf("tasks: %ld\n", grid.count);
    for (int m = 0; m < MODEL_COUNT; m++)
        for (int r = 0; r < REGIME_COUNT; r++)
            if (per[m][r])
                printf("  %-9s %-9s %8ld\n", job_model_name(m), job_regime_name(r), per[m][r]);
    print_conventions(&job);
    if (grid.dup_width || grid.dup_n)
        printf("dropped as duplicates: %d (d, width) pairs, %d (d, N, n) points\n", grid.dup_width,
               grid.dup_n);
    char mb[32], budget[32], what[256];
    plan_format_bytes(max_bytes, mb, sizeof mb);
    plan_format_bytes(args->mem_per_rank > 0 ? args->mem_per_rank : plan_default_mem_per_rank(),
                      budget, sizeof budget);
    task_line(&job, &grid.tasks[max_id], what, sizeof what);
    printf("largest task memory: %s (budget %s per rank)\n", mb, budget);
    printf("costliest task: id %ld (%s), %.3g GFLOP\n", max_id, what, max_flops / 1e9);
    const CostRates *cr = cost_rates();
    printf("estimated total: %.3g GFLOP, %.3g core-hours (tasks %.3g, data draws %.3g for %ld "
           "training and %ld target/test groups; src/cost.c rates, GFLOP/s per core: dense and "
           "gram %.0f x m/(m + %.0f), nn %.0f x d/(d + %.0f), stream %.0f, batch %.0f)\n", flops / 1e9,
           cost.seconds / 3600, cost.task_seconds / 3600, cost.draw_seconds / 3600,
           cost.train_groups, cost.target_groups, cr->rate[COST_K_DENSE] / 1e9, cr->dense_m,
           cr->rate[COST_K_NN] / 1e9, cr->nn_d, cr->rate[COST_K_STREAM] / 1e9,
           cr->rate[COST_K_BATCH] / 1e9);
    long show = args->show < grid.count ? args->show : grid.count;
    if (show > 0) {
        printf("first %ld tasks:\n%8s  %-9s %-12s %6s %6s %10s %-9s %9s %4s %10s %10s\n", show,
               "id", "model", "target", "d", "N", "n", "regime", "alpha/eta", "rep", "memory",
               "GFLOP");
        for (long i = 0; i < show; i++) {
            const Task *t = &grid.tasks[i];
            TaskCost c = grid_cost(&job, t);
            char nb[32], bb[32];
            if (t->n < 0)
                snprintf(nb, sizeof nb, "inf");
            else
                snprintf(nb, sizeof nb, "%ld", t->n);
            plan_format_bytes(c.bytes, bb, sizeof bb);
            char ab[32];
            axis_text(t, ab, sizeof ab);
            printf("%8ld  %-9s %-12s %6d %6d %10s %-9s %9s %4d %10s %10.3g\n", t->id,
                   job_model_name(t->model), t->model == MODEL_QUADRATIC ? job_target_name(job.target) : "-",
                   t->d, t->N, nb, job_regime_name(t->regime), ab, t->replicate, bb, c.flops / 1e9);
        }
    }
    grid_free(&grid);
    return LS_EXIT_OK;
}
