/* nn: see include/nn.h. */
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "log.h"
#include "vec.h"

NnWork *nn_work_create(int d, int N)
{
    NnWork *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->d = d;
    w->N = N;
    /* Blocks of about 2^17 entries of Z (1 MiB): big enough for DGEMM, small enough
     * for cache and for n >> 10^6. At least 256 rows so narrow nets still batch. */
    long chunk = (1L << 17) / (N > 0 ? N : 1);
    w->chunk = chunk < 256 ? 256 : chunk;
    /* nn_loss_data's blocks of Z^T: about 2^15 entries (256 KiB, in L2 with their rows
     * of X), a multiple of 8 rows (the lanes of block_pass continue across blocks). */
    long tchunk = ((1L << 15) / (N > 0 ? N : 1)) & ~7L;
    w->tchunk = tchunk < 256 ? 256 : tchunk;
    long rows = w->chunk > w->tchunk ? w->chunk : w->tchunk;
    /* the moment path (4 N > 3 d at least) keeps tchunk x d in Z and Tn */
    int moment = 4L * N > 3L * d, cols = moment && d > N ? d : N;
    w->Z = malloc(sizeof(double) * (size_t)rows * (size_t)(cols > 0 ? cols : 1));
    w->r = malloc(sizeof(double) * (size_t)rows);
    w->acc = malloc(sizeof(double) * 8 * (size_t)(N > 0 ? N : 1));
    w->Tn = moment ? malloc(sizeof(double) * (size_t)w->tchunk * d) : NULL;
    w->D = malloc(sizeof(double) * ((size_t)N * d + 1));
    w->M = malloc(sizeof(double) * (size_t)d * d);
    w->G = malloc(sizeof(double) * (size_t)d * d);
    w->WG = malloc(sizeof(double) * ((size_t)N * d + 1));
    if (!w->Z || !w->r || !w->acc || (moment && !w->Tn) || !w->D || !w->M || !w->G ||
        !w->WG) { /* the task fails: nomem */
        nn_work_free(w);
        return NULL;
    }
    return w;
}

void nn_work_free(NnWork *w)
{
    if (!w)
        return;
    free(w->Z);
    free(w->r);
    free(w->acc);
    free(w->Tn);
    free(w->D);
    free(w->M);
    free(w->G);
    free(w->WG);
    free(w);
}

/* The row-major kernel for products P = X W^T already formed (n x N, row j = <w_i, x_j>). */
static double loss_rows(NnWork *w, const double *X, const double *y, long n, double c,
                        const double *a, const double *P, double *sumr_out, double *ga,
                        double *gW)
{
    const int N = w->N, d = w->d;
    double *Z = w->Z, *r = w->r;
    double sum = 0, sumr = 0;
    for (long j0 = 0; j0 < n; j0 += w->chunk) {
        int m = (int)(n - j0 < w->chunk ? n - j0 : w->chunk);
        const double *Xb = X + (size_t)j0 * d, *Zs = P + (size_t)j0 * N;
        /* one pass per row (in L1): prediction, residual, then Z = r <w_i, x_j> */
        for (int j = 0; j < m; j++) {
            const double *z = Zs + (size_t)j * N;
            double fj = c;
            for (int i = 0; i < N; i++)
                fj += a[i] * z[i] * z[i];
            double rj = fj - y[j0 + j];
            r[j] = rj;
            sum += rj * rj;
            if (!gW)
                continue;
            double *zo = Z + (size_t)j * N;
            sumr += rj;
            if (ga)
                for (int i = 0; i < N; i++)
                    ga[i] += rj * z[i] * z[i];
            for (int i = 0; i < N; i++)
                zo[i] = z[i] * rj;
        }
        if (gW)
            la_gemm('T', 'N', N, d, m, 1.0, Z, N, Xb, d, 1.0, gW, d);
    }
    *sumr_out = sumr;
    return sum;
}

/* Eight doubles as one GCC vector: lowered to whatever the clone's instruction set
 * offers, the same bits in every width (no reassociation, no contraction under -std). */
typedef double v8 __attribute__((vector_size(64)));
#if defined(__x86_64__) || defined(__i386__)
#define NN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_CLONES
#endif
typedef double v8u __attribute__((vector_size(64), aligned(8), may_alias)); /* unaligned */

/* One block of rows from its products Zt (N x m, row i = <w_i, x_j> over the block's
 * rows j): r_j = f_j - y_j, f_j = c + sum_i a_i z_ij^2 summed in the order of i; with
 * acc (N x 8) also Zt <- Zt diag(r) and acc[i][j mod 8] += r_j z_ij^2. Eight rows at a
 * time, both passes over their N x 8 products while those are in L1. */
NN_CLONES
static void block_pass(int N, int m, double c, const double *a, double *Zt, const double *y,
                       double *r, double *acc)
{
    int j = 0;
    for (; j + 8 <= m; j += 8) {
        v8 f = (v8){0} + c;
        for (int i = 0; i < N; i++) {
            v8 z = *(const v8u *)(Zt + (size_t)i * m + j);
            f += a[i] * z * z;
        }
        v8 rv = f - *(const v8u *)(y + j);
        *(v8u *)(r + j) = rv;
        if (!acc)
            continue;
        for (int i = 0; i < N; i++) {
            double *zp = Zt + (size_t)i * m + j;
            v8 z = *(v8u *)zp, t = rv * z;
            *(v8u *)(acc + 8 * (size_t)i) += t * z;
            *(v8u *)zp = t;
        }
    }
    for (int l = 0; j < m; j++, l++) { /* the last rows: the same lanes, one at a time */
        double fj = c;
        for (int i = 0; i < N; i++) {
            double z = Zt[(size_t)i * m + j];
            fj += a[i] * z * z;
        }
        double rj = fj - y[j];
        r[j] = rj;
        if (!acc)
            continue;
        for (int i = 0; i < N; i++) {
            double *zp = Zt + (size_t)i * m + j, t = rj * *zp;
            acc[8 * (size_t)i + l] += t * *zp;
            *zp = t;
        }
    }
}

/* One block of rows from T = X_b M (m x d): r_j = f_j - y_j, f_j = c + <t_j, x_j> (the
 * products in 8 lanes over k, added in a fixed order); then the rows sqrt|r_j| x_j, those
 * with r_j >= 0 over T's first rows (*kp_out of them), the others into Tn (*kn_out). */
NN_CLONES
static void moment_pass(int d, int m, double c, const double *Xb, const double *y, double *T,
                        double *Tn, double *r, int *kp_out, int *kn_out)
{
    int kp = 0, kn = 0;
    for (int j = 0; j < m; j++) {
        const double *x = Xb + (size_t)j * d;
        double *t = T + (size_t)j * d;
        v8 s = (v8){0};
        int k = 0;
        for (; k + 8 <= d; k += 8)
            s += *(const v8u *)(t + k) * *(const v8u *)(x + k);
        double tail[8] = {0};
        for (int l = 0; k < d; k++, l++)
            tail[l] = t[k] * x[k];
        s += *(const v8u *)tail;
        double f = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        double rj = c + f - y[j];
        r[j] = rj;
        double q = sqrt(fabs(rj));
        double *o = rj >= 0 ? T + (size_t)kp++ * d : Tn + (size_t)kn++ * d; /* kp <= j */
        for (k = 0; k + 8 <= d; k += 8)
            *(v8u *)(o + k) = q * *(const v8u *)(x + k);
        for (; k < d; k++)
            o[k] = q * x[k];
    }
    *kp_out = kp;
    *kn_out = kn;
}

/* The loss through the moment G = X^T diag(r) X (d x d) for N > 3d/4 (n large):
 * f_j = c + x_j^T M x_j with M = W^T diag(a) W, G = P^T P - Q^T Q by two dsyrk (rows
 * sqrt|r_j| x_j of r_j >= 0 in P, the others in Q: G is symmetric, half a GEMM's work),
 * then W G and w_i^T G w_i: (3 n + 4 N) d^2 flops instead of 4 n N d.
 * Leaves gW = W G, ga_i = w_i^T G w_i (the caller scales them); returns sum r^2. */
static double loss_moment(NnWork *w, const double *X, const double *y, long n, double c,
                          const double *a, const double *W, double *sumr_out, double *ga,
                          double *gW)
{
    const int N = w->N, d = w->d;
    double *T = w->Z, *r = w->r, *G = w->G;
    double sum = 0, sumr = 0;
    nn_form_M(w, a, W, w->M);
    memset(G, 0, sizeof(double) * (size_t)d * d);
    for (long j0 = 0; j0 < n; j0 += w->tchunk) {
        int m = (int)(n - j0 < w->tchunk ? n - j0 : w->tchunk);
        const double *Xb = X + (size_t)j0 * d;
        la_gemm('N', 'N', m, d, d, 1.0, Xb, d, w->M, d, 0.0, T, d);
        int kp, kn;
        moment_pass(d, m, c, Xb, y + j0, T, w->Tn, r, &kp, &kn);
        for (int j = 0; j < m; j++) {
            sum += r[j] * r[j];
            sumr += r[j];
        }
        if (kp > 0)
            la_syrk('T', d, kp, 1.0, T, d, 1.0, G, d);
        if (kn > 0)
            la_syrk('T', d, kn, -1.0, w->Tn, d, 1.0, G, d);
    }
    la_gemm('N', 'N', N, d, d, 1.0, W, d, G, d, 0.0, gW, d);
    for (int i = 0; ga && i < N; i++) {
        double s = 0;
        for (int k = 0; k < d; k++)
            s += gW[(size_t)i * d + k] * W[(size_t)i * d + k];
        ga[i] = s;
    }
    la_flops_add(3.0 * n * d + 2.0 * N * d);
    *sumr_out = sumr;
    return sum;
}

double nn_loss_data_kept(NnWork *w, const double *X, const double *y, long n, double c,
                         const double *a, const double *W, const double *P, double *gc,
                         double *ga, double *gW)
{
    const int N = w->N, d = w->d;
    double *Z = w->Z, *r = w->r;
    double sum = 0, sumr = 0;
    if (gW) {
        memset(gW, 0, sizeof(double) * (size_t)N * d);
        if (ga)
            memset(ga, 0, sizeof(double) * (size_t)N);
    }
    if (P) {
        sum = loss_rows(w, X, y, n, c, a, P, &sumr, ga, gW);
        la_flops_add(3.0 * n * N);
    } else if (gW && w->Tn && 4.0 * n * N > (double)d * (3.0 * n + 4.0 * N)) {
        /* 4 n N d > 3 n d^2 + 4 N d^2 (with M and W G): N > 3d/4 on large n, not on small
         * batches; measured at d = 40, n = 6400: 12 % faster at N = 40, 28 % slower at 20 */
        sum = loss_moment(w, X, y, n, c, a, W, &sumr, ga, gW);
    } else {
        /* Per block of rows: Zt = W X_b^T (N x m), one pass for the residuals and
         * Zt <- Zt diag(r) with dL/da on the way, gW += Zt X_b. */
        double *acc = gW ? w->acc : NULL;
        if (acc)
            memset(acc, 0, sizeof(double) * 8 * (size_t)N);
        for (long j0 = 0; j0 < n; j0 += w->tchunk) {
            int m = (int)(n - j0 < w->tchunk ? n - j0 : w->tchunk);
            const double *Xb = X + (size_t)j0 * d;
            la_gemm('N', 'T', N, m, d, 1.0, W, d, Xb, d, 0.0, Z, m);
            block_pass(N, m, c, a, Z, y + j0, r, acc);
            for (int j = 0; j < m; j++) {
                sum += r[j] * r[j];
                sumr += r[j];
            }
            if (gW)
                la_gemm('N', 'N', N, d, m, 1.0, Z, m, Xb, d, 1.0, gW, d);
        }
        for (int i = 0; acc && ga && i < N; i++) { /* the lanes in a fixed order */
            const double *s8 = acc + 8 * (size_t)i;
            ga[i] = ((s8[0] + s8[1]) + (s8[2] + s8[3])) + ((s8[4] + s8[5]) + (s8[6] + s8[7]));
        }
        la_flops_add(3.0 * n * N);
    }
    double inv = 1.0 / (double)n;
    if (gW) {
        if (gc)
            *gc = 2 * sumr * inv;
        if (ga)
            for (int i = 0; i < N; i++)
                ga[i] *= 2 * inv;
        for (int i = 0; i < N; i++) {
            double s = 4 * a[i] * inv;
            for (int k = 0; k < d; k++)
                gW[(size_t)i * d + k] *= s;
        }
    }
    return sum * inv;
}

double nn_loss_data(NnWork *w, const double *X, const double *y, long n, double c,
                    const double *a, const double *W, double *gc, double *ga, double *gW)
{
    return nn_loss_data_kept(w, X, y, n, c, a, W, NULL, gc, ga, gW);
}

/* A = (A + A^T) / 2 (d x d) in 32 x 32 tiles: the column walk stays in cache. */
static void sym_avg(int d, double *A)
{
    enum { T = 32 };
    for (int k0 = 0; k0 < d; k0 += T)
        for (int l0 = 0; l0 <= k0; l0 += T)
            for (int k = k0; k < k0 + T && k < d; k++)
                for (int l = l0; l < l0 + T && l < k; l++) {
                    double s = 0.5 * (A[(size_t)k * d + l] + A[(size_t)l * d + k]);
                    A[(size_t)k * d + l] = A[(size_t)l * d + k] = s;
                }
}

/* y = s (x - z) (z may be NULL: y = s x); elementwise, so any width gives these bits */
VEC_CLONES static void scale_diff(size_t n, double s, const double *x, const double *z,
                                  double *y)
{
    v4d sv = {s, s, s, s};
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        v4d xv, zv;
        LD4(xv, x + k);
        if (z) {
            LD4(zv, z + k);
            xv -= zv;
        }
        xv = sv * xv;
        ST4(y + k, xv);
    }
    for (; k < n; k++)
        y[k] = s * (z ? x[k] - z[k] : x[k]);
}

/* M = W^T D with D = diag(a) W left in w->D; symmetric only up to rounding. */
static void form_M_raw(NnWork *w, const double *a, const double *W, double *M)
{
    const int N = w->N, d = w->d;
    for (int i = 0; i < N; i++)
        scale_diff((size_t)d, a[i], W + (size_t)i * d, NULL, w->D + (size_t)i * d);
    if (N > 0) {
        la_gemm('T', 'N', d, d, N, 1.0, W, d, w->D, d, 0.0, M, d);
    } else {
        memset(M, 0, sizeof(double) * (size_t)d * d);
    }
}

void nn_form_M(NnWork *w, const double *a, const double *W, double *M)
{
    form_M_raw(w, a, W, M);
    sym_avg(w->d, M);
}

double nn_loss_pop(NnWork *w, const Target *t, const double *a, const double *W,
                   double *c_opt, double *ga, double *gW)
{
    const int N = w->N, d = w->d;
    nn_form_M(w, a, W, w->M);
    double R = data_pop_risk_copt(t, w->M, c_opt, gW ? w->G : NULL);
    if (!gW)
        return R;
    la_gemm('N', 'N', N, d, d, 1.0, W, d, w->G, d, 0.0, w->WG, d);
    for (int i = 0; i < N; i++) {
        const double *wg = w->WG + (size_t)i * d, *wi = W + (size_t)i * d;
        if (ga) {
            double s = 0;
            for (int k = 0; k < d; k++)
                s += wg[k] * wi[k];
            ga[i] = s;
        }
        for (int k = 0; k < d; k++)
            gW[(size_t)i * d + k] = 2 * a[i] * wg[k];
    }
    la_flops_add(4.0 * N * d);
    return R;
}

double nn_loss_pop_kept(NnWork *w, const Target *t, const double *a, const double *W,
                        const double *K, const double *WB, double *c_opt, double *gW)
{
    const int N = w->N, d = w->d;
    /* M serves only the risk, which needs no symmetrising pass */
    form_M_raw(w, a, W, w->M);
    double R = data_pop_risk_copt_fast(t, w->M, c_opt);
    if (!gW)
        return R;
    /* W G = 4 (W M - W B) = 4 (K D - WB): an N x N x d product instead of N x d x d */
    la_gemm('N', 'N', N, d, N, 1.0, K, N, w->D, d, 0.0, w->WG, d);
    for (int i = 0; i < N; i++)
        scale_diff((size_t)d, 8 * a[i], w->WG + (size_t)i * d, WB + (size_t)i * d,
                   gW + (size_t)i * d);
    la_flops_add(2.0 * N * d);
    return R;
}

void nn_curve_steps(long steps, int points, long *out)
{
    if (points <= 0)
        return;
    if (steps < 1)
        steps = 1;
    for (int k = 0; k < points; k++) {
        double e = points > 1 ? (double)k / (points - 1) : 1.0;
        out[k] = lround(pow((double)steps, e));
        if (k > 0 && out[k] <= out[k - 1])
            out[k] = out[k - 1] + 1;
    }
    /* Pull the tail back under the budget, keeping the order strict while possible. */
    for (int k = points - 1; k >= 0; k--) {
        long cap = k == points - 1 ? steps : out[k + 1] - 1;
        if (out[k] > cap)
            out[k] = cap;
        if (out[k] < 1)
            out[k] = 1;
    }
    for (int k = 1; k < points; k++)
        if (out[k] < out[k - 1])
            out[k] = out[k - 1];
}

void nn_predict(NnWork *w, const double *X, long n, double c, const double *a,
                const double *W, double *f)
{
    const int N = w->N, d = w->d;
    for (long j0 = 0; j0 < n; j0 += w->chunk) {
        int m = (int)(n - j0 < w->chunk ? n - j0 : w->chunk);
        la_gemm('N', 'T', m, N, d, 1.0, X + (size_t)j0 * d, d, W, d, 0.0, w->Z, N);
        for (int j = 0; j < m; j++) {
            const double *z = w->Z + (size_t)j * N;
            double fj = c;
            for (int i = 0; i < N; i++)
                fj += a[i] * z[i] * z[i];
            f[j0 + j] = fj;
        }
    }
    la_flops_add(3.0 * n * N);
}

int nn_moment(NnWork *w, const double *X, const double *y, long n, double c, const double *a,
              const double *W, double *G)
{
    const int d = w->d;
    double *T = malloc(sizeof(double) * (size_t)w->chunk * d);
    double *f = malloc(sizeof(double) * (size_t)w->chunk);
    if (!T || !f) {
        free(T);
        free(f);
        return -1;
    }
    memset(G, 0, sizeof(double) * (size_t)d * d);
    for (long j0 = 0; j0 < n; j0 += w->chunk) {
        int m = (int)(n - j0 < w->chunk ? n - j0 : w->chunk);
        const double *Xb = X + (size_t)j0 * d;
        nn_predict(w, Xb, m, c, a, W, f);
        for (int j = 0; j < m; j++) {
            double r = 2.0 * (f[j] - y[j0 + j]) / (double)n;
            for (int k = 0; k < d; k++)
                T[(size_t)j * d + k] = r * Xb[(size_t)j * d + k];
        }
        la_gemm('T', 'N', d, d, m, 1.0, Xb, d, T, d, 1.0, G, d);
    }
    for (int k = 0; k < d; k++) /* exact symmetry */
        for (int l = 0; l < k; l++) {
            double v = 0.5 * (G[(size_t)k * d + l] + G[(size_t)l * d + k]);
            G[(size_t)k * d + l] = G[(size_t)l * d + k] = v;
        }
    free(T);
    free(f);
    return 0;
}
