/* regime_krr: the kernel limits N -> inf of RF and NT (SPEC §8), exported as
 * `regime_krr_rf` and `regime_krr_nt`: kernel ridge regression with a free offset.
 *
 * Kernels (SPEC §8). With s = |x|^2 s' = |x'|^2, g = <x, x'>:
 *     K(x, x') = (s s' + 2 g^2) / D + e g^2,
 * D = d^2 (init = gaussian, rows N(0, I/d)) or d(d+2) (init = sphere), e = 0 for RF and
 * e = 4 E[a0^2] / d for NT with E[a0^2] = 1 for nn_a_init = normal | positive and 0 for
 * shared (one a0 = 1/N per neuron: 4 a0^2 N / N -> 0, so the gradient features vanish
 * from the limit kernel and krr_nt equals krr_rf; krr_a0_moment). In operator form
 * K(x, x') = <x x^T, T(x' x'^T)>_F with T(A) = (tr A) I / D + (2/D + e) A, whose
 * eigenvalues are t0 = 2/D + e on traceless matrices and tI = (d+2)/D + e on I.
 *
 * Problem (finite n). The bordered system of SPEC §8 with lambda = job ridge, as written:
 *     [K + lambda I, 1; 1^T, 0] [beta; c] = [y; 0],
 * i.e. the minimiser of sum_mu (y_mu - f(x_mu))^2 + lambda |f - c|_K^2 (a SUM over the
 * samples: lambda is in the units of the kernel, K(x, x) ~ 3). Finite-N RF in this
 * engine minimises (1/n) sum (f - y)^2 + lambda_RF |a|^2, which is KRR with the
 * empirical kernel (1/N) sum_i phi_i phi_i' and lambda = n lambda_RF / N (SPEC: "lambda/N"
 * for the summed loss); so ridgeless KRR is the N -> inf limit of RF at any fixed
 * lambda_RF, and KRR at lambda matches RF at N with lambda_RF = N lambda / n.
 * lambda = 0: the limit lambda -> 0+, i.e. the interpolant of minimum RKHS norm for
 * n <= P = d(d+1)/2 and the least-squares quadratic fit for n > P (K is then singular:
 * the kernel's feature space, svec of x x^T, has dimension P).
 * The predictor is a quadratic form (SPEC §8): f(x) = c + x^T M x with
 *     M = T(X^T Diag(beta) X) = ((sum_mu beta_mu s_mu) I + 2 X^T Diag(beta) X) / D
 *         + e X^T Diag(beta) X,
 * stored in out->M so that task.c's risk_pop is exact (SPEC §3). c = mean(y - x^T M x)
 * on the training set (the bordered system's c, since sum beta = 0).
 *
 * Solvers (all in the same coordinates: Z = T^{-1/2} M, features psi(x) = T^{1/2}(x x^T),
 * so KRR is ridge least squares min |y_c - Psi_c z|^2 + lambda |z|^2, minimum |z| at
 * lambda = 0):
 *   kernel    n <= P: the n x n bordered system by one Cholesky of K + lambda I with the
 *             right-hand sides [y, 1] (c = sum u / sum v, beta = u - c v);
 *   explicit  n > P, n P <= KRR_EXPLICIT: the centred n x P design by dgelsd (also the
 *             fallback of a kernel solve that Cholesky refused: lambda = 0 near n = P);
 *   normal    n > P otherwise: the P x P normal equations accumulated in row blocks,
 *             Cholesky, or at lambda = 0 the pseudo-inverse (exact when singular);
 *   cg        n > krr_max_direct (auto) or krr_solver = cg: conjugate gradients on the
 *             normal equations (F_c^* F_c + lambda T^{-1}) M = F_c^* y_c over symmetric M,
 *             preconditioned by T (= plain CG in z, so from M = 0 it returns the
 *             minimum-norm solution at lambda = 0 for any n), with the structured
 *             products F(M)_mu = x_mu^T M x_mu and F^*(r) = X^T Diag(r) X: O(n d^2) per
 *             iteration, memory O(n d) — never an n x n matrix. Their composition is
 *             SPEC's K v = (s (s^T v) + 2 q(X^T Diag(v) X)) / D + e q(X^T Diag(v) X);
 *             CG runs in M rather than in beta because at lambda = 0 and n > P the beta
 *             system is singular and, with noise, inconsistent. Stops at the relative
 *             residual KRR_CG_TOL (stop = converged, if the recomputed residual is within
 *             KRR_CG_ACCEPT) or after KRR_CG_MAXIT iterations; then the direct solve
 *             follows when it needs at most KRR_FALLBACK_BYTES (stop = exact), else the
 *             task fails with cause solver. A direct solve that fails (memory, LAPACK)
 *             is followed by CG.
 * out->residual is always the relative residual of the normal equations in z,
 * |T^{1/2}(F_c^*(y_c - F_c M) - lambda T^{-1} M)| / |T^{1/2} F_c^* y_c| (Frobenius).
 *
 * Population (n = -1): per sample the ridge lambda/n vanishes, so KRR returns the L^2
 * projection of the target on the kernel class, which is every quadratic form (T is
 * positive definite): quadratic M = B, c = b0 (R = tau^2, SPEC §8 "n = inf: R = tau^2");
 * mixture the best quadratic predictor M* = gamma U U^T, gamma = delta / (2(1 + delta^2)
 * + s delta^2), c optimal (R = R*, SPEC §3). out->theory is this optimum (raw) at every n.
 * No MPI, no HDF5. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "regime.h"
#include "task.h"

#define KRR_EXPLICIT (1L << 22)  /* n * P for the explicit dgelsd path (32 MB design) */
#define KRR_CHUNK 1024           /* rows per block for the normal equations */
#define KRR_CG_TOL 1e-10         /* CG: relative residual (recursive) */
#define KRR_CG_ACCEPT 1e-8       /* CG: the recomputed residual a converged fit must have */
#define KRR_CG_MAXIT 3000
#define KRR_DIRECT_ACCEPT 1e-6   /* a direct solve above it is retried with the next one */
#define KRR_FALLBACK_BYTES (1024.0 * 1024 * 1024) /* largest direct solve after a short CG */
#define KRR_RCOND 1e-12          /* pseudo-inverse cut-off of the normal equations */

enum { KRR_S_KERNEL, KRR_S_EXPLICIT, KRR_S_NORMAL, KRR_S_CG, KRR_S_COUNT };
static const char *const krr_solver_names[] = {"kernel", "explicit", "normal", "cg"};
static int krr_last_solver = -1;
static int krr_forced = -1;
static long krr_cg_maxit = KRR_CG_MAXIT;
static double krr_fallback_bytes = KRR_FALLBACK_BYTES;

void krr_test_limits(long cg_maxit, double fallback_bytes)
{
    krr_cg_maxit = cg_maxit > 0 ? cg_maxit : KRR_CG_MAXIT;
    krr_fallback_bytes = fallback_bytes >= 0 ? fallback_bytes : KRR_FALLBACK_BYTES;
}

int krr_force_solver(const char *name)
{
    krr_forced = -1;
    if (!name || strcmp(name, "auto") == 0)
        return 0;
    for (int i = 0; i < KRR_S_COUNT; i++)
        if (strcmp(name, krr_solver_names[i]) == 0) {
            krr_forced = i;
            return 0;
        }
    return -1;
}

const char *krr_solver_name(void)
{
    return krr_last_solver >= 0 ? krr_solver_names[krr_last_solver] : "closed-form";
}

double krr_a0_moment(int nn_a_init) { return nn_a_init == NN_A_SHARED ? 0.0 : 1.0; }

/* ---- the kernel ---- */
typedef struct {
    int d;
    double D;      /* d^2 (gaussian rows) or d(d+2) (sphere) */
    double e;      /* NT: 4 E[a0^2]/d; RF: 0 */
    double t0, tI; /* eigenvalues of T: traceless, identity */
} KrrKern;

static KrrKern krr_kern(const JobSpec *job, int regime, int d)
{
    KrrKern k;
    k.d = d;
    k.D = job->init == INIT_SPHERE ? (double)d * (d + 2) : (double)d * d;
    k.e = regime == REGIME_KRR_NT ? 4.0 * krr_a0_moment(job->nn_a_init) / d : 0.0;
    k.t0 = 2.0 / k.D + k.e;
    k.tI = (d + 2.0) / k.D + k.e;
    return k;
}

double krr_kernel(const JobSpec *job, int regime, int d, const double *x, const double *xp)
{
    KrrKern k = krr_kern(job, regime, d);
    double s = 0, sp = 0, g = 0;
    for (int i = 0; i < d; i++) {
        s += x[i] * x[i];
        sp += xp[i] * xp[i];
        g += x[i] * xp[i];
    }
    return (s * sp + 2.0 * g * g) / k.D + k.e * g * g;
}

/* out = T^p (A) for symmetric A (d x d); out may be A. */
static void krr_T(const KrrKern *k, double p, const double *A, double *out)
{
    int d = k->d;
    double a0 = pow(k->t0, p), aI = pow(k->tI, p), tr = 0;
    for (int i = 0; i < d; i++)
        tr += A[(size_t)i * d + i];
    for (size_t i = 0; i < (size_t)d * d; i++)
        out[i] = a0 * A[i];
    for (int i = 0; i < d; i++)
        out[(size_t)i * d + i] += (aI - a0) * tr / d;
    la_flops_add((double)d * d);
}

static void krr_symmetrize(int d, double *A)
{
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) {
            double v = 0.5 * (A[(size_t)i * d + j] + A[(size_t)j * d + i]);
            A[(size_t)i * d + j] = A[(size_t)j * d + i] = v;
        }
}

/* ---- structured products ---- */
typedef struct {
    long n;
    int d;
    const double *X; /* n x d */
    double *S;       /* n x d scratch */
    double *f;       /* n scratch */
    double lambda;
    KrrKern k;
} KrrOp;

/* f_mu = x_mu^T A x_mu (A symmetric d x d). */
static void krr_forward(const KrrOp *op, const double *A, double *f)
{
    long n = op->n;
    int d = op->d;
    la_gemm('N', 'N', (int)n, d, d, 1.0, op->X, d, A, d, 0.0, op->S, d);
    for (long j = 0; j < n; j++)
        f[j] = la_dot((size_t)d, op->X + (size_t)j * d, op->S + (size_t)j * d);
}

/* A = X^T Diag(r - shift) X (d x d, exactly symmetric). */
static void krr_adjoint(const KrrOp *op, const double *r, double shift, double *A)
{
    long n = op->n;
    int d = op->d;
    for (long j = 0; j < n; j++) {
        const double *x = op->X + (size_t)j * d;
        double *s = op->S + (size_t)j * d;
        double rj = r[j] - shift;
        for (int i = 0; i < d; i++)
            s[i] = rj * x[i];
    }
    la_flops_add((double)n * d);
    la_gemm('T', 'N', d, d, (int)n, 1.0, op->X, d, op->S, d, 0.0, A, d);
    krr_symmetrize(d, A);
}

static double krr_mean(long n, const double *v)
{
    double s = 0;
    for (long j = 0; j < n; j++)
        s += v[j];
    return s / (double)n;
}

/* out = (F_c^* F_c + lambda T^{-1}) M, tmp d x d scratch. */
static void krr_apply(const KrrOp *op, const double *M, double *out, double *tmp)
{
    size_t dd = (size_t)op->d * op->d;
    krr_forward(op, M, op->f);
    krr_adjoint(op, op->f, krr_mean(op->n, op->f), out);
    if (op->lambda > 0) {
        krr_T(&op->k, -1.0, M, tmp);
        la_axpy(dd, op->lambda, tmp, out);
    }
}

/* <A, T B>_F */
static double krr_tdot(const KrrKern *k, const double *A, const double *B)
{
    int d = k->d;
    double trA = 0, trB = 0;
    for (int i = 0; i < d; i++) {
        trA += A[(size_t)i * d + i];
        trB += B[(size_t)i * d + i];
    }
    return k->t0 * la_dot((size_t)d * d, A, B) + (k->tI - k->t0) * trA * trB / d;
}

/* The relative residual of the normal equations in z (header); b = F_c^* y_c. NaN when
 * out of memory. */
static double krr_resid(const KrrOp *op, const double *M, const double *b)
{
    size_t dd = (size_t)op->d * op->d;
    double *r = malloc(sizeof(double) * dd), *tmp = malloc(sizeof(double) * dd);
    double res = NAN;
    if (r && tmp) {
        krr_apply(op, M, r, tmp);
        la_axpy(dd, -1.0, b, r);
        double nb = krr_tdot(&op->k, b, b);
        res = nb > 0 ? sqrt(fmax(krr_tdot(&op->k, r, r), 0.0) / nb) : 0.0;
    }
    free(r);
    free(tmp);
    return res;
}

/* ---- direct solvers ---- */

/* n <= P: the bordered n x n system (header). M out. 0 or -1. */
static int krr_dual(const KrrOp *op, const double *y, double *M)
{
    long n = op->n;
    int d = op->d;
    const KrrKern *k = &op->k;
    double *K = malloc(sizeof(double) * (size_t)n * n);
    double *s = malloc(sizeof(double) * (size_t)n);
    double *rhs = malloc(sizeof(double) * (size_t)n * 2);
    int rc = -1;
    if (!K || !s || !rhs)
        goto out;
    la_syrk('N', (int)n, d, 1.0, op->X, d, 0.0, K, (int)n); /* G = X X^T */
    for (long j = 0; j < n; j++)
        s[j] = K[(size_t)j * n + j];
    double g2 = 2.0 + k->e * k->D;
    for (long i = 0; i < n; i++) {
        double *Ki = K + (size_t)i * n;
        for (long j = 0; j < n; j++)
            Ki[j] = (s[i] * s[j] + g2 * Ki[j] * Ki[j]) / k->D;
        Ki[i] += op->lambda;
        rhs[2 * i] = y[i];
        rhs[2 * i + 1] = 1.0;
    }
    la_flops_add(4.0 * (double)n * n);
    if (la_posv((int)n, 2, K, (int)n, rhs, 2) != 0)
        goto out;
    double su = 0, sv = 0;
    for (long j = 0; j < n; j++) {
        su += rhs[2 * j];
        sv += rhs[2 * j + 1];
    }
    if (!(sv > 0))
        goto out;
    double c = su / sv;
    for (long j = 0; j < n; j++)
        s[j] = rhs[2 * j] - c * rhs[2 * j + 1]; /* beta, sums to 0 */
    krr_adjoint(op, s, 0.0, M);
    krr_T(k, 1.0, M, M);
    rc = 0;
out:
    free(K);
    free(s);
    free(rhs);
    return rc;
}

/* Rows psi(x) = svec(T^{1/2}(x x^T)) - shift on the diagonal entries: for i, the (i, i)
 * entry then the (i, j > i) entries times sqrt 2. m rows of X into Psi (m x P). */
static void krr_features(const KrrKern *k, int m, const double *X, double shift, double *Psi)
{
    int d = k->d;
    size_t P = (size_t)d * (d + 1) / 2;
    double q0 = sqrt(k->t0), qI = sqrt(k->tI), r2 = sqrt(2.0) * q0;
    for (int j = 0; j < m; j++) {
        const double *x = X + (size_t)j * d;
        double *ph = Psi + (size_t)j * P;
        double s = 0;
        for (int i = 0; i < d; i++)
            s += x[i] * x[i];
        double diag = (qI - q0) * s / d - shift;
        size_t c = 0;
        for (int i = 0; i < d; i++) {
            ph[c++] = q0 * x[i] * x[i] + diag;
            for (int l = i + 1; l < d; l++)
                ph[c++] = r2 * x[i] * x[l];
        }
    }
    la_flops_add((double)m * P * 2);
}

/* z (svec order above) -> M = T^{1/2}(Z). */
static void krr_unsvec(const KrrKern *k, const double *z, double *M)
{
    int d = k->d;
    const double r2 = sqrt(2.0);
    size_t c = 0;
    for (int i = 0; i < d; i++) {
        M[(size_t)i * d + i] = z[c++];
        for (int l = i + 1; l < d; l++)
            M[(size_t)i * d + l] = M[(size_t)l * d + i] = z[c++] / r2;
    }
    krr_T(k, 0.5, M, M);
}

static int krr_explicit(const KrrOp *op, const double *y, double *M)
{
    long n = op->n;
    size_t P = (size_t)op->d * (op->d + 1) / 2;
    double *Psi = malloc(sizeof(double) * (size_t)n * P);
    double *yc = malloc(sizeof(double) * (size_t)n);
    double *mean = calloc(P, sizeof(double));
    double *z = malloc(sizeof(double) * P);
    int rc = -1;
    if (!Psi || !yc || !mean || !z)
        goto out;
    krr_features(&op->k, (int)n, op->X, 0.0, Psi);
    for (long j = 0; j < n; j++)
        for (size_t c = 0; c < P; c++)
            mean[c] += Psi[(size_t)j * P + c];
    double ybar = krr_mean(n, y);
    for (long j = 0; j < n; j++) {
        for (size_t c = 0; c < P; c++)
            Psi[(size_t)j * P + c] -= mean[c] / (double)n;
        yc[j] = y[j] - ybar;
    }
    if (la_ridge_lsq((int)n, (int)P, Psi, yc, op->lambda, z) != 0)
        goto out;
    krr_unsvec(&op->k, z, M);
    rc = 0;
out:
    free(Psi);
    free(yc);
    free(mean);
    free(z);
    return rc;
}

static int krr_normal(const KrrOp *op, const double *y, double *M)
{
    long n = op->n;
    int P = op->d * (op->d + 1) / 2;
    long chunk = n < KRR_CHUNK ? n : KRR_CHUNK;
    double *G = calloc((size_t)P * P, sizeof(double));
    double *Psi = malloc(sizeof(double) * (size_t)chunk * P);
    double *mean = calloc((size_t)P, sizeof(double));
    double *rhs = calloc((size_t)P, sizeof(double));
    double *z = malloc(sizeof(double) * (size_t)P);
    int rc = -1;
    if (!G || !Psi || !mean || !rhs || !z)
        goto out;
    double ybar = krr_mean(n, y);
    double shift = sqrt(op->k.tI); /* the diagonal features' mean under N(0, I) */
    for (long j0 = 0; j0 < n; j0 += KRR_CHUNK) {
        int m = (int)(n - j0 < KRR_CHUNK ? n - j0 : KRR_CHUNK);
        krr_features(&op->k, m, op->X + (size_t)j0 * op->d, shift, Psi);
        la_syrk('T', P, m, 1.0, Psi, P, 1.0, G, P);
        for (int j = 0; j < m; j++) {
            double yj = y[j0 + j] - ybar;
            const double *ph = Psi + (size_t)j * P;
            for (int c = 0; c < P; c++) {
                mean[c] += ph[c];
                rhs[c] += ph[c] * yj;
            }
        }
    }
    for (int a = 0; a < P; a++)
        for (int b = 0; b < P; b++)
            G[(size_t)a * P + b] -= mean[a] * mean[b] / (double)n; /* centred */
    if (la_sym_ridge_solve(P, G, rhs, op->lambda, KRR_RCOND, z) != 0)
        goto out;
    krr_unsvec(&op->k, z, M);
    rc = 0;
out:
    free(G);
    free(Psi);
    free(mean);
    free(rhs);
    free(z);
    return rc;
}

/* Memory of a direct solver beyond the operator (bytes, approximate). */
static double krr_direct_bytes(int solver, double n, double P)
{
    switch (solver) {
    case KRR_S_KERNEL: return 8.0 * (n * n + 3 * n);
    case KRR_S_EXPLICIT: return 8.0 * (2 * n * P + 2 * P * P + 2 * n + 3 * P);
    case KRR_S_NORMAL: return 8.0 * (3 * P * P + KRR_CHUNK * P + 3 * P);
    default: return INFINITY;
    }
}

/* The direct solver for n samples: kernel up to P, then explicit, then normal. */
static int krr_direct_choice(long n, int d)
{
    double P = (double)d * (d + 1) / 2;
    if ((double)n <= P)
        return KRR_S_KERNEL;
    return (double)n * P <= KRR_EXPLICIT ? KRR_S_EXPLICIT : KRR_S_NORMAL;
}

static int krr_direct_one(const KrrOp *op, const double *y, double *M, int solver)
{
    switch (solver) {
    case KRR_S_KERNEL: return krr_dual(op, y, M);
    case KRR_S_EXPLICIT: return krr_explicit(op, y, M);
    case KRR_S_NORMAL: return krr_normal(op, y, M);
    default: return -1;
    }
}

/* A direct solve starting with `solver`; a kernel solve that fails or leaves a residual
 * above KRR_DIRECT_ACCEPT (Cholesky of a nearly singular K at lambda = 0) is redone in
 * the feature space, explicit when it fits in memory, else normal. Keeps the solution with
 * the smallest residual. Returns the solver used, or -1 when none succeeded; *res its
 * residual. `max_bytes` bounds the memory of each attempt (INFINITY: none). */
static int krr_direct(const KrrOp *op, const double *y, const double *b, double *M,
                      int solver, double max_bytes, double *res)
{
    size_t dd = (size_t)op->d * op->d;
    double P = (double)op->d * (op->d + 1) / 2;
    int order[3], no = 0, used = -1;
    order[no++] = solver;
    if (solver == KRR_S_KERNEL)
        order[no++] = (double)op->n * P <= KRR_EXPLICIT ? KRR_S_EXPLICIT : KRR_S_NORMAL;
    else if (solver == KRR_S_EXPLICIT)
        order[no++] = KRR_S_NORMAL;
    double *Mt = malloc(sizeof(double) * dd);
    if (!Mt)
        return -1;
    *res = INFINITY;
    for (int i = 0; i < no; i++) {
        if (krr_direct_bytes(order[i], (double)op->n, P) > max_bytes)
            continue;
        if (krr_direct_one(op, y, Mt, order[i]) != 0)
            continue;
        double r = krr_resid(op, Mt, b);
        if (isfinite(r) && r < *res) {
            *res = r;
            used = order[i];
            memcpy(M, Mt, sizeof(double) * dd);
        }
        if (*res <= KRR_DIRECT_ACCEPT)
            break;
    }
    free(Mt);
    return used;
}

/* ---- conjugate gradients (preconditioned by T, from M = 0) ----
 * Returns iterations, -1 on the stop signal, -2 when out of memory; *converged = 1 when
 * the recursive residual reached KRR_CG_TOL. */
static long krr_cg(const KrrOp *op, const double *b, double *M,
                   const volatile sig_atomic_t *stop, int *converged)
{
    size_t dd = (size_t)op->d * op->d;
    double *r = malloc(sizeof(double) * dd), *z = malloc(sizeof(double) * dd);
    double *p = malloc(sizeof(double) * dd), *q = malloc(sizeof(double) * dd);
    double *tmp = malloc(sizeof(double) * dd);
    long it = 0;
    *converged = 0;
    if (!r || !z || !p || !q || !tmp) {
        it = -2;
        goto out;
    }
    memset(M, 0, sizeof(double) * dd);
    memcpy(r, b, sizeof(double) * dd);
    krr_T(&op->k, 1.0, r, z);
    memcpy(p, z, sizeof(double) * dd);
    double rz = la_dot(dd, r, z), nb = sqrt(fmax(rz, 0.0));
    if (nb == 0) {
        *converged = 1;
        goto out;
    }
    for (it = 0; it < krr_cg_maxit; it++) {
        if (sqrt(fmax(rz, 0.0)) <= KRR_CG_TOL * nb) {
            *converged = 1;
            break;
        }
        if (stop && *stop) {
            it = -1;
            goto out;
        }
        krr_apply(op, p, q, tmp);
        double pq = la_dot(dd, p, q);
        if (!(pq > 0))
            break; /* breakdown: rounding on a (nearly) singular system */
        double alpha = rz / pq;
        la_axpy(dd, alpha, p, M);
        la_axpy(dd, -alpha, q, r);
        krr_T(&op->k, 1.0, r, z);
        double rz2 = la_dot(dd, r, z);
        double beta = rz2 / rz;
        rz = rz2;
        for (size_t i = 0; i < dd; i++)
            p[i] = z[i] + beta * p[i];
    }
out:
    free(r);
    free(z);
    free(p);
    free(q);
    free(tmp);
    return it;
}

/* ---- population ---- */
static double krr_optimum(const Target *t)
{
    return t->model == MODEL_MIXTURE ? data_lsq_risk(t, t->s) : t->tau * t->tau;
}

static int krr_population(const Target *t, double *c, double *M)
{
    int d = t->d;
    if (t->model == MODEL_MIXTURE) {
        double dl = t->delta, g = dl / (2.0 * (1.0 + dl * dl) + t->s * dl * dl);
        la_gemm('N', 'T', d, d, t->s, g, t->U, t->s, t->U, t->s, 0.0, M, d);
        krr_symmetrize(d, M);
        return isfinite(data_pop_risk_copt(t, M, c, NULL)) ? 0 : -1;
    }
    memcpy(M, t->B, sizeof(double) * (size_t)d * d);
    *c = t->b0;
    return 0;
}

/* ---- the fit ---- */
static int krr_finite(const FitInput *in, int regime, FitOutput *out)
{
    long n = in->n;
    int d = in->d;
    size_t dd = (size_t)d * d;
    KrrOp op = {n, d, in->X, NULL, NULL, in->job->ridge, krr_kern(in->job, regime, d)};
    double *b = malloc(sizeof(double) * dd);
    op.S = malloc(sizeof(double) * (size_t)n * d);
    op.f = malloc(sizeof(double) * (size_t)n);
    int rc = -1;
    if (!b || !op.S || !op.f) {
        out->cause = CAUSE_NOMEM;
        goto out;
    }
    krr_adjoint(&op, in->y, krr_mean(n, in->y), b); /* F_c^* y_c */
    int direct = krr_direct_choice(n, d);
    int use_cg = in->job->krr_solver == KRR_SOLVER_CG ||
                 (in->job->krr_solver == KRR_SOLVER_AUTO && n > in->job->krr_max_direct);
    if (krr_forced >= 0) {
        use_cg = krr_forced == KRR_S_CG;
        if (!use_cg)
            direct = krr_forced;
    }
    int used = -1, tried_direct = 0;
    double res = NAN;
    out->iterations = 0;
    out->stop = STOP_EXACT;
    if (!use_cg) {
        tried_direct = 1;
        used = krr_direct(&op, in->y, b, out->M, direct, INFINITY, &res);
    }
    if (used < 0) { /* CG, or the fallback when the direct solves failed */
        int conv;
        long it = krr_cg(&op, b, out->M, in->stop, &conv);
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
        res = krr_resid(&op, out->M, b);
        if (conv && res <= KRR_CG_ACCEPT) {
            used = KRR_S_CG;
            out->stop = STOP_CONVERGED;
        } else if (!tried_direct) {
            /* CG ran out of iterations or broke down: a direct solve where it fits, else
             * the task fails — a short CG is never stored as a fit. */
            used = krr_direct(&op, in->y, b, out->M, direct, krr_fallback_bytes, &res);
            out->stop = STOP_EXACT;
        }
        if (used < 0) {
            out->cause = CAUSE_SOLVER;
            goto out;
        }
    }
    krr_last_solver = used;
    out->residual = res;
    krr_forward(&op, out->M, op.f);
    double c = 0;
    for (long j = 0; j < n; j++)
        c += in->y[j] - op.f[j];
    out->c = c / (double)n;
    rc = 0;
out:
    free(b);
    free(op.S);
    free(op.f);
    return rc;
}

static int krr_fit(const FitInput *in, FitOutput *out, int regime)
{
    int d = in->d;
    out->cause = CAUSE_NONE;
    out->stop = STOP_EXACT;
    out->iterations = 0;
    out->residual = 0;
    out->theory = krr_optimum(in->target);
    krr_last_solver = -1;
    if (in->n < 0) {
        if (krr_population(in->target, &out->c, out->M) != 0) {
            out->cause = CAUSE_NOMEM;
            goto fail;
        }
    } else if (in->n == 0 || !in->X || !in->y) {
        out->cause = CAUSE_INVALID;
        goto fail;
    } else if (krr_finite(in, regime, out) != 0) {
        if (out->cause == CAUSE_NONE)
            out->cause = CAUSE_SOLVER;
        goto fail;
    }
    int finite = isfinite(out->c);
    for (size_t i = 0; i < (size_t)d * d && finite; i++)
        finite = isfinite(out->M[i]);
    if (!finite) {
        out->cause = CAUSE_NONFINITE;
        goto fail;
    }
    return 0;
fail:
    if (out->stop != STOP_SIGNAL)
        out->stop = STOP_FAILED;
    return -1;
}

int krr_predictor(const JobSpec *job, int regime, int d, long n, const double *X,
                  const double *beta, double *M)
{
    KrrOp op = {n, d, X, malloc(sizeof(double) * (size_t)(n > 0 ? n : 1) * d), NULL, 0,
                krr_kern(job, regime, d)};
    if (!op.S)
        return -1;
    krr_adjoint(&op, beta, 0.0, M);
    krr_T(&op.k, 1.0, M, M);
    free(op.S);
    return 0;
}

static int krr_rf_fit(const FitInput *in, FitOutput *out) { return krr_fit(in, out, REGIME_KRR_RF); }
static int krr_nt_fit(const FitInput *in, FitOutput *out) { return krr_fit(in, out, REGIME_KRR_NT); }

const Regime regime_krr_rf = {"krr_rf", krr_rf_fit};
const Regime regime_krr_nt = {"krr_nt", krr_nt_fit};
