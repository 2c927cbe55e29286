/* optim: see include/optim.h. Gradient descent and L-BFGS (Nocedal & Wright,
 * Numerical Optimization, 2nd ed., Algorithms 3.5/3.6 and 7.4/7.5). */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vec.h"

/* Four partial sums: one accumulator is bound by the add latency (a quarter of the
 * loads a core can issue), and these vectors are the whole cost of an L-BFGS step
 * around an objective of O(n) work per entry. */
static double vdot(size_t n, const double *x, const double *y)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += x[i] * y[i];
        s1 += x[i + 1] * y[i + 1];
        s2 += x[i + 2] * y[i + 2];
        s3 += x[i + 3] * y[i + 3];
    }
    for (; i < n; i++)
        s0 += x[i] * y[i];
    return (s0 + s1) + (s2 + s3);
}

static int stop_raised(const OptOptions *o) { return o->stop && *o->stop; }

/* First-order test: |g| |x| <= gtol |f0| (scale-free for a loss homogeneous in x), with
 * xx = |x|^2 (unused when gtol is off). */
static int stationary(const OptOptions *o, double xx, double gg, double f0)
{
    if (!(o->gtol > 0))
        return 0;
    if (o->f_ref > 0)
        f0 = o->f_ref;
    double xn = sqrt(xx);
    return sqrt(gg) * (xn > 0 ? xn : 1.0) <= o->gtol * fabs(f0);
}

/* |x|^2 when the first-order test needs it. */
static double norm2_if(const OptOptions *o, size_t n, const double *x)
{
    return o->gtol > 0 ? vdot(n, x, x) : 0;
}

/* The stopping tests shared by both minimisers, after a step from f_old to f_new with
 * squared gradient norm gg at x (xx = |x|^2): OPT_CONVERGED, OPT_TOL, or 0 (go on). */
static int stop_test(const OptOptions *o, double xx, double gg, double f0, double f_old,
                     double f_new)
{
    if (o->f_ref > 0)
        f0 = o->f_ref;
    if (f_new <= o->f_stop || (o->floor > 0 && f0 > 0 && f_new <= o->floor * f0))
        return OPT_CONVERGED;
    if (stationary(o, xx, gg, f0))
        return OPT_CONVERGED;
    double dec = f_old - f_new;
    if (dec >= 0 && dec <= o->tol * fabs(f_old))
        return OPT_TOL;
    return 0;
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
    if (gg == 0 || fx <= o->f_stop || stationary(o, norm2_if(o, n, x), gg, f0))
        r->why = OPT_CONVERGED;
    for (long it = 1; r->why != OPT_CONVERGED && it <= o->max_iter; it++) {
        if (stop_raised(o)) {
            r->why = OPT_SIGNAL;
            rc = -1;
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
                if (ft < fx && ft <= fx - 0.25 * t * gg) /* strict: a null step is no decrease */
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
            if (!(ft < fx && ft <= fx - 0.25 * t * gg)) {
                r->why = OPT_LINESEARCH; /* no representable decrease along -g */
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
        int why = gg == 0 ? OPT_CONVERGED : stop_test(o, norm2_if(o, n, x), gg, f0, f_old, fx);
        if (why) {
            r->why = why;
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
        if (!(fv <= f0 + C1 * a * d0) || fv >= f_prev) { /* strict decrease (f_prev = f0 first) */
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

/* The two-loop recursion's passes, each fused with the dot product the next pass needs
 * (an L-BFGS step is a few passes over vectors that live in the last-level cache, so
 * the count of passes is its cost). Dots as vdot: four partial sums, here the lanes of
 * a v4d (vec.h: vdot's bits in any width). Scalar code issued one double per
 * instruction and was half as fast; these run at the cache's read bandwidth. */
/* p += a y; returns <s, p> of the updated p (s may be NULL: returns 0). */
VEC_CLONES static double axpy_dot(size_t n, double a, const double *y, double *p,
                                  const double *s)
{
    v4d av = {a, a, a, a}, acc = {0, 0, 0, 0};
    size_t i = 0;
    if (!s) {
        for (; i + 4 <= n; i += 4) {
            v4d pv, yv;
            LD4(pv, p + i), LD4(yv, y + i);
            pv += av * yv;
            ST4(p + i, pv);
        }
        for (; i < n; i++)
            p[i] += a * y[i];
        return 0;
    }
    for (; i + 4 <= n; i += 4) {
        v4d pv, yv, sv;
        LD4(pv, p + i), LD4(yv, y + i), LD4(sv, s + i);
        pv += av * yv;
        ST4(p + i, pv);
        acc += sv * pv;
    }
    double s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    for (; i < n; i++) {
        p[i] += a * y[i];
        s0 += s[i] * p[i];
    }
    return (s0 + s1) + (s2 + s3);
}

/* p = t p (t = 1: p = -g, g given); returns <s, p> (s may be NULL: 0). */
VEC_CLONES static double scale_dot(size_t n, double t, const double *g, double *p,
                                   const double *s)
{
    v4d tv = {t, t, t, t}, acc = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4d pv, sv;
        if (g) {
            LD4(pv, g + i);
            pv = -pv;
        } else {
            LD4(pv, p + i);
            pv *= tv;
        }
        ST4(p + i, pv);
        if (s) {
            LD4(sv, s + i);
            acc += sv * pv;
        }
    }
    double s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    for (; i < n; i++) {
        p[i] = g ? -g[i] : t * p[i];
        if (s)
            s0 += s[i] * p[i];
    }
    return s ? (s0 + s1) + (s2 + s3) : 0;
}

/* The new pair s = xt - x, y = gt - g and, in the same pass, <s,y>, <s,s>, <y,y>,
 * <gt,gt>, <xt,xt> into q[0..4]. */
VEC_CLONES static void pair_pass(size_t n, const double *xt, const double *x,
                                 const double *gt, const double *g, double *sv, double *yv,
                                 double *q)
{
    /* two partial sums each (even and odd entries: the lanes of a pair), ten chains
     * that hide the add latency */
    v2d sy = {0, 0}, ss = {0, 0}, yy = {0, 0}, gg = {0, 0}, xx = {0, 0};
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        v2d xtv, xv, gtv, gv;
        memcpy(&xtv, xt + i, sizeof xtv);
        memcpy(&xv, x + i, sizeof xv);
        memcpy(&gtv, gt + i, sizeof gtv);
        memcpy(&gv, g + i, sizeof gv);
        v2d a = xtv - xv, b = gtv - gv;
        memcpy(sv + i, &a, sizeof a);
        memcpy(yv + i, &b, sizeof b);
        sy += a * b, ss += a * a, yy += b * b;
        gg += gtv * gtv, xx += xtv * xtv;
    }
    double sy0 = sy[0], ss0 = ss[0], yy0 = yy[0], gg0 = gg[0], xx0 = xx[0];
    if (i < n) {
        double a0 = xt[i] - x[i], b0 = gt[i] - g[i];
        sv[i] = a0, yv[i] = b0;
        sy0 += a0 * b0, ss0 += a0 * a0, yy0 += b0 * b0;
        gg0 += gt[i] * gt[i], xx0 += xt[i] * xt[i];
    }
    q[0] = sy0 + sy[1], q[1] = ss0 + ss[1], q[2] = yy0 + yy[1], q[3] = gg0 + gg[1],
    q[4] = xx0 + xx[1];
}

int opt_lbfgs(OptFunc f, void *ctx, size_t n, double *x_out, const OptOptions *o, OptResult *r)
{
    int m = o->memory > 0 ? o->memory : 10;
    size_t nn = n ? n : 1;
    double *g = malloc(sizeof(double) * nn), *p = malloc(sizeof(double) * nn);
    double *xt = malloc(sizeof(double) * nn), *gt = malloc(sizeof(double) * nn);
    double *S = malloc(sizeof(double) * nn * m), *Y = malloc(sizeof(double) * nn * m);
    double *rho = malloc(sizeof(double) * m), *alpha = malloc(sizeof(double) * m);
    double *yy = malloc(sizeof(double) * m);
    double *x = x_out; /* the current point: x_out or the spare buffer (swapped with xt) */
    int rc = 0, k = 0, head = 0; /* pairs stored, index of the next slot */
    memset(r, 0, sizeof *r);
    if (!g || !p || !xt || !gt || !S || !Y || !rho || !alpha || !yy) {
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
    double gg = vdot(n, g, g), xx = norm2_if(o, n, x);
    if (gg == 0 || fx <= o->f_stop || stationary(o, xx, gg, f0))
        r->why = OPT_CONVERGED;
    for (long it = 1; r->why != OPT_CONVERGED && it <= o->max_iter; it++) {
        if (stop_raised(o)) {
            r->why = OPT_SIGNAL;
            rc = -1;
            break;
        }
        double gn = sqrt(gg);
        double fa = 0, d0 = 0;
        int ls;
        for (;;) {
            /* Two-loop recursion: p = -H g, H0 = gamma I from the newest pair. Slot of
             * the j-th newest pair: (head - 1 - j + m) % m. */
#define SLOT(j) ((head - 1 - (j) + 2 * m) % m)
            double dot = scale_dot(n, 1.0, g, p, k > 0 ? S + (size_t)SLOT(0) * n : NULL);
            for (int j = 0; j < k; j++) {
                int s = SLOT(j);
                alpha[s] = rho[s] * dot;
                dot = axpy_dot(n, -alpha[s], Y + (size_t)s * n, p,
                               j + 1 < k ? S + (size_t)SLOT(j + 1) * n : NULL);
            }
            double a1 = 1.0;
            if (k > 0) {
                int s = SLOT(0);
                double gamma = 1.0 / (rho[s] * yy[s]);
                dot = scale_dot(n, gamma, NULL, p, Y + (size_t)SLOT(k - 1) * n);
                for (int j = k - 1; j >= 0; j--) {
                    int sj = SLOT(j);
                    double beta = rho[sj] * dot;
                    dot = axpy_dot(n, alpha[sj] - beta, S + (size_t)sj * n, p,
                                   j > 0 ? Y + (size_t)SLOT(j - 1) * n : g);
                }
                d0 = dot;
            } else {
                a1 = fmin(1.0, 1.0 / gn);
                d0 = -gg;
            }
#undef SLOT
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
        if (ls == LS_FAIL) { /* no decrease found, also along -g */
            r->why = stationary(o, xx, gn * gn, f0) ? OPT_CONVERGED : OPT_LINESEARCH;
            break;
        }
        /* New pair s = xt - x, y = gt - g (skipped when the curvature is not positive). */
        double *sv = S + (size_t)head * n, *yv = Y + (size_t)head * n, q[5];
        pair_pass(n, xt, x, gt, g, sv, yv, q);
        if (q[0] > 1e-12 * sqrt(q[1] * q[2])) {
            rho[head] = 1.0 / q[0];
            yy[head] = q[2];
            head = (head + 1) % m;
            if (k < m)
                k++;
        }
        double *sw = x; /* the accepted point becomes current: swap, no copies */
        x = xt, xt = sw;
        sw = g, g = gt, gt = sw;
        L.x = x, L.xt = xt, L.gt = gt;
        double f_old = fx;
        fx = fa;
        gg = q[3], xx = q[4];
        r->iterations = it;
        if (o->monitor)
            o->monitor(o->monitor_ctx, it, x, fx);
        int why = gg == 0 ? OPT_CONVERGED : stop_test(o, xx, gg, f0, f_old, fx);
        if (why) {
            r->why = why;
            break;
        }
    }
    r->f = fx;
    r->gnorm = sqrt(gg);
    r->evals += L.evals;
out:
    if (x != x_out) { /* the current point lives in the spare buffer */
        memcpy(x_out, x, sizeof(double) * n);
        xt = x;
    }
    free(g);
    free(p);
    free(xt);
    free(gt);
    free(S);
    free(Y);
    free(rho);
    free(alpha);
    free(yy);
    return rc;
}
