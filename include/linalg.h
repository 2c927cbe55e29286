/* linalg: the only user of CBLAS and LAPACKE. Thin wrappers that check LAPACK's
 * `info` and return 0 / -1 (a task failure, never an abort), plus a flop counter.
 * All matrices are ROW-MAJOR, leading dimension = row stride. No MPI, no HDF5. */
#ifndef LS_LINALG_H
#define LS_LINALG_H

#include <stddef.h>

/* BLAS threads for this process. 0 = the default: one thread per rank unless
 * LAZYSWEEP_BLAS_THREADS is set in the environment. Call once at start. */
void la_init(int threads);
/* Name and configuration of the BLAS library, for provenance. */
const char *la_blas_info(void);
/* A one-line warning when the BLAS runs far below this CPU's speed (OpenBLAS 0.3.21
 * falls back to its SSE3 "Prescott" kernels on CPUs it does not know: DGEMM 4x slower
 * on a 2024 Xeon), else NULL. */
const char *la_blas_warning(void);

/* Floating-point operations counted by the wrappers since the last reset
 * (process-wide; a rank runs one task at a time). */
void la_flops_reset(void);
double la_flops(void);
void la_flops_add(double flops); /* for work done outside the wrappers */

/* C = alpha op(A) op(B) + beta C; ta/tb are 'N' or 'T'. op(A) is m x k, op(B) k x n. */
void la_gemm(char ta, char tb, int m, int n, int k, double alpha, const double *A, int lda,
             const double *B, int ldb, double beta, double *C, int ldc);
/* y = alpha op(A) x + beta y; A is m x n. */
void la_gemv(char ta, int m, int n, double alpha, const double *A, int lda, const double *x,
             double beta, double *y);
/* C = alpha op(A) op(A)^T + beta C, C n x n, both triangles filled on return.
 * ta = 'N': A is n x k; ta = 'T': A is k x n. */
void la_syrk(char ta, int n, int k, double alpha, const double *A, int lda, double beta,
             double *C, int ldc);
double la_dot(size_t n, const double *x, const double *y);
double la_nrm2(size_t n, const double *x);
void la_axpy(size_t n, double alpha, const double *x, double *y);
void la_scal(size_t n, double alpha, double *x);

/* Symmetric eigendecomposition: A (n x n, symmetric) is replaced by the
 * eigenvectors as COLUMNS, w gets the eigenvalues in ascending order. */
int la_syev(int n, double *A, double *w);
/* Eigenvalues only (A is destroyed). */
int la_syev_values(int n, double *A, double *w);
/* Minimum-norm least squares min ||A x - B|| (SVD, dgelsd): A m x n (destroyed),
 * B max(m,n) x nrhs, overwritten by x in its first n rows. Singular values below
 * rcond * largest count as zero (rcond < 0: machine precision). *rank may be NULL. */
int la_gelsd(int m, int n, int nrhs, double *A, int lda, double *B, int ldb, double rcond,
             int *rank);
/* Cholesky solve A X = B, A n x n symmetric positive definite (destroyed), B n x nrhs.
 * Returns -1 if A is not positive definite. */
int la_posv(int n, int nrhs, double *A, int lda, double *B, int ldb);
/* Symmetric (possibly singular) solve through the eigendecomposition: x = A^+ b with
 * eigenvalues below rcond * max|eig| dropped. A n x n (destroyed). */
int la_sym_pinv_solve(int n, double *A, const double *b, double *x, double rcond);
/* Ridge least squares min ||A x - b||^2 + lambda ||x||^2 through dgelsd on the augmented
 * system [A; sqrt(lambda) I] (lambda = 0: the minimum-norm least-squares solution,
 * singular values below 1e-13 * largest dropped). A m x n row-major (not modified),
 * b m, x n. Returns 0 or -1. Cost O((m + n) n min(m, n)). */
int la_ridge_lsq(int m, int n, const double *A, const double *b, double lambda, double *x);
/* Symmetric positive semidefinite solve (G + lambda I) x = b. lambda > 0: Cholesky;
 * lambda = 0: Cholesky, or when G is singular the pseudo-inverse solution with
 * eigenvalues below rcond * largest dropped. G n x n (destroyed). Returns 0 or -1. */
int la_sym_ridge_solve(int n, double *G, const double *b, double lambda, double rcond,
                       double *x);

/* Cholesky A = L L^T of a symmetric positive definite A (n x n, replaced by L: lower
 * triangle, the strict upper triangle zeroed). Returns -1 if A is not positive definite. */
int la_potrf_lower(int n, double *A);
/* x = op(L)^{-1} x for L n x n lower triangular (non-unit diagonal); t = 'N' or 'T'. */
void la_trsv_lower(char t, int n, const double *L, double *x);

/* Thin QR: A (m x k, k <= m) is replaced by Q with orthonormal columns, signs chosen
 * so that R has a positive diagonal (a Gaussian A then gives a Haar frame). */
int la_orthonormalize(int m, int k, double *A);
/* Full orthonormal basis: Q (m x m) whose first k columns span the columns of A
 * (m x k, k <= m, not modified) and whose last m - k span their complement. */
int la_qr_full(int m, int k, const double *A, double *Q);

#endif
