/* bench/kernels: each regime's kernels against this machine's DGEMM rate, measured in
 * the same process, with the same BLAS configuration (1 thread unless
 * LAZYSWEEP_BLAS_THREADS says otherwise).
 *
 * Every kernel is timed through the library's public API (data_sample, risk_empirical,
 * the regime tables' fit) at a realistic size; its floating-point work is what the
 * linalg wrappers count (la_flops), so "GFLOP/s" is counted work per second and the
 * headline is that rate as a fraction of DGEMM's. Each fit's DGEMM rate is the mean of
 * two 0.25 s measurements (400^3), just before and just after it; the sampling and
 * test-risk rows use the first one, and the DGEMM of the start and the end is printed
 * so that a busy machine shows. Times are process CPU time (CLOCK_PROCESS_CPUTIME_ID:
 * BLAS runs on one thread), so that other processes on a shared machine slow the
 * kernels and the DGEMM reference alike instead of adding their time slices.
 * Flop convention (la_flops): 2mnk per GEMM, n(n+1)k per SYRK, 2n per BLAS-1 call,
 * the nominal counts of the LAPACK calls, and the kernels' own elementwise loops at
 * their counted operations (e.g. 3 per entry for f = c + sum_i a_i z_i^2); a product
 * is counted once per evaluation because it is formed once (the NN varpro objective
 * reuses the RF solve's X W^T, W W^T and W B). Not counted: the optimisers' vector
 * updates (O(parameters) per step, plain loops in optim.c), sampling (no flops:
 * normals), copies. Sampling's row shows the rate of the one DGEMM pass X M that
 * consumes the same rows (2 n d^2 flops) — how many such passes sampling costs.
 *
 * rng_normal's own rate (M normals/s, no flops) is shown for one long call, for calls of
 * d + 1 = 41 values on consecutive sub-streams, and for rng_normal_rows with 64 such rows
 * per call, the way data_sample draws them.
 *
 * Usage: kernels [--quick] [--nn] [--only=TEXT] [--seconds=S]
 *        kernels --normals (only the rng_normal rates, one line, for bench/run.sh)
 *   --quick      smaller sizes, for a smoke test
 *   --nn         only the NN rows
 *   --only=TEXT  only the fits whose "kernel size" text contains TEXT (implies --nn)
 *   --seconds=S  repeat each fit for at least S seconds (default 0.25; for perf record)
 * Output: one table on stdout; exit 0 when every fit succeeded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data.h"
#include "grid.h"
#include "job.h"
#include "linalg.h"
#include "regime.h"
#include "risk.h"
#include "rng.h"
#include "task.h"

static double min_seconds = 0.25; /* each measurement repeats this long (--seconds=S) */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int quick, nn_only;
static const char *only; /* --only=TEXT: fits whose "kernel size" contains TEXT */
static double dgemm_ref; /* GFLOP/s */
static int dgemm_size;
static int failures;

/* DGEMM rate (GFLOP/s) for C = A B, all s x s, repeated for 0.25 s. */
static double dgemm_rate(int s)
{
    size_t ss = (size_t)s * s;
    double *A = malloc(sizeof(double) * ss), *B = malloc(sizeof(double) * ss);
    double *C = calloc(ss, sizeof(double));
    for (size_t k = 0; k < ss; k++) {
        A[k] = sin((double)k);
        B[k] = cos((double)k);
    }
    la_gemm('N', 'N', s, s, s, 1.0, A, s, B, s, 0.0, C, s); /* warm-up */
    long reps = 0;
    double t0 = now(), t;
    do {
        la_gemm('N', 'N', s, s, s, 1.0, A, s, B, s, 0.0, C, s);
        reps++;
        t = now() - t0;
    } while (t < 0.25);
    free(A);
    free(B);
    free(C);
    return 2.0 * s * s * (double)s * reps / t * 1e-9;
}

static void row(const char *kernel, const char *shape, double flops, double seconds,
                long reps, long iters, const char *note)
{
    double gf = flops / seconds * 1e-9;
    char per[48] = "";
    if (iters > 0)
        snprintf(per, sizeof per, "%.3g ms/it (%ld it)", 1e3 * seconds / reps / iters, iters);
    else
        snprintf(per, sizeof per, "%.3g ms", 1e3 * seconds / reps);
    printf("%-26s %-24s %8.2f %7.3f   %-22s %s\n", kernel, shape, gf, gf / dgemm_ref, per,
           note ? note : "");
    fflush(stdout);
}

/* One problem: a quadratic exponential target, W0, a0, and (finite n) a training set. */
typedef struct {
    JobSpec job;
    Target *t;
    int d, N;
    long n;
    double *W0, *a0, *X, *y, *M;
} Problem;

static void problem_init(Problem *p, const char *extra, int d, int N, long n)
{
    char text[1024], err[512];
    snprintf(text, sizeof text,
             "[sweep]\nname = bench\nseed = 5\n[grid]\nd = %d\nN = %d\nn = inf\n"
             "regime = rf\n%s\n", d, N, extra ? extra : "");
    memset(p, 0, sizeof *p);
    if (job_load_string(text, "bench", &p->job, err, sizeof err) != 0) {
        fprintf(stderr, "kernels: bad job: %s\n", err);
        exit(1);
    }
    p->d = d, p->N = N, p->n = n;
    p->t = data_target_create(&p->job, MODEL_QUADRATIC, d, 0);
    p->W0 = malloc(sizeof(double) * (size_t)N * d);
    p->a0 = malloc(sizeof(double) * (size_t)N);
    p->M = calloc((size_t)d * d, sizeof(double));
    task_initial_weights(&p->job, d, N, 0, p->W0, p->a0);
    if (n > 0) {
        p->X = malloc(sizeof(double) * (size_t)n * d);
        p->y = malloc(sizeof(double) * (size_t)n);
        data_sample(p->t, task_train_key(&p->job, MODEL_QUADRATIC, d, n, 0), 0, n, p->X, p->y);
    }
}

static void problem_free(Problem *p)
{
    data_target_free(p->t);
    free(p->W0);
    free(p->a0);
    free(p->X);
    free(p->y);
    free(p->M);
}

/* Times rg->fit on p (repeated up to min_seconds) and prints its row. */
static void bench_fit(const char *kernel, const Regime *rg, Problem *p, int nn_method,
                      const char *note)
{
    FitInput in;
    memset(&in, 0, sizeof in);
    in.job = &p->job;
    in.target = p->t;
    in.d = p->d, in.N = p->N, in.n = p->n;
    in.X = p->X, in.y = p->y;
    in.W0 = p->W0, in.a0 = p->a0;
    in.nn_method = nn_method;
    in.nn_optimizer = NN_OPT_BACKTRACK;
    char shape[64], buf[128];
    if (p->n > 0)
        snprintf(shape, sizeof shape, "d=%d N=%d n=%ld", p->d, p->N, p->n);
    else
        snprintf(shape, sizeof shape, "d=%d N=%d n=inf", p->d, p->N);
    snprintf(buf, sizeof buf, "%s %s", kernel, shape);
    if (only && !strstr(buf, only))
        return;
    double ref0 = dgemm_rate(dgemm_size); /* side by side: the load of this moment */
    FitOutput out;
    long reps = 0;
    double flops = 0, t = 0;
    int ok = 1;
    do {
        memset(&out, 0, sizeof out);
        out.M = p->M;
        la_flops_reset();
        double t0 = now();
        if (rg->fit(&in, &out) != 0)
            ok = 0;
        t += now() - t0;
        flops += la_flops();
        reps++;
    } while (t < min_seconds && ok);
    dgemm_ref = 0.5 * (ref0 + dgemm_rate(dgemm_size)); /* DGEMM just before and after */
    snprintf(buf, sizeof buf, "%s%s%s%s", note ? note : "", rg == &regime_nt ? nt_solver_name() : "",
             ok ? "" : " FAILED: ", ok ? "" : task_cause_name(out.cause));
    if (!ok)
        failures++;
    row(kernel, shape, flops, t, reps, out.iterations, buf);
}

static void bench_sampling(int d, long n)
{
    Problem p;
    problem_init(&p, NULL, d, 1, 0);
    double *X = malloc(sizeof(double) * (size_t)n * d), *y = malloc(sizeof(double) * n);
    RngKey key = rng_key(5, RNG_SITE_TESTING, 1, 2, 3);
    long reps = 0;
    double t = 0;
    do {
        double t0 = now();
        data_sample(p.t, key, 0, n, X, y);
        t += now() - t0;
        reps++;
    } while (t < min_seconds);
    char shape[64], note[96];
    snprintf(shape, sizeof shape, "d=%d n=%ld", d, n);
    snprintf(note, sizeof note, "%.1f M normals/s; rate = 2nd^2 (one X M pass) per time",
             (double)reps * n * (d + 1) / t * 1e-6);
    row("data sampling", shape, 2.0 * n * (double)d * d * reps, t, reps, 0, note);
    free(X);
    free(y);
    problem_free(&p);
}

/* M normals/s of rng_normal in calls of len values on consecutive sub-streams (rows = 0),
 * or of rng_normal_rows with that many rows of len per call, about total values per
 * repetition. */
static double normal_rate(size_t len, size_t rows, size_t total)
{
    size_t per = rows ? rows : 1, calls = total / (len * per);
    double *x = malloc(sizeof(double) * len * per);
    RngKey key = rng_key(5, RNG_SITE_TESTING, 4, 5, 6);
    long reps = 0;
    double t = 0, sink = 0;
    do {
        double t0 = now();
        for (size_t j = 0; j < calls; j++) {
            uint64_t sub = ((uint64_t)reps * calls + j) * per;
            if (rows)
                rng_normal_rows(key, sub, rows, len, x);
            else
                rng_normal(key, sub, x, len);
            sink += x[len * per - 1];
        }
        t += now() - t0;
        reps++;
    } while (t < min_seconds);
    free(x);
    return isfinite(sink) ? (double)reps * (double)(calls * per * len) / t * 1e-6 : 0;
}

static void bench_normals(void)
{
    size_t total = quick ? 1u << 16 : 1u << 20;
    char note[96];
    snprintf(note, sizeof note, "%.1f M normals/s (%s kernel)", normal_rate(total, 0, total),
             rng_isa());
    printf("%-26s %-24s %8s %7s   %-22s %s\n", "rng_normal, one call", "2^20 values", "-", "-", "",
           note);
    snprintf(note, sizeof note, "%.1f M normals/s", normal_rate(41, 0, total));
    printf("%-26s %-24s %8s %7s   %-22s %s\n", "rng_normal, calls of 41", "d+1=41, 2^20 total", "-",
           "-", "", note);
    snprintf(note, sizeof note, "%.1f M normals/s (as data_sample)", normal_rate(41, 64, total));
    printf("%-26s %-24s %8s %7s   %-22s %s\n", "rng_normal_rows, 64 x 41", "d+1=41, 2^20 total", "-",
           "-", "", note);
    fflush(stdout);
}

static void bench_risk(int d, long n)
{
    Problem p;
    problem_init(&p, NULL, d, 1, n);
    for (int i = 0; i < d; i++)
        p.M[(size_t)i * d + i] = 1.0 / d;
    long reps = 0;
    double t = 0, flops = 0, r = 0;
    do {
        la_flops_reset();
        double t0 = now();
        r += risk_empirical(d, 0.1, p.M, n, p.X, p.y);
        t += now() - t0;
        flops += la_flops();
        reps++;
    } while (t < min_seconds);
    char shape[64];
    snprintf(shape, sizeof shape, "d=%d n_test=%ld", d, n);
    row("test-risk evaluation", shape, flops, t, reps, 0, isfinite(r) ? "" : "FAILED");
    problem_free(&p);
}

/* NN rows. The small sizes of earlier releases, kept for comparison. */
static void bench_nn_small(int s)
{
    Problem p;
    problem_init(&p, "[train]\nnn_method = gd\nnn_lr = 1e-3\nnn_steps = 20\nnn_tol = 0",
                 100 / s, 50 / s, 20000 / s);
    bench_fit("NN gd step (finite n)", &regime_nn, &p, NN_METHOD_GD, "full batch, fixed lr");
    problem_free(&p);
    problem_init(&p, "[train]\nnn_method = varpro\nnn_steps = 20\nnn_tol = 0", 60 / s,
                 30 / s, 14400 / (s * s));
    bench_fit("NN varpro it. (finite n)", &regime_nn, &p, NN_METHOD_VARPRO, "L-BFGS on W");
    problem_free(&p);
}

/* One NN row: the problem is built only when --only selects the row. */
static void nn_row(const char *kernel, const char *extra, int d, int N, long n, int method,
                   const char *note)
{
    char buf[128];
    if (n > 0)
        snprintf(buf, sizeof buf, "%s d=%d N=%d n=%ld", kernel, d, N, n);
    else
        snprintf(buf, sizeof buf, "%s d=%d N=%d n=inf", kernel, d, N);
    if (only && !strstr(buf, only))
        return;
    Problem p;
    problem_init(&p, extra, d, N, n);
    bench_fit(kernel, &regime_nn, &p, method, note);
    problem_free(&p);
}

/* NN at d = 200 and 450 (N = d/2): plain GD steps (fixed step; finite n full batch and
 * population), variable projection (L-BFGS on W, (c, a) exact) and online SGD as the
 * authors ran it (d = 450, batch 100, shared a, fresh samples: sampling is part of a
 * step, its flops are the target's x^T B x). */
static void bench_nn(int s)
{
    static const int ds[2] = {200, 450};
    for (int k = 0; k < 2; k++) {
        int d = ds[k] / s, N = ds[k] / (2 * s);
        nn_row("NN gd step (finite n)",
               "[train]\nnn_method = gd\nnn_lr = 1e-4\nnn_steps = 10\nnn_tol = 0", d, N,
               (k == 0 ? 20000 : 10000) / s, NN_METHOD_GD, "full batch, fixed lr");
        nn_row("NN gd step (population)",
               "[train]\nnn_method = population\nnn_lr = 1e-4\nnn_steps = 50\nnn_tol = 0", d,
               N, -1, NN_METHOD_POPULATION, "fixed lr");
        nn_row("NN varpro it. (population)",
               "[train]\nnn_method = varpro\nnn_steps = 30\nnn_tol = 0", d, N, -1,
               NN_METHOD_VARPRO, "L-BFGS on W");
        nn_row("NN varpro it. (finite n)",
               k == 0 ? "[train]\nnn_method = varpro\nnn_steps = 10\nnn_tol = 0"
                      : "[train]\nnn_method = varpro\nnn_steps = 4\nnn_tol = 0",
               d, N, (k == 0 ? 40000 : 20000) / (s * s), NN_METHOD_VARPRO, "L-BFGS on W");
    }
    nn_row("NN sgd step (online)",
           "[train]\nnn_method = sgd\nnn_a_init = shared\nnn_batch = 100\n"
           "nn_lr = 1e-4\nnn_steps = 200\nnn_tol = 0", 450 / s, 225 / s, -1, NN_METHOD_SGD,
           "batch 100, shared a, sampling included");
}

int main(int argc, char **argv)
{
    for (int k = 1; k < argc; k++) {
        quick |= strcmp(argv[k], "--quick") == 0;
        nn_only |= strcmp(argv[k], "--nn") == 0;
        if (strncmp(argv[k], "--seconds=", 10) == 0)
            min_seconds = atof(argv[k] + 10);
        if (strncmp(argv[k], "--only=", 7) == 0)
            only = argv[k] + 7, nn_only = 1;
    }
    if (argc > 1 && strcmp(argv[1], "--normals") == 0) {
        double l = normal_rate(1u << 20, 0, 1u << 20), sh = normal_rate(41, 0, 1u << 20);
        double rw = normal_rate(41, 64, 1u << 20);
        printf("rng_normal %s: %.1f %.1f %.1f M normals/s (one call of 2^20, calls of 41, "
               "rng_normal_rows 64 x 41)\n", rng_isa(), l, sh, rw);
        return 0;
    }
    la_init(0);
    const int dref = quick ? 128 : 400;
    dgemm_size = dref;
    double g0 = dgemm_rate(dref);
    dgemm_ref = g0;
    printf("BLAS: %s\n", la_blas_info());
    /* measured: 4.4x slower DGEMM on a 16-core Xeon, docs/BENCH.md */
    if (la_blas_warning())
        printf("WARNING: %s\n", la_blas_warning());
    printf("%-26s %-24s %8s %7s   %-22s %s\n", "kernel", "size", "GFLOP/s", "/DGEMM",
           "time", "note");
    double fl = 2.0 * dref * dref * (double)dref;
    row("DGEMM (reference)", quick ? "128^3" : "400^3", fl, fl / (g0 * 1e9), 1, 0,
        "C = A B, square");

    Problem p;
    int s = quick ? 4 : 1; /* size divisor for --quick */

    if (nn_only)
        goto nn;
    bench_normals();
    bench_sampling(200 / s, 20000 / s);
    bench_risk(200 / s, 20000 / s);

    /* RF: finite n through the blocked normal equations; population closed form. */
    problem_init(&p, NULL, 200 / s, 200 / s, 40000 / (s * s));
    bench_fit("RF solve (finite n)", &regime_rf, &p, 0, "normal equations");
    problem_free(&p);
    problem_init(&p, NULL, 450 / s, 450 / s, -1);
    bench_fit("RF solve (population)", &regime_rf, &p, 0, "closed form");
    problem_free(&p);

    /* NT: the same finite-n problem (n >= 2p: auto is CG, two fused GEMMs per product) by
     * the direct (normal-equation) path and by CG; the CG row's /DGEMM is the operator's
     * share of DGEMM speed (its flops are the GEMMs' and the O(n Nq) row dots). The
     * measured rule behind the choice: bench/nt_solvers. */
    problem_init(&p, NULL, 100 / s, 10 / s, 40000 / (s * s));
    nt_force_solver("normal");
    bench_fit("NT solve (direct)", &regime_nt, &p, 0, "solver: ");
    nt_force_solver(NULL);
    bench_fit("NT solve (CG)", &regime_nt, &p, 0, "same problem, auto, to 1e-12; solver: ");
    problem_free(&p);
    problem_init(&p, NULL, 100 / s, 50 / s, 40000 / (s * s));
    bench_fit("NT solve (auto, p > 2000)", &regime_nt, &p, 0, "solver: ");
    problem_free(&p);
    /* NT in the parameter metric: with a ridge (CG preconditioned by 2 S + lambda), and at
     * n <= p (the n x n kernel K_N) */
    problem_init(&p, "[train]\nridge = 1e-3", 100 / s, 50 / s, 40000 / (s * s));
    bench_fit("NT solve (ridge, CG)", &regime_nt, &p, 0, "preconditioned by 2S + lambda; solver: ");
    problem_free(&p);
    problem_init(&p, NULL, 60 / s, 120 / s, 1500 / s);
    bench_fit("NT solve (n <= p, kernel)", &regime_nt, &p, 0, "K_N, n x n; solver: ");
    problem_free(&p);
    problem_init(&p, NULL, 450 / s, 225 / s, -1);
    bench_fit("NT solve (population)", &regime_nt, &p, 0, "solver: ");
    problem_free(&p);

nn:
    if (!nn_only)
        bench_nn_small(s);
    bench_nn(s);

    double g1 = dgemm_rate(dref);
    printf("DGEMM %d^3 before / after: %.1f / %.1f GFLOP/s (the reference is the first)\n",
           dref, g0, g1);
    return failures ? 1 : 0;
}
