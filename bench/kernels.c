/* bench/kernels: each regime's kernels against this machine's DGEMM rate, measured in
 * the same process, with the same BLAS configuration (1 thread unless
 * LAZYSWEEP_BLAS_THREADS says otherwise).
 *
 * Every kernel is timed through the library's public API (data_sample, risk_empirical,
 * the regime tables' fit) at a realistic size; its floating-point work is what the
 * linalg wrappers count (la_flops), so "GFLOP/s" is counted work per second and the
 * headline is that rate as a fraction of DGEMM's (measured first; a second DGEMM
 * measurement after the kernels is printed so that a busy machine shows).
 * Sampling does no BLAS work: its row shows the rate of the one DGEMM pass X M that
 * consumes the same rows (2 n d^2 flops) — how many such passes sampling costs.
 *
 * Usage: kernels [--quick]     (--quick: smaller sizes, for a smoke test)
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

#define MIN_SECONDS 0.25 /* each measurement repeats until it has run this long */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int quick;
static double dgemm_ref; /* GFLOP/s */
static int failures;

/* DGEMM rate (GFLOP/s) for C = A B, all s x s, repeated for MIN_SECONDS. */
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
    } while (t < MIN_SECONDS);
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

/* Times rg->fit on p (repeated up to MIN_SECONDS) and prints its row. */
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
    } while (t < MIN_SECONDS && ok);
    char shape[64], buf[128];
    if (p->n > 0)
        snprintf(shape, sizeof shape, "d=%d N=%d n=%ld", p->d, p->N, p->n);
    else
        snprintf(shape, sizeof shape, "d=%d N=%d n=inf", p->d, p->N);
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
    } while (t < MIN_SECONDS);
    char shape[64], note[96];
    snprintf(shape, sizeof shape, "d=%d n=%ld", d, n);
    snprintf(note, sizeof note, "%.1f M normals/s; rate = 2nd^2 (one X M pass) per time",
             (double)reps * n * (d + 1) / t * 1e-6);
    row("data sampling", shape, 2.0 * n * (double)d * d * reps, t, reps, 0, note);
    free(X);
    free(y);
    problem_free(&p);
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
    } while (t < MIN_SECONDS);
    char shape[64];
    snprintf(shape, sizeof shape, "d=%d n_test=%ld", d, n);
    row("test-risk evaluation", shape, flops, t, reps, 0, isfinite(r) ? "" : "FAILED");
    problem_free(&p);
}

int main(int argc, char **argv)
{
    quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    la_init(0);
    const int dref = quick ? 128 : 400;
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

    /* NN: plain GD steps (fixed step), population GD, variable projection. */
    problem_init(&p, "[train]\nnn_method = gd\nnn_lr = 1e-3\nnn_steps = 20\nnn_tol = 0",
                 100 / s, 50 / s, 20000 / s);
    bench_fit("NN gd step (finite n)", &regime_nn, &p, NN_METHOD_GD, "full batch, fixed lr");
    problem_free(&p);
    problem_init(&p, "[train]\nnn_method = population\nnn_lr = 1e-3\nnn_steps = 50\n"
                     "nn_tol = 0", 200 / s, 100 / s, -1);
    bench_fit("NN gd step (population)", &regime_nn, &p, NN_METHOD_POPULATION, "fixed lr");
    problem_free(&p);
    problem_init(&p, "[train]\nnn_method = varpro\nnn_steps = 30\nnn_tol = 0", 200 / s,
                 100 / s, -1);
    bench_fit("NN varpro it. (population)", &regime_nn, &p, NN_METHOD_VARPRO, "L-BFGS on W");
    problem_free(&p);
    problem_init(&p, "[train]\nnn_method = varpro\nnn_steps = 20\nnn_tol = 0", 60 / s,
                 30 / s, 14400 / (s * s));
    bench_fit("NN varpro it. (finite n)", &regime_nn, &p, NN_METHOD_VARPRO, "L-BFGS on W");
    problem_free(&p);

    double g1 = dgemm_rate(dref);
    printf("DGEMM %d^3 before / after: %.1f / %.1f GFLOP/s (the reference is the first)\n",
           dref, g0, g1);
    return failures ? 1 : 0;
}
