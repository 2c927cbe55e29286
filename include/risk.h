/* risk: empirical risks of a trained quadratic form f(x) = c + x^T M x on a sample
 * (X, y): mean squared error and the 0-1 error of sign(f). BLAS-3 in row chunks
 * (memory O(chunk * d)). No MPI, no HDF5. */
#ifndef LS_RISK_H
#define LS_RISK_H

/* f_j = c + x_j^T M x_j for the n rows of X (n x d row-major) into f (n).
 * Returns 0, or -1 if out of memory. */
int risk_predict(int d, double c, const double *M, long n, const double *X, double *f);
/* One pass over the sample: *mse = mean of (f(x_j) - y_j)^2 and, if err01 is not NULL,
 * *err01 = the fraction with sign(f(x_j)) != y_j (f = 0 counts as +1). Returns 0, or -1
 * (both NaN) when n <= 0 or out of memory. */
int risk_eval(int d, double c, const double *M, long n, const double *X, const double *y,
              double *mse, double *err01);
/* Mean of (f(x_j) - y_j)^2; NaN when n <= 0 or out of memory. */
double risk_empirical(int d, double c, const double *M, long n, const double *X,
                      const double *y);
/* Fraction of j with sign(f(x_j)) != y_j (f = 0 counts as +1); NaN when n <= 0. */
double risk_error01(int d, double c, const double *M, long n, const double *X,
                    const double *y);

#endif
