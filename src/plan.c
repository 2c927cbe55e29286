/* plan: see include/plan.h. */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"


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
    snprintf(buf, len, "%s d=%d N=%d n=%s %s rep=%d",
             t->model == MODEL_QUADRATIC ? job_target_name(job->target) : job_model_name(t->model),
             t->d, t->N, nb, job_regime_name(t->regime), t->replicate);
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
                printf("  %-9s %-4s %8ld\n", job_model_name(m), job_regime_name(r), per[m][r]);
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
    printf("estimated total: %.3g GFLOP, %.3g core-hours at %.0f GFLOP/s per core\n", flops / 1e9,
           flops / GRID_FLOPS_PER_SECOND / 3600, GRID_FLOPS_PER_SECOND / 1e9);
    long show = args->show < grid.count ? args->show : grid.count;
    if (show > 0) {
        printf("first %ld tasks:\n%8s  %-9s %-12s %6s %6s %10s %-6s %4s %10s %10s\n", show, "id",
               "model", "target", "d", "N", "n", "regime", "rep", "memory", "GFLOP");
        for (long i = 0; i < show; i++) {
            const Task *t = &grid.tasks[i];
            TaskCost c = grid_cost(&job, t);
            char nb[32], bb[32];
            if (t->n < 0)
                snprintf(nb, sizeof nb, "inf");
            else
                snprintf(nb, sizeof nb, "%ld", t->n);
            plan_format_bytes(c.bytes, bb, sizeof bb);
            printf("%8ld  %-9s %-12s %6d %6d %10s %-6s %4d %10s %10.3g\n", t->id,
                   job_model_name(t->model), t->model == MODEL_QUADRATIC ? job_target_name(job.target) : "-",
                   t->d, t->N, nb, job_regime_name(t->regime), t->replicate, bb, c.flops / 1e9);
        }
    }
    grid_free(&grid);
    return LS_EXIT_OK;
}
