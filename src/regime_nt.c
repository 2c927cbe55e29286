/* regime_nt: neural tangent regime, exact least squares over the NT class
 * {M symmetric : P_perp M P_perp = 0} plus a free offset c (SPEC §1).
 *
 * Coordinates. Q = [Q1 Q2] (la_qr_full of W0^T) is an orthonormal basis of R^d with Q1
 * (d x Nq, Nq = min(N, d)) spanning the row space of W0 and Q2 (d x k, k = d - Nq) its
 * complement. With u = Q1^T x, v = Q2^T x the class is
 *     f(x) = c + u^T A u + 2 u^T C v,   A symmetric Nq x Nq, C Nq x k,
 * i.e. Q^T M Q = [[A, C], [C^T, 0]]; p = Nq(Nq+1)/2 + Nq k = N d - N(N-1)/2 independent
 * parameters (N >= d: all symmetric M, p = d(d+1)/2). The inner product
 * <A, A'> + 2 <C, C'> = <M, M'>_F.
 *
 * Objective (finite n): (1/n) sum_j (f(x_j) - y_j)^2 + lambda ||(da, G)||^2, lambda = job
 * ridge on the raw parameters of SPEC §1 (M = L(da, G), regime_nt_impl.h), c never
 * penalised; lambda = 0: the minimum-||(da, G)|| least-squares solution, where gradient
 * descent from zero converges. When lambda = 0 and n > p the least-squares M is unique
 * (full-rank design) and is found in M without the metric; otherwise the solvers work in
 * the parameter metric S = L L^* (nt_metric.c): M = S u, (da, G) = L^* u.
 * Solvers (all exact up to rounding except CG, which stops at a relative normal-equation
 * residual NT_CG_TOL and records it; stop = exact for the direct ones, converged for CG),
 * in the order of choice:
 *   cg        n >= NT_CG_RATIO p without the metric, or with a ridge and p <= NT_PRECOND_P
 *             (measured rule, below);
 *   explicit  n p <= NT_EXPLICIT: the centred design (n x p, svec features) by dgelsd;
 *   normal    p <= NT_DENSE_P: normal equations accumulated in row blocks, Cholesky
 *             (pseudo-inverse when singular at lambda = 0). With the metric both run in
 *             whitened coordinates v, M = L v with S = L L^T (p x p Cholesky of S in svec
 *             coordinates), where the problem is plain ridge / minimum norm;
 *   kernel    n <= p, n <= NT_KERNEL_N (the metric's choice): the n x n kernel
 *             K_N(x, x') = sum_i z_i^2 z_i'^2 + 4 a0_i^2 z_i z_i' <x, x'>, z = W0 x, with the
 *             constant projected out ([K_N + n lambda, 1; 1^T, 0] [beta; c] = [y; 0]),
 *             pseudo-inverse when singular; M = S F^* beta;
 *   cg        otherwise: conjugate gradients on the normal equations with structured
 *             products (two GEMMs, O(n Nq d)), started at 0, at most NT_CG_MAXIT
 *             iterations; with the metric it is CG in (da, G), run in M: preconditioned by
 *             S at lambda = 0 (so from 0 it returns the minimum-||(da, G)|| solution), by
 *             (2 S + lambda)^{-1} with a ridge (nt_cg_ridge). When CG does not reach NT_CG_TOL
 *             (budget, or the p^T A p <= 0 breakdown of an ill-conditioned system, e.g. at
 *             the interpolation threshold n ~ p) the kernel (n <= p) or normal solve follows,
 *             or the explicit one, when it needs at most NT_FALLBACK_BYTES; otherwise the
 *             task fails with cause solver.
 * out->residual is always the relative normal-equation residual: without the metric
 * ||F*(F theta - y_c)/n + lambda theta|| / ||F* y_c / n||; with it the same in (da, G).
 * Memory: X Q (n x d) besides the caller's X, plus the solver's arrays (p^2, n^2 or n p
 * doubles as above, never a dense n x (N d) matrix beyond NT_EXPLICIT).
 *
 * Population (n = -1): nt_population.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "regime.h"
#include "regime_nt_impl.h"
#include "task.h"

#define NT_EXPLICIT (1L << 21)   /* n * p for the explicit dgelsd path */
#define NT_DENSE_P 2000          /* largest p for the normal equations */
#define NT_KERNEL_N 3000         /* largest n for the kernel form */
#define NT_CHUNK 1024            /* rows per block for the normal equations */
#define NT_CG_TOL 1e-12          /* relative normal-equation residual of the CG solver */
#define NT_CG_ACCEPT 1e-9        /* the recomputed residual a converged CG must show */
/* n >= NT_CG_RATIO p: CG rather than a direct solve (lambda = 0; with a ridge the
 * preconditioned CG, p <= NT_PRECOND_P). Measured (bench/nt_solvers, 1 thread, loaded
 * 2-core machine, d = 20-100, p = 90-1830, docs/BENCH.md): at n = 2, 4, 8 p CG was
 * 2.4-8.3x faster than the direct solve (explicit or normal) with the same M to 5e-12
 * (25-90 iterations); ridge 1e-3: 2.5-5.4x, 4e-12. At n = 1.25 p 0.66-4.2x, 2e-11, 140-260
 * iterations, and at lambda = 0 the conditioning worsens towards n = p, so below 2p the
 * direct solves stay. */
#define NT_CG_RATIO 2.0
#define NT_PRECOND_P 6000        /* largest p for the ridge CG's dense preconditioner */
#define NT_CG_MAXIT 3000
#define NT_FALLBACK_BYTES (1024.0 * 1024 * 1024) /* largest direct solve after a short CG */
#define NT_POP_ACCEPT 1e-10      /* its residual for a converged fit (else: cause solver) */
#define NT_RCOND 1e-12

static const char *const nt_solver_names[] = {"explicit", "normal", "kernel", "cg"};
static int nt_last_solver = -1;
static int nt_forced = -1;
static long nt_cg_maxit = NT_CG_MAXIT;           /* tests may lower it (nt_test_limits) */
static double nt_fallback_bytes = NT_FALLBACK_BYTES;

void nt_test_limits(long cg_maxit, double fallback_bytes)
{
    nt_cg_maxit = cg_maxit > 0 ? cg_maxit : NT_CG_MAXIT;
    nt_fallback_bytes = fallback_bytes >= 0 ? fallback_bytes : NT_FALLBACK_BYTES;
}

int nt_force_solver(const char *name)
{
    nt_forced = -1;
    if (!name || strcmp(name, "auto") == 0)
        return 0;
    for (int i = 0; i < 4; i++)
        if (strcmp(name, nt_solver_names[i]) == 0) {
            nt_forced = i;
            return 0;
        }
    return -1;
}

const char *nt_solver_name(void)
{
    return nt_last_solver >= 0 ? nt_solver_names[nt_last_solver] : "closed-form";
}

int nt_basis(int d, int N, const double *W0, double *Q, int *Nq)
{
    if (N >= d) {
        memset(Q, 0, sizeof(double) * (size_t)d * d);
        for (int i = 0; i < d; i++)
            Q[(size_t)i * d + i] = 1.0;
        *Nq = d;
        return 0;
    }
    double *Wt = malloc(sizeof(double) * (size_t)d * (N > 0 ? N : 1));
    if (!Wt)
        return -1;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < d; k++)
            Wt[(size_t)k * N + i] = W0[(size_t)i * d + k];
    int rc = la_qr_full(d, N, Wt, Q);
    free(Wt);
    *Nq = N;
    return rc;
}

/* M = Q [[A, C], [C^T, 0]] Q^T; theta = [A, sqrt2 C] (Nq x d row-major, see NtOp). */
static int nt_form_M(int d, int Nq, const double *Q, const double *theta, double *M)
{
    int k = d - Nq;
    double *Mq = calloc((size_t)d * d, sizeof(double));
    double *T = malloc(sizeof(double) * (size_t)d * d);
    if (!Mq || !T) {
        free(Mq);
        free(T);
        return -1;
    }
    for (int i = 0; i < Nq; i++) {
        for (int j = 0; j < Nq; j++)
            Mq[(size_t)i * d + j] = theta[(size_t)i * d + j];
        for (int j = 0; j < k; j++)
            Mq[(size_t)i * d + Nq + j] = Mq[(size_t)(Nq + j) * d + i] =
                theta[(size_t)i * d + Nq + j] / sqrt(2.0);
    }
    la_gemm('N', 'N', d, d, d, 1.0, Q, d, Mq, d, 0.0, T, d);
    la_gemm('N', 'T', d, d, d, 1.0, T, d, Q, d, 0.0, M, d);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) {
            double v = 0.5 * (M[(size_t)i * d + j] + M[(size_t)j * d + i]);
            M[(size_t)i * d + j] = M[(size_t)j * d + i] = v;
        }
    free(Mq);
    free(T);
    return 0;
}

/* ---- finite n: structured operator on theta = [A, sqrt2 C] ----
 * theta is Nq x d row-major: A in columns [0, Nq), C~ = sqrt2 C in [Nq, d), so that the
 * Euclidean product of theta is <M, M'>_F, and with UV = [u, sqrt2 v] (X Q, its last k
 * columns scaled) the operator is two GEMMs (fused: 1.04-1.24x over four, docs/BENCH.md):
 *   forward  t_j = UV_j theta^T = A u_j + 2 C v_j (n x Nq x d), f_j = u_j . t_j;
 *   adjoint  theta = T^T UV with T_j = r_j u_j (Nq x d x n) = [sum r u u^T, sqrt2 sum r u v^T]. */
typedef struct {
    long n;
    int d, Nq, k;
    const double *UV;  /* n x d = X Q: u in columns [0, Nq), sqrt2 v in [Nq, d) */
    const double *X;   /* n x d, the caller's (the kernel's <x, x'>) */
    double *T;         /* n x Nq scratch */
    double lambda;
    const NtMetric *S; /* the parameter metric (minimum ||(da, G)||), or NULL: ||M||_F */
} NtOp;

static size_t nt_plen(const NtOp *op) { return (size_t)op->Nq * op->d; }

static double nt_dot(const NtOp *op, const double *x, const double *y)
{
    return la_dot(nt_plen(op), x, y);
}

/* out = S theta (op->S set; S is linear, so C~ = sqrt2 C maps like C) */
static void nt_metric_theta(const NtOp *op, const double *theta, double *out)
{
    nt_metric_apply(op->S, theta, op->d, theta + op->Nq, op->d, out, op->d, out + op->Nq,
                    op->d);
}

/* f = F theta (n), centred when centre != 0 */
static void nt_forward(const NtOp *op, const double *theta, double *f, int centre)
{
    int Nq = op->Nq, d = op->d;
    long n = op->n;
    la_gemm('N', 'T', (int)n, Nq, d, 1.0, op->UV, d, theta, d, 0.0, op->T, Nq);
    double mean = 0;
    for (long j = 0; j < n; j++) {
        const double *u = op->UV + (size_t)j * d, *t = op->T + (size_t)j * Nq;
        double s = 0;
        for (int i = 0; i < Nq; i++)
            s += u[i] * t[i];
        f[j] = s;
        mean += s;
    }
    la_flops_add(2.0 * n * Nq);
    if (centre) {
        mean /= (double)n;
        for (long j = 0; j < n; j++)
            f[j] -= mean;
    }
}

/* theta = scale * F*(r - mean r) (centred adjoint) */
static void nt_adjoint(const NtOp *op, const double *r, double scale, double *theta)
{
    int Nq = op->Nq, d = op->d;
    long n = op->n;
    double mean = 0;
    for (long j = 0; j < n; j++)
        mean += r[j];
    mean /= (double)n;
    for (long j = 0; j < n; j++) {
        const double *u = op->UV + (size_t)j * d;
        double rj = (r[j] - mean) * scale;
        double *t = op->T + (size_t)j * Nq;
        for (int i = 0; i < Nq; i++)
            t[i] = rj * u[i];
    }
    la_gemm('T', 'N', Nq, d, (int)n, 1.0, op->T, Nq, op->UV, d, 0.0, theta, d);
    /* exact symmetry of A */
    for (int i = 0; i < Nq; i++)
        for (int j = 0; j < i; j++) {
            double v = 0.5 * (theta[(size_t)i * d + j] + theta[(size_t)j * d + i]);
            theta[(size_t)i * d + j] = theta[(size_t)j * d + i] = v;
        }
}

/* out = F_c^* F_c theta / n + lambda w (w = theta, or u with theta = S u), f: n scratch */
static void nt_normal_apply(const NtOp *op, const double *theta, const double *w, double *out,
                            double *f)
{
    nt_forward(op, theta, f, 1);
    nt_adjoint(op, f, 1.0 / (double)op->n, out);
    la_axpy(nt_plen(op), op->lambda, w, out);
}

/* Relative residual of the normal equations; rhs = F_c^* y / n. Without a metric, in M:
 * ||F_c^*(F_c theta - y_c)/n + lambda theta|| / ||rhs||; with one, in the parameters
 * (da, G) = L^* u of theta = S u: the same with lambda u, measured in <., S .>. */
static double nt_resid(const NtOp *op, const double *theta, const double *u, const double *rhs,
                       double *f)
{
    size_t P = nt_plen(op);
    double *r = malloc(sizeof(double) * P), *s = malloc(sizeof(double) * P);
    double res = NAN;
    if (!r || !s)
        goto out;
    nt_normal_apply(op, theta, op->S ? u : theta, r, f);
    la_axpy(P, -1.0, rhs, r);
    double nr, nb;
    if (op->S) {
        nt_metric_theta(op, r, s);
        nr = nt_dot(op, r, s);
        nt_metric_theta(op, rhs, s);
        nb = nt_dot(op, rhs, s);
    } else {
        nr = nt_dot(op, r, r);
        nb = nt_dot(op, rhs, rhs);
    }
    res = nb > 0 ? sqrt(fmax(nr, 0.0) / nb) : 0.0;
out:
    free(r);
    free(s);
    return res;
}

/* CG on the normal equations from theta = 0. Without a metric: plain CG in M (the
 * minimum-||M||_F solution). With one: CG in the parameters (da, G), run in M as CG
 * preconditioned by S (z = S r; p = S q with q tracked, so the operator is
 * F_c^* F_c p / n + lambda q and S^{-1} is never needed); from 0 it returns the
 * minimum-||(da, G)|| solution, u (theta = S u) alongside. Returns iterations, -1 on
 * the stop signal, -2 out of memory. */
static long nt_cg(const NtOp *op, const double *rhs, double *theta, double *u, double *f,
                  const volatile sig_atomic_t *stop, int *converged)
{
    size_t P = nt_plen(op);
    int pre = op->S != NULL;
    double *r = malloc(sizeof(double) * P), *p = malloc(sizeof(double) * P);
    double *q = malloc(sizeof(double) * P);
    double *z = pre ? malloc(sizeof(double) * P) : NULL, *s = pre ? malloc(sizeof(double) * P) : NULL;
    long it = 0;
    *converged = 0;
    if (!r || !p || !q || (pre && (!z || !s))) {
        it = -2;
        goto out;
    }
    memset(theta, 0, sizeof(double) * P);
    if (pre)
        memset(u, 0, sizeof(double) * P);
    memcpy(r, rhs, sizeof(double) * P);
    if (pre) {
        nt_metric_theta(op, r, z);
        memcpy(p, z, sizeof(double) * P);
        memcpy(s, r, sizeof(double) * P); /* s = S^{-1} p */
    } else {
        memcpy(p, r, sizeof(double) * P);
    }
    double rz = nt_dot(op, r, pre ? z : r), nb = sqrt(rz);
    if (!(nb > 0)) {
        *converged = 1;
        goto out;
    }
    for (it = 0; it < nt_cg_maxit; it++) {
        if (sqrt(fmax(rz, 0.0)) <= NT_CG_TOL * nb) {
            *converged = 1;
            break;
        }
        if (stop && *stop) {
            it = -1;
            goto out;
        }
        nt_normal_apply(op, p, pre ? s : p, q, f);
        double pq = nt_dot(op, p, q);
        if (!(pq > 0))
            break;
        double alpha = rz / pq;
        la_axpy(P, alpha, p, theta);
        if (pre)
            la_axpy(P, alpha, s, u);
        la_axpy(P, -alpha, q, r);
        if (pre)
            nt_metric_theta(op, r, z);
        double rz2 = nt_dot(op, r, pre ? z : r);
        double beta = rz2 / rz;
        rz = rz2;
        for (size_t i = 0; i < P; i++)
            p[i] = (pre ? z[i] : r[i]) + beta * p[i];
        if (pre)
            for (size_t i = 0; i < P; i++)
                s[i] = r[i] + beta * s[i];
    }
out:
    free(r);
    free(p);
    free(q);
    free(z);
    free(s);
    return it;
}

/* svec features of the rows of UV: column order A_ii / sqrt2 A_ij (i < j) by rows i,
 * then sqrt2 C_il (UV's v columns carry the sqrt2); writes m x p into Phi (row stride p)
 * minus shift on the A_ii columns. */
static void nt_features(int m, int d, int Nq, const double *UV, double shift, double *Phi)
{
    int k = d - Nq;
    size_t p = (size_t)Nq * (Nq + 1) / 2 + (size_t)Nq * k;
    const double r2 = sqrt(2.0);
    for (int j = 0; j < m; j++) {
        const double *u = UV + (size_t)j * d, *v = u + Nq;
        double *ph = Phi + (size_t)j * p;
        size_t c = 0;
        for (int i = 0; i < Nq; i++) {
            ph[c++] = u[i] * u[i] - shift;
            for (int l = i + 1; l < Nq; l++)
                ph[c++] = r2 * u[i] * u[l];
        }
        for (int i = 0; i < Nq; i++)
            for (int l = 0; l < k; l++)
                ph[c++] = u[i] * v[l];
    }
}

/* svec vector (same order) -> theta = (A full symmetric, C), and back (an isometry:
 * Euclidean on svec, <., .>_F on M). */
static void nt_unsvec(int d, int Nq, const double *x, double *theta)
{
    int k = d - Nq;
    const double r2 = sqrt(2.0);
    size_t c = 0;
    for (int i = 0; i < Nq; i++) {
        theta[(size_t)i * d + i] = x[c++];
        for (int l = i + 1; l < Nq; l++)
            theta[(size_t)i * d + l] = theta[(size_t)l * d + i] = x[c++] / r2;
    }
    for (int i = 0; i < Nq; i++)
        for (int l = 0; l < k; l++)
            theta[(size_t)i * d + Nq + l] = x[c++];
}

static void nt_svec(int d, int Nq, const double *theta, double *x)
{
    int k = d - Nq;
    const double r2 = sqrt(2.0);
    size_t c = 0;
    for (int i = 0; i < Nq; i++) {
        x[c++] = theta[(size_t)i * d + i];
        for (int l = i + 1; l < Nq; l++)
            x[c++] = r2 * theta[(size_t)i * d + l];
    }
    for (int i = 0; i < Nq; i++)
        for (int l = 0; l < k; l++)
            x[c++] = theta[(size_t)i * d + Nq + l];
}

/* The direct solvers in svec coordinates x (p). With a metric they solve in the whitened
 * coordinates v, x = L v with S = L L^T (S in svec coordinates, p x p, Cholesky), where the
 * problem is plain ridge / minimum-norm least squares (||v|| = ||(da, G)||). nt_whiten
 * builds L (p applications of S, O(p (N Nq^2 + Nq^2 d)); scale S + shift I in general, the
 * ridge CG's preconditioner); nt_unwhiten maps v to theta and u = S^{-1} theta. */
static int nt_whiten(const NtOp *op, size_t p, double scale, double shift, double *L)
{
    size_t P = nt_plen(op);
    double *x = calloc(p, sizeof(double)), *th = calloc(P, sizeof(double));
    double *sth = malloc(sizeof(double) * P);
    int rc = -1;
    if (!x || !th || !sth)
        goto out;
    for (size_t c = 0; c < p; c++) {
        x[c] = 1.0;
        nt_unsvec(op->d, op->Nq, x, th);
        x[c] = 0.0;
        nt_metric_theta(op, th, sth);
        nt_svec(op->d, op->Nq, sth, x);
        for (size_t r = 0; r < p; r++)
            L[r * p + c] = x[r];
        memset(x, 0, sizeof(double) * p);
    }
    for (size_t r = 0; r < p; r++)
        for (size_t c = 0; c < r; c++)
            L[r * p + c] = L[c * p + r] = 0.5 * (L[r * p + c] + L[c * p + r]);
    for (size_t r = 0; r < p; r++) /* scale S + shift I */
        for (size_t c = 0; c <= r; c++)
            L[r * p + c] = scale * L[r * p + c] + (r == c ? shift : 0.0);
    rc = la_potrf_lower((int)p, L);
out:
    free(x);
    free(th);
    free(sth);
    return rc;
}

static int nt_unwhiten(const NtOp *op, size_t p, const double *L, const double *v,
                       double *theta, double *u)
{
    double *x = malloc(sizeof(double) * p);
    if (!x)
        return -1;
    la_gemv('N', (int)p, (int)p, 1.0, L, (int)p, v, 0.0, x);
    nt_unsvec(op->d, op->Nq, x, theta);
    memcpy(x, v, sizeof(double) * p);
    la_trsv_lower('T', (int)p, L, x);
    nt_unsvec(op->d, op->Nq, x, u);
    free(x);
    return 0;
}

/* CG in the parameters with a ridge (lambda > 0), preconditioned by the population
 * normal operator: for Gaussian x, E(x^T M x - tr M)^2 = 2 |M|_F^2, so F_c^* F_c / n ~ 2 and
 * (L^* 2 L + lambda)^{-1} = L^* (2 S + lambda)^{-1} (on range L^*) nearly inverts the
 * system, whose condition otherwise grows as |S| / lambda (measured: 1464 iterations at
 * d = 100, N = 50, lambda = 1e-3). Vectors are held as u with (da, G) = L^* u, so
 *     A: u -> F_c^* F_c (S u) / n + lambda u,   P: u -> (2 S + lambda)^{-1} u,
 *     <L^* u, L^* u'> = <u, S u'>,
 * P by the dense Cholesky factor Lp of 2 S + lambda I in svec coordinates (p x p). One S
 * product, one data product and two triangular solves per iteration; theta = S u is
 * accumulated alongside. Returns iterations, -1 on the stop signal, -2 out of memory. */
static long nt_cg_ridge(const NtOp *op, const double *Lp, size_t p, const double *rhs,
                        double *theta, double *u, double *f, const volatile sig_atomic_t *stop,
                        int *converged)
{
    size_t P = nt_plen(op);
    double *buf = malloc(sizeof(double) * (6 * P + p));
    long it = 0;
    *converged = 0;
    if (!buf)
        return -2;
    double *r = buf, *z = r + P, *pu = z + P, *Sp = pu + P, *Sz = Sp + P, *q = Sz + P;
    double *x = q + P;
    memset(theta, 0, sizeof(double) * P);
    memset(u, 0, sizeof(double) * P);
    memcpy(r, rhs, sizeof(double) * P);
#define NT_PRECOND(src, dst)                                                             \
    do {                                                                                 \
        nt_svec(op->d, op->Nq, src, x);                                                  \
        la_trsv_lower('N', (int)p, Lp, x);                                               \
        la_trsv_lower('T', (int)p, Lp, x);                                               \
        nt_unsvec(op->d, op->Nq, x, dst);                                                \
    } while (0)
    NT_PRECOND(r, z);
    nt_metric_theta(op, z, Sz);
    memcpy(pu, z, sizeof(double) * P);
    memcpy(Sp, Sz, sizeof(double) * P);
    double rz = nt_dot(op, r, Sz), nb = sqrt(fmax(rz, 0.0));
    if (!(nb > 0)) {
        *converged = 1;
        goto out;
    }
    for (it = 0; it < nt_cg_maxit; it++) {
        if (sqrt(fmax(rz, 0.0)) <= NT_CG_TOL * nb) {
            *converged = 1;
            break;
        }
        if (stop && *stop) {
            it = -1;
            goto out;
        }
        nt_normal_apply(op, Sp, pu, q, f); /* F_c^* F_c S p / n + lambda p */
        double pq = nt_dot(op, Sp, q);
        if (!(pq > 0))
            break;
        double alpha = rz / pq;
        la_axpy(P, alpha, pu, u);
        la_axpy(P, alpha, Sp, theta);
        la_axpy(P, -alpha, q, r);
        NT_PRECOND(r, z);
        nt_metric_theta(op, z, Sz);
        double rz2 = nt_dot(op, r, Sz), beta = rz2 / rz;
        rz = rz2;
        for (size_t i = 0; i < P; i++) {
            pu[i] = z[i] + beta * pu[i];
            Sp[i] = Sz[i] + beta * Sp[i];
        }
    }
#undef NT_PRECOND
out:
    free(buf);
    return it;
}

static int nt_explicit(const NtOp *op, const double *y, double ybar, double *theta, double *u)
{
    long n = op->n;
    size_t p = (size_t)op->Nq * (op->Nq + 1) / 2 + (size_t)op->Nq * op->k;
    double *Phi = malloc(sizeof(double) * (size_t)n * p);
    double *yc = malloc(sizeof(double) * (size_t)n);
    double *mean = calloc(p, sizeof(double));
    double *x = malloc(sizeof(double) * p);
    double *L = op->S ? malloc(sizeof(double) * p * p) : NULL;
    double *PL = op->S ? malloc(sizeof(double) * (size_t)n * p) : NULL;
    int rc = -1;
    if (!Phi || !yc || !mean || !x || (op->S && (!L || !PL)))
        goto out;
    nt_features((int)n, op->d, op->Nq, op->UV, 0.0, Phi);
    for (long j = 0; j < n; j++)
        for (size_t c = 0; c < p; c++)
            mean[c] += Phi[(size_t)j * p + c];
    double sn = 1.0 / sqrt((double)n);
    for (long j = 0; j < n; j++) {
        for (size_t c = 0; c < p; c++)
            Phi[(size_t)j * p + c] = (Phi[(size_t)j * p + c] - mean[c] / (double)n) * sn;
        yc[j] = (y[j] - ybar) * sn;
    }
    if (op->S) {
        if (nt_whiten(op, p, 1.0, 0.0, L) != 0)
            goto out;
        la_gemm('N', 'N', (int)n, (int)p, (int)p, 1.0, Phi, (int)p, L, (int)p, 0.0, PL, (int)p);
        if (la_ridge_lsq((int)n, (int)p, PL, yc, op->lambda, x) != 0 ||
            nt_unwhiten(op, p, L, x, theta, u) != 0)
            goto out;
    } else {
        if (la_ridge_lsq((int)n, (int)p, Phi, yc, op->lambda, x) != 0)
            goto out;
        nt_unsvec(op->d, op->Nq, x, theta);
    }
    rc = 0;
out:
    free(Phi);
    free(yc);
    free(mean);
    free(x);
    free(L);
    free(PL);
    return rc;
}

static int nt_normal(const NtOp *op, const double *y, double ybar, double *theta, double *u)
{
    long n = op->n;
    int p = op->Nq * (op->Nq + 1) / 2 + op->Nq * op->k;
    long chunk = n < NT_CHUNK ? n : NT_CHUNK;
    double *G = calloc((size_t)p * p, sizeof(double));
    double *Phi = malloc(sizeof(double) * (size_t)chunk * p);
    double *mean = calloc((size_t)p, sizeof(double));
    double *rhs = calloc((size_t)p, sizeof(double));
    double *x = malloc(sizeof(double) * (size_t)p);
    double *L = op->S ? malloc(sizeof(double) * (size_t)p * p) : NULL;
    double *T = op->S ? malloc(sizeof(double) * (size_t)p * p) : NULL;
    int rc = -1;
    if (!G || !Phi || !mean || !rhs || !x || (op->S && (!L || !T)))
        goto out;
    for (long j0 = 0; j0 < n; j0 += NT_CHUNK) {
        int m = (int)(n - j0 < NT_CHUNK ? n - j0 : NT_CHUNK);
        /* u_i^2 shifted by 1 (its mean under N(0, I)) against cancellation */
        nt_features(m, op->d, op->Nq, op->UV + (size_t)j0 * op->d, 1.0, Phi);
        la_syrk('T', p, m, 1.0, Phi, p, 1.0, G, p);
        for (int j = 0; j < m; j++) {
            double yj = y[j0 + j] - ybar;
            const double *ph = Phi + (size_t)j * p;
            for (int c = 0; c < p; c++) {
                mean[c] += ph[c];
                rhs[c] += ph[c] * yj;
            }
        }
    }
    for (int c = 0; c < p; c++) {
        mean[c] /= (double)n;
        rhs[c] /= (double)n;
    }
    for (int a = 0; a < p; a++)
        for (int b = 0; b < p; b++)
            G[(size_t)a * p + b] = G[(size_t)a * p + b] / (double)n - mean[a] * mean[b];
    if (op->S) { /* (L^T G L + lambda) v = L^T rhs */
        if (nt_whiten(op, (size_t)p, 1.0, 0.0, L) != 0)
            goto out;
        la_gemm('N', 'N', p, p, p, 1.0, G, p, L, p, 0.0, T, p);
        la_gemm('T', 'N', p, p, p, 1.0, L, p, T, p, 0.0, G, p);
        for (int a = 0; a < p; a++)
            for (int b = 0; b < a; b++)
                G[(size_t)a * p + b] = G[(size_t)b * p + a] =
                    0.5 * (G[(size_t)a * p + b] + G[(size_t)b * p + a]);
        la_gemv('T', p, p, 1.0, L, p, rhs, 0.0, mean);
        memcpy(rhs, mean, sizeof(double) * (size_t)p);
    }
    if (la_sym_ridge_solve(p, G, rhs, op->lambda, NT_RCOND, x) != 0)
        goto out;
    if (op->S) {
        if (nt_unwhiten(op, (size_t)p, L, x, theta, u) != 0)
            goto out;
    } else {
        nt_unsvec(op->d, op->Nq, x, theta);
    }
    rc = 0;
out:
    free(G);
    free(Phi);
    free(mean);
    free(rhs);
    free(x);
    free(L);
    free(T);
    return rc;
}

/* The n x n kernel form: with the constant projected out (P = I - 1 1^T / n) the solution
 * is beta = (P K P + n lambda)^+ P y (sum beta = 0), theta = S F^* beta (or F^* beta without a
 * metric); K + (trace / n^2) 1 1^T keeps the constant direction off the null space, so a
 * Cholesky solves it and the pseudo-inverse (la_sym_ridge_solve) only a singular K. */
static int nt_kernel(const NtOp *op, const double *y, double *theta, double *u)
{
    long n = op->n;
    int Nq = op->Nq, d = op->d;
    double *K = malloc(sizeof(double) * (size_t)n * n);
    double *S = malloc(sizeof(double) * (size_t)n * n);
    double *rhs = malloc(sizeof(double) * (size_t)n);
    double *rm = malloc(sizeof(double) * (size_t)n);
    int rc = -1;
    if (!K || !S || !rhs || !rm)
        goto out;
    if (op->S) {
        if (nt_metric_kernel(op->S, n, op->UV, d, op->X, K) != 0)
            goto out;
    } else {
        la_syrk('N', (int)n, Nq, 1.0, op->UV, d, 0.0, K, (int)n); /* u.u' */
        la_syrk('N', (int)n, d, 1.0, op->X, d, 0.0, S, (int)n);   /* x.x' = u.u' + v.v' */
        for (size_t i = 0; i < (size_t)n * n; i++)
            K[i] = K[i] * (2.0 * S[i] - K[i]); /* (u.u')^2 + 2 (u.u')(v.v') */
    }
    /* P K P */
    double all = 0, ybar = 0;
    for (long j = 0; j < n; j++) {
        double s = 0;
        for (long l = 0; l < n; l++)
            s += K[(size_t)j * n + l];
        rm[j] = s / (double)n;
        all += rm[j];
        ybar += y[j];
    }
    all /= (double)n;
    ybar /= (double)n;
    double tr = 0;
    for (long j = 0; j < n; j++)
        for (long l = 0; l < n; l++) {
            double v = K[(size_t)j * n + l] - rm[j] - rm[l] + all;
            K[(size_t)j * n + l] = v;
            if (l == j)
                tr += v;
        }
    double sh = tr > 0 ? tr / ((double)n * n) : 1.0;
    for (size_t i = 0; i < (size_t)n * n; i++)
        K[i] += sh;
    for (long j = 0; j < n; j++)
        rhs[j] = y[j] - ybar;
    if (la_sym_ridge_solve((int)n, K, rhs, (double)n * op->lambda, NT_RCOND, S) != 0)
        goto out;
    double sb = 0;
    for (long j = 0; j < n; j++)
        sb += S[j];
    for (long j = 0; j < n; j++)
        S[j] -= sb / (double)n; /* beta, sums to 0 */
    if (op->S) {
        nt_adjoint(op, S, 1.0, u); /* centring is a no-op: sum beta = 0 */
        nt_metric_theta(op, u, theta);
    } else {
        nt_adjoint(op, S, 1.0, theta);
    }
    rc = 0;
out:
    free(K);
    free(S);
    free(rhs);
    free(rm);
    return rc;
}

/* One of the direct solvers (explicit, normal, kernel); 0 or -1. */
static int nt_direct(const NtOp *op, const double *y, double ybar, double *theta, double *u,
                     int solver)
{
    switch (solver) {
    case NT_SOLVER_EXPLICIT: return nt_explicit(op, y, ybar, theta, u);
    case NT_SOLVER_NORMAL: return nt_normal(op, y, ybar, theta, u);
    case NT_SOLVER_KERNEL: return nt_kernel(op, y, theta, u);
    default: return -1;
    }
}

/* The memory a direct solver needs beyond the operator (bytes, approximate). */
static double nt_direct_bytes(int solver, double n, double p, int metric)
{
    switch (solver) {
    case NT_SOLVER_EXPLICIT:
        return 8.0 * (n * p + 2 * p * p + n + 3 * p + (metric ? p * p + n * p : 0));
    case NT_SOLVER_NORMAL: return 8.0 * (p * p + NT_CHUNK * p + 3 * p + (metric ? 2 * p * p : 0));
    case NT_SOLVER_KERNEL: return 8.0 * ((metric ? 4 : 2) * n * n + 2 * n);
    default: return INFINITY;
    }
}

int nt_solver_for(double n, double p, double lambda)
{
    int metric = !(lambda == 0 && n > p);
    if (n >= NT_CG_RATIO * p && (!metric || (lambda > 0 && p <= NT_PRECOND_P)))
        return NT_SOLVER_CG; /* the rule measured in bench/nt_solvers (docs/BENCH.md) */
    if (!metric || n > p) {
        if (n * p <= NT_EXPLICIT)
            return NT_SOLVER_EXPLICIT;
        return p <= NT_DENSE_P ? NT_SOLVER_NORMAL : NT_SOLVER_CG;
    }
    return n <= NT_KERNEL_N ? NT_SOLVER_KERNEL : NT_SOLVER_CG;
}

static int nt_finite(const FitInput *in, const double *Q, int Nq, FitOutput *out,
                     double *theta)
{
    int d = in->d, k = d - Nq;
    long n = in->n;
    double p = (double)Nq * (Nq + 1) / 2 + (double)Nq * k;
    double lambda = in->job->ridge;
    /* lambda = 0 and n > p: the least-squares M is unique (full-rank design), found in M;
     * otherwise the parameter norm ||(da, G)|| decides (SPEC §1) */
    int metric = !(lambda == 0 && (double)n > p);
    NtOp op = {n, d, Nq, k, NULL, in->X, NULL, lambda, NULL};
    NtMetric S;
    memset(&S, 0, sizeof S);
    double *UV = malloc(sizeof(double) * (size_t)n * d);
    double *T = malloc(sizeof(double) * (size_t)n * (Nq > 0 ? Nq : 1));
    double *f = malloc(sizeof(double) * (size_t)n);
    double *rhs = malloc(sizeof(double) * nt_plen(&op));
    double *u = calloc(nt_plen(&op), sizeof(double));
    int rc = -1;
    if (metric && (!in->a0 || !in->W0)) {
        out->cause = CAUSE_INVALID;
        goto out;
    }
    if (!UV || !T || !f || !rhs || !u ||
        (metric && nt_metric_init(&S, d, Nq, in->N, Q, in->W0, in->a0) != 0)) {
        out->cause = CAUSE_NOMEM;
        goto out;
    }
    if (metric)
        op.S = &S;
    op.UV = UV;
    op.T = T;
    la_gemm('N', 'N', (int)n, d, d, 1.0, in->X, d, Q, d, 0.0, UV, d);
    for (long j = 0; j < n; j++)
        for (int l = Nq; l < d; l++)
            UV[(size_t)j * d + l] *= sqrt(2.0);
    double ybar = 0;
    for (long j = 0; j < n; j++)
        ybar += in->y[j];
    ybar /= (double)n;
    nt_adjoint(&op, in->y, 1.0 / (double)n, rhs); /* F_c^* y / n */
    int solver = nt_solver_for((double)n, p, lambda);
    if (nt_forced >= 0)
        solver = nt_forced;
    int ok = -1;
    out->iterations = 0;
    out->stop = STOP_EXACT;
    if (solver != NT_SOLVER_CG)
        ok = nt_direct(&op, in->y, ybar, theta, u, solver);
    if (ok != 0) { /* CG, or the fallback when a direct solve failed */
        int conv;
        long it;
        /* with a ridge, CG preconditioned by (2 S + lambda)^{-1} where its p x p factor fits */
        double *Lp = metric && lambda > 0 && p <= NT_PRECOND_P
                         ? malloc(sizeof(double) * (size_t)p * (size_t)p) : NULL;
        if (Lp && nt_whiten(&op, (size_t)p, 2.0, lambda, Lp) == 0)
            it = nt_cg_ridge(&op, Lp, (size_t)p, rhs, theta, u, f, in->stop, &conv);
        else
            it = nt_cg(&op, rhs, theta, u, f, in->stop, &conv);
        free(Lp);
        if (it == -1) {
            out->cause = CAUSE_STOPPED;
            out->stop = STOP_SIGNAL;
            goto out;
        }
        if (it < -1) {
            out->cause = CAUSE_NOMEM;
            goto out;
        }
        out->iterations = it;
        out->stop = STOP_CONVERGED;
        if (!conv) {
            /* CG ran out of iterations or broke down (p^T A p <= 0): a direct solve where
             * it fits, else the task fails — a short CG is never stored as a fit. */
            int fb = n <= p ? NT_SOLVER_KERNEL : NT_SOLVER_NORMAL;
            ok = -1;
            if (solver == NT_SOLVER_CG && nt_direct_bytes(fb, n, p, metric) <= nt_fallback_bytes)
                ok = nt_direct(&op, in->y, ybar, theta, u, fb);
            if (ok != 0 && solver != NT_SOLVER_EXPLICIT &&
                nt_direct_bytes(NT_SOLVER_EXPLICIT, n, p, metric) <= nt_fallback_bytes)
                ok = nt_direct(&op, in->y, ybar, theta, u, fb = NT_SOLVER_EXPLICIT);
            if (ok != 0) {
                out->cause = CAUSE_SOLVER;
                goto out;
            }
            solver = fb;
            out->stop = STOP_EXACT;
        } else {
            solver = NT_SOLVER_CG;
        }
    }
    nt_last_solver = solver;
    out->residual = nt_resid(&op, theta, u, rhs, f);
    /* CG's stop test uses its recursive residual (with a ridge, in the preconditioner's
     * norm): `converged` only when the recomputed one confirms it (seen: <= 1e-12) */
    if (out->stop == STOP_CONVERGED && !(out->residual <= NT_CG_ACCEPT))
        out->stop = STOP_TOL;
    /* c = mean(y - F theta) */
    nt_forward(&op, theta, f, 0);
    double c = 0;
    for (long j = 0; j < n; j++)
        c += in->y[j] - f[j];
    out->c = c / (double)n;
    rc = 0;
out:
    nt_metric_free(&S);
    free(UV);
    free(T);
    free(f);
    free(rhs);
    free(u);
    return rc;
}

static int nt_fit(const FitInput *in, FitOutput *out)
{
    int d = in->d, N = in->N, Nq = 0;
    double *Q = NULL, *theta = NULL;
    out->cause = CAUSE_NONE;
    out->stop = STOP_EXACT;
    out->iterations = 0;
    out->residual = 0;
    nt_last_solver = -1;
    if (in->n < 0) {
        if (nt_pop_solve(in, in->W0, N, &out->c, out->M, &out->iterations,
                         &out->residual) != 0) {
            out->cause = CAUSE_SOLVER;
            goto fail;
        }
        if (in->target->model == MODEL_MIXTURE || in->job->ridge > 0) { /* CG */
            if (!(out->residual <= NT_POP_ACCEPT)) {
                out->cause = CAUSE_SOLVER;
                goto fail;
            }
            out->stop = STOP_CONVERGED;
        }
        goto check;
    }
    if (in->n == 0) {
        out->cause = CAUSE_INVALID;
        goto fail;
    }
    Q = malloc(sizeof(double) * (size_t)d * d);
    if (!Q) {
        out->cause = CAUSE_NOMEM;
        goto fail;
    }
    if (nt_basis(d, N > 0 ? N : 0, in->W0, Q, &Nq) != 0) {
        out->cause = CAUSE_SOLVER;
        goto fail;
    }
    theta = calloc((size_t)(Nq > 0 ? Nq : 1) * d, sizeof(double));
    if (!theta) {
        out->cause = CAUSE_NOMEM;
        goto fail;
    }
    if (nt_finite(in, Q, Nq, out, theta) != 0) {
        if (out->cause == CAUSE_NONE)
            out->cause = CAUSE_SOLVER;
        goto fail;
    }
    if (nt_form_M(d, Nq, Q, theta, out->M) != 0) {
        out->cause = CAUSE_NOMEM;
        goto fail;
    }
check:
    if (!isfinite(out->c)) {
        out->cause = CAUSE_NONFINITE;
        goto fail;
    }
    for (size_t i = 0; i < (size_t)d * d; i++)
        if (!isfinite(out->M[i])) {
            out->cause = CAUSE_NONFINITE;
            goto fail;
        }
    free(Q);
    free(theta);
    return 0;
fail:
    if (out->stop != STOP_SIGNAL)
        out->stop = STOP_FAILED;
    free(Q);
    free(theta);
    return -1;
}

const Regime regime_nt = {"nt", nt_fit};
