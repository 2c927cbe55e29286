/* status: `lazysweep status FILE [--json]` — what a results file holds, on a login
 * node (no MPI) and while a job writes it: done / failed / pending per model and
 * regime, attempts, failure causes, run records, rate and ETA.
 * Exit 0 complete, 4 complete with failed tasks, 3 tasks remain, 2 not a results file. */
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal.h"
#include "log.h"
#include "store.h"
#include "task.h"

typedef struct {
    long count[3]; /* pending, done, failed */
} Counts;

static void format_time(double unix_s, char *buf, size_t len)
{
    if (!isfinite(unix_s)) {
        snprintf(buf, len, "-");
        return;
    }
    time_t t = (time_t)unix_s;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(out, "\\u%04x", *s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

int status_main(const CliArgs *args)
{
    Store *st = NULL;
    int rc = store_open_readonly(args->file, NULL, &st);
    if (rc == STORE_EMISSING) {
        log_error("%s: no such results file", args->file);
        return LS_EXIT_USAGE;
    }
    if (rc == STORE_EFOREIGN) {
        log_error("%s: not a lazysweep results file", args->file);
        return LS_EXIT_USAGE;
    }
    if (rc != STORE_OK) {
        log_error("%s: cannot read the results file", args->file);
        return LS_EXIT_INTERNAL;
    }
    long n = store_task_count(st);
    Task *tasks = ls_malloc(sizeof(Task) * (size_t)n);
    uint8_t *status = ls_malloc((size_t)n);
    TaskResult *res = ls_malloc(sizeof(TaskResult) * (size_t)n);
    int *attempts = ls_malloc(sizeof(int) * (size_t)n);
    StoreRun *runs = ls_malloc(sizeof(StoreRun) * STORE_RUNS_CAPACITY); /* ~0.5 MB */
    int nruns = 0;
    char *name = NULL, *hash = NULL;
    if (store_read_tasks(st, tasks, NULL) != STORE_OK || store_read_status(st, status) != STORE_OK ||
        store_read_results(st, 0, n, res, NULL, attempts) != STORE_OK ||
        (nruns = store_read_runs(st, runs, STORE_RUNS_CAPACITY)) < 0) {
        log_error("%s: cannot read the results file", args->file);
        store_close(st);
        free(tasks); free(status); free(res); free(attempts); free(runs);
        return LS_EXIT_INTERNAL;
    }
    hash = store_read_attr(st, "job_hash");
    name = store_read_attr(st, "job_name");
    store_close(st);

    Counts by[MODEL_COUNT][REGIME_COUNT];
    memset(by, 0, sizeof by);
    long total[3] = {0, 0, 0}, cause_count[CAUSE_COUNT] = {0}, last_fail[CAUSE_COUNT];
    long stop_count[STOP_COUNT] = {0}; /* done tasks by why their fit ended */
    int max_attempts = 0;
    long rerun = 0;
    double done_seconds = 0;
    for (int k = 0; k < CAUSE_COUNT; k++)
        last_fail[k] = -1;
    for (long i = 0; i < n; i++) {
        int s = status[i] <= STORE_FAILED ? status[i] : STORE_PENDING;
        int m = tasks[i].model, r = tasks[i].regime;
        if (m >= 0 && m < MODEL_COUNT && r >= 0 && r < REGIME_COUNT)
            by[m][r].count[s]++;
        total[s]++;
        if (attempts[i] > max_attempts)
            max_attempts = attempts[i];
        if (attempts[i] > 1)
            rerun++;
        if (s == STORE_DONE && isfinite(res[i].seconds))
            done_seconds += res[i].seconds;
        if (s == STORE_DONE && res[i].stop >= 0 && res[i].stop < STOP_COUNT)
            stop_count[res[i].stop]++;
        if (s == STORE_FAILED && res[i].cause > 0 && res[i].cause < CAUSE_COUNT) {
            cause_count[res[i].cause]++;
            last_fail[res[i].cause] = i;
        }
    }
    /* Rate and ETA from the tasks' own durations and the ranks of the latest run. */
    const StoreRun *last = nruns > 0 ? &runs[nruns - 1] : NULL;
    int running = last && last->exit_status == -1;
    int workers = last ? (last->ranks > 1 ? last->ranks - 1 : 1) : 1;
    double mean = total[STORE_DONE] ? done_seconds / total[STORE_DONE] : NAN;
    double eta = isfinite(mean) ? mean * total[STORE_PENDING] / workers : NAN;
    int complete = total[STORE_PENDING] == 0;
    int exit_status = !complete ? LS_EXIT_RESUMABLE : total[STORE_FAILED] ? LS_EXIT_FAILED : LS_EXIT_OK;

    if (args->json) {
        printf("{\"file\": ");
        json_string(stdout, args->file);
        printf(", \"job\": ");
        json_string(stdout, name ? name : "");
        printf(", \"job_hash\": ");
        json_string(stdout, hash ? hash : "");
        printf(", \"tasks\": %ld, \"done\": %ld, \"failed\": %ld, \"pending\": %ld, \"complete\": %s, "
               "\"max_attempts\": %d, \"rerun_tasks\": %ld, \"eta_seconds\": %s%.1f, \"groups\": [",
               n, total[1], total[2], total[0], complete ? "true" : "false", max_attempts, rerun,
               "", isfinite(eta) ? eta : -1.0);
        int first = 1;
        for (int m = 0; m < MODEL_COUNT; m++)
            for (int r = 0; r < REGIME_COUNT; r++) {
                Counts *c = &by[m][r];
                if (!c->count[0] && !c->count[1] && !c->count[2])
                    continue;
                printf("%s{\"model\": \"%s\", \"regime\": \"%s\", \"done\": %ld, \"failed\": %ld, "
                       "\"pending\": %ld}", first ? "" : ", ", job_model_name(m), job_regime_name(r),
                       c->count[1], c->count[2], c->count[0]);
                first = 0;
            }
        printf("], \"causes\": {");
        first = 1;
        for (int k = 1; k < CAUSE_COUNT; k++)
            if (cause_count[k]) {
                printf("%s\"%s\": %ld", first ? "" : ", ", task_cause_name(k), cause_count[k]);
                first = 0;
            }
        printf("}, \"stops\": {");
        first = 1;
        for (int k = 0; k < STOP_COUNT; k++)
            if (stop_count[k]) {
                printf("%s\"%s\": %ld", first ? "" : ", ", task_stop_name(k), stop_count[k]);
                first = 0;
            }
        printf("}, \"runs\": [");
        for (int i = 0; i < nruns; i++) {
            const StoreRun *r = &runs[i];
            printf("%s{\"start\": %.0f, \"end\": %s%.0f, \"ranks\": %d, \"exit_status\": %d, "
                   "\"exit_reason\": ", i ? ", " : "", r->start, "", isfinite(r->end) ? r->end : -1.0,
                   r->ranks, r->exit_status);
            json_string(stdout, r->exit_reason);
            printf(", \"tasks_done\": %lld, \"hosts\": ", (long long)r->tasks_done);
            json_string(stdout, r->hosts);
            printf(", \"slurm_job_id\": ");
            json_string(stdout, r->slurm_job_id);
            printf(", \"slurm_restart_count\": %d, \"slurm_array_job_id\": ", r->slurm_restart_count);
            json_string(stdout, r->slurm_array_job_id);
            printf(", \"slurm_array_task_id\": ");
            json_string(stdout, r->slurm_array_task_id);
            printf(", \"slurm_cluster\": ");
            json_string(stdout, r->slurm_cluster);
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("%s: job %s (hash %s), %ld tasks\n", args->file, name ? name : "?", hash ? hash : "?", n);
        printf("  %-10s %-6s %8s %8s %8s\n", "model", "regime", "done", "failed", "pending");
        for (int m = 0; m < MODEL_COUNT; m++)
            for (int r = 0; r < REGIME_COUNT; r++) {
                Counts *c = &by[m][r];
                if (c->count[0] || c->count[1] || c->count[2])
                    printf("  %-10s %-6s %8ld %8ld %8ld\n", job_model_name(m), job_regime_name(r),
                           c->count[1], c->count[2], c->count[0]);
            }
        printf("  %-17s %8ld %8ld %8ld\n", "total", total[1], total[2], total[0]);
        if (total[STORE_DONE]) { /* only exact and converged certify a fit */
            printf("done by stop:");
            for (int k = 0; k < STOP_COUNT; k++)
                if (stop_count[k])
                    printf(" %s %ld%s", task_stop_name(k), stop_count[k],
                           task_stop_is_converged(k) ? "" : " (stopped short)");
            printf("\n");
        }
        if (max_attempts > 1)
            printf("attempts: up to %d; %ld tasks ran more than once\n", max_attempts, rerun);
        for (int k = 1; k < CAUSE_COUNT; k++)
            if (cause_count[k])
                printf("failed (%s): %ld, e.g. task %ld (`lazysweep task JOB --id %ld` reruns it)\n",
                       task_cause_name(k), cause_count[k], last_fail[k], last_fail[k]);
        for (int i = 0; i < nruns; i++) {
            const StoreRun *r = &runs[i];
            char t0[32], t1[32];
            format_time(r->start, t0, sizeof t0);
            format_time(r->end, t1, sizeof t1);
            char slurm[200] = "", array[64] = ""; /* what SLURM set for this attempt */
            if (r->slurm_array_job_id[0])
                snprintf(array, sizeof array, " (array %s_%s)", r->slurm_array_job_id,
                         r->slurm_array_task_id);
            if (r->slurm_job_id[0])
                snprintf(slurm, sizeof slurm, ", SLURM job %s%s restart %d%s%s", r->slurm_job_id,
                         array, r->slurm_restart_count, r->slurm_cluster[0] ? " on " : "",
                         r->slurm_cluster);
            printf("run %d: %s -> %s, %d ranks, %s, %lld tasks%s%s%s\n", i + 1, t0,
                   r->exit_status == -1 ? "(running or killed)" : t1, r->ranks,
                   r->exit_status == -1 ? "no exit recorded" : r->exit_reason, (long long)r->tasks_done,
                   slurm, r->hosts[0] ? ", hosts " : "", r->hosts);
        }
        if (!complete && isfinite(eta))
            printf("mean task %.3g s; ETA about %.0f s on %d worker%s%s\n", mean, eta, workers,
                   workers > 1 ? "s" : "", running ? "" : " (when resumed with as many ranks)");
        printf("%s\n", complete ? (total[STORE_FAILED] ? "complete, with failed tasks (rerun them "
                                   "with run --retry-failed)" : "complete")
                                : "incomplete: run the same command again to resume");
    }
    free(name);
    free(hash);
    free(tasks);
    free(status);
    free(res);
    free(attempts);
    free(runs);
    return exit_status;
}
