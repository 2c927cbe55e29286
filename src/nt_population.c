/* nt_population: the NT fit at n = inf (nt_pop_solve, regime.h).
 * lambda = 0: quadratic M = B - P_perp B P_perp in closed form; mixture:
 * (H + g g^T/4) theta = g/2 over the class (SPEC §3), i.e. in Q coordinates (regime_nt.c)
 * the operator X -> P(2X + 2 delta^2 U'U'^T X U'U'^T) + g <g, X>/4 with U' = Q^T U and P
 * zeroing the lower-right k x k block, solved by CG (its spectrum lies in
 * [2, 2 + 2 delta^2 + |g|^2/4]). lambda > 0 (ridge on the raw parameters (da, G)): the same
 * operators plus lambda S^{-1}, by CG preconditioned by S (nt_pop_ridge). c optimal. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "regime.h"
#include "regime_nt_impl.h"

#define NT_POP_TOL 1e-14         /* population mixture CG, and CG with a ridge */
#define NT_POP_MAXIT 20000       /* the ridge's CG (its conditioning grows as 1/lambda) */


/* Mixture operator in Q coordinates (d x d symmetric, lower-right k x k block zero). */
typedef struct {
    int d, Nq, s;
    const double *Up; /* d x s = Q^T U */
    const double *g;  /* d x d */
    double delta, lambda;
    double *W1, *W2;  /* scratch d x s, s x s */
} NtPopOp;

static void nt_pop_project(int d, int Nq, double *X)
{
    for (int i = Nq; i < d; i++)
        for (int j = Nq; j < d; j++)
            X[(size_t)i * d + j] = 0.0;
}

static void nt_pop_apply(const NtPopOp *op, const double *X, double *out)
{
    int d = op->d, s = op->s;
    size_t dd = (size_t)d * d;
    la_gemm('N', 'N', d, s, d, 1.0, X, d, op->Up, s, 0.0, op->W1, s);       /* X U' */
    la_gemm('T', 'N', s, s, d, 1.0, op->Up, s, op->W1, s, 0.0, op->W2, s); /* U'^T X U' */
    la_gemm('N', 'N', d, s, s, 1.0, op->Up, s, op->W2, s, 0.0, op->W1, s); /* U' K */
    la_gemm('N', 'T', d, d, s, 2.0 * op->delta * op->delta, op->W1, s, op->Up, s, 0.0, out, d);
    la_axpy(dd, 2.0 + op->lambda, X, out);
    nt_pop_project(d, op->Nq, out);
    la_axpy(dd, 0.25 * la_dot(dd, op->g, X), op->g, out);
}

/* (S X) for X d x d in Q coordinates (class form [[A, C], [C^T, 0]]). */
static void nt_pop_metric(const NtMetric *S, int d, int Nq, const double *X, double *Y)
{
    nt_metric_apply(S, X, d, X + Nq, d, Y, d, Y + Nq, d);
    for (int i = Nq; i < d; i++)
        for (int j = 0; j < d; j++)
            Y[(size_t)i * d + j] = j < Nq ? Y[(size_t)j * d + i] : 0.0;
}

/* q = H x: the mixture operator, or 2 x for the quadratic model (d x d arrays, dd entries) */
static void pop_data_apply(const NtPopOp *mix, size_t dd, const double *x, double *q)
{
    if (mix)
        nt_pop_apply(mix, x, q);
    else
        for (size_t i = 0; i < dd; i++)
            q[i] = 2.0 * x[i];
}

/* lambda > 0, ridge on the parameters (da, G): (H + lambda S^{-1}) X = b over the class,
 * H X = 2 X (quadratic) or the mixture operator at lambda = 0, b = 2 B (projected) or g / 2:
 * CG in the parameters (preconditioned by S, as nt_cg) from 0. X d x d in Q coordinates. */
static int nt_pop_ridge(const FitInput *in, const double *W0, int N, const double *Q, int Nq,
                        const NtPopOp *mix, const double *b, double *X, long *iterations,
                        double *residual)
{
    int d = in->d;
    size_t dd = (size_t)d * d;
    double lambda = in->job->ridge;
    NtMetric S;
    double *buf = malloc(sizeof(double) * 6 * dd);
    int rc = -1;
    long it = 0;
    if (!buf || !in->a0 || nt_metric_init(&S, d, Nq, N, Q, W0, in->a0) != 0) {
        free(buf);
        return -1;
    }
    double *r = buf, *z = r + dd, *p = z + dd, *s = p + dd, *q = s + dd, *u = q + dd;
    memset(X, 0, sizeof(double) * dd);
    memset(u, 0, sizeof(double) * dd);
    memcpy(r, b, sizeof(double) * dd);
    memcpy(s, b, sizeof(double) * dd);
    nt_pop_metric(&S, d, Nq, r, z);
    memcpy(p, z, sizeof(double) * dd);
    double rz = la_dot(dd, r, z), nb = sqrt(rz);
    for (it = 0; it < NT_POP_MAXIT && sqrt(fmax(rz, 0.0)) > NT_POP_TOL * nb; it++) {
        pop_data_apply(mix, dd, p, q);
        la_axpy(dd, lambda, s, q);
        double pq = la_dot(dd, p, q);
        if (!(pq > 0))
            break;
        double alpha = rz / pq;
        la_axpy(dd, alpha, p, X);
        la_axpy(dd, alpha, s, u);
        la_axpy(dd, -alpha, q, r);
        nt_pop_metric(&S, d, Nq, r, z);
        double rz2 = la_dot(dd, r, z), beta = rz2 / rz;
        rz = rz2;
        for (size_t i = 0; i < dd; i++) {
            p[i] = z[i] + beta * p[i];
            s[i] = r[i] + beta * s[i];
        }
    }
    /* the true residual, in the parameters: |L^*(H X + lambda u - b)| / |L^* b| */
    pop_data_apply(mix, dd, X, q);
    la_axpy(dd, lambda, u, q);
    la_axpy(dd, -1.0, b, q);
    nt_pop_metric(&S, d, Nq, q, z);
    *residual = nb > 0 ? sqrt(fmax(la_dot(dd, q, z), 0.0)) / nb : 0.0;
    *iterations = it;
    rc = 0;
    nt_metric_free(&S);
    free(buf);
    return rc;
}

int nt_pop_solve(const FitInput *in, const double *W0, int N, double *c, double *M,
                 long *iterations, double *residual)
{
    const Target *t = in->target;
    int d = in->d, Nq;
    size_t dd = (size_t)d * d;
    double lambda = in->job->ridge;
    double *Q = malloc(sizeof(double) * dd);
    double *buf = NULL;
    int rc = -1;
    long it = 0;
    double res = 0;
    if (!Q || nt_basis(d, N > 0 ? N : 0, W0, Q, &Nq) != 0)
        goto out;
    int k = d - Nq;
    if (t->model == MODEL_QUADRATIC && lambda == 0) {
        /* M = B - Q2 (Q2^T B Q2) Q2^T */
        buf = malloc(sizeof(double) * (dd + (size_t)k * k + 1));
        if (!buf)
            goto out;
        double *BQ2 = buf, *K = buf + dd;
        memcpy(M, t->B, sizeof(double) * dd);
        if (k > 0) {
            la_gemm('N', 'N', d, k, d, 1.0, t->B, d, Q + Nq, d, 0.0, BQ2, k);
            la_gemm('T', 'N', k, k, d, 1.0, Q + Nq, d, BQ2, k, 0.0, K, k);
            la_gemm('N', 'N', d, k, k, 1.0, Q + Nq, d, K, k, 0.0, BQ2, k);
            la_gemm('N', 'T', d, d, k, -1.0, BQ2, k, Q + Nq, d, 1.0, M, d);
        }
        for (int i = 0; i < d; i++)
            for (int j = 0; j < i; j++) {
                double v = 0.5 * (M[(size_t)i * d + j] + M[(size_t)j * d + i]);
                M[(size_t)i * d + j] = M[(size_t)j * d + i] = v;
            }
    } else {
        int s = t->model == MODEL_MIXTURE ? t->s : 0;
        buf = malloc(sizeof(double) * (6 * dd + 2 * (size_t)d * s + (size_t)s * s));
        if (!buf)
            goto out;
        double *g = buf, *X = g + dd, *r = X + dd, *p = r + dd, *q = p + dd, *Mq = q + dd;
        double *Up = Mq + dd, *W1 = Up + (size_t)d * s, *W2 = W1 + (size_t)d * s;
        NtPopOp op = {d, Nq, s, Up, g, t->delta, 0.0, W1, W2};
        if (t->model == MODEL_QUADRATIC) { /* b = 2 P(Q^T B Q) */
            la_gemm('N', 'N', d, d, d, 1.0, t->B, d, Q, d, 0.0, Mq, d);
            la_gemm('T', 'N', d, d, d, 2.0, Q, d, Mq, d, 0.0, r, d);
            nt_pop_project(d, Nq, r);
        } else {
            la_gemm('T', 'N', d, s, d, 1.0, Q, d, t->U, s, 0.0, Up, s);
            la_gemm('N', 'T', d, d, s, 2.0 * t->delta, Up, s, Up, s, 0.0, g, d);
            nt_pop_project(d, Nq, g);
            for (size_t i = 0; i < dd; i++)
                r[i] = 0.5 * g[i];
        }
        if (lambda > 0) {
            memcpy(p, r, sizeof(double) * dd); /* b */
            if (nt_pop_ridge(in, W0, N, Q, Nq, t->model == MODEL_MIXTURE ? &op : NULL, p, X,
                             &it, &res) != 0)
                goto out;
        } else {
            /* CG for op X = g/2 from X = 0 (mixture, lambda = 0) */
            memset(X, 0, sizeof(double) * dd);
            for (size_t i = 0; i < dd; i++)
                p[i] = r[i];
            double rr = la_dot(dd, r, r), nb = sqrt(rr);
            for (it = 0; it < 1000 && sqrt(rr) > NT_POP_TOL * nb; it++) {
                nt_pop_apply(&op, p, q);
                double alpha = rr / la_dot(dd, p, q);
                la_axpy(dd, alpha, p, X);
                la_axpy(dd, -alpha, q, r);
                double rr2 = la_dot(dd, r, r);
                for (size_t i = 0; i < dd; i++)
                    p[i] = r[i] + rr2 / rr * p[i];
                rr = rr2;
            }
            nt_pop_apply(&op, X, q); /* true residual */
            la_axpy(dd, -0.5, g, q);
            res = nb > 0 ? la_nrm2(dd, q) / nb : 0.0;
        }
        /* M = Q X Q^T */
        la_gemm('N', 'N', d, d, d, 1.0, Q, d, X, d, 0.0, Mq, d);
        la_gemm('N', 'T', d, d, d, 1.0, Mq, d, Q, d, 0.0, M, d);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < i; j++) {
                double v = 0.5 * (M[(size_t)i * d + j] + M[(size_t)j * d + i]);
                M[(size_t)i * d + j] = M[(size_t)j * d + i] = v;
            }
    }
    data_pop_risk_copt(t, M, c, NULL);
    rc = 0;
out:
    if (iterations)
        *iterations = it;
    if (residual)
        *residual = res;
    free(Q);
    free(buf);
    return rc;
}
