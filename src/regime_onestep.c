/* regime_onestep: one large first-layer gradient step, then random features (SPEC §7;
 * Ba et al. 2022, Cui et al. 2024), exported as `regime_onestep`.
 *
 * The step. Every a0_i = a0 (job_onestep_a0), c0 = the optimal offset of the initial
 * model (onestep_center = yes) or 0, M0 = a0 W0^T W0. One step of size eta = eta~/a0 on
 * the half squared loss moves row i by dw_i = 2 eta~ C w_i, i.e.
 *     W1 = W0 + 2 eta~ T,   T = W0 C,   C = E[r x x^T],  r = y - c0 - x^T M0 x,
 * with E the population (onestep_n0 = inf) or the mean over n0 samples of the step's
 * own stream (FitInput.onestep_key, never the training set):
 *   - population, quadratic: C = ebar I + 2 (B - M0), ebar = b0 - c0 + tr(B - M0);
 *     mixture (S_+- = I +- delta U U^T): C = 1/2 sum_y [(y - c0 - tr(M0 S_y)) S_y -
 *     2 S_y M0 S_y] = ebar I + delta (1 - delta k) U U^T - 2 M0 - 2 delta^2 U K U^T,
 *     K = U^T M0 U, k = tr K, ebar = -c0 - tr M0 (data_pop_moment);
 *     centred c0 is the population optimum (data_pop_risk_copt), so ebar = 0 to rounding;
 *   - n0 samples: T = (1/n0) sum_mu r_mu (W0 x_mu) x_mu^T in blocks of rows (O(n0 N d),
 *     never a d x d matrix); centred c0 = mean(y - x^T M0 x) over these samples, the
 *     minimiser of the step's own loss at initialisation, so its mean residual is 0.
 *   ebar (FitOutput) is the mean residual the step saw: E r, or its sample mean.
 * eta~ = 0: W1 = W0 bit for bit (the task is then the RF task, same streams).
 * eta~ = inf: the direction of the step alone, W1 = rows of T = W0 C, each rescaled to
 * the norm of its row of W0 (a row with T_i = 0 stays 0). RF with ridge 0 only sees the
 * lines of the rows, so this is the limit eta~ -> inf of the finite steps; with ridge > 0
 * the rescaling keeps the features on W0's scale.
 * The readout: W1 frozen, (c, a) fitted by the RF regime itself at W1 (least squares with
 * the job's ridge on the grid's n training samples, or the SPEC §3 closed form at
 * n = inf), so M = W1^T diag(a) W1 and the stop is `exact`. risk_rf0 is the population
 * risk of the same readout at W0 (= the rf task's risk_pop), theory the RF class optimum
 * at W1 at n = inf (ridge 0: theory_rf_opt), risk_nt and risk_ey the NT class optimum at
 * W0 and the Eckart-Young risk (n = inf; the reference lines of the one-step figure).
 * iterations = 1 when a step was taken (eta~ > 0), else 0. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "regime.h"
#include "task.h"
#include "theory.h"

#define ONESTEP_CHUNK 4096 /* step samples drawn per block */

/* M0 = a0 W0^T W0 (d x d). */
static void initial_model(int d, int N, const double *W0, double a0, double *M0)
{
    memset(M0, 0, sizeof(double) * (size_t)d * d);
    if (N > 0)
        la_syrk('T', d, N, a0, W0, d, 0.0, M0, d);
}

/* Population step direction T = W0 C (N x d); *ebar = E r. 0, or -1 (out of memory). */
static int step_population(const FitInput *in, double a0, double *T, double *ebar)
{
    int d = in->d, N = in->N;
    size_t dd = (size_t)d * d;
    double *M0 = malloc(sizeof(double) * dd), *C = malloc(sizeof(double) * dd);
    int rc = -1;
    if (!M0 || !C)
        goto out;
    initial_model(d, N, in->W0, a0, M0);
    double c0 = 0;
    if (in->job->onestep_center && !isfinite(data_pop_risk_copt(in->target, M0, &c0, NULL)))
        goto out;
    *ebar = data_pop_moment(in->target, c0, M0, C);
    if (isnan(*ebar))
        goto out;
    if (N > 0)
        la_gemm('N', 'N', N, d, d, 1.0, in->W0, d, C, d, 0.0, T, d);
    rc = 0;
out:
    free(M0);
    free(C);
    return rc;
}

/* Step direction from n0 samples: T = (1/n0) sum r (W0 x) x^T, r = y - c0 - a0 |W0 x|^2,
 * accumulated as A = sum (y - q) z x^T and S = sum z x^T (z = W0 x, q = a0 |z|^2), so the
 * centred c0 = mean(y - q) needs no second pass: T = (A - c0 S)/n0. *ebar = mean r. */
static int step_samples(const FitInput *in, double a0, double *T, double *ebar)
{
    int d = in->d, N = in->N;
    long n0 = in->n0;
    long chunk = n0 < ONESTEP_CHUNK ? n0 : ONESTEP_CHUNK;
    int Nz = N > 0 ? N : 1;
    double *X = malloc(sizeof(double) * (size_t)chunk * d);
    double *y = malloc(sizeof(double) * (size_t)chunk);
    double *Z = malloc(sizeof(double) * (size_t)chunk * Nz);
    double *Zr = malloc(sizeof(double) * (size_t)chunk * Nz);
    double *S = calloc((size_t)Nz * d, sizeof(double));
    int rc = -1;
    if (!X || !y || !Z || !Zr || !S)
        goto out;
    memset(T, 0, sizeof(double) * (size_t)N * d);
    double sum_r = 0;
    for (long j0 = 0; j0 < n0; j0 += ONESTEP_CHUNK) {
        int m = (int)(n0 - j0 < ONESTEP_CHUNK ? n0 - j0 : ONESTEP_CHUNK);
        if (data_sample(in->target, in->onestep_key, j0, m, X, y) != 0)
            goto out;
        if (N > 0)
            la_gemm('N', 'T', m, N, d, 1.0, X, d, in->W0, d, 0.0, Z, N); /* z = W0 x */
        for (int j = 0; j < m; j++) {
            const double *z = Z + (size_t)j * N;
            double q = N > 0 ? a0 * la_dot((size_t)N, z, z) : 0.0;
            double r = y[j] - q;
            sum_r += r;
            for (int i = 0; i < N; i++)
                Zr[(size_t)j * N + i] = r * z[i];
        }
        if (N > 0) {
            la_gemm('T', 'N', N, d, m, 1.0, Zr, N, X, d, 1.0, T, d); /* A += (r z)^T x */
            la_gemm('T', 'N', N, d, m, 1.0, Z, N, X, d, 1.0, S, d);  /* S += z^T x */
        }
        la_flops_add(4.0 * m * (double)N);
    }
    double c0 = in->job->onestep_center ? sum_r / (double)n0 : 0.0;
    *ebar = (sum_r - c0 * (double)n0) / (double)n0;
    for (size_t k = 0; k < (size_t)N * d; k++)
        T[k] = (T[k] - c0 * S[k]) / (double)n0;
    rc = 0;
out:
    free(X);
    free(y);
    free(Z);
    free(Zr);
    free(S);
    return rc;
}

static int onestep_fit(const FitInput *in, FitOutput *out)
{
    int d = in->d, N = in->N;
    size_t nd = (size_t)(N > 0 ? N : 1) * d;
    double eta = in->eta, a0 = job_onestep_a0(in->job, N);
    double *T = malloc(sizeof(double) * nd), *W1 = malloc(sizeof(double) * nd);
    double *M0 = malloc(sizeof(double) * (size_t)d * d);
    out->cause = CAUSE_NONE;
    if (!T || !W1 || !M0) {
        out->cause = CAUSE_NOMEM;
        goto fail;
    }
    if (!(eta >= 0) || !(a0 > 0) || in->n0 == 0) {
        out->cause = CAUSE_INVALID;
        goto fail;
    }
    /* the step */
    double ebar = NAN;
    if ((in->n0 < 0 ? step_population(in, a0, T, &ebar) : step_samples(in, a0, T, &ebar)) != 0) {
        out->cause = CAUSE_NOMEM;
        goto fail;
    }
    out->ebar = ebar;
    if (eta == 0) {
        memcpy(W1, in->W0, sizeof(double) * (size_t)N * d);
    } else if (isinf(eta)) {
        for (int i = 0; i < N; i++) {
            const double *t = T + (size_t)i * d, *w = in->W0 + (size_t)i * d;
            double nt = la_nrm2((size_t)d, t), nw = la_nrm2((size_t)d, w);
            double f = nt > 0 ? nw / nt : 0.0;
            for (int k = 0; k < d; k++)
                W1[(size_t)i * d + k] = f * t[k];
        }
    } else {
        for (size_t k = 0; k < (size_t)N * d; k++)
            W1[k] = in->W0[k] + 2.0 * eta * T[k];
    }
    double num = 0, den = 0;
    int finite = 1;
    for (size_t k = 0; k < (size_t)N * d; k++) {
        double e = W1[k] - in->W0[k];
        num += e * e;
        den += in->W0[k] * in->W0[k];
        finite &= isfinite(W1[k]);
    }
    if (!finite) {
        out->cause = CAUSE_NONFINITE;
        goto fail;
    }
    out->step_norm = den > 0 ? sqrt(num / den) : 0.0;
    if (out->W1)
        memcpy(out->W1, W1, sizeof(double) * (size_t)N * d);

    /* the same RF readout at W0 (for risk_rf0), then at W1 (the result) */
    FitOutput o0;
    memset(&o0, 0, sizeof o0);
    o0.M = M0;
    if (regime_rf.fit(in, &o0) != 0) {
        out->cause = o0.cause;
        goto fail;
    }
    out->risk_rf0 = data_pop_risk(in->target, o0.c, M0);
    FitInput in1 = *in;
    in1.W0 = W1;
    if (regime_rf.fit(&in1, out) != 0)
        goto fail; /* cause and stop set by the RF fit */
    out->iterations = eta > 0;
    out->theory = theory_rf_opt(in->target, W1, N);
    out->risk_nt = theory_nt_opt(in->target, in->W0, N);
    out->risk_ey = theory_nn_opt(in->target, N);
    if (!isfinite(out->risk_rf0) || !isfinite(out->theory) || !isfinite(out->risk_nt) ||
        !isfinite(out->risk_ey)) {
        out->cause = CAUSE_SOLVER; /* the exact risks are NaN only when a solve or an
                                    * allocation inside theory_* / data_* failed */
        goto fail;
    }
    free(T);
    free(W1);
    free(M0);
    return 0;
fail:
    out->stop = STOP_FAILED;
    if (out->cause == CAUSE_NONE)
        out->cause = CAUSE_SOLVER;
    free(T);
    free(W1);
    free(M0);
    return -1;
}

const Regime regime_onestep = {"onestep", onestep_fit};
