/* status: `lazysweep status FILE [--json]` — what a results file holds, on a login
 * node (no MPI) and while a job writes it: done / failed / pending per model and
 * regime, attempts, failure causes, run records, rate and ETA.
 * Reads the file in blocks (memory a few bytes per task) and the journal: results the
 * journal holds and the file does not yet count as they will once written.
 * Exit 0 complete, 4 complete with failed tasks, 3 tasks remain, 2 not a results file. */
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal.h"
#include "outcome.h"
#include "recover.h"
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

typedef struct {
    Counts by[MODEL_COUNT][REGIME_COUNT];
    long total[3], cause_count[CAUSE_COUNT], last_fail[CAUSE_COUNT];
    int max_attempts;
    long rerun;
    double done_seconds;
    long done_timed;
    long stop_count[STOP_COUNT]; /* done tasks (rows in the file) by why their fit ended */
} Tally;

/* One task into the counts: its state is the shared definition (outcome.h), as the file
 * and the journal together say (recover.h). */
static void tally(Tally *y, long i, const Task *t, const RecoverTask *p, const TaskResult *r)
{
    int s = p->outcome;
    int m = t->model, g = t->regime;
    if (m >= 0 && m < MODEL_COUNT && g >= 0 && g < REGIME_COUNT)
        y->by[m][g].count[s]++;
    y->total[s]++;
    if (p->attempts > y->max_attempts)
        y->max_attempts = p->attempts;
    if (p->attempts > 1)
        y->rerun++;
    if (s == OUTCOME_DONE && !p->journal && isfinite(r->seconds)) {
        y->done_seconds += r->seconds;
        y->done_timed++;
    }
    if (s == OUTCOME_DONE && !p->journal && r->stop >= 0 && r->stop < STOP_COUNT)
        y->stop_count[r->stop]++;
    int cause = p->journal ? p->cause : r->cause;
    if (s == OUTCOME_FAILED && cause > 0 && cause < CAUSE_COUNT) {
        y->cause_count[cause]++;
        y->last_fail[cause] = i;
    }
}

int status_main(const CliArgs *args)
{
    Store *st = NULL;
    int rc = store_open_readonly(args->file, NULL, &st);
    if (rc != STORE_OK) {
        log_error("%s: %s", args->file, rc == STORE_ERR ? "cannot read the results file"
                                                        : store_error());
        return rc == STORE_ERR ? LS_EXIT_INTERNAL : LS_EXIT_USAGE;
    }
    long n = store_task_count(st);
    enum { BLOCK = 65536 };
    RecoverTask *plan = malloc(sizeof(RecoverTask) * (size_t)n);
    Task *tasks = malloc(sizeof(Task) * BLOCK);
    uint8_t *status = malloc(BLOCK);
    TaskResult *res = malloc(sizeof(TaskResult) * BLOCK);
    StoreRun *runs = malloc(sizeof(StoreRun) * STORE_RUNS_CAPACITY); /* ~0.5 MB */
    char *name = store_read_attr(st, "job_name"), *hash = store_read_attr(st, "job_hash");
    char jpath[4200];
    snprintf(jpath, sizeof jpath, "%s.journal", args->file);
    int nruns = -1, ok = plan && tasks && status && res && runs && hash;
    RecoverOptions ro = {.write = 0, .crash_limit = 0, .compact = 0};
    RecoverSummary rs;
    memset(&rs, 0, sizeof rs);
    ok = ok && (nruns = store_read_runs(st, runs, STORE_RUNS_CAPACITY)) >= 0
         && recover_run(args->file, jpath, hash, &ro, plan, &rs) == 0;
    Tally y;
    memset(&y, 0, sizeof y);
    for (int k = 0; k < CAUSE_COUNT; k++)
        y.last_fail[k] = -1;
    for (long first = 0; ok && first < n; first += BLOCK) {
        long m = n - first < BLOCK ? n - first : BLOCK;
        ok = store_read_tasks_range(st, first, m, tasks, NULL) == STORE_OK
             && store_read_state(st, first, m, status, res, NULL, NULL) == STORE_OK;
        for (long k = 0; ok && k < m; k++)
            tally(&y, first + k, &tasks[k], &plan[first + k], &res[k]);
    }
    char old_format[300] = "", *made_by = store_read_attr(st, "program_version");
    if (store_check_current(st) == STORE_EOLD)
        snprintf(old_format, sizeof old_format, "%s", store_error());
    store_close(st);
    if (!ok) {
        log_error("%s: cannot read the results file", args->file);
        free(made_by);
        free(plan); free(tasks); free(status); free(res); free(runs); free(name); free(hash);
        return LS_EXIT_INTERNAL;
    }
    Counts (*by)[REGIME_COUNT] = y.by;
    long *total = y.total, *cause_count = y.cause_count, *last_fail = y.last_fail;
    int max_attempts = y.max_attempts;
    long rerun = y.rerun;
    double done_seconds = y.done_seconds;
    long *stop_count = y.stop_count;
    /* Rate and ETA from the tasks' own durations and the ranks of the latest run. */
    const StoreRun *last = nruns > 0 ? &runs[nruns - 1] : NULL;
    int running = last && last->exit_status == -1;
    int workers = last ? (last->ranks > 1 ? last->ranks - 1 : 1) : 1;
    double mean = y.done_timed ? done_seconds / y.done_timed : NAN;
    double eta = isfinite(mean) ? mean * total[STORE_PENDING] / workers : NAN;
    /* complete means the file itself is: results only the journal holds still need a
     * resume (or repair) to be written, so scripts resubmit */
    int complete = total[STORE_PENDING] == 0 && rs.ahead == 0;
    int exit_status = !complete ? LS_EXIT_RESUMABLE : total[STORE_FAILED] ? LS_EXIT_FAILED : LS_EXIT_OK;
    /* an incomplete file of an earlier format is not resumable by this release: say so to
     * scripts that resubmit on 3 */
    if (!complete && old_format[0])
        exit_status = LS_EXIT_USAGE;

    if (args->json) {
        printf("{\"file\": ");
        json_string(stdout, args->file);
        printf(", \"job\": ");
        json_string(stdout, name ? name : "");
        printf(", \"job_hash\": ");
        json_string(stdout, hash ? hash : "");
        printf(", \"tasks\": %ld, \"done\": %ld, \"failed\": %ld, \"pending\": %ld, \"complete\": %s, "
               "\"max_attempts\": %d, \"rerun_tasks\": %ld, \"journal_ahead\": %ld, \"suspects\": %ld, "
               "\"eta_seconds\": %s%.1f, \"groups\": [",
               n, total[1], total[2], total[0], complete ? "true" : "false", max_attempts, rerun,
               rs.ahead + rs.crashed, rs.suspects, "", isfinite(eta) ? eta : -1.0);
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
        if (rs.ahead)
            printf("journal: %ld results are in %s but not yet in the file (counted as they will "
                   "be once a resume or `lazysweep repair` writes them)\n", rs.ahead, jpath);
        if (rs.suspects)
            printf("journal: %ld pending tasks were dispatched without a result (running now, or "
                   "killed with their rank)\n", rs.suspects);
        if (rs.journal_rc == JOURNAL_EJOB || rs.journal_rc == JOURNAL_EFOREIGN)
            printf("journal: %s is not a journal of this file's job (ignored)\n", jpath);
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
        if (old_format[0]) /* readable here, resumable only by the release that made it */
            printf("format: %s; made by lazysweep %s: this release reads it but does not "
                   "resume it\n", old_format, made_by ? made_by : "(unknown)");
        printf("%s\n", complete ? (total[STORE_FAILED] ? "complete, with failed tasks (rerun them "
                                   "with run --retry-failed)" : "complete")
                        : total[STORE_PENDING] == 0 ? "complete in the journal: run the same command "
                                   "again (or `lazysweep repair`) to write the last results into the file"
                                : old_format[0] ? "incomplete: resume it with the release that made it"
                                : "incomplete: run the same command again to resume");
    }
    free(name);
    free(hash);
    free(made_by);
    free(plan);
    free(tasks);
    free(status);
    free(res);
    free(runs);
    return exit_status;
}
