/* task_cmd: see include/task_cmd.h. */
#include "task_cmd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "grid.h"
#include "log.h"
#include "plan.h"
#include "task.h"

static void num(const char *key, double v, int last)
{
    if (isfinite(v))
        printf("  \"%s\": %.17g%s\n", key, v, last ? "" : ",");
    else
        printf("  \"%s\": null%s\n", key, last ? "" : ","); /* NaN: not applicable */
}

int task_cmd_main(const CliArgs *args)
{
    JobSpec job;
    Grid grid;
    int rc = plan_load(args->job, args->mem_per_rank, &job, &grid, NULL);
    if (rc)
        return rc;
    const Task *t = grid_task(&grid, args->id);
    if (!t) {
        log_error("task: --id %ld: expected an id in [0, %ld] for %s", args->id, grid.count - 1,
                  args->job);
        grid_free(&grid);
        return LS_EXIT_USAGE;
    }
    TaskResult res;
    task_run(&job, t, NULL, &res, NULL);
    printf("{\n  \"id\": %ld,\n  \"model\": \"%s\",\n  \"target\": \"%s\",\n  \"d\": %d,\n"
           "  \"N\": %d,\n  \"n\": %ld,\n  \"regime\": \"%s\",\n  \"replicate\": %d,\n",
           t->id, job_model_name(t->model),
           t->model == MODEL_QUADRATIC ? job_target_name(job.target) : "none", t->d, t->N, t->n,
           job_regime_name(t->regime), t->replicate);
    num("risk_train", res.risk_train, 0);
    num("risk_test", res.risk_test, 0);
    num("risk_pop", res.risk_pop, 0);
    num("r0", res.r0, 0);
    num("error_test", res.error_test, 0);
    num("bayes_error", res.bayes_error, 0);
    num("theory", res.theory, 0);
    printf("  \"iterations\": %ld,\n", res.iterations);
    num("residual", res.residual, 0);
    num("flops", res.flops, 0);
    num("seconds", res.seconds, 0);
    printf("  \"rank\": 0,\n  \"attempts\": 1,\n  \"cause\": %d,\n  \"cause_name\": \"%s\",\n"
           "  \"stop\": %d,\n  \"stop_name\": \"%s\",\n", res.cause, task_cause_name(res.cause),
           res.stop, task_stop_name(res.stop));
    printf("  \"restarts\": %d,\n", res.restarts);
    num("error_floor", res.error_floor, 0);
    num("risk_pop_normalised", res.risk_pop / res.r0, 1);
    printf("}\n");
    grid_free(&grid);
    task_cache_clear();
    return res.cause == CAUSE_NONE ? LS_EXIT_OK : LS_EXIT_FAILED;
}
