/* calibrate: `lazysweep plan --calibrate FILE JOB` — the cost model (src/cost.c) against
 * what a finished run measured: per regime family the predicted and measured seconds,
 * counted flops and iterations, and the rate each family's work ran at; then the rates
 * to put in src/cost.c. Reads the file without MPI and without locking. */
#include "calibrate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost.h"
#include "log.h"
#include "outcome.h"
#include "store.h"
#include "task.h"

#define MAX_FAMILIES 32

typedef struct {
    char name[40];
    long count;
    double meas_s, pred_s;       /* seconds: measured, predicted (draw shares included) */
    double meas_f, pred_f;       /* counted flops */
    double meas_it, pred_it;     /* iterations (sums) */
    double other_s;              /* predicted seconds that are not flops (draws, normals) */
    double pred_k[COST_K_COUNT]; /* predicted seconds by kernel class */
} Family;

static Family *family_of(Family *fam, int *nfam, const char *name)
{
    for (int i = 0; i < *nfam; i++)
        if (strcmp(fam[i].name, name) == 0)
            return &fam[i];
    if (*nfam == MAX_FAMILIES)
        return NULL;
    Family *f = &fam[(*nfam)++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    return f;
}

static int dominant(const Family *f)
{
    int k = 0;
    for (int j = 1; j < COST_K_COUNT; j++)
        if (f->pred_k[j] > f->pred_k[k])
            k = j;
    return k;
}

static double ratio(double a, double b) { return b > 0 ? a / b : NAN; }

int calibrate_main(const char *file, const JobSpec *job, const Grid *grid)
{
    Store *st = NULL;
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)job_hash(job));
    int rc = store_open_readonly(file, hash, &st); /* a file of another job is refused */
    if (rc != STORE_OK) {
        log_error("%s: %s", file, rc == STORE_ERR ? "cannot read the results file" : store_error());
        return rc == STORE_ERR ? LS_EXIT_INTERNAL : LS_EXIT_USAGE;
    }
    if (store_check_grid(st, job, grid) != STORE_OK) {
        log_error("%s: not a results file of %s: %s", file, job->path, store_error());
        store_close(st);
        return LS_EXIT_USAGE;
    }
    long n = grid->count;
    double *share = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    uint8_t *status = malloc((size_t)(n > 0 ? n : 1));
    TaskResult *res = malloc(sizeof(TaskResult) * (size_t)(n > 0 ? n : 1));
    int *att = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    CostTotal tot;
    int ok = share && status && res && att && cost_job(job, grid, share, &tot) == 0 &&
             store_read_state(st, 0, n, status, res, NULL, att) == STORE_OK;
    store_close(st);
    if (!ok) {
        log_error("%s: cannot read the results file (or out of memory)", file);
        free(share), free(status), free(res), free(att);
        return LS_EXIT_INTERNAL;
    }
    Family fam[MAX_FAMILIES];
    int nfam = 0;
    long done = 0, pending = 0;
    double all_meas = 0, all_pred = 0;
    const CostRates *cr = cost_rates();
    for (long i = 0; i < n; i++) {
        const Task *t = &grid->tasks[i];
        if (outcome_of(status[i], att[i], &res[i]) != OUTCOME_DONE || !isfinite(res[i].seconds)) {
            pending++;
            continue;
        }
        done++;
        char name[40];
        cost_family(job, t, name, sizeof name);
        Family *f = family_of(fam, &nfam, name);
        if (!f)
            continue;
        CostTask c = cost_task(job, t);
        double flop_s = 0;
        for (int k = 0; k < COST_K_COUNT; k++) {
            f->pred_k[k] += c.flops[k] / cost_kernel_rate(k, t->d, t->N);
            flop_s += c.flops[k] / cost_kernel_rate(k, t->d, t->N);
        }
        f->count++;
        f->meas_s += res[i].seconds;
        f->pred_s += share[i];
        f->other_s += share[i] - flop_s;
        f->meas_f += isfinite(res[i].flops) ? res[i].flops : 0;
        f->pred_f += c.flops_total;
        f->meas_it += res[i].iterations > 0 ? (double)res[i].iterations : 0;
        f->pred_it += c.iterations;
        all_meas += res[i].seconds;
        all_pred += share[i];
    }
    printf("calibrate: %s against %s (%ld done tasks, %ld not done and left out)\n", job->path,
           file, done, pending);
    printf("(GF/s: counted flops per second of the family's work besides its fixed parts; "
           "kernel: the class most of its predicted time is in)\n");
    printf("%-22s %6s %10s %10s %6s %9s %9s %6s %8s %8s %7s %s\n", "family", "tasks", "meas s",
           "pred s", "p/m", "meas GF", "pred GF", "p/m", "meas it", "pred it", "GF/s", "kernel");
    for (int i = 0; i < nfam; i++) {
        const Family *f = &fam[i];
        double rate = ratio(f->meas_f, f->meas_s - f->other_s);
        char rb[16] = "-"; /* none when the fixed parts take all the measured time */
        if (rate > 0)
            snprintf(rb, sizeof rb, "%.2f", rate / 1e9);
        printf("%-22s %6ld %10.4g %10.4g %6.2f %9.4g %9.4g %6.2f %8.1f %8.1f %7s %s\n",
               f->name, f->count, f->meas_s, f->pred_s, ratio(f->pred_s, f->meas_s),
               f->meas_f / 1e9, f->pred_f / 1e9, ratio(f->pred_f, f->meas_f),
               f->meas_it / (double)f->count, f->pred_it / (double)f->count, rb,
               cost_kernel_name(dominant(f)));
    }
    printf("total: measured %.4g core-hours, predicted %.4g (this file's done tasks), "
           "ratio %.2f; whole job predicted %.4g core-hours\n",
           all_meas / 3600, all_pred / 3600, ratio(all_pred, all_meas), tot.seconds / 3600);
    /* per kernel class, over the families it dominates: the rate that would make their
     * predicted flop seconds equal the measured seconds left after the fixed parts (draws,
     * normals, per-task and per-iteration times) — the number to put in src/cost.c */
    printf("suggested rates (GF/s; rate x predicted flop seconds / (measured - fixed parts), "
           "over the families each kernel dominates):");
    for (int k = 0; k < COST_K_COUNT; k++) {
        double fs = 0, s = 0;
        for (int i = 0; i < nfam; i++)
            if (dominant(&fam[i]) == k) {
                for (int j = 0; j < COST_K_COUNT; j++)
                    fs += fam[i].pred_k[j];
                s += fam[i].meas_s - fam[i].other_s;
            }
        if (s > 0 && fs > 0)
            printf(" %s %.3g (now %.3g)", cost_kernel_name(k), cr->rate[k] * fs / s / 1e9,
                   cr->rate[k] / 1e9);
        else
            printf(" %s - (now %.3g)", cost_kernel_name(k), cr->rate[k] / 1e9);
    }
    printf("\n");
    free(share), free(status), free(res), free(att);
    return LS_EXIT_OK;
}
