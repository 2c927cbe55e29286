/* test_data: targets, sampling streams, the exact population risk / gradient / Bayes
 * error of SPEC §3 against Monte Carlo and finite differences, the incomplete gamma. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "harness.h"
#include "job.h"
#include "linalg.h"
#include "rng.h"

static double *random_sym(int d, uint32_t tag, double scale)
{
    double *M = malloc(sizeof(double) * (size_t)d * d);
    double *z = malloc(sizeof(double) * (size_t)d * d);
    rng_normal(rng_key(7, RNG_SITE_TESTING, tag, 0, 0), 0, z, (size_t)d * d);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            M[i * d + j] = scale * 0.5 * (z[i * d + j] + z[j * d + i]);
    free(z);
    return M;
}

/* Monte Carlo mean and standard error of (c + x^T M x - y)^2 over n fresh samples. */
static void mc_risk(const Target *t, double c, const double *M, long n, double *mean,
                    double *se)
{
    int d = t->d;
    double *X = malloc(sizeof(double) * (size_t)n * d), *y = malloc(sizeof(double) * n);
    data_sample(t, rng_key(11, RNG_SITE_TESTING, 1, d, t->model), 0, n, X, y);
    double s = 0, s2 = 0;
    for (long j = 0; j < n; j++) {
        double f = c;
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                f += X[j * d + a] * M[a * d + b] * X[j * d + b];
        double e = (f - y[j]) * (f - y[j]);
        s += e;
        s2 += e * e;
    }
    *mean = s / n;
    *se = sqrt((s2 / n - *mean * *mean) / n);
    free(X);
    free(y);
}

static void test_targets(void)
{
    GROUP("targets");
    JobSpec job;
    job_defaults(&job);
    int d = 30;
    Target *t = data_target_create(&job, MODEL_QUADRATIC, d, 0);
    Target *t2 = data_target_create(&job, MODEL_QUADRATIC, d, 0);
    Target *t3 = data_target_create(&job, MODEL_QUADRATIC, d, 1);
    CHECK(t && t2 && t3, "create");
    CHECK(memcmp(t->B, t2->B, sizeof(double) * d * d) == 0, "same (d, replicate) -> same B");
    CHECK(memcmp(t->B, t3->B, sizeof(double) * d * d) != 0, "other replicate -> other B");
    double tr = 0, off = 0;
    for (int i = 0; i < d; i++) {
        tr += t->B[i * d + i];
        CHECK(t->B[i * d + i] > 0, "exponential diagonal positive");
        for (int j = 0; j < d; j++)
            if (i != j)
                off += fabs(t->B[i * d + j]);
    }
    CHECK(off == 0, "exponential B diagonal");
    CHECK_NEAR(t->b0, -tr, 1e-14, "b0 = -tr B");
    data_target_free(t);
    data_target_free(t2);
    data_target_free(t3);

    job.target = TARGET_LOWRANK;
    job.rank = 3;
    t = data_target_create(&job, MODEL_QUADRATIC, d, 0);
    double *A = malloc(sizeof(double) * d * d), w[64];
    memcpy(A, t->B, sizeof(double) * d * d);
    la_syev_values(d, A, w);
    int nz = 0;
    double f2 = 0;
    for (int i = 0; i < d; i++) {
        nz += fabs(w[i]) > 1e-10;
        f2 += w[i] * w[i];
    }
    CHECK(nz == 3, "lowrank rank %d", nz);
    CHECK_NEAR(f2, 2.0, 1e-12, "lowrank ||B||_F^2 = 2");
    data_target_free(t);

    job.target = TARGET_SIGNED;
    t = data_target_create(&job, MODEL_QUADRATIC, d, 0);
    int ok = 1, npos = 0;
    for (int i = 0; i < d; i++) {
        ok &= fabs(fabs(t->B[i * d + i]) - 1 / sqrt(d)) < 1e-15;
        npos += t->B[i * d + i] > 0;
    }
    CHECK(ok && npos > 0 && npos < d, "signed: +-1/sqrt(d), both signs (%d +)", npos);
    data_target_free(t);

    job.target = TARGET_WIGNER;
    d = 200;
    t = data_target_create(&job, MODEL_QUADRATIC, d, 0);
    double so = 0, sd = 0;
    int sym = 1;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            sym &= t->B[i * d + j] == t->B[j * d + i];
            if (i == j)
                sd += t->B[i * d + j] * t->B[i * d + j];
            else
                so += t->B[i * d + j] * t->B[i * d + j];
        }
    CHECK(sym, "wigner symmetric");
    /* d(d-1) off-diagonal entries of variance 1/d: mean square * d ~ 1 +- 0.01 (SE
     * sqrt(2/(d(d-1)/2)) = 0.007); diagonal variance 2/d: d * mean ~ 2 +- 0.2 (SE 0.2) */
    CHECK_NEAR(so / (d * (d - 1.0)) * d, 1.0, 0.035, "wigner off-diagonal variance 1/d");
    CHECK_NEAR(sd / d * d, 2.0, 0.8, "wigner diagonal variance 2/d");
    data_target_free(t);
    free(A);

    job.target = TARGET_EXPONENTIAL;
    t = data_target_create(&job, MODEL_MIXTURE, 10, 0);
    double UtU[16];
    la_gemm('T', 'N', 4, 4, 10, 1.0, t->U, 4, t->U, 4, 0.0, UtU, 4);
    double e = 0;
    for (int i = 0; i < 16; i++)
        e = fmax(e, fabs(UtU[i] - (i % 5 == 0)));
    CHECK(t->s == 4 && e < 1e-14, "mixture frame orthonormal (err %g)", e);
    data_target_free(t);
}

static void test_streams(void)
{
    GROUP("streams");
    JobSpec job;
    job_defaults(&job);
    job.noise = 0.5;
    for (int model = 0; model < 2; model++) {
        int d = 7;
        Target *t = data_target_create(&job, model, d, 0);
        RngKey key = rng_key(3, RNG_SITE_TESTING, 5, 0, 0);
        double X[20 * 7], y[20], X2[5 * 7], y2[5];
        data_sample(t, key, 0, 20, X, y);
        data_sample(t, key, 9, 5, X2, y2);
        CHECK(memcmp(X + 9 * d, X2, sizeof X2) == 0 && memcmp(y + 9, y2, sizeof y2) == 0,
              "model %d: sample j depends only on (key, j)", model);
        if (model == MODEL_MIXTURE) {
            int lab = 1;
            for (int j = 0; j < 20; j++)
                lab &= y[j] == 1.0 || y[j] == -1.0;
            CHECK(lab, "mixture labels +-1");
        }
        data_target_free(t);
    }
}

static void test_pop_risk_mc(void)
{
    GROUP("population risk vs Monte Carlo");
    JobSpec job;
    job_defaults(&job);
    job.noise = 0.3;
    job.mixture_rank = 2;
    job.mixture_delta = 0.6;
    int d = 5;
    long n = 200000;
    for (int model = 0; model < 2; model++) {
        Target *t = data_target_create(&job, model, d, 2);
        double *M = random_sym(d, 1 + model, 0.2);
        double c = 0.3, mean, se;
        double exact = data_pop_risk(t, c, M);
        mc_risk(t, c, M, n, &mean, &se);
        /* 5 standard errors of the MC mean */
        CHECK(fabs(exact - mean) <= 5 * se, "model %d: exact %.6f, MC %.6f +- %.6f", model,
              exact, mean, se);
        double copt;
        double ro = data_pop_risk_copt(t, M, &copt, NULL);
        CHECK_REL(data_pop_risk(t, copt, M), ro, 1e-12, "risk at c_opt");
        CHECK(data_pop_risk(t, copt + 0.01, M) > ro && data_pop_risk(t, copt - 0.01, M) > ro,
              "c_opt minimises");
        double *Z = calloc((size_t)d * d, sizeof(double));
        CHECK_REL(data_pop_risk_copt(t, Z, NULL, NULL), data_r0(t), 1e-12,
                  "R(0) with best c is the trivial risk R0");
        free(Z);
        free(M);
        data_target_free(t);
    }
}

static void test_gradient(void)
{
    GROUP("population gradient vs finite differences");
    JobSpec job;
    job_defaults(&job);
    job.mixture_rank = 3;
    job.mixture_delta = 0.4;
    int d = 6;
    for (int model = 0; model < 2; model++) {
        Target *t = data_target_create(&job, model, d, 0);
        double *M = random_sym(d, 10 + model, 0.3);
        double *G = malloc(sizeof(double) * d * d);
        data_pop_risk_copt(t, M, NULL, G);
        double h = 1e-4, maxerr = 0, maxg = 0;
        for (int i = 0; i < d; i++)
            for (int j = i; j < d; j++) {
                /* symmetric direction E = e_i e_j^T + e_j e_i^T (or e_i e_i^T):
                 * dR = <G, E> = 2 G_ij (G_ii); R is quadratic so the central
                 * difference is exact up to rounding */
                double *P = malloc(sizeof(double) * d * d);
                memcpy(P, M, sizeof(double) * d * d);
                P[i * d + j] += h;
                if (i != j)
                    P[j * d + i] += h;
                double rp = data_pop_risk_copt(t, P, NULL, NULL);
                P[i * d + j] -= 2 * h;
                if (i != j)
                    P[j * d + i] -= 2 * h;
                double rm = data_pop_risk_copt(t, P, NULL, NULL);
                double fd = (rp - rm) / (2 * h);
                double an = (i == j ? 1.0 : 2.0) * G[i * d + j];
                maxerr = fmax(maxerr, fabs(fd - an));
                maxg = fmax(maxg, fabs(an));
                free(P);
            }
        /* relative to the largest component; rounding ~1e-16/h = 1e-12 */
        CHECK(maxerr <= 1e-8 * maxg, "model %d: max |fd - grad| %g (max |grad| %g)", model,
              maxerr, maxg);
        free(M);
        free(G);
        data_target_free(t);
    }
}

/* The fast risk (the NN varpro loss) against data_pop_risk_copt: on the same M, which
 * need not be symmetric (only the order of the sum differs), and at a GEMM's
 * W^T diag(a) W, symmetric up to rounding, against its symmetrised copy. Sizes around
 * the four lanes; an M near B (risk near its floor tau^2: the differences are taken
 * entry by entry, so the excess keeps its relative precision). */
static void test_pop_risk_fast(void)
{
    GROUP("population risk, fast form");
    JobSpec job;
    job_defaults(&job);
    int sizes[] = {1, 5, 32, 37, 70};
    for (int q = 0; q < 5; q++) {
        int d = sizes[q], N = d + 3;
        size_t dd = (size_t)d * d;
        Target *t = data_target_create(&job, MODEL_QUADRATIC, d, 0);
        double *A = malloc(sizeof(double) * dd), *S = malloc(sizeof(double) * dd);
        double *z = malloc(sizeof(double) * dd), *W = malloc(sizeof(double) * N * d);
        double *D = malloc(sizeof(double) * N * d), tt = t->tau * t->tau, c1, c2;
        rng_normal(rng_key(7, RNG_SITE_TESTING, 40 + q, 0, 0), 0, z, dd);
        rng_normal(rng_key(7, RNG_SITE_TESTING, 50 + q, 0, 0), 0, W, (size_t)N * d);
        for (int near = 0; near < 2; near++) {
            double h = near ? 1e-7 : 0.3;
            for (size_t k = 0; k < dd; k++)
                A[k] = (near ? t->B[k] : 0.0) + h * z[k]; /* not symmetric */
            double r1 = data_pop_risk_copt(t, A, &c1, NULL);
            double r2 = data_pop_risk_copt_fast(t, A, &c2);
            CHECK(c1 == c2, "d=%d: c_opt %.17g vs %.17g", d, c1, c2);
            CHECK_REL(r2 - tt, r1 - tt, 1e-12, near ? "excess risk near B" : "excess risk");
        }
        for (int i = 0; i < N; i++) /* M = W^T diag(a) W, a_i = +-1/N */
            for (int k = 0; k < d; k++)
                D[(size_t)i * d + k] = (i % 3 ? 1.0 : -1.0) / N * W[(size_t)i * d + k];
        la_gemm('T', 'N', d, d, N, 1.0, W, d, D, d, 0.0, A, d);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                S[(size_t)i * d + j] = 0.5 * (A[(size_t)i * d + j] + A[(size_t)j * d + i]);
        CHECK_REL(data_pop_risk_copt_fast(t, A, NULL), data_pop_risk_copt(t, S, NULL, NULL),
                  1e-13, "GEMM's W^T diag(a) W as formed vs symmetrised");
        free(A);
        free(S);
        free(z);
        free(W);
        free(D);
        data_target_free(t);
    }
    Target *t = data_target_create(&job, MODEL_MIXTURE, 4, 0);
    double M[16] = {0};
    CHECK(isnan(data_pop_risk_copt_fast(t, M, NULL)), "mixture: NAN (not this form)");
    data_target_free(t);
}

static void test_gammp(void)
{
    GROUP("incomplete gamma");
    double xs[] = {0.01, 0.5, 1.0, 2.5, 7.0, 20.0, 60.0};
    for (int k = 0; k < 7; k++) {
        double x = xs[k];
        CHECK_NEAR(data_gammp(1.0, x), -expm1(-x), 1e-14, "P(1, x) = 1 - e^-x");
        CHECK_NEAR(data_gammp(0.5, x), erf(sqrt(x)), 1e-14, "P(1/2, x) = erf(sqrt x)");
        /* integer a: Q(n, x) = e^-x sum_{k<n} x^k/k! (Poisson tail), n = 3 and 25 */
        int ns[] = {3, 25};
        for (int m = 0; m < 2; m++) {
            double term = exp(-x), q = 0;
            for (int i = 0; i < ns[m]; i++) {
                q += term;
                term *= x / (i + 1);
            }
            CHECK_NEAR(data_gammp(ns[m], x), 1.0 - q, 1e-13, "P(n, x) Poisson sum");
        }
    }
    CHECK(isnan(data_gammp(-1, 1)) && data_gammp(2, 0) == 0, "edge cases");
}

static void test_bayes(void)
{
    GROUP("Bayes error vs Monte Carlo");
    JobSpec job;
    job_defaults(&job);
    int ss[] = {1, 4};
    double ds[] = {0.5, 0.8};
    for (int k = 0; k < 2; k++) {
        job.mixture_rank = ss[k];
        job.mixture_delta = ds[k];
        int d = 8;
        Target *t = data_target_create(&job, MODEL_MIXTURE, d, 0);
        long n = 200000;
        double *X = malloc(sizeof(double) * n * d), *y = malloc(sizeof(double) * n);
        double *P = malloc(sizeof(double) * n * t->s);
        data_sample(t, rng_key(5, RNG_SITE_TESTING, 2, k, 0), 0, n, X, y);
        la_gemm('N', 'N', (int)n, t->s, d, 1.0, X, d, t->U, t->s, 0.0, P, t->s);
        double dl = t->delta, s = t->s;
        double ts = 0.5 * s * (1 - dl * dl) / dl * log((1 + dl) / (1 - dl));
        long err = 0;
        for (long j = 0; j < n; j++) {
            double q = 0;
            for (int a = 0; a < t->s; a++)
                q += P[j * t->s + a] * P[j * t->s + a];
            err += (q > ts ? 1.0 : -1.0) != y[j];
        }
        double pe = (double)err / n, se = sqrt(pe * (1 - pe) / n);
        double ex = data_bayes_error(t);
        /* 5 binomial standard errors */
        CHECK(fabs(pe - ex) <= 5 * se, "s=%d delta=%g: exact %.5f, MC %.5f +- %.5f",
              t->s, dl, ex, pe, se);
        CHECK(ex > 0 && ex < 0.5, "Bayes error in (0, 1/2)");
        free(X);
        free(y);
        free(P);
        data_target_free(t);
    }
}

int main(void)
{
    la_init(1);
    test_targets();
    test_streams();
    test_pop_risk_mc();
    test_gradient();
    test_pop_risk_fast();
    test_gammp();
    test_bayes();
    return th_finish("test_data");
}
