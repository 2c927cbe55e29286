/* nn_escape: leaving stationary points of the variable-projection NN fit (SPEC §1,
 * "Where NN optimisers stop short"). At a stationary point of R(W) = min_(c,a) L(c, a, W)
 * every active neuron has G w_i = 0 for the gradient G = dL/dM, but G need not vanish:
 * the fit then misses directions where G is large while a weak neuron spends its rank
 * elsewhere (for the quadratic population risk, a kept eigenvalue of B smaller in |.|
 * than a missed one). A swap moves that neuron onto the missed direction; it is kept
 * only when the loss, with (c, a) re-solved, goes down, so escapes never loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "regime_nn_impl.h"

#define ESC_NEURONS 3  /* weakest neurons tried */
#define ESC_VECTORS 2  /* eigenvectors tried per neuron */

/* dL/dM at the model o->c, o->a, W (set by the last nn_obj_eval) into G; 0 or -1. */
static int loss_gradient_M(NnObj *o, const double *W, double *G)
{
    const FitInput *in = o->in;
    if (o->pop) {
        nn_form_M(o->w, o->a, W, o->Mt);
        double r = data_pop_risk_copt(in->target, o->Mt, NULL, G);
        return isfinite(r) ? 0 : -1;
    }
    return nn_moment(o->w, in->X, in->y, in->n, o->c, o->a, W, G);
}

/* Indices of the eigenvalues (ascending w[0..d-1]) most useful for a component of sign
 * `sign` (+1 or -1: only eigenvalues with sign * lambda < 0 lower the loss; 0: either
 * sign, by |lambda|), best first; returns how many (<= cap). */
static int useful(const double *w, int d, int sign, int cap, int *idx)
{
    int lo = 0, hi = d - 1, k = 0;
    while (k < cap && lo <= hi) {
        if (sign > 0) {
            if (!(w[lo] < 0))
                break;
            idx[k++] = lo++;
        } else if (sign < 0) {
            if (!(w[hi] > 0))
                break;
            idx[k++] = hi--;
        } else {
            idx[k++] = fabs(w[lo]) >= fabs(w[hi]) ? lo++ : hi--;
        }
    }
    return k;
}

/* Writes row i of W as t times column j of the column-major eigenvector matrix V (d x d). */
static void set_row(double *W, int i, int d, const double *V, int j, double t)
{
    for (int k = 0; k < d; k++)
        W[(size_t)i * d + k] = t * V[(size_t)k * d + j];
}

int nn_escape(NnObj *o, double *th, double *f)
{
    const int d = o->d, N = o->N;
    size_t dd = (size_t)d * d;
    double *W = th + o->off_W;
    double *G = malloc(sizeof(double) * dd), *lam = malloc(sizeof(double) * d);
    double *V = malloc(sizeof(double) * dd), *mu = malloc(sizeof(double) * d);
    double *base = malloc(sizeof(double) * o->np), *tt = malloc(sizeof(double) * o->np);
    double *best = malloc(sizeof(double) * o->np);
    int *order = malloc(sizeof(int) * d);
    int rc = -1, failed = o->solve_failed;
    if (!G || !lam || !V || !mu || !base || !tt || !best || !order)
        goto out;
    double fc = nn_obj_eval(o, th, NULL);
    if (!isfinite(fc) || loss_gradient_M(o, W, G) != 0 || la_syev(d, G, lam) != 0)
        goto out;
    double s = o->a[0]; /* shared: the one scalar */
    nn_form_M(o->w, o->a, W, V);
    if (la_syev(d, V, mu) != 0)
        goto out;
    /* The loss depends on W only through M, so the canonical frame — one neuron per
     * eigenvector of M, strongest first — fits at least as well as W itself and makes
     * every component a single neuron that a swap can replace. */
    int r = useful(mu, d, 0, N < d ? N : d, order), kept = 0;
    double mmax = r > 0 ? fabs(mu[order[0]]) : 0, typical = 0;
    while (kept < r && fabs(mu[order[kept]]) > 1e-12 * mmax)
        kept++;
    for (int i = 0; i < N; i++)
        typical += la_dot((size_t)d, W + (size_t)i * d, W + (size_t)i * d) / N;
    typical = sqrt(typical);
    memcpy(base, th, sizeof(double) * o->np);
    double *Wb = base + o->off_W;
    for (int k = 0; k < kept; k++) /* shared: |s| t^2 = |mu| reproduces M exactly */
        set_row(Wb, k, d, V, order[k], o->shared && s != 0 ? sqrt(fabs(mu[order[k]] / s)) : typical);
    /* rows the frame leaves free take the most useful missing directions */
    int sign = o->shared ? (s > 0 ? 1 : s < 0 ? -1 : 0) : 0;
    int vec[ESC_VECTORS + 64], nv = useful(lam, d, sign, N - kept + ESC_VECTORS < ESC_VECTORS + 64
                                                          ? N - kept + ESC_VECTORS
                                                          : ESC_VECTORS + 64, vec);
    int used = 0;
    for (int i = kept; i < N && used < nv && i < kept + 64; i++)
        set_row(Wb, i, d, G, vec[used++], typical);
    double fbest = nn_obj_eval(o, base, NULL);
    int found = fbest < fc;
    if (found)
        memcpy(best, base, sizeof(double) * o->np);
    /* and a swap: one of the weakest components for one of the next missing directions */
    if (kept + used >= N)
        for (int a = 0; a < ESC_NEURONS && a < kept; a++)
            for (int b = used; b < nv && b < used + ESC_VECTORS; b++)
                for (int e = o->shared ? -3 : 0; e <= (o->shared ? 3 : 0); e++) {
                    memcpy(tt, base, sizeof(double) * o->np);
                    int row = kept - 1 - a;
                    double t = o->shared && s != 0 ? sqrt(fabs(mu[order[row]] / s)) : typical;
                    set_row(tt + o->off_W, row, d, G, vec[b], t * ldexp(1.0, e));
                    double fv = nn_obj_eval(o, tt, NULL);
                    if (fv < fbest) {
                        fbest = fv;
                        memcpy(best, tt, sizeof(double) * o->np);
                        found = 1;
                    }
                }
    rc = 0;
    if (found && fbest < fc - 1e-12 * fabs(fc)) {
        memcpy(th, best, sizeof(double) * o->np);
        *f = fbest;
        rc = 1;
    }
out:
    o->solve_failed = failed; /* a trial whose solve failed is only a rejected trial */
    if (rc >= 0)
        nn_obj_eval(o, th, NULL); /* o->c, o->a back to th's model */
    free(G);
    free(lam);
    free(V);
    free(mu);
    free(base);
    free(tt);
    free(best);
    free(order);
    return rc;
}

int nn_branch_start(NnObj *o, int sign, double *th, double *gain)
{
    const FitInput *in = o->in;
    const int d = o->d, N = o->N;
    double *G = malloc(sizeof(double) * (size_t)d * d), *lam = malloc(sizeof(double) * d);
    int *idx = malloc(sizeof(int) * (size_t)(N < d ? N : d));
    double *zero = calloc((size_t)N, sizeof(double));
    int rc = -1;
    if (!G || !lam || !idx || !zero)
        goto out;
    /* G(0): the model is the best constant */
    if (o->pop) {
        memset(o->Mt, 0, sizeof(double) * (size_t)d * d);
        if (!isfinite(data_pop_risk_copt(in->target, o->Mt, NULL, G)))
            goto out;
    } else {
        double ybar = 0;
        for (long j = 0; j < in->n; j++)
            ybar += in->y[j];
        ybar /= (double)in->n;
        if (nn_moment(o->w, in->X, in->y, in->n, ybar, zero, in->W0, G) != 0)
            goto out;
    }
    if (la_syev(d, G, lam) != 0)
        goto out;
    int k = useful(lam, d, sign, N < d ? N : d, idx);
    double g = 0;
    memcpy(th + o->off_W, in->W0, sizeof(double) * (size_t)N * d);
    for (int i = 0; i < k; i++) {
        double *row = th + o->off_W + (size_t)i * d;
        double t = sqrt(la_dot((size_t)d, in->W0 + (size_t)i * d, in->W0 + (size_t)i * d));
        for (int l = 0; l < d; l++)
            row[l] = t * G[(size_t)l * d + idx[i]];
        g += lam[idx[i]] * lam[idx[i]] / 8;
    }
    *gain = g;
    rc = 0;
out:
    free(G);
    free(lam);
    free(idx);
    free(zero);
    return rc;
}
