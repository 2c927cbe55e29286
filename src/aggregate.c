/* aggregate: `lazysweep aggregate FILE [--csv OUT]` — one row per (model, target, d, N,
 * n, regime) over the replicates that are DONE: mean and standard error of the risks
 * normalised by each task's trivial risk r0, the 0-1 test error, and the SPEC §3 limit
 * in the `theory` column, and `not_converged`: how many of those replicates stopped short
 * of a certified fit (stop other than exact or converged). Serial HDF5 through the store;
 * runs on a login node.
 * Column names are the public contract (DESIGN §2). */
#include "aggregate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outputs.h"
#include "outcome.h"
#include "store.h"
#include "theory.h"

static const char *const columns =
    "model,target,d,N,rho,n,regime,replicates,risk_pop_mean,risk_pop_se,risk_test_mean,"
    "risk_test_se,risk_train_mean,risk_train_se,error_test_mean,error_test_se,theory,"
    "not_converged,alpha,eta";
/* How every version's CSV begins: --csv overwrites only files that start so. */
static const char *const csv_signature = "model,target,d,N,rho,n,regime,replicates,";

typedef struct {
    int k[4];           /* finite values per metric */
    double sum[4];      /* first pass: sums; second pass: squared deviations in dev */
    double dev[4];
    int replicates;
    int not_converged;  /* done replicates whose fit stopped short (stop not exact/converged) */
} Group;

enum { M_POP, M_TEST, M_TRAIN, M_ERR };

/* alpha / eta as a sort key: NaN (no such axis) first, inf last. */
static double axis_key(double v) { return isnan(v) ? -INFINITY : v; }

static const Task *cmp_tasks;
static const int *cmp_target;
/* Grid order is (model, d, N, n, regime, replicate): tasks of one group are the
 * replicates, adjacent in id order — but sort anyway so any file layout works. */
static int by_group(const void *a, const void *b)
{
    const Task *x = &cmp_tasks[*(const long *)a], *y = &cmp_tasks[*(const long *)b];
    int tx = cmp_target[*(const long *)a], ty = cmp_target[*(const long *)b];
#define CMP(u, v) if ((u) != (v)) return (u) < (v) ? -1 : 1
    CMP(x->model, y->model);
    CMP(tx, ty);
    CMP(x->d, y->d);
    CMP(x->N, y->N);
    CMP((x->n < 0 ? 1L << 62 : x->n), (y->n < 0 ? 1L << 62 : y->n));
    CMP(x->regime, y->regime);
    CMP(axis_key(x->alpha), axis_key(y->alpha));
    CMP(axis_key(x->eta), axis_key(y->eta));
    CMP(x->id, y->id);
#undef CMP
    return 0;
}

static int same_group(const Task *x, int tx, const Task *y, int ty)
{
    return x->model == y->model && tx == ty && x->d == y->d && x->N == y->N && x->n == y->n &&
           x->regime == y->regime && axis_key(x->alpha) == axis_key(y->alpha) &&
           axis_key(x->eta) == axis_key(y->eta);
}

/* The metrics of a done task: normalised risks and the 0-1 error. */
static void metrics(const TaskResult *r, double v[4])
{
    v[M_POP] = r->risk_pop / r->r0;
    v[M_TEST] = r->risk_test / r->r0;
    v[M_TRAIN] = r->risk_train / r->r0;
    v[M_ERR] = r->error_test;
}

/* Two passes (sums, then squared deviations from the mean): the one-pass formula
 * loses the standard error when it is tiny next to the mean. */
static void add(Group *g, const double v[4], const double *mean)
{
    for (int m = 0; m < 4; m++) {
        if (!isfinite(v[m]))
            continue;
        if (!mean) {
            g->k[m]++;
            g->sum[m] += v[m];
        } else {
            g->dev[m] += (v[m] - mean[m]) * (v[m] - mean[m]);
        }
    }
}

/* standard error; empty cell (NaN) where there is nothing to average */
static double std_err(const Group *g, int m)
{
    int k = g->k[m];
    return k < 2 ? NAN : sqrt(g->dev[m] / (k - 1) / k);
}

static void cell(FILE *f, double v, int last)
{
    if (isfinite(v))
        fprintf(f, "%.10g", v);
    fputc(last ? '\n' : ',', f);
}

/* alpha / eta: empty where the regime has no such axis, "inf" for eta = inf. */
static void axis_cell(FILE *f, double v, int last)
{
    if (isinf(v))
        fputs("inf", f);
    else if (isfinite(v))
        fprintf(f, "%.10g", v);
    fputc(last ? '\n' : ',', f);
}

static void table_cell(double v)
{
    if (isfinite(v))
        printf(" %9.4f", v);
    else
        printf(" %9s", "");
}

int aggregate_main(const CliArgs *args)
{
    char err[1024];
    if (args->force && !args->csv) {
        log_error("aggregate: --force: expected together with --csv OUT (see 'lazysweep aggregate --help')");
        return LS_EXIT_USAGE;
    }
    /* before reading anything: --csv never overwrites an input (results file, journal, job
     * files, ...) unless it is a CSV we wrote, or --force says so */
    if (args->csv && outputs_check_csv(args->csv, args->file, csv_signature, args->force, err,
                                       sizeof err) != 0) {
        log_error("%s", err);
        return LS_EXIT_USAGE;
    }
    Store *st = NULL;
    int rc = store_open_readonly(args->file, NULL, &st);
    if (rc != STORE_OK) {
        log_error("%s: %s", args->file, rc == STORE_EMISSING ? "no such results file"
                                        : rc == STORE_EFOREIGN ? "not a lazysweep results file"
                                        : rc == STORE_EBAD ? store_error()
                                                           : "cannot read the results file");
        return rc == STORE_ERR ? LS_EXIT_INTERNAL : LS_EXIT_USAGE;
    }
    long n = store_task_count(st);
    Task *tasks = ls_malloc(sizeof(Task) * (size_t)n);
    int *target = ls_malloc(sizeof(int) * (size_t)n);
    uint8_t *status = ls_malloc((size_t)n);
    TaskResult *res = ls_malloc(sizeof(TaskResult) * (size_t)n);
    long *order = ls_malloc(sizeof(long) * (size_t)n);
    int *attempts = ls_malloc(sizeof(int) * (size_t)n);
    int ok = store_read_tasks(st, tasks, target) == STORE_OK &&
             store_read_status(st, status) == STORE_OK &&
             store_read_results(st, 0, n, res, NULL, attempts) == STORE_OK;
    for (long i = 0; ok && i < n; i++) /* the one definition of done (outcome.h) */
        status[i] = (uint8_t)outcome_of(status[i], attempts[i], &res[i]);
    store_close(st);
    FILE *csv = NULL;
    if (ok && args->csv) {
        csv = !strcmp(args->csv, "-") ? stdout : fopen(args->csv, "w");
        if (!csv) {
            log_error("%s: cannot write: %s", args->csv, strerror(errno));
            ok = 0;
            rc = LS_EXIT_USAGE;
        }
    } else if (!ok) {
        log_error("%s: cannot read the results file", args->file);
        rc = LS_EXIT_INTERNAL;
    }
    if (!ok)
        goto out;

    for (long i = 0; i < n; i++)
        order[i] = i;
    cmp_tasks = tasks;
    cmp_target = target;
    qsort(order, (size_t)n, sizeof(long), by_group);
    if (csv)
        fprintf(csv, "%s\n", columns);
    if (csv != stdout)
        printf("%-9s %-11s %5s %6s %6s %9s %-9s %9s %4s %9s %9s %9s %9s %9s %9s %s\n", "model",
               "target", "d", "N", "rho", "n", "regime", "alpha/eta", "reps", "pop", "+-se",
               "test", "train", "err01", "theory", "short");
    for (long s = 0; s < n;) {
        long e = s;
        const Task *t = &tasks[order[s]];
        int tg = target[order[s]];
        Group g;
        memset(&g, 0, sizeof g);
        double v[4], mean[4], se[4];
        while (e < n && same_group(t, tg, &tasks[order[e]], target[order[e]])) {
            long i = order[e++];
            if (status[i] != OUTCOME_DONE)
                continue;
            g.replicates++;
            g.not_converged += !task_stop_is_converged(res[i].stop);
            metrics(&res[i], v);
            add(&g, v, NULL);
        }
        if (g.replicates == 0) {
            s = e;
            continue; /* nothing done yet at this point */
        }
        for (int m = 0; m < 4; m++)
            mean[m] = g.k[m] ? g.sum[m] / g.k[m] : NAN;
        for (long q = s; q < e; q++)
            if (status[order[q]] == OUTCOME_DONE) {
                metrics(&res[order[q]], v);
                add(&g, v, mean);
            }
        for (int m = 0; m < 4; m++)
            se[m] = std_err(&g, m);
        s = e;
        double rho = (double)t->N / t->d;
        double theory = theory_limit(t->model, tg, t->regime, rho);
        const char *tname = t->model == MODEL_QUADRATIC && tg >= 0 ? job_target_name(tg) : "none";
        char nbuf[32];
        if (t->n < 0)
            snprintf(nbuf, sizeof nbuf, "inf");
        else
            snprintf(nbuf, sizeof nbuf, "%ld", t->n);
        if (csv) {
            fprintf(csv, "%s,%s,%d,%d,%.10g,%s,%s,%d,", job_model_name(t->model), tname, t->d, t->N,
                    rho, nbuf, job_regime_name(t->regime), g.replicates);
            for (int m = 0; m < 4; m++) {
                cell(csv, mean[m], 0);
                cell(csv, se[m], 0);
            }
            cell(csv, theory, 0);
            fprintf(csv, "%d,", g.not_converged);
            axis_cell(csv, t->alpha, 0);
            axis_cell(csv, t->eta, 1);
        }
        if (csv != stdout) {
            char ab[32] = "";
            double axv = !isnan(t->alpha) ? t->alpha : t->eta;
            if (!isnan(axv))
                snprintf(ab, sizeof ab, "%g", axv);
            printf("%-9s %-11s %5d %6d %6.3f %9s %-9s %9s %4d", job_model_name(t->model), tname,
                   t->d, t->N, rho, nbuf, job_regime_name(t->regime), ab, g.replicates);
            table_cell(mean[M_POP]);
            table_cell(se[M_POP]);
            table_cell(mean[M_TEST]);
            table_cell(mean[M_TRAIN]);
            table_cell(mean[M_ERR]);
            table_cell(theory);
            if (g.not_converged)
                printf(" %d", g.not_converged);
            printf("\n");
        }
    }
    if (csv && csv != stdout && fclose(csv) != 0) {
        log_error("%s: write failed: %s", args->csv, strerror(errno));
        rc = LS_EXIT_INTERNAL;
        goto out;
    }
    rc = LS_EXIT_OK;
out:
    free(tasks);
    free(target);
    free(status);
    free(res);
    free(order);
    free(attempts);
    return rc;
}
