/* data: see include/data.h.
 *
 * Random layout (DESIGN §4; never change it, results depend on it):
 * - Target key: rng_key(seed, RNG_SITE_TARGET, model, d, replicate). The model enters
 *   the key so that B (quadratic) and U (mixture) of the same (d, replicate) are
 *   independent draws; within one model the target depends on (d, replicate) only.
 *   Sub-streams of that key:
 *     exponential: sub 0, d values Exp(1) -> gamma_j;  B = diag(gamma)/sqrt(d)
 *     wigner:      sub i (row i), d normals z; B_ij = z_j/sqrt(d) for j > i (mirrored),
 *                  B_ii = z_i sqrt(2/d)  (GOE: diagonal variance 2/d)
 *     lowrank:     sub 0, r values Exp(1) -> gamma; sub 1: U = rng_frame(d, r);
 *                  B = U diag(gamma) U^T rescaled so that ||B||_F^2 = 2 (r is clamped to d)
 *     signed:      sub 0, d uniforms u_j; B_jj = (u_j < 1/2 ? -1 : +1)/sqrt(d)
 *     mixture:     sub 1: U = rng_frame(d, s)
 *   b0 = -tr B for every quadratic target (so E y = 0 without noise).
 * - Sample j of a data_sample key is sub-stream j: the first d + 1 values of
 *   rng_normal(key, j, ., d + 1) (drawn with rng_normal_rows, the same values). Values 0..d-1 are z ~ N(0, I_d); value d is e_j, which
 *   is the label noise (quadratic: y += tau e_j) or the label (mixture: y = +1 if
 *   e_j >= 0 else -1, a fair coin independent of z). Quadratic: x = z. Mixture:
 *   x = z + (sqrt(1 + y delta) - 1) U U^T z, so that Cov(x | y) = I + y delta U U^T.
 */
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "log.h"
#include "vec.h"

#define SAMPLE_CHUNK 2048 /* rows per BLAS block in data_sample */

static double trace(int d, const double *A)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        s += A[(size_t)i * d + i];
    return s;
}

static double fro2(size_t n, const double *A) { return la_dot(n, A, A); }

Target *data_target_create(const JobSpec *job, int model, int d, int replicate)
{
    Target *t = calloc(1, sizeof *t);
    if (!t || d <= 0)
        goto fail;
    t->model = model;
    t->target = job->target;
    t->d = d;
    t->tau = job->noise;
    RngKey key = rng_key(job->seed, RNG_SITE_TARGET, (uint32_t)model, (uint32_t)d,
                         (uint32_t)replicate);
    size_t dd = (size_t)d * d;
    if (model == MODEL_MIXTURE) {
        t->tau = 0;
        t->s = job->mixture_rank < d ? job->mixture_rank : d;
        if (t->s < 1)
            t->s = 1;
        t->delta = job->mixture_delta;
        t->U = malloc(sizeof(double) * (size_t)d * t->s);
        if (!t->U || rng_frame(key, 1, d, t->s, t->U) != 0)
            goto fail;
        return t;
    }
    t->B = calloc(dd, sizeof(double));
    double *tmp = malloc(sizeof(double) * (size_t)d);
    if (!t->B || !tmp) {
        free(tmp);
        goto fail;
    }
    double sq = 1.0 / sqrt((double)d);
    switch (t->target) {
    case TARGET_WIGNER:
        for (int i = 0; i < d; i++) {
            rng_normal(key, (uint64_t)i, tmp, (size_t)d);
            t->B[(size_t)i * d + i] = tmp[i] * sqrt(2.0 / d);
            for (int j = i + 1; j < d; j++)
                t->B[(size_t)i * d + j] = t->B[(size_t)j * d + i] = tmp[j] * sq;
        }
        break;
    case TARGET_LOWRANK: {
        int r = job->rank < d ? job->rank : d;
        if (r < 1)
            r = 1;
        double *U = malloc(sizeof(double) * (size_t)d * r);
        double *UG = malloc(sizeof(double) * (size_t)d * r);
        if (!U || !UG || rng_frame(key, 1, d, r, U) != 0) {
            free(U);
            free(UG);
            free(tmp);
            goto fail;
        }
        rng_exponential(key, 0, tmp, (size_t)r);
        double g2 = 0;
        for (int k = 0; k < r; k++)
            g2 += tmp[k] * tmp[k];
        double scale = sqrt(2.0 / g2); /* ||B||_F^2 = sum gamma^2 = 2 */
        for (int i = 0; i < d; i++)
            for (int k = 0; k < r; k++)
                UG[(size_t)i * r + k] = U[(size_t)i * r + k] * tmp[k] * scale;
        la_gemm('N', 'T', d, d, r, 1.0, UG, r, U, r, 0.0, t->B, d);
        for (int i = 0; i < d; i++) /* exact symmetry */
            for (int j = 0; j < i; j++)
                t->B[(size_t)i * d + j] = t->B[(size_t)j * d + i];
        free(U);
        free(UG);
        break;
    }
    case TARGET_SIGNED:
        rng_uniform(key, 0, tmp, (size_t)d);
        for (int i = 0; i < d; i++)
            t->B[(size_t)i * d + i] = (tmp[i] < 0.5 ? -1.0 : 1.0) * sq;
        break;
    case TARGET_EXPONENTIAL:
    default:
        rng_exponential(key, 0, tmp, (size_t)d);
        for (int i = 0; i < d; i++)
            t->B[(size_t)i * d + i] = tmp[i] * sq;
        break;
    }
    free(tmp);
    t->b0 = -trace(d, t->B);
    return t;
fail:
    data_target_free(t);
    return NULL;
}

void data_target_free(Target *t)
{
    if (!t)
        return;
    free(t->B);
    free(t->U);
    free(t);
}

int data_sample(const Target *t, RngKey key, long first, long n, double *X, double *y)
{
    int d = t->d;
    /* rows of d + 1 normals, drawn DRAW_ROWS at a time (rng_normal_rows packs short rows) */
    enum { DRAW_ROWS = 64 };
    double *z = malloc(sizeof(double) * DRAW_ROWS * (size_t)(d + 1));
    double *T = NULL;
    int rc = -1;
    if (!z)
        goto out;
    for (long j0 = 0; j0 < n; j0 += DRAW_ROWS) {
        long m = n - j0 < DRAW_ROWS ? n - j0 : DRAW_ROWS;
        rng_normal_rows(key, (uint64_t)(first + j0), (size_t)m, (size_t)d + 1, z);
        for (long j = 0; j < m; j++) {
            const double *zj = z + (size_t)j * (d + 1);
            memcpy(X + (size_t)(j0 + j) * d, zj, sizeof(double) * (size_t)d);
            y[j0 + j] = zj[d]; /* noise or label, finished below */
        }
    }
    if (t->model == MODEL_MIXTURE) {
        int s = t->s;
        T = malloc(sizeof(double) * (size_t)(n < SAMPLE_CHUNK ? n : SAMPLE_CHUNK) * s);
        if (!T)
            goto out;
        for (long j0 = 0; j0 < n; j0 += SAMPLE_CHUNK) {
            int m = (int)(n - j0 < SAMPLE_CHUNK ? n - j0 : SAMPLE_CHUNK);
            double *Xc = X + (size_t)j0 * d;
            la_gemm('N', 'N', m, s, d, 1.0, Xc, d, t->U, s, 0.0, T, s); /* T = Z U */
            for (int j = 0; j < m; j++) {
                double lab = y[j0 + j] >= 0 ? 1.0 : -1.0;
                y[j0 + j] = lab;
                double f = sqrt(1.0 + lab * t->delta) - 1.0;
                for (int k = 0; k < s; k++)
                    T[(size_t)j * s + k] *= f;
            }
            la_gemm('N', 'T', m, d, s, 1.0, T, s, t->U, s, 1.0, Xc, d); /* X += T U^T */
        }
    } else {
        T = malloc(sizeof(double) * (size_t)(n < SAMPLE_CHUNK ? n : SAMPLE_CHUNK) * d);
        if (!T)
            goto out;
        for (long j0 = 0; j0 < n; j0 += SAMPLE_CHUNK) {
            int m = (int)(n - j0 < SAMPLE_CHUNK ? n - j0 : SAMPLE_CHUNK);
            const double *Xc = X + (size_t)j0 * d;
            la_gemm('N', 'N', m, d, d, 1.0, Xc, d, t->B, d, 0.0, T, d); /* T = X B */
            for (int j = 0; j < m; j++) {
                double q = 0;
                const double *xr = Xc + (size_t)j * d, *tr = T + (size_t)j * d;
                for (int k = 0; k < d; k++)
                    q += xr[k] * tr[k];
                y[j0 + j] = t->b0 + q + t->tau * y[j0 + j];
            }
            la_flops_add(2.0 * m * d);
        }
    }
    rc = 0;
out:
    free(z);
    free(T);
    return rc;
}

double data_r0(const Target *t)
{
    if (t->model == MODEL_MIXTURE)
        return 1.0;
    return 2.0 * fro2((size_t)t->d * t->d, t->B) + t->tau * t->tau;
}

/* Mixture helper: K = U^T M U (s x s), returns tr K; MU (d x s) kept if wanted. */
static double mix_project(const Target *t, const double *M, double *MU, double *K)
{
    int d = t->d, s = t->s;
    la_gemm('N', 'N', d, s, d, 1.0, M, d, t->U, s, 0.0, MU, s);
    la_gemm('T', 'N', s, s, d, 1.0, t->U, s, MU, s, 0.0, K, s);
    return trace(s, K);
}

/* Quadratic: R(c, M) = (b0 - c + tr(B - M))^2 + 2 ||B - M||_F^2 + tau^2.
 * Mixture (Sigma_+- = I +- delta U U^T, m_+- = tr(M Sigma_+-)):
 * R(c, M) = 1/2 [(1 - c - m_+)^2 + (1 + c + m_-)^2] + tr(M S+ M S+) + tr(M S- M S-),
 * where m_+- = tr M +- delta tr K, K = U^T M U, and
 * tr(M S+ M S+) + tr(M S- M S-) = 2 ||M||_F^2 + 2 delta^2 ||K||_F^2. */
double data_pop_risk(const Target *t, double c, const double *M)
{
    int d = t->d;
    size_t dd = (size_t)d * d;
    if (t->model == MODEL_MIXTURE) {
        int s = t->s;
        double *MU = malloc(sizeof(double) * (size_t)d * s);
        double *K = malloc(sizeof(double) * (size_t)s * s);
        if (!MU || !K) {
            free(MU);
            free(K);
            return NAN;
        }
        double tk = mix_project(t, M, MU, K);
        double tm = trace(d, M);
        double mp = tm + t->delta * tk, mm = tm - t->delta * tk;
        double r = 0.5 * ((1 - c - mp) * (1 - c - mp) + (1 + c + mm) * (1 + c + mm)) +
                   2.0 * fro2(dd, M) + 2.0 * t->delta * t->delta * fro2((size_t)s * s, K);
        free(MU);
        free(K);
        return r;
    }
    double *D = malloc(sizeof(double) * dd);
    if (!D)
        return NAN;
    for (size_t k = 0; k < dd; k++)
        D[k] = t->B[k] - M[k];
    double e = t->b0 - c + trace(d, D);
    double r = e * e + 2.0 * fro2(dd, D) + t->tau * t->tau;
    free(D);
    return r;
}

/* Optimal c and the gradient at it (envelope theorem: dR/dM with c held at c_opt).
 * Quadratic: c* = b0 + tr(B - M), R = 2||B - M||^2 + tau^2, dR/dM = -4 (B - M).
 * Mixture: c* = -(m_+ + m_-)/2 = -tr M, R = (1 - delta tr K)^2 + 2||M||^2 + 2 delta^2||K||^2,
 * dR/dM = -2 delta (1 - delta tr K) U U^T + 4 M + 4 delta^2 U K U^T. */
double data_pop_risk_copt(const Target *t, const double *M, double *c_opt, double *grad)
{
    int d = t->d;
    size_t dd = (size_t)d * d;
    if (t->model == MODEL_MIXTURE) {
        int s = t->s;
        double dl = t->delta;
        double *MU = malloc(sizeof(double) * (size_t)d * s);
        double *K = malloc(sizeof(double) * (size_t)s * s);
        double *UK = malloc(sizeof(double) * (size_t)d * s);
        if (!MU || !K || !UK) {
            free(MU);
            free(K);
            free(UK);
            return NAN;
        }
        double tk = mix_project(t, M, MU, K);
        double e = 1.0 - dl * tk;
        double r = e * e + 2.0 * fro2(dd, M) + 2.0 * dl * dl * fro2((size_t)s * s, K);
        if (c_opt)
            *c_opt = -trace(d, M);
        if (grad) {
            /* UK = U (4 delta^2 K - 2 delta e I); grad = UK U^T + 4 M */
            double *K2 = malloc(sizeof(double) * (size_t)s * s);
            if (!K2) {
                r = NAN;
            } else {
                for (int i = 0; i < s; i++)
                    for (int j = 0; j < s; j++)
                        K2[(size_t)i * s + j] = 4.0 * dl * dl * K[(size_t)i * s + j] -
                                                (i == j ? 2.0 * dl * e : 0.0);
                la_gemm('N', 'N', d, s, s, 1.0, t->U, s, K2, s, 0.0, UK, s);
                for (size_t k = 0; k < dd; k++)
                    grad[k] = 4.0 * M[k];
                la_gemm('N', 'T', d, d, s, 1.0, UK, s, t->U, s, 1.0, grad, d);
                for (int i = 0; i < d; i++) /* exact symmetry */
                    for (int j = 0; j < i; j++) {
                        double v = 0.5 * (grad[(size_t)i * d + j] + grad[(size_t)j * d + i]);
                        grad[(size_t)i * d + j] = grad[(size_t)j * d + i] = v;
                    }
                free(K2);
            }
        }
        free(MU);
        free(K);
        free(UK);
        return r;
    }
    double f2 = 0, tr = 0;
    for (int i = 0; i < d; i++) {
        for (int j = 0; j < d; j++) {
            double D = t->B[(size_t)i * d + j] - M[(size_t)i * d + j];
            f2 += D * D;
            if (grad)
                grad[(size_t)i * d + j] = -4.0 * D;
        }
        tr += t->B[(size_t)i * d + i] - M[(size_t)i * d + i];
    }
    la_flops_add(3.0 * dd);
    if (c_opt)
        *c_opt = t->b0 + tr;
    return 2.0 * f2 + t->tau * t->tau;
}

/* sum_k (B_k - M_k)^2 over n entries, four lanes */
VEC_CLONES static double diff_sq(size_t n, const double *B, const double *M)
{
    v4d acc = {0, 0, 0, 0};
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        v4d b, m;
        LD4(b, B + k), LD4(m, M + k);
        b -= m;
        acc += b * b;
    }
    double s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    for (; k < n; k++)
        s0 += (B[k] - M[k]) * (B[k] - M[k]);
    return (s0 + s1) + (s2 + s3);
}

double data_pop_risk_copt_fast(const Target *t, const double *M, double *c_opt)
{
    if (t->model == MODEL_MIXTURE)
        return NAN;
    const int d = t->d;
    double tr = 0;
    for (int k = 0; k < d; k++)
        tr += t->B[(size_t)k * d + k] - M[(size_t)k * d + k];
    double f2 = diff_sq((size_t)d * d, t->B, M);
    la_flops_add(3.0 * (double)d * d);
    if (c_opt)
        *c_opt = t->b0 + tr;
    return 2.0 * f2 + t->tau * t->tau;
}

/* Regularized lower incomplete gamma P(a, x) (Numerical Recipes: series for
 * x < a + 1, Lentz continued fraction for Q otherwise), relative accuracy ~1e-15. */
double data_gammp(double a, double x)
{
    if (!(a > 0) || !(x >= 0))
        return NAN;
    if (x == 0)
        return 0.0;
    double gln = lgamma(a);
    if (x < a + 1.0) {
        double ap = a, sum = 1.0 / a, del = sum;
        for (int n = 0; n < 100000; n++) {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * 1e-17)
                break;
        }
        return sum * exp(-x + a * log(x) - gln);
    }
    const double tiny = 1e-300;
    double b = x + 1.0 - a, c = 1.0 / tiny, dd = 1.0 / b, h = dd;
    for (int i = 1; i < 100000; i++) {
        double an = -i * (i - a);
        b += 2.0;
        dd = an * dd + b;
        if (fabs(dd) < tiny)
            dd = tiny;
        c = b + an / c;
        if (fabs(c) < tiny)
            c = tiny;
        dd = 1.0 / dd;
        double del = dd * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-17)
            break;
    }
    return 1.0 - exp(-x + a * log(x) - gln) * h;
}

/* Bayes rule: log p+(x)/p-(x) = delta/(1-delta^2) q - (s/2) log((1+delta)/(1-delta)),
 * q = ||U^T x||^2, and q/(1 +- delta) ~ chi2_s under y = +-1. Predict +1 iff q > T,
 * T = (s/2) (1 - delta^2)/delta log((1+delta)/(1-delta)). Error =
 * 1/2 P(chi2_s <= T/(1+delta)) + 1/2 P(chi2_s > T/(1-delta)). */
double data_bayes_error(const Target *t)
{
    if (t->model != MODEL_MIXTURE)
        return NAN;
    double dl = t->delta, s = t->s;
    double ts = 0.5 * s * (1 - dl * dl) / dl * log((1 + dl) / (1 - dl));
    double pp = data_gammp(0.5 * s, 0.5 * ts / (1 + dl));
    double pm = data_gammp(0.5 * s, 0.5 * ts / (1 - dl));
    return 0.5 * pp + 0.5 * (1.0 - pm);
}

/* The least-squares quadratic predictor of rank k <= s is c + gamma ||V^T x||^2 with V
 * any k columns of U, gamma = delta / (2(1 + delta^2) + k delta^2) > 0 and c = -gamma k
 * (SPEC §3), so sign(f) = sign(q - k) with q = ||V^T x||^2 ~ (1 +- delta) chi2_k. */
double data_lsq_error(const Target *t, int k)
{
    if (t->model != MODEL_MIXTURE || k < 1)
        return NAN;
    if (k > t->s)
        k = t->s;
    double dl = t->delta, kk = k;
    return 0.5 * data_gammp(0.5 * kk, 0.5 * kk / (1 + dl)) +
           0.5 * (1.0 - data_gammp(0.5 * kk, 0.5 * kk / (1 - dl)));
}

double data_lsq_risk(const Target *t, int k)
{
    if (t->model != MODEL_MIXTURE || k < 0)
        return NAN;
    if (k > t->s)
        k = t->s;
    double dl2 = t->delta * t->delta;
    return 2 * (1 + dl2) / (2 * (1 + dl2) + k * dl2);
}

/* The residual moment of a model, see data.h. */
double data_pop_moment(const Target *t, double c, const double *M, double *C)
{
    int d = t->d;
    size_t dd = (size_t)d * d;
    double trM = 0;
    for (int i = 0; i < d; i++)
        trM += M[(size_t)i * d + i];
    if (t->model == MODEL_MIXTURE) {
        int s = t->s;
        double dl = t->delta;
        double *MU = malloc(sizeof(double) * (size_t)d * s);
        double *K = malloc(sizeof(double) * (size_t)s * s);
        double *UK = malloc(sizeof(double) * (size_t)d * s);
        if (!MU || !K || !UK) {
            free(MU);
            free(K);
            free(UK);
            return NAN;
        }
        double k = mix_project(t, M, MU, K); /* K = U^T M U, k = tr K */
        double ebar = -c - trM;
        /* UK = U (-2 delta^2 K + delta (1 - delta k) I); C = UK U^T - 2 M + ebar I */
        for (int i = 0; i < s; i++)
            for (int j = 0; j < s; j++)
                K[(size_t)i * s + j] = -2.0 * dl * dl * K[(size_t)i * s + j] +
                                       (i == j ? dl * (1.0 - dl * k) : 0.0);
        la_gemm('N', 'N', d, s, s, 1.0, t->U, s, K, s, 0.0, UK, s);
        for (size_t q = 0; q < dd; q++)
            C[q] = -2.0 * M[q];
        la_gemm('N', 'T', d, d, s, 1.0, UK, s, t->U, s, 1.0, C, d);
        for (int i = 0; i < d; i++) {
            C[(size_t)i * d + i] += ebar;
            for (int j = 0; j < i; j++) { /* exact symmetry */
                double v = 0.5 * (C[(size_t)i * d + j] + C[(size_t)j * d + i]);
                C[(size_t)i * d + j] = C[(size_t)j * d + i] = v;
            }
        }
        free(MU);
        free(K);
        free(UK);
        return ebar;
    }
    double trD = 0;
    for (int i = 0; i < d; i++)
        trD += t->B[(size_t)i * d + i] - M[(size_t)i * d + i];
    double ebar = t->b0 - c + trD;
    for (size_t q = 0; q < dd; q++)
        C[q] = 2.0 * (t->B[q] - M[q]);
    for (int i = 0; i < d; i++)
        C[(size_t)i * d + i] += ebar;
    la_flops_add(3.0 * (double)dd);
    return ebar;
}
