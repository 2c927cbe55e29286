/* recover: see include/recover.h.
 *
 * Per task, with fa the attempts of the file's row and j the journal's latest result:
 *   - j.attempt == fa, the file's marker differs and the file is not DONE: the row reached
 *     the file, its marker did not (a kill between the two writes, a damaged /status) —
 *     set the marker if the file's row is bit for bit the journal's (MARK);
 *   - j.attempt > fa and the file is not DONE: the row never reached the file (an I/O
 *     failure, a lost page cache) — write the journal's row and marker (REPLAY), unless
 *     the task has curves or weights, which the journal does not carry (it reruns);
 *   - otherwise, pending and dispatched crash_limit times since its last result without
 *     one: record it failed, cause crashed (CRASH), journal first.
 * Attempts count every dispatch the journal saw, so killed attempts are counted. */
#include "recover.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outcome.h"
#include "store.h"

enum { ACT_NONE, ACT_MARK, ACT_REPLAY, ACT_CRASH };
enum { BLOCK = 65536 };

typedef struct {
    Store *st;
    uint8_t *act;
    RecoverSummary *sum;
    int rc;
} Apply;

/* One journal result that the file lacks or lacks the marker of. */
static int apply_entry(void *vctx, const JournalEntry *e)
{
    Apply *a = vctx;
    if (a->act[e->id] == ACT_MARK) {
        uint8_t s;
        TaskResult r;
        int att;
        if (store_read_state(a->st, e->id, 1, &s, &r, NULL, &att) != STORE_OK)
            return a->rc = STORE_ERR;
        int same = e->has_row ? journal_row_same(&r, &e->row)
                              : outcome_of(e->status, att, &r) != OUTCOME_PENDING;
        if (same && att == e->attempt) {
            if (store_mark(a->st, e->id, e->status) != STORE_OK)
                return a->rc = STORE_ERR;
            a->sum->marked++;
        }
    } else if (a->act[e->id] == ACT_REPLAY && e->has_row) {
        if (store_put_row(a->st, e->id, &e->row, e->rank, e->attempt, NULL) != STORE_OK
            || store_mark(a->st, e->id, e->status) != STORE_OK)
            return a->rc = STORE_ERR;
        a->sum->replayed++;
    }
    return 0;
}

static TaskResult crashed_row(void)
{
    TaskResult r;
    task_result_fill(&r);
    r.iterations = 0; /* as these rows have always been written */
    r.flops = 0;
    r.cause = CAUSE_CRASHED;
    r.stop = STOP_FAILED;
    return r;
}

/* CRASH: the journal first (one writer, before the file), then the rows. */
static int write_crashes(Store *st, const char *jpath, const char *job_hash, long count,
                         const uint8_t *act, const RecoverTask *plan)
{
    Journal *j = NULL;
    char moved[4200];
    if (journal_open(jpath, job_hash, &j, moved, sizeof moved) != JOURNAL_OK) {
        log_error("%s: cannot write the journal: %s", jpath, strerror(errno));
        return JOURNAL_ERR;
    }
    TaskResult r = crashed_row();
    int rc = JOURNAL_OK;
    for (long i = 0; i < count && rc == JOURNAL_OK; i++)
        if (act[i] == ACT_CRASH) {
            JournalEntry e = {.id = i, .status = STORE_FAILED, .attempt = plan[i].attempts,
                              .rank = -1, .cause = CAUSE_CRASHED, .seconds = NAN, .has_row = 1,
                              .row = r};
            rc = journal_append_result(j, &e);
        }
    if (journal_close(j) != JOURNAL_OK || rc != JOURNAL_OK) {
        log_error("%s: cannot write the journal: %s", jpath, strerror(errno));
        return JOURNAL_ERR;
    }
    for (long i = 0; i < count; i++)
        if (act[i] == ACT_CRASH && (store_put_row(st, i, &r, -1, plan[i].attempts, NULL) != STORE_OK
                                    || store_mark(st, i, STORE_FAILED) != STORE_OK))
            return STORE_ERR;
    return STORE_OK;
}

/* Rewrites the journal when enough of it is superseded (or always). jt is the scan from
 * before this recovery; rescan when lines were appended since. */
static int compact(const char *jpath, const char *job_hash, long T, JournalTask *jt, int rescan,
                   int how, RecoverSummary *sum)
{
    long needed = 0;
    for (long i = 0; i < T; i++)
        needed += (jt[i].offset >= 0) + (jt[i].max_attempt > jt[i].attempt ? 1 : 0);
    long have = sum->js.lines + sum->js.bad;
    if (how < 2 && have - needed <= (needed / 4 > 1000 ? needed / 4 : 1000))
        return 0;
    JournalStats js;
    if (rescan && journal_scan(jpath, job_hash, T, jt, &js) != JOURNAL_OK)
        return -1;
    if (journal_compact(jpath, job_hash, T, jt) != JOURNAL_OK)
        return -1;
    if (journal_scan(jpath, job_hash, T, jt, &js) != JOURNAL_OK)
        return -1;
    sum->compacted = js.bytes;
    return 0;
}

int recover_run(const char *path, const char *jpath, const char *job_hash,
                const RecoverOptions *opt, RecoverTask *plan_out, RecoverSummary *sum)
{
    memset(sum, 0, sizeof *sum);
    Store *st = NULL;
    int rc = store_open_readonly(path, job_hash, &st);
    if (rc != STORE_OK) {
        log_error("%s: %s", path, store_error());
        return rc;
    }
    long T = store_task_count(st), nact = 0, ncrash = 0;
    JournalTask *jt = malloc((size_t)T * sizeof *jt);
    uint8_t *act = calloc((size_t)T, 1);
    RecoverTask *plan = plan_out ? plan_out : malloc((size_t)T * sizeof *plan);
    uint8_t *status = malloc(BLOCK);
    TaskResult *res = malloc(BLOCK * sizeof *res);
    int *att = malloc(BLOCK * sizeof *att);
    Task *tasks = malloc(BLOCK * sizeof *tasks);
    rc = STORE_ERR;
    if (!jt || !act || !plan || !status || !res || !att || !tasks) {
        log_error("%s: out of memory reading %ld tasks", path, T);
        goto done;
    }
    sum->journal_rc = journal_scan(jpath, job_hash, T, jt, &sum->js);
    if (sum->journal_rc != JOURNAL_OK) /* nothing to learn from it (and nothing lost) */
        for (long i = 0; i < T; i++)
            jt[i] = (JournalTask){.offset = -1};
    int extras_all = store_save_weights(st), curves = store_curve_points(st) > 0;
    for (long first = 0; first < T; first += BLOCK) {
        long n = T - first < BLOCK ? T - first : BLOCK;
        if (store_read_state(st, first, n, status, res, NULL, att) != STORE_OK
            || store_read_tasks_range(st, first, n, tasks, NULL) != STORE_OK) {
            log_error("%s: cannot read the results file", path);
            goto done;
        }
        for (long k = 0; k < n; k++) {
            long i = first + k;
            const JournalTask *j = &jt[i];
            int fo = outcome_of(status[k], att[k], &res[k]);
            int extras = extras_all || (curves && tasks[k].regime == REGIME_NN);
            RecoverTask *p = &plan[i];
            p->attempts = att[k] > j->max_attempt ? att[k] : j->max_attempt;
            p->outcome = (uint8_t)fo;
            p->journal = 0;
            p->cause = 0;
            p->suspect = fo == OUTCOME_PENDING ? j->unresolved : 0;
            if (fo == OUTCOME_DONE)
                continue; /* never touched */
            if (j->status && j->attempt == att[k] && j->status != status[k]) {
                act[i] = ACT_MARK;
            } else if (j->status && j->attempt > att[k]) {
                if (extras || !j->has_row) {
                    sum->rerun++;
                    continue;
                }
                act[i] = ACT_REPLAY;
            } else if (fo == OUTCOME_PENDING && opt->crash_limit > 0
                       && j->unresolved >= opt->crash_limit) {
                act[i] = ACT_CRASH;
                ncrash++;
            }
            if (act[i] != ACT_NONE) {
                nact++;
                if (act[i] != ACT_CRASH)
                    sum->ahead++;
            }
            if (!opt->write && act[i] != ACT_NONE) { /* looking: as the write would leave it */
                p->outcome = act[i] == ACT_CRASH ? OUTCOME_FAILED : j->status;
                p->journal = 1;
                p->cause = act[i] == ACT_CRASH ? CAUSE_CRASHED : j->cause;
                p->suspect = 0;
            }
        }
    }
    rc = STORE_OK;
    if (opt->write && nact > 0) {
        store_close(st);
        st = NULL;
        rc = store_open_writable(path, job_hash, &st);
        if (rc != STORE_OK) {
            log_error("%s: %s", path, store_error());
            goto done;
        }
        Apply a = {st, act, sum, STORE_OK};
        if (sum->ahead > 0) {
            int jr = journal_each_latest(jpath, T, jt, apply_entry, &a);
            rc = jr < 0 ? jr : a.rc;
        }
        if (rc == STORE_OK && ncrash > 0) {
            rc = write_crashes(st, jpath, job_hash, T, act, plan);
            if (rc == STORE_OK)
                sum->crashed = ncrash;
        }
        if (rc != STORE_OK) {
            log_error("%s: cannot write what the journal adds: %s", path, strerror(errno));
            goto done;
        }
        /* the plan after the writes: re-read what changed */
        for (long i = 0; i < T; i++)
            if (act[i] != ACT_NONE) {
                uint8_t s;
                TaskResult r;
                int a2;
                if (store_read_state(st, i, 1, &s, &r, NULL, &a2) != STORE_OK) {
                    rc = STORE_ERR;
                    goto done;
                }
                plan[i].outcome = (uint8_t)outcome_of(s, a2, &r);
                if (plan[i].outcome != OUTCOME_PENDING)
                    plan[i].suspect = 0;
                if (a2 > plan[i].attempts)
                    plan[i].attempts = a2;
            }
    }
    if (opt->write && opt->compact && sum->journal_rc == JOURNAL_OK
        && compact(jpath, job_hash, T, jt, ncrash > 0, opt->compact, sum) != 0)
        log_warn("%s: cannot compact the journal (%s); appending to it as it is", jpath,
                 strerror(errno));
    for (long i = 0; i < T; i++) {
        sum->done += plan[i].outcome == OUTCOME_DONE;
        sum->failed += plan[i].outcome == OUTCOME_FAILED;
        sum->pending += plan[i].outcome == OUTCOME_PENDING;
        sum->suspects += plan[i].suspect > 0;
    }
done:
    if (st && store_close(st) != STORE_OK && rc == STORE_OK)
        rc = STORE_ERR;
    free(jt);
    free(act);
    if (!plan_out)
        free(plan);
    free(status);
    free(res);
    free(att);
    free(tasks);
    return rc;
}
