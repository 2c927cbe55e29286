/* regime_alpha: lazy <-> rich by the scale alpha (SPEC §6; Chizat, Oyallon & Bach 2019),
 * exported as `regime_alpha` and its linearisation `regime_alpha_lin`.
 *
 * Model: the centred, scaled predictor g(x) = alpha c + x^T alpha (M - M0) x with
 * M = W^T diag(a) W, M0 at theta0 = (a0, W0) (g = 0 there), loss F = E(y - g)^2 / (2 alpha^2)
 * with the offset alpha c optimal at every step. The effective model (c_eff, M_eff =
 * alpha (M - M0)) is what the fit returns, so risk_pop is exact (SPEC §3). alpha_lin: the
 * same with M replaced by its first-order expansion at theta0,
 * M0 + sum_i da_i w0_i w0_i^T + a0_i (dw_i w0_i^T + w0_i dw_i^T).
 * Gradients: with L the population risk (n = inf, data_pop_risk_copt) or the training mean
 * squared error of g, and G_M = (dL/dM_eff) / (2 alpha) = dF/dM:
 *   dF/dw_i = 2 a_i G_M w_i,  dF/da_i = w_i^T G_M w_i  (alpha_lin: at a0_i, w0_i).
 * Population cost O(N d^2) per step; finite n O(n N d) through X W^T (never X^T diag X).
 * Every a_i is trained on its own; nn_a_init only sets a0 (`shared`: all 1/N).
 *
 * Step (alpha_lr = auto): eta(alpha) = eta_1 min(1, alpha)^(4/3), eta_1 = 1/lambda_max(K_0)
 * by power iteration on the tangent kernel K_0[E] = sum_i 2 (w_i^T E w_i) w_i w_i^T +
 * 4 a_i^2 (E w_i w_i^T + w_i w_i^T E) (the flow of M_eff is dM_eff/dt = K_0[E] for the
 * quadratic risk, whose curvature is 4); for the mixture eta_1 is divided by the ratio of
 * its risk's curvature bound 2(1 + delta)^2 + 2 + 2 delta^2 s to 4 (else GD diverges for
 * large delta). Horizon (alpha_horizon = auto): the first time t = k eta_1 at which the
 * linearised population GD, M_(k+1) = M_k - (eta_1 / 4) K_0[dR/dM (M_k)] from 0, is within
 * alpha_horizon_tol R0 of the NT risk — computed once per (d, N, target, W0, a0) and kept
 * in a small cache (a pure function of its key). Stops: t >= T (horizon); the risk
 * decreased by less than alpha_tol R over the last 200 steps while R < 0.99 R0 (tol; at
 * n = inf `converged` when within nn_opt_tol R0 of the class optimum); nn_steps (budget);
 * non-finite (failed).
 * theory (n = inf, quadratic): R*_alpha = 2(||B + alpha M0||^2 - sum of the N kept
 * eigenvalues^2) + tau^2 — kept: the N largest positive ones for positive or shared a0
 * (SPEC §6: the class {S - alpha M0 : S >= 0, rank S <= N}), the N largest |lambda| for
 * normal a0 (signs free); alpha_lin: the NT risk. NaN for the mixture's alpha. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "linalg.h"
#include "nn.h"
#include "regime.h"
#include "task.h"
#include "theory.h"

#define ALPHA_WINDOW 200     /* steps of the tolerance test */
#define ALPHA_PLATEAU 0.99   /* the tolerance test waits until R < this * R0 */
#define ALPHA_POWER_IT 200   /* power iterations for lambda_max(K_0) */
#define ALPHA_HORIZON_MAX 2000000L /* linearised steps at most for the auto horizon */
#define ALPHA_DEAD 1e-3      /* dead neuron: |a_i| |w_i|^2 below this of the sum */

typedef struct {
    const FitInput *in;
    int d, N, lin, pop;
    double alpha;
    const double *W0, *a0;
    double *th;              /* [a (N) | W (N x d)]: the parameters, or (da, dW) for lin */
    double *g;               /* gradient, same layout */
    double *M0, *Meff, *GM;  /* d x d */
    double *T1, *T2;         /* N x d scratch */
    /* finite n */
    NnWork *w;
    double *f0;              /* n: x^T M0 x */
    double *q;               /* n: alpha (x^T M x - f0) (lin: alpha x^T J0 dtheta x) */
    double *Z0;              /* n x N: X W0^T (lin only) */
    double c;                /* the optimal offset alpha c of the last evaluation */
} Alpha;

/* ---- the tangent kernel and the step size -------------------------------------------- */

/* out = K[E] = sum_i 2 (w_i^T E w_i) w_i w_i^T + 4 a_i^2 (E w_i w_i^T + w_i w_i^T E). */
static void kernel_apply(int d, int N, const double *W, const double *a, const double *E,
                         double *out, double *T1, double *T2)
{
    la_gemm('N', 'T', N, d, d, 1.0, W, d, E, d, 0.0, T1, d); /* rows E w_i */
    for (int i = 0; i < N; i++) {
        double s = la_dot((size_t)d, T1 + (size_t)i * d, W + (size_t)i * d);
        for (int k = 0; k < d; k++) {
            T2[(size_t)i * d + k] = 2 * s * W[(size_t)i * d + k];
            T1[(size_t)i * d + k] *= 4 * a[i] * a[i];
        }
    }
    la_gemm('T', 'N', d, d, N, 1.0, W, d, T2, d, 0.0, out, d);
    la_gemm('T', 'N', d, d, N, 1.0, T1, d, W, d, 1.0, out, d);
    la_gemm('T', 'N', d, d, N, 1.0, W, d, T1, d, 1.0, out, d);
}

/* lambda_max(K_0) by power iteration from I + B (deterministic); the iteration
 * underestimates, the step 1/lambda keeps a margin of 2 against divergence. */
static double kernel_lambda_max(const Alpha *s, double *E, double *KE)
{
    const int d = s->d;
    size_t dd = (size_t)d * d;
    const Target *t = s->in->target;
    for (size_t k = 0; k < dd; k++)
        E[k] = t->B ? t->B[k] : 0;
    for (int k = 0; k < d; k++)
        E[(size_t)k * d + k] += 1;
    double lam = 0;
    for (int it = 0; it < ALPHA_POWER_IT; it++) {
        double nrm = la_nrm2(dd, E);
        if (!(nrm > 0))
            return NAN;
        la_scal(dd, 1.0 / nrm, E);
        kernel_apply(d, s->N, s->W0, s->a0, E, KE, s->T1, s->T2);
        double l = la_dot(dd, E, KE);
        memcpy(E, KE, sizeof(double) * dd);
        if (it > 20 && fabs(l - lam) <= 1e-6 * fabs(l))
            return l;
        lam = l;
    }
    return lam;
}

/* The mixture's risk is steeper in M than the quadratic's 4 ||H||^2: the bound of its
 * curvature over 4 (1 for the quadratic). */
static double curvature_ratio(const Target *t)
{
    if (t->model != MODEL_MIXTURE)
        return 1.0;
    double dl = t->delta, r = (2 * (1 + dl) * (1 + dl) + 2 + 2 * dl * dl * t->s) / 4;
    return r > 1 ? r : 1;
}

/* ---- the auto horizon, cached --------------------------------------------------------- */

#define HORIZON_CACHE 16
typedef struct {
    int valid, d, N;
    uint64_t key;
    double T;
} HorizonEntry;
static HorizonEntry horizon_cache[HORIZON_CACHE];
static int horizon_next;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The time T at which the linearised population GD reaches the NT risk within tol R0
 * (SPEC §6), with step eta_1; NaN on failure. */
static double horizon_auto(const Alpha *s, double eta1, double tol, double r_nt)
{
    const Target *t = s->in->target;
    const int d = s->d, N = s->N;
    size_t dd = (size_t)d * d;
    uint64_t key = fnv(1469598103934665603ULL, s->W0, sizeof(double) * (size_t)N * d);
    key = fnv(key, s->a0, sizeof(double) * (size_t)N);
    key = fnv(key, &eta1, sizeof eta1);
    key = fnv(key, &tol, sizeof tol);
    if (t->B)
        key = fnv(key, t->B, sizeof(double) * dd);
    if (t->U)
        key = fnv(key, t->U, sizeof(double) * (size_t)d * t->s);
    for (int i = 0; i < HORIZON_CACHE; i++)
        if (horizon_cache[i].valid && horizon_cache[i].key == key && horizon_cache[i].d == d &&
            horizon_cache[i].N == N)
            return horizon_cache[i].T;
    double *M = calloc(dd, sizeof(double)), *G = malloc(sizeof(double) * dd);
    double *KG = malloc(sizeof(double) * dd), T = NAN;
    if (!M || !G || !KG)
        goto out;
    double r0 = data_r0(t);
    long k;
    for (k = 0; k < ALPHA_HORIZON_MAX; k++) {
        double r = data_pop_risk_copt(t, M, NULL, G);
        if (!isfinite(r))
            goto out;
        if (r - r_nt <= tol * r0)
            break;
        kernel_apply(d, N, s->W0, s->a0, G, KG, s->T1, s->T2);
        la_axpy(dd, -eta1 / 4, KG, M);
    }
    T = (double)k * eta1;
    horizon_cache[horizon_next] = (HorizonEntry){1, d, N, key, T};
    horizon_next = (horizon_next + 1) % HORIZON_CACHE;
out:
    free(M);
    free(G);
    free(KG);
    return T;
}

/* ---- the objective ------------------------------------------------------------------- */

/* M_eff = alpha (M - M0) at s->th into s->Meff. */
static void form_meff(Alpha *s)
{
    const int d = s->d, N = s->N;
    const double *a = s->th, *W = s->th + N;
    double *D = s->T1;
    if (!s->lin) { /* alpha (W^T diag(a) W - M0) */
        for (int i = 0; i < N; i++)
            for (int k = 0; k < d; k++)
                D[(size_t)i * d + k] = a[i] * W[(size_t)i * d + k];
        la_gemm('T', 'N', d, d, N, s->alpha, W, d, D, d, 0.0, s->Meff, d);
        la_axpy((size_t)d * d, -s->alpha, s->M0, s->Meff);
    } else { /* alpha sum_i da_i w0 w0^T + a0_i (dw_i w0_i^T + w0_i dw_i^T) */
        for (int i = 0; i < N; i++)
            for (int k = 0; k < d; k++) {
                D[(size_t)i * d + k] = a[i] * s->W0[(size_t)i * d + k];
                s->T2[(size_t)i * d + k] = s->a0[i] * W[(size_t)i * d + k];
            }
        la_gemm('T', 'N', d, d, N, s->alpha, s->W0, d, D, d, 0.0, s->Meff, d);
        la_gemm('T', 'N', d, d, N, s->alpha, s->T2, d, s->W0, d, 1.0, s->Meff, d);
        la_gemm('T', 'N', d, d, N, s->alpha, s->W0, d, s->T2, d, 1.0, s->Meff, d);
    }
    for (int k = 0; k < d; k++) /* exact symmetry */
        for (int l = 0; l < k; l++) {
            double v = 0.5 * (s->Meff[(size_t)k * d + l] + s->Meff[(size_t)l * d + k]);
            s->Meff[(size_t)k * d + l] = s->Meff[(size_t)l * d + k] = v;
        }
}

/* Gradients from G_M (d x d): dF/dw_i = 2 a_i G_M w_i, dF/da_i = w_i^T G_M w_i, at
 * (a, W) = the current parameters, or (a0, W0) for lin. */
static void grads_from_GM(Alpha *s)
{
    const int d = s->d, N = s->N;
    const double *a = s->lin ? s->a0 : s->th, *W = s->lin ? s->W0 : s->th + N;
    double *GW = s->T1;
    la_gemm('N', 'N', N, d, d, 1.0, W, d, s->GM, d, 0.0, GW, d);
    for (int i = 0; i < N; i++) {
        s->g[i] = la_dot((size_t)d, GW + (size_t)i * d, W + (size_t)i * d);
        for (int k = 0; k < d; k++)
            s->g[N + (size_t)i * d + k] = 2 * a[i] * GW[(size_t)i * d + k];
    }
}

/* Finite n: q_j = x_j^T M_eff x_j through X W^T (lin: X W0^T and X dW^T), O(n N d). */
static void finite_q(Alpha *s)
{
    const FitInput *in = s->in;
    const int d = s->d, N = s->N;
    const double *a = s->th, *W = s->th + N;
    NnWork *w = s->w;
    for (long j0 = 0; j0 < in->n; j0 += w->chunk) {
        int m = (int)(in->n - j0 < w->chunk ? in->n - j0 : w->chunk);
        const double *Xb = in->X + (size_t)j0 * d;
        la_gemm('N', 'T', m, N, d, 1.0, Xb, d, W, d, 0.0, w->Z, N);
        for (int j = 0; j < m; j++) {
            const double *z = w->Z + (size_t)j * N;
            double v = 0;
            if (!s->lin) {
                for (int i = 0; i < N; i++)
                    v += a[i] * z[i] * z[i];
                v -= s->f0[j0 + j];
            } else {
                const double *z0 = s->Z0 + (size_t)(j0 + j) * N;
                for (int i = 0; i < N; i++)
                    v += a[i] * z0[i] * z0[i] + 2 * s->a0[i] * z0[i] * z[i];
            }
            s->q[j0 + j] = s->alpha * v;
        }
    }
    la_flops_add(3.0 * in->n * N);
}

/* Finite n gradients, with r_j = g_j - y_j: dF/dw_i = (2 a_i / (alpha n)) X^T (r o (X w_i))
 * (lin: at a0_i, w0_i), dF/da_i = (1 / (alpha n)) sum_j r_j (x_j^T w_i)^2. */
static void finite_grads(Alpha *s, const double *r)
{
    const FitInput *in = s->in;
    const int d = s->d, N = s->N;
    const double *a = s->lin ? s->a0 : s->th, *W = s->lin ? s->W0 : s->th + N;
    NnWork *w = s->w;
    memset(s->g, 0, sizeof(double) * ((size_t)N * (d + 1)));
    double *gW = s->g + N;
    for (long j0 = 0; j0 < in->n; j0 += w->chunk) {
        int m = (int)(in->n - j0 < w->chunk ? in->n - j0 : w->chunk);
        const double *Xb = in->X + (size_t)j0 * d;
        double *Z = w->Z;
        if (s->lin)
            memcpy(Z, s->Z0 + (size_t)j0 * N, sizeof(double) * (size_t)m * N);
        else
            la_gemm('N', 'T', m, N, d, 1.0, Xb, d, W, d, 0.0, Z, N);
        for (int j = 0; j < m; j++) {
            double *z = Z + (size_t)j * N, rj = r[j0 + j];
            for (int i = 0; i < N; i++) {
                s->g[i] += rj * z[i] * z[i];
                z[i] *= rj;
            }
        }
        la_gemm('T', 'N', N, d, m, 1.0, Z, N, Xb, d, 1.0, gW, d);
    }
    double sc = 1.0 / (s->alpha * (double)in->n);
    for (int i = 0; i < N; i++) {
        s->g[i] *= sc;
        for (int k = 0; k < d; k++)
            gW[(size_t)i * d + k] *= 2 * a[i] * sc;
    }
    la_flops_add(4.0 * in->n * N);
}

/* The risk R (population, or the training MSE) at s->th, the gradient of F into s->g,
 * the optimal offset into s->c. NaN when not finite. */
static double alpha_eval(Alpha *s, double *r_buf)
{
    const FitInput *in = s->in;
    double R;
    if (s->pop) {
        form_meff(s);
        double *G = s->GM;
        R = data_pop_risk_copt(in->target, s->Meff, &s->c, G);
        la_scal((size_t)s->d * s->d, 1.0 / (2 * s->alpha), G); /* G_M = dR/dM_eff / (2 alpha) */
        grads_from_GM(s);
    } else {
        finite_q(s);
        double c = 0;
        for (long j = 0; j < in->n; j++)
            c += in->y[j] - s->q[j];
        c /= (double)in->n;
        R = 0;
        for (long j = 0; j < in->n; j++) {
            r_buf[j] = c + s->q[j] - in->y[j];
            R += r_buf[j] * r_buf[j];
        }
        R /= (double)in->n;
        s->c = c;
        finite_grads(s, r_buf);
    }
    return isfinite(R) ? R : NAN;
}

/* ---- the fit -------------------------------------------------------------------------- */

/* The parameters (a, W) at the end of the last fit of this process, for tests. */
static double *last_theta;
static size_t last_len;

int alpha_test_last_theta(double *a, double *W, int N, int d)
{
    if (!last_theta || last_len != (size_t)N * (d + 1))
        return -1;
    memcpy(a, last_theta, sizeof(double) * N);
    memcpy(W, last_theta + N, sizeof(double) * (size_t)N * d);
    return 0;
}

/* Curve points at step k (the model after k steps, risk R): the training risk (or the
 * population one) and the exact population risk of (c_eff, M_eff). Returns the next
 * point to fill. */
static int curve_points(Alpha *s, FitOutput *out, const long *steps, int P, int next, long k,
                        double R)
{
    if (next >= P || steps[next] != k)
        return next;
    double pop = R;
    if (!s->pop) {
        form_meff(s);
        pop = data_pop_risk(s->in->target, s->c, s->Meff);
    }
    while (next < P && steps[next] == k) {
        out->curve_train[next] = R;
        out->curve_test[next] = pop;
        next++;
    }
    return next;
}

/* The class optimum at alpha (quadratic): the N kept eigenvalues of B + alpha M0. */
static double r_star_alpha(const Alpha *s)
{
    const Target *t = s->in->target;
    const int d = s->d, N = s->N;
    if (t->model != MODEL_QUADRATIC)
        return NAN;
    size_t dd = (size_t)d * d;
    double *A = malloc(sizeof(double) * dd), *lam = malloc(sizeof(double) * d), r = NAN;
    if (!A || !lam)
        goto out;
    for (size_t k = 0; k < dd; k++)
        A[k] = t->B[k] + s->alpha * s->M0[k];
    double all = la_dot(dd, A, A);
    if (la_syev_values(d, A, lam) != 0)
        goto out;
    int signed_ = s->in->job->nn_a_init == NN_A_NORMAL;
    double kept = 0;
    int lo = 0, hi = d - 1;
    for (int k = 0; k < N && lo <= hi; k++) { /* ascending: the ends hold the largest */
        if (signed_ && fabs(lam[lo]) > fabs(lam[hi])) {
            kept += lam[lo] * lam[lo], lo++;
        } else if (lam[hi] > 0 || signed_) {
            kept += lam[hi] * lam[hi], hi--;
        } else {
            break;
        }
    }
    r = 2 * (all - kept) + t->tau * t->tau;
out:
    free(A);
    free(lam);
    return r;
}

static int alpha_fit_common(const FitInput *in, FitOutput *out, int lin)
{
    const JobSpec *job = in->job;
    const int d = in->d, N = in->N;
    out->cause = CAUSE_NONE;
    out->stop = STOP_FAILED;
    out->iterations = 0;
    out->residual = NAN;
    if (!(in->alpha > 0) || N <= 0 || !in->W0 || !in->a0 || !in->target ||
        (in->n >= 0 && (!in->X || !in->y || in->n == 0))) {
        out->cause = CAUSE_INVALID;
        return -1;
    }
    Alpha s;
    memset(&s, 0, sizeof s);
    s.in = in;
    s.d = d, s.N = N, s.lin = lin, s.pop = in->n < 0;
    s.alpha = in->alpha;
    s.W0 = in->W0, s.a0 = in->a0;
    size_t np = (size_t)N * (d + 1), dd = (size_t)d * d;
    s.th = malloc(sizeof(double) * np);
    s.g = malloc(sizeof(double) * np);
    s.M0 = malloc(sizeof(double) * dd);
    s.Meff = malloc(sizeof(double) * dd);
    s.GM = malloc(sizeof(double) * dd);
    double *scratch = malloc(sizeof(double) * dd);
    s.T1 = malloc(sizeof(double) * (size_t)N * d);
    s.T2 = malloc(sizeof(double) * (size_t)N * d);
    double *r_buf = NULL;
    double *hist = calloc(ALPHA_WINDOW, sizeof(double));
    long *steps = NULL;
    int rc = -1;
    if (!s.th || !s.g || !s.M0 || !s.Meff || !s.GM || !scratch || !s.T1 || !s.T2 || !hist)
        goto nomem;
    s.w = nn_work_create(d, N); /* its M and chunked products serve both cases */
    if (!s.w)
        goto nomem;
    if (!s.pop) {
        s.f0 = malloc(sizeof(double) * (size_t)in->n);
        s.q = malloc(sizeof(double) * (size_t)in->n);
        r_buf = malloc(sizeof(double) * (size_t)in->n);
        if (lin)
            s.Z0 = malloc(sizeof(double) * (size_t)in->n * N);
        if (!s.f0 || !s.q || !r_buf || (lin && !s.Z0))
            goto nomem;
    }
    /* M0 and, at finite n, x^T M0 x (and X W0^T for lin) */
    nn_form_M(s.w, s.a0, s.W0, s.M0);
    if (!s.pop) {
        nn_predict(s.w, in->X, in->n, 0.0, s.a0, s.W0, s.f0);
        if (lin)
            la_gemm('N', 'T', (int)in->n, N, d, 1.0, in->X, d, s.W0, d, 0.0, s.Z0, N);
    }
    /* parameters: (a, W) = (a0, W0), or (da, dW) = 0 */
    if (lin) {
        memset(s.th, 0, sizeof(double) * np);
    } else {
        memcpy(s.th, s.a0, sizeof(double) * N);
        memcpy(s.th + N, s.W0, sizeof(double) * (size_t)N * d);
    }
    /* the step and the horizon */
    double lam = kernel_lambda_max(&s, s.Meff, scratch);
    if (!(lam > 0)) {
        out->cause = CAUSE_SOLVER;
        goto fail;
    }
    double eta1 = 1.0 / lam / curvature_ratio(in->target);
    double eta = job->alpha_lr > 0 ? job->alpha_lr : eta1 * pow(fmin(1.0, s.alpha), 4.0 / 3.0);
    out->risk_nt = theory_nt_opt(in->target, s.W0, N);
    out->risk_ey = in->target->model == MODEL_QUADRATIC ? theory_nn_opt(in->target, N)
                                                        : data_lsq_risk(in->target, N);
    double T = job->alpha_horizon > 0
                   ? job->alpha_horizon
                   : horizon_auto(&s, eta1, job->alpha_horizon_tol, out->risk_nt);
    if (!isfinite(T)) {
        out->cause = CAUSE_SOLVER;
        goto fail;
    }
    out->theory = lin ? out->risk_nt : r_star_alpha(&s);
    double r0 = s.pop ? data_r0(in->target) : 0;
    if (!s.pop) { /* the trivial risk of the training set: its variance */
        double m = 0;
        for (long j = 0; j < in->n; j++)
            m += in->y[j];
        m /= (double)in->n;
        for (long j = 0; j < in->n; j++)
            r0 += (in->y[j] - m) * (in->y[j] - m) / (double)in->n;
    }
    /* curves at the NN step numbers (job curve_points) */
    int P = out->n_curve > 0 && out->curve_train && out->curve_test ? out->n_curve : 0;
    if (P) {
        if (!(steps = malloc(sizeof(long) * P)))
            goto nomem;
        nn_curve_steps(job->nn_steps, P, steps);
        if (out->curve_steps)
            memcpy(out->curve_steps, steps, sizeof(long) * P);
    }
    int next = 0, stop = STOP_BUDGET;
    double t = 0, R = NAN;
    long k;
    for (k = 0; k < job->nn_steps; k++) {
        if (in->stop && *in->stop) {
            stop = STOP_SIGNAL;
            break;
        }
        R = alpha_eval(&s, r_buf);
        if (!isfinite(R)) {
            out->cause = CAUSE_NONFINITE;
            goto fail;
        }
        next = curve_points(&s, out, steps, P, next, k, R);
        if (t >= T * (1 - 1e-12)) {
            stop = STOP_HORIZON;
            break;
        }
        if (k >= ALPHA_WINDOW && R < ALPHA_PLATEAU * r0 &&
            hist[k % ALPHA_WINDOW] - R < job->alpha_tol * R) {
            stop = STOP_TOL;
            break;
        }
        hist[k % ALPHA_WINDOW] = R;
        la_axpy(np, -eta, s.g, s.th);
        t += eta;
    }
    if (stop == STOP_BUDGET) { /* the model after the last step */
        R = alpha_eval(&s, r_buf);
        if (!isfinite(R)) {
            out->cause = CAUSE_NONFINITE;
            goto fail;
        }
        next = curve_points(&s, out, steps, P, next, k, R);
    }
    for (; next < P; next++) { /* an early stop: the rest repeat the final values */
        out->curve_train[next] = next > 0 ? out->curve_train[next - 1] : R;
        out->curve_test[next] = next > 0 ? out->curve_test[next - 1] : NAN;
    }
    if (stop == STOP_SIGNAL) {
        out->cause = CAUSE_STOPPED;
        out->stop = STOP_SIGNAL;
        goto fail;
    }
    if (stop == STOP_TOL && s.pop && isfinite(out->theory) &&
        (R - out->theory) / r0 <= job->nn_opt_tol)
        stop = STOP_CONVERGED;
    /* the effective model */
    if (s.pop) {
        form_meff(&s);
        data_pop_risk_copt(in->target, s.Meff, &out->c, NULL);
    } else {
        form_meff(&s);
        out->c = s.c;
    }
    memcpy(out->M, s.Meff, sizeof(double) * dd);
    out->iterations = k;
    out->t_final = t;
    out->residual = sqrt(la_dot(np, s.g, s.g));
    out->stop = stop;
    /* |theta - theta0| and the dead neurons */
    double dist = 0, total = 0;
    for (size_t i = 0; i < np; i++) {
        double v = lin ? s.th[i] : s.th[i] - (i < (size_t)N ? s.a0[i] : s.W0[i - N]);
        dist += v * v;
    }
    out->theta_dist = sqrt(dist);
    for (int i = 0; i < N; i++) {
        double ai = lin ? s.a0[i] + s.th[i] : s.th[i];
        const double *wi = (lin ? s.W0 : s.th + N) + (size_t)i * d;
        scratch[i] = fabs(ai) * la_dot((size_t)d, wi, wi);
        total += scratch[i];
    }
    out->dead = 0;
    for (int i = 0; i < N; i++)
        out->dead += scratch[i] < ALPHA_DEAD * total;
    double *keep = realloc(last_theta, sizeof(double) * np); /* (a, W), lin: theta0 + dtheta */
    if (keep) {
        last_theta = keep;
        last_len = np;
        for (size_t i = 0; i < np; i++)
            keep[i] = lin ? s.th[i] + (i < (size_t)N ? s.a0[i] : s.W0[i - N]) : s.th[i];
    }
    rc = 0;
    goto done;
nomem:
    out->cause = CAUSE_NOMEM;
fail:
    if (out->stop != STOP_SIGNAL)
        out->stop = STOP_FAILED;
done:
    free(s.th);
    free(s.g);
    free(s.M0);
    free(s.Meff);
    free(s.GM);
    free(scratch);
    free(s.T1);
    free(s.T2);
    free(hist);
    free(steps);
    free(r_buf);
    free(s.f0);
    free(s.q);
    free(s.Z0);
    nn_work_free(s.w);
    return rc;
}

static int alpha_fit(const FitInput *in, FitOutput *out) { return alpha_fit_common(in, out, 0); }
static int alpha_lin_fit(const FitInput *in, FitOutput *out)
{
    return alpha_fit_common(in, out, 1);
}

const Regime regime_alpha = {"alpha", alpha_fit};
const Regime regime_alpha_lin = {"alpha_lin", alpha_lin_fit};
