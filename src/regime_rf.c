/* regime_rf: random features, W = W0 fixed, fit (c, a) of f = c + sum_i a_i <w_i, x>^2.
 *
 * Objective (finite n): (1/n) sum_j (f(x_j) - y_j)^2 + lambda ||a||^2, lambda = job
 * ridge, c never penalised; lambda = 0 gives the minimum-||a|| least-squares solution
 * (the lambda -> 0+ limit). Eliminating c centres features and labels:
 * (Phi_c^T Phi_c / n + lambda I) a = Phi_c^T y_c / n, c = mean(y) - mean(phi)^T a.
 * Small problems (n N <= RF_EXPLICIT) solve the centred design directly with dgelsd
 * (augmented by sqrt(lambda) I); larger ones accumulate the normal equations in row
 * blocks (features shifted by ||w_i||^2, their mean under x ~ N(0, I), to avoid
 * cancellation) and solve them by Cholesky or, when singular at lambda = 0, by the
 * pseudo-inverse.
 * Population (n = -1): the same objective with the population risk, i.e.
 * (Cov(phi) + lambda I) a = Cov(phi, y): quadratic Cov = 2G, G_ij = <w_i, w_j>^2,
 * Cov(phi, y) = 2v, v_i = w_i^T B w_i; mixture Cov = H + g g^T/4, Cov(phi, y) = g/2 with
 * H_kl = (w_k^T S+ w_l)^2 + (w_k^T S- w_l)^2 = 2 G_kl + 2 delta^2 (V V^T)_kl^2 (V = W U),
 * g_k = 2 delta ||U^T w_k||^2 (SPEC §3). c optimal for the trained a.
 * Trained model: M = W^T diag(a) W. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "regime.h"
#include "task.h"

#define RF_EXPLICIT (1L << 21) /* n * N below which the design is solved by dgelsd */
#define RF_CHUNK 4096          /* rows per block for the normal equations */
#define RF_RCOND 1e-12         /* pseudo-inverse cut-off (relative eigenvalue) */

static double row_sq(int d, const double *w) { return la_dot((size_t)d, w, w); }

/* a = (G + lambda I)^+ rhs for the N x N Gram system G (kept intact), and the relative
 * residual of that system in *resid (not computed when resid is NULL). 0, or -1 (out of
 * memory, solver failure). */
static int gram_solve(int N, const double *G, const double *rhs, double lambda, double *a,
                      double *resid)
{
    size_t nn = (size_t)N * N;
    double *G2 = malloc(sizeof(double) * nn), *r = malloc(sizeof(double) * (size_t)N);
    int rc = -1;
    if (!G2 || !r)
        goto out;
    memcpy(G2, G, sizeof(double) * nn);
    if (la_sym_ridge_solve(N, G2, rhs, lambda, RF_RCOND, a) != 0)
        goto out;
    rc = 0;
    if (!resid) /* varpro's solves at every evaluation: no use for it */
        goto out;
    memcpy(r, rhs, sizeof(double) * (size_t)N);
    la_gemv('N', N, N, 1.0, G, N, a, -1.0, r);
    la_axpy((size_t)N, lambda, a, r);
    double nb = la_nrm2((size_t)N, rhs);
    *resid = nb > 0 ? la_nrm2((size_t)N, r) / nb : 0.0;
out:
    free(G2);
    free(r);
    return rc;
}

/* Features phi_ji = <w_i, x_j>^2 - shift_i of rows x_0..x_{m-1} into Z (m x N); the
 * products <w_i, x_j> themselves also into P (m x N) when P is not NULL. */
static void rf_features(int m, int d, int N, const double *X, const double *W,
                        const double *shift, double *Z, double *P)
{
    double *T = P ? P : Z;
    la_gemm('N', 'T', m, N, d, 1.0, X, d, W, d, 0.0, T, N);
    for (size_t j = 0; j < (size_t)m; j++) { /* rows: no index division per entry */
        const double *t = T + j * N;
        double *z = Z + j * N;
        for (int i = 0; i < N; i++)
            z[i] = t[i] * t[i] - shift[i];
    }
}

/* P (n x N, may be NULL): the products X W^T, kept for the caller. */
static int rf_finite(const FitInput *in, const double *W, int N, double *c, double *a,
                     double *resid, double *P)
{
    long n = in->n;
    int d = in->d;
    double lambda = in->job->ridge;
    double *shift = malloc(sizeof(double) * (size_t)N);
    double *mean = calloc((size_t)N, sizeof(double));
    double *rhs = calloc((size_t)N, sizeof(double));
    double *G = NULL, *Z = NULL, *yc = NULL;
    int rc = -1;
    if (!shift || !mean || !rhs)
        goto out;
    for (int i = 0; i < N; i++)
        shift[i] = row_sq(d, W + (size_t)i * d);
    double ybar = 0;
    for (long j = 0; j < n; j++)
        ybar += in->y[j];
    ybar /= (double)n;

    if ((double)n * N <= RF_EXPLICIT) {
        Z = malloc(sizeof(double) * (size_t)n * N);
        yc = malloc(sizeof(double) * (size_t)n);
        if (!Z || !yc)
            goto out;
        rf_features((int)n, d, N, in->X, W, shift, Z, P);
        for (long j = 0; j < n; j++)
            for (int i = 0; i < N; i++)
                mean[i] += Z[(size_t)j * N + i];
        for (int i = 0; i < N; i++)
            mean[i] /= (double)n;
        double sn = 1.0 / sqrt((double)n);
        for (long j = 0; j < n; j++) {
            for (int i = 0; i < N; i++)
                Z[(size_t)j * N + i] = (Z[(size_t)j * N + i] - mean[i]) * sn;
            yc[j] = (in->y[j] - ybar) * sn;
        }
        if (la_ridge_lsq((int)n, N, Z, yc, lambda, a) != 0)
            goto out;
        /* residual of the normal equations, relative to the right-hand side */
        double *r = malloc(sizeof(double) * (size_t)n);
        double *zy = malloc(sizeof(double) * (size_t)N);
        if (!r || !zy) {
            free(r);
            free(zy);
            goto out;
        }
        la_gemv('T', (int)n, N, 1.0, Z, N, yc, 0.0, zy);  /* Z^T yc */
        memcpy(r, yc, sizeof(double) * (size_t)n);
        la_gemv('N', (int)n, N, 1.0, Z, N, a, -1.0, r);   /* r = Z a - yc */
        la_gemv('T', (int)n, N, 1.0, Z, N, r, 0.0, rhs);  /* Z^T r */
        la_axpy((size_t)N, lambda, a, rhs);
        double nb = la_nrm2((size_t)N, zy);
        *resid = nb > 0 ? la_nrm2((size_t)N, rhs) / nb : 0.0;
        free(r);
        free(zy);
    } else {
        long chunk = n < RF_CHUNK ? n : RF_CHUNK;
        G = calloc((size_t)N * N, sizeof(double));
        Z = malloc(sizeof(double) * (size_t)chunk * N);
        if (!G || !Z)
            goto out;
        /* S = sum phi phi^T, t = sum phi, u = sum phi (y - ybar) with shifted phi */
        for (long j0 = 0; j0 < n; j0 += RF_CHUNK) {
            int m = (int)(n - j0 < RF_CHUNK ? n - j0 : RF_CHUNK);
            rf_features(m, d, N, in->X + (size_t)j0 * d, W, shift, Z,
                        P ? P + (size_t)j0 * N : NULL);
            la_syrk('T', N, m, 1.0, Z, N, 1.0, G, N);
            for (int j = 0; j < m; j++) {
                double yj = in->y[j0 + j] - ybar;
                for (int i = 0; i < N; i++) {
                    mean[i] += Z[(size_t)j * N + i];
                    rhs[i] += Z[(size_t)j * N + i] * yj;
                }
            }
        }
        for (int i = 0; i < N; i++)
            mean[i] /= (double)n;
        /* centred: (S - n m m^T)/n,  rhs/n (sum (y - ybar) = 0 removes the shift) */
        for (int i = 0; i < N; i++) {
            rhs[i] /= (double)n;
            for (int k = 0; k < N; k++)
                G[(size_t)i * N + k] = G[(size_t)i * N + k] / (double)n - mean[i] * mean[k];
        }
        if (gram_solve(N, G, rhs, lambda, a, resid) != 0)
            goto out;
    }
    *c = ybar;
    for (int i = 0; i < N; i++)
        *c -= (mean[i] + shift[i]) * a[i];
    rc = 0;
out:
    free(shift);
    free(mean);
    free(rhs);
    free(G);
    free(Z);
    free(yc);
    return rc;
}

/* K and WB (quadratic target only; may be NULL): the Gram W W^T and W B, kept. */
static int rf_population(const FitInput *in, const double *W, int N, double *c, double *a,
                         double *resid, double *K, double *WB)
{
    const Target *t = in->target;
    int d = in->d;
    double lambda = in->job->ridge;
    double *G = malloc(sizeof(double) * (size_t)N * N);
    double *b = malloc(sizeof(double) * (size_t)N);
    double *T = NULL, *S = NULL;
    int rc = -1;
    if (!G || !b)
        goto out;
    la_syrk('N', N, d, 1.0, W, d, 0.0, G, N); /* <w_i, w_j> */
    if (K && t->model != MODEL_MIXTURE)
        memcpy(K, G, sizeof(double) * (size_t)N * N);
    if (t->model == MODEL_MIXTURE) {
        int s = t->s;
        double dl = t->delta;
        T = malloc(sizeof(double) * (size_t)N * s);
        S = malloc(sizeof(double) * (size_t)N * N);
        if (!T || !S)
            goto out;
        la_gemm('N', 'N', N, s, d, 1.0, W, d, t->U, s, 0.0, T, s); /* V = W U */
        la_syrk('N', N, s, 1.0, T, s, 0.0, S, N);
        for (int k = 0; k < N; k++)
            b[k] = 2.0 * dl * S[(size_t)k * N + k]; /* g_k */
        for (int k = 0; k < N; k++)
            for (int l = 0; l < N; l++) {
                double g0 = G[(size_t)k * N + l], sv = S[(size_t)k * N + l];
                G[(size_t)k * N + l] = 2.0 * g0 * g0 + 2.0 * dl * dl * sv * sv +
                                       0.25 * b[k] * b[l];
            }
        for (int k = 0; k < N; k++)
            b[k] *= 0.5;
    } else {
        T = WB ? WB : malloc(sizeof(double) * (size_t)N * d);
        if (!T)
            goto out;
        la_gemm('N', 'N', N, d, d, 1.0, W, d, t->B, d, 0.0, T, d); /* W B */
        for (int i = 0; i < N; i++)
            b[i] = 2.0 * la_dot((size_t)d, T + (size_t)i * d, W + (size_t)i * d);
        for (size_t k = 0; k < (size_t)N * N; k++)
            G[k] = 2.0 * G[k] * G[k];
    }
    if (gram_solve(N, G, b, lambda, a, resid) != 0)
        goto out;
    /* optimal c: quadratic b0 + tr(B - M); mixture -tr M; tr M = sum a_i ||w_i||^2 */
    double trM = 0;
    for (int i = 0; i < N; i++)
        trM += a[i] * row_sq(d, W + (size_t)i * d);
    if (t->model == MODEL_MIXTURE) {
        *c = -trM;
    } else {
        double trB = 0;
        for (int i = 0; i < d; i++)
            trB += t->B[(size_t)i * d + i];
        *c = t->b0 + trB - trM;
    }
    rc = 0;
out:
    free(G);
    free(b);
    if (T != WB)
        free(T);
    free(S);
    return rc;
}

static int rf_solve_resid(const FitInput *in, const double *W, int N, double *c, double *a,
                          double *resid)
{
    double dummy;
    if (!resid)
        resid = &dummy;
    if (N <= 0) { /* only the constant */
        if (in->n < 0) {
            double *Z = calloc((size_t)in->d * in->d, sizeof(double));
            if (!Z)
                return -1;
            data_pop_risk_copt(in->target, Z, c, NULL);
            free(Z);
        } else {
            double s = 0;
            for (long j = 0; j < in->n; j++)
                s += in->y[j];
            *c = in->n > 0 ? s / (double)in->n : 0.0;
        }
        *resid = 0;
        return 0;
    }
    if (in->n < 0)
        return rf_population(in, W, N, c, a, resid, NULL, NULL);
    if (in->n == 0)
        return -1;
    return rf_finite(in, W, N, c, a, resid, NULL);
}

int rf_solve_at(const FitInput *in, const double *W, int N, double *c, double *a)
{
    return rf_solve_resid(in, W, N, c, a, NULL);
}

int rf_solve_keep_products(const FitInput *in, const double *W, int N, double *c, double *a,
                           double *P)
{
    double resid;
    if (N <= 0 || in->n <= 0)
        return -1;
    return rf_finite(in, W, N, c, a, &resid, P);
}

int rf_solve_pop_keep(const FitInput *in, const double *W, int N, double *c, double *a,
                      double *K, double *WB)
{
    if (N <= 0 || in->n >= 0 || in->target->model == MODEL_MIXTURE)
        return -1;
    return rf_population(in, W, N, c, a, NULL, K, WB);
}

static int rf_fit(const FitInput *in, FitOutput *out)
{
    int N = in->N, d = in->d;
    double *a = malloc(sizeof(double) * (size_t)(N > 0 ? N : 1));
    double *Wa = malloc(sizeof(double) * (size_t)(N > 0 ? N : 1) * d);
    out->iterations = 0;
    out->stop = STOP_EXACT;
    out->cause = CAUSE_NONE;
    if (!a || !Wa) {
        out->cause = CAUSE_NOMEM;
        goto fail;
    }
    if (rf_solve_resid(in, in->W0, N, &out->c, a, &out->residual) != 0) {
        out->cause = CAUSE_SOLVER;
        goto fail;
    }
    for (int i = 0; i < N; i++)
        for (int k = 0; k < d; k++)
            Wa[(size_t)i * d + k] = a[i] * in->W0[(size_t)i * d + k];
    memset(out->M, 0, sizeof(double) * (size_t)d * d);
    la_gemm('T', 'N', d, d, N, 1.0, in->W0, d, Wa, d, 0.0, out->M, d);
    for (int i = 0; i < d; i++)
        for (int k = 0; k < i; k++) {
            double v = 0.5 * (out->M[(size_t)i * d + k] + out->M[(size_t)k * d + i]);
            out->M[(size_t)i * d + k] = out->M[(size_t)k * d + i] = v;
        }
    int finite = isfinite(out->c);
    for (size_t k = 0; k < (size_t)d * d && finite; k++)
        finite = isfinite(out->M[k]);
    if (!finite) {
        out->cause = CAUSE_NONFINITE;
        goto fail;
    }
    free(a);
    free(Wa);
    return 0;
fail:
    out->stop = STOP_FAILED;
    free(a);
    free(Wa);
    return -1;
}

const Regime regime_rf = {"rf", rf_fit};
