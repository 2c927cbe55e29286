/* risk: see include/risk.h. */
#include "risk.h"

#include <math.h>
#include <stdlib.h>

#include "linalg.h"

#define RISK_CHUNK 2048 /* rows per BLAS-3 block */

int risk_predict(int d, double c, const double *M, long n, const double *X, double *f)
{
    long chunk = n < RISK_CHUNK ? n : RISK_CHUNK;
    double *T = malloc(sizeof(double) * (size_t)(chunk > 0 ? chunk : 1) * d);
    if (!T)
        return -1;
    for (long j0 = 0; j0 < n; j0 += RISK_CHUNK) {
        int m = (int)(n - j0 < RISK_CHUNK ? n - j0 : RISK_CHUNK);
        const double *Xc = X + (size_t)j0 * d;
        la_gemm('N', 'N', m, d, d, 1.0, Xc, d, M, d, 0.0, T, d); /* T = X M */
        for (int j = 0; j < m; j++) {
            const double *xr = Xc + (size_t)j * d, *tr = T + (size_t)j * d;
            double q = 0;
            for (int k = 0; k < d; k++)
                q += xr[k] * tr[k];
            f[j0 + j] = c + q;
        }
    }
    la_flops_add(2.0 * n * d);
    free(T);
    return 0;
}

int risk_eval(int d, double c, const double *M, long n, const double *X, const double *y,
              double *mse, double *err01)
{
    *mse = NAN;
    if (err01)
        *err01 = NAN;
    if (n <= 0)
        return -1;
    double *f = malloc(sizeof(double) * RISK_CHUNK);
    if (!f)
        return -1;
    double s2 = 0, s01 = 0;
    for (long j0 = 0; j0 < n; j0 += RISK_CHUNK) {
        long m = n - j0 < RISK_CHUNK ? n - j0 : RISK_CHUNK;
        if (risk_predict(d, c, M, m, X + (size_t)j0 * d, f) != 0) {
            free(f);
            return -1;
        }
        for (long j = 0; j < m; j++) {
            double yj = y[j0 + j];
            s2 += (f[j] - yj) * (f[j] - yj);
            s01 += ((f[j] >= 0 ? 1.0 : -1.0) != yj);
        }
    }
    free(f);
    *mse = s2 / (double)n;
    if (err01)
        *err01 = s01 / (double)n;
    return 0;
}

double risk_empirical(int d, double c, const double *M, long n, const double *X,
                      const double *y)
{
    double mse;
    risk_eval(d, c, M, n, X, y, &mse, NULL);
    return mse;
}

double risk_error01(int d, double c, const double *M, long n, const double *X,
                    const double *y)
{
    double mse, e01;
    risk_eval(d, c, M, n, X, y, &mse, &e01);
    return e01;
}
