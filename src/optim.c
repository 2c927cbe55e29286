/* optim: see include/optim.h. Gradient descent and L-BFGS (Nocedal & Wright,
 * Numerical Optimization, 2nd ed., Algorithms 3.5/3.6 and 7.4/7.5). */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static double vdot(size_t n, const double *x, const double *y)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}

static int stop_raised(const OptOptions *o) { return o->stop && *o->stop; }

/* Relative-decrease test shared by both minimisers. */
static int converged(const OptOptions *o, double f0, double f_old, double f_new)
{
    double dec = f_old - f_new;
    if (dec >= 0 && dec <= o->tol * fabs(f_old))
        return 1;
    return o->floor > 0 && f0 > 0 && f_new <= o->floor * f0;
}

static double gd_rate(const OptOptions *o, long taken)
{
    double lr = o->lr;
    for (int k = 0; k < o->n_drops; k++)
        if (taken >= o->drop_step[k])
            lr *= o->drop_factor[k];
    return lr;
}

int opt_gd(OptFunc f, void *ctx, size_t n, double *x, const OptOptions *o, OptResult *r)
{
    double *g = malloc(sizeof(double) * (n ? n : 1));
    double *gt = malloc(sizeof(double) * (n ? n : 1));
    double *xt = malloc(sizeof(double) * (n ? n : 1));
    int rc = 0;
    memset(r, 0, sizeof *r);
    if (!g || !gt || !xt) {
        r->why = OPT_NOMEM;
        rc = -1;
        goto out;
    }
    double fx = f(ctx, x, g), f0 = fx;
    r->evals = 1;
    r->why = OPT_BUDGET;
    if (!isfinite(fx)) {
        r->why = OPT_NONFINITE;
        rc = -1;
        goto out;
    }
    double gg = vdot(n, g, g);
    double t = o->lr > 0 ? o->lr : 1.0 / fmax(sqrt(gg), 1e-300);
    for (long it = 1; it <= o->max_iter; it++) {
        if (stop_raised(o)) {
            r->why = OPT_SIGNAL;
            rc = -1;
            break;
        }
        if (gg == 0) {
            r->why = OPT_TOL;
            break;
        }
        double ft;
        if (o->lr > 0) {
            double lr = gd_rate(o, it - 1);
            for (size_t i = 0; i < n; i++)
                xt[i] = x[i] - lr * g[i];
            ft = f(ctx, xt, gt);
            r->evals++;
            if (!isfinite(ft)) {
                r->why = OPT_NONFINITE;
                rc = -1;
                break;
            }
        } else {
            int first = 1;
            for (;;) {
                for (size_t i = 0; i < n; i++)
                    xt[i] = x[i] - t * g[i];
                ft = f(ctx, xt, gt);
                r->evals++;
                if (ft <= fx - 0.25 * t * gg)
                    break;
                if (stop_raised(o))
                    break;
                t *= 0.5;
                first = 0;
                if (t * sqrt(gg) <= 1e-17 * (1.0 + sqrt(vdot(n, x, x))))
                    break; /* no representable decrease along -g */
            }
            if (stop_raised(o)) {
                r->why = OPT_SIGNAL;
                rc = -1;
                break;
            }
            if (!(ft <= fx - 0.25 * t * gg)) {
                r->why = OPT_TOL;
                break;
            }
            if (first)
                t *= 2;
        }
        memcpy(x, xt, sizeof(double) * n);
        double *sw = g;
        g = gt;
        gt = sw;
        double f_old = fx;
        fx = ft;
        gg = vdot(n, g, g);
        r->iterations = it;
        if (o->monitor)
            o->monitor(o->monitor_ctx, it, x, fx);
        if (converged(o, f0, f_old, fx)) {
            r->why = OPT_TOL;
            break;
        }
    }
    r->f = fx;
    r->gnorm = sqrt(gg);
out:
    free(g);
    free(gt);
    free(xt);
    return rc;
}

/* ---- strong-Wolfe line search ------------------------------------------------ */

typedef struct {
    OptFunc f;
    void *ctx;
    size_t n;
    const double *x, *p;
    double *xt, *gt; /* last evaluated point and its gradient */
    long evals;
    const OptOptions *o;
} Line;

static double line_eval(Line *L, double a, double *dphi)
{
    for (size_t i = 0; i < L->n; i++)
        L->xt[i] = L->x[i] + a * L->p[i];
    double v = L->f(L->ctx, L->xt, L->gt);
    L->evals++;
    *dphi = vdot(L->n, L->gt, L->p);
    return isfinite(v) && isfinite(*dphi) ? v : INFINITY;
}

/* Minimiser of the cubic through (lo, flo, dlo), (hi, fhi, dhi), kept inside the
 * middle 80% of the interval; bisection when the cubic is not usable. */
static double cubic_step(double lo, double flo, double dlo, double hi, double fhi, double dhi)
{
    double mid = 0.5 * (lo + hi);
    double a = mid;
    if (isfinite(fhi) && hi != lo) {
        double d1 = dlo + dhi - 3 * (flo - fhi) / (lo - hi);
        double disc = d1 * d1 - dlo * dhi;
        if (disc >= 0) {
            double d2 = copysign(sqrt(disc), hi - lo);
            double den = dhi - dlo + 2 * d2;
            if (den != 0)
                a = hi - (hi - lo) * (dhi + d2 - d1) / den;
        }
    }
    double w = hi - lo, lo_b = fmin(lo + 0.1 * w, hi - 0.1 * w), hi_b = fmax(lo + 0.1 * w, hi - 0.1 * w);
    if (!isfinite(a) || a < lo_b || a > hi_b)
        a = mid;
    return a;
}

enum { LS_OK = 0, LS_FAIL = -1, LS_STOP = -2 };
#define C1 1e-4
#define C2 0.9

/* On LS_OK the accepted point and gradient are in L->xt, L->gt, its value in *fa. */
static int line_search(Line *L, double f0, double d0, double a1, double *fa)
{
    double a_prev = 0, f_prev = f0, d_prev = d0, a = a1;
    double lo, flo, dlo, hi, fhi, dhi;
    for (int it = 0; it < 30; it++) {
        double da, fv = line_eval(L, a, &da);
        if (stop_raised(L->o))
            return LS_STOP;
        if (!(fv <= f0 + C1 * a * d0) || (it > 0 && fv >= f_prev)) {
            lo = a_prev, flo = f_prev, dlo = d_prev, hi = a, fhi = fv, dhi = da;
            goto zoom;
        }
        if (fabs(da) <= -C2 * d0) {
            *fa = fv;
            return LS_OK;
        }
        if (da >= 0) {
            lo = a, flo = fv, dlo = da, hi = a_prev, fhi = f_prev, dhi = d_prev;
            goto zoom;
        }
        a_prev = a, f_prev = fv, d_prev = da;
        a *= 4;
    }
    /* Still decreasing after 30 expansions: take the last point (Armijo holds). */
    *fa = f_prev;
    return LS_OK;
zoom:
    for (int it = 0; it < 40; it++) {
        double aj = cubic_step(lo, flo, dlo, hi, fhi, dhi), dj;
        if (aj == lo || aj == hi)
            break;
        double fj = line_eval(L, aj, &dj);
        if (stop_raised(L->o))
            return LS_STOP;
        if (!(fj <= f0 + C1 * aj * d0) || fj >= flo) {
            hi = aj, fhi = fj, dhi = dj;
        } else {
            if (fabs(dj) <= -C2 * d0) {
                *fa = fj;
                return LS_OK;
            }
            if (dj * (hi - lo) >= 0)
                hi = lo, fhi = flo, dhi = dlo;
            lo = aj, flo = fj, dlo = dj;
        }
        if (fabs(hi - lo) <= 1e-15 * fmax(fabs(lo), fabs(hi)))
            break;
    }
    /* No strong-Wolfe point found: lo (> 0) still satisfies Armijo with a decrease. */
    if (lo > 0 && flo < f0) {
        double dd;
        *fa = line_eval(L, lo, &dd);
        if (stop_raised(L->o))
            return LS_STOP;
        return *fa < f0 ? LS_OK : LS_FAIL;
    }
    return LS_FAIL;
}

int opt_lbfgs(OptFunc f, void *ctx, size_t n, double *x, const OptOptions *o, OptResult *r)
{
    int m = o->memory > 0 ? o->memory : 10;
    size_t nn = n ? n : 1;
    double *g = malloc(sizeof(double) * nn), *p = malloc(sizeof(double) * nn);
    double *xt = malloc(sizeof(double) * nn), *gt = malloc(sizeof(double) * nn);
    double *S = malloc(sizeof(double) * nn * m), *Y = malloc(sizeof(double) * nn * m);
    double *rho = malloc(sizeof(double) * m), *alpha = malloc(sizeof(double) * m);
    int rc = 0, k = 0, head = 0; /* pairs stored, index of the next slot */
    memset(r, 0, sizeof *r);
    if (!g || !p || !xt || !gt || !S || !Y || !rho || !alpha) {
        r->why = OPT_NOMEM;
        rc = -1;
        goto out;
    }
    double fx = f(ctx, x, g), f0 = fx;
    r->evals = 1;
    r->why = OPT_BUDGET;
    if (!isfinite(fx)) {
        r->why = OPT_NONFINITE;
        rc = -1;
        goto out;
    }
    Line L = {f, ctx, n, x, p, xt, gt, 0, o};
    for (long it = 1; it <= o->max_iter; it++) {
        if (stop_raised(o)) {
            r->why = OPT_SIGNAL;
            rc = -1;
            break;
        }
        double gn = sqrt(vdot(n, g, g));
        if (gn == 0) {
            r->why = OPT_TOL;
            break;
        }
        double fa = 0;
        int ls;
        for (;;) {
            /* Two-loop recursion: p = -H g, H0 = gamma I from the newest pair. */
            for (size_t i = 0; i < n; i++)
                p[i] = -g[i];
            for (int j = 0; j < k; j++) {
                int s = (head - 1 - j + m) % m;
                alpha[s] = rho[s] * vdot(n, S + (size_t)s * n, p);
                for (size_t i = 0; i < n; i++)
                    p[i] -= alpha[s] * Y[(size_t)s * n + i];
            }
            double a1 = 1.0;
            if (k > 0) {
                int s = (head - 1 + m) % m;
                const double *ys = Y + (size_t)s * n;
                double gamma = 1.0 / (rho[s] * vdot(n, ys, ys));
                for (size_t i = 0; i < n; i++)
                    p[i] *= gamma;
            } else {
                a1 = fmin(1.0, 1.0 / gn);
            }
            for (int j = k - 1; j >= 0; j--) {
                int s = (head - 1 - j + m) % m;
                double beta = rho[s] * vdot(n, Y + (size_t)s * n, p);
                for (size_t i = 0; i < n; i++)
                    p[i] += (alpha[s] - beta) * S[(size_t)s * n + i];
            }
            double d0 = vdot(n, g, p);
            if (!(d0 < 0) && k > 0) {
                k = 0; /* not a descent direction: forget the memory */
                continue;
            }
            ls = line_search(&L, fx, d0, a1, &fa);
            if (ls == LS_FAIL && k > 0) {
                k = 0; /* retry once from steepest descent */
                continue;
            }
            break;
        }
        if (ls == LS_STOP) {
            r->why = OPT_SIGNAL;
            rc = -1;
            break;
        }
        if (ls == LS_FAIL) {
            r->why = OPT_TOL; /* no representable decrease left */
            break;
        }
        /* New pair s = xt - x, y = gt - g (skipped when the curvature is not positive). */
        double *sv = S + (size_t)head * n, *yv = Y + (size_t)head * n;
        for (size_t i = 0; i < n; i++) {
            sv[i] = xt[i] - x[i];
            yv[i] = gt[i] - g[i];
        }
        double sy = vdot(n, sv, yv);
        if (sy > 1e-12 * sqrt(vdot(n, sv, sv) * vdot(n, yv, yv))) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % m;
            if (k < m)
                k++;
        }
        memcpy(x, xt, sizeof(double) * n);
        memcpy(g, gt, sizeof(double) * n);
        double f_old = fx;
        fx = fa;
        r->iterations = it;
        if (o->monitor)
            o->monitor(o->monitor_ctx, it, x, fx);
        if (converged(o, f0, f_old, fx)) {
            r->why = OPT_TOL;
            break;
        }
    }
    r->f = fx;
    r->gnorm = sqrt(vdot(n, g, g));
    r->evals += L.evals;
out:
    free(g);
    free(p);
    free(xt);
    free(gt);
    free(S);
    free(Y);
    free(rho);
    free(alpha);
    return rc;
}
