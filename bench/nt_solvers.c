/* bench/nt_solvers: the NT solver rule (regime_nt.c) measured. For NT with n > p it times
 * the direct solve (dgelsd on the design when n p <= 2^21, else the normal equations;
 * whitened by the parameter metric with a ridge) against CG on the same problem (with a
 * ridge: CG preconditioned by (2 S + lambda)^{-1}), side by side in one process, over a
 * grid of (d, N, n/p) at ridge 0 and a few at ridge 1e-3, and prints the time ratio, CG's
 * iterations and the relative difference of the two M (Frobenius).
 *
 * Usage: nt_solvers [--quick]
 * Output: one table on stdout; exit 0 when every fit succeeded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data.h"
#include "job.h"
#include "linalg.h"
#include "regime.h"
#include "task.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best of `reps` fits with the forced solver (NULL = auto); M filled; seconds or NAN. */
static double timed_fit(const FitInput *in, const char *solver, double *M, long *iters,
                        char *used, int reps)
{
    double best = INFINITY;
    nt_force_solver(solver);
    for (int r = 0; r < reps; r++) {
        FitOutput out;
        memset(&out, 0, sizeof out);
        out.M = M;
        double t0 = now();
        if (regime_nt.fit(in, &out) != 0)
            best = NAN;
        double t = now() - t0;
        if (t < best)
            best = t;
        *iters = out.iterations;
        snprintf(used, 16, "%s", nt_solver_name());
    }
    nt_force_solver(NULL);
    return best;
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    la_init(0);
    JobSpec job;
    job_defaults(&job);
    job.noise = 0.1;
    struct { int d, N; double ridge; } shapes[] = {
        {20, 5, 0},  {20, 20, 0}, {40, 10, 0},    {40, 40, 0},    {60, 15, 0},   {60, 60, 0},
        {100, 10, 0}, {100, 20, 0}, {20, 20, 1e-3}, {40, 40, 1e-3}, {60, 30, 1e-3}};
    const double ratios[] = {1.25, 2, 4, 8};
    int ns = quick ? 3 : (int)(sizeof shapes / sizeof shapes[0]), nr = quick ? 2 : 4;
    int failures = 0;
    printf("%5s %5s %6s %7s %6s %5s  %-8s %9s %9s %5s %8s %9s\n", "d", "N", "ridge", "n", "p",
           "n/p", "direct", "t_direct", "t_cg", "it", "dir/cg", "|dM|/|M|");
    for (int s = 0; s < ns; s++) {
        int d = shapes[s].d, N = shapes[s].N;
        job.ridge = shapes[s].ridge;
        long p = N >= d ? (long)d * (d + 1) / 2 : (long)N * d - (long)N * (N - 1) / 2;
        Target *t = data_target_create(&job, MODEL_QUADRATIC, d, 0);
        double *W0 = malloc(sizeof(double) * N * d), *a0 = malloc(sizeof(double) * N);
        double *M1 = malloc(sizeof(double) * d * d), *M2 = malloc(sizeof(double) * d * d);
        task_initial_weights(&job, d, N, 0, W0, a0);
        for (int r = 0; r < nr; r++) {
            long n = (long)ceil(ratios[r] * p);
            double *X = malloc(sizeof(double) * n * d), *y = malloc(sizeof(double) * n);
            data_sample(t, task_train_key(&job, MODEL_QUADRATIC, d, n, 0), 0, n, X, y);
            FitInput in;
            memset(&in, 0, sizeof in);
            in.job = &job;
            in.target = t;
            in.d = d, in.N = N, in.n = n;
            in.X = X, in.y = y, in.W0 = W0, in.a0 = a0;
            const char *direct = (double)n * p <= 2097152.0 ? "explicit" : "normal";
            long it1, it2;
            char u1[16], u2[16];
            int reps = (double)n * p * p < 2e9 ? 3 : 1;
            double t1 = timed_fit(&in, direct, M1, &it1, u1, reps);
            double t2 = timed_fit(&in, "cg", M2, &it2, u2, reps);
            double num = 0, den = 0;
            for (int k = 0; k < d * d; k++) {
                num += (M1[k] - M2[k]) * (M1[k] - M2[k]);
                den += M1[k] * M1[k];
            }
            if (!isfinite(t1) || !isfinite(t2) || strcmp(u2, "cg") != 0)
                failures++;
            printf("%5d %5d %6g %7ld %6ld %5.2f  %-8s %8.3fs %8.3fs %5ld %8.2f %9.2g\n", d, N,
                   job.ridge, n, p, ratios[r], u1, t1, t2, it2, t1 / t2, sqrt(num / den));
            fflush(stdout);
            free(X);
            free(y);
        }
        free(W0);
        free(a0);
        free(M1);
        free(M2);
        data_target_free(t);
    }
    return failures ? 1 : 0;
}
