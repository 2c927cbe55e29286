/* linalg: see include/linalg.h. The only file that includes cblas.h / lapacke.h. */
#include "linalg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>
#include <malloc.h>

/* OpenBLAS extensions (declared in its cblas.h on Debian; repeated for other BLAS). */
void openblas_set_num_threads(int num_threads);
char *openblas_get_config(void);

static double la_flop_count;

void la_init(int threads)
{
    if (threads <= 0) {
        const char *env = getenv("LAZYSWEEP_BLAS_THREADS");
        threads = env ? atoi(env) : 1;
        if (threads <= 0)
            threads = 1;
    }
    openblas_set_num_threads(threads);
    /* The solvers allocate their N x N and N x d workspaces per call (an optimiser calls
     * them once per evaluation): keep freed memory mapped for the next call instead of
     * glibc's default of unmapping blocks above 128 KiB and trimming the heap top, which
     * page-faulted every block in again (measured: 3-6 % of an NN varpro iteration). */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

const char *la_blas_info(void)
{
    static char info[256];
    snprintf(info, sizeof info, "OpenBLAS %s", openblas_get_config());
    return info;
}

const char *la_blas_warning(void)
{
    if (strstr(openblas_get_config(), "Prescott") && __builtin_cpu_supports("avx2"))
        return "OpenBLAS uses its generic Prescott kernels on this AVX2 CPU (it does not know "
               "the model): about 4x slower; export OPENBLAS_CORETYPE=Haswell (SkylakeX on "
               "AVX-512 CPUs) and pass it to every rank (mpirun -x OPENBLAS_CORETYPE)";
    return NULL;
}

void la_flops_reset(void) { la_flop_count = 0; }
double la_flops(void) { return la_flop_count; }
void la_flops_add(double flops) { la_flop_count += flops; }

static enum CBLAS_TRANSPOSE tr(char t) { return (t == 'T' || t == 't') ? CblasTrans : CblasNoTrans; }

void la_gemm(char ta, char tb, int m, int n, int k, double alpha, const double *A, int lda,
             const double *B, int ldb, double beta, double *C, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    cblas_dgemm(CblasRowMajor, tr(ta), tr(tb), m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    la_flop_count += 2.0 * m * n * k;
}

void la_gemv(char ta, int m, int n, double alpha, const double *A, int lda, const double *x,
             double beta, double *y)
{
    if (m <= 0 || n <= 0)
        return;
    cblas_dgemv(CblasRowMajor, tr(ta), m, n, alpha, A, lda, x, 1, beta, y, 1);
    la_flop_count += 2.0 * m * n;
}

void la_syrk(char ta, int n, int k, double alpha, const double *A, int lda, double beta,
             double *C, int ldc)
{
    if (n <= 0)
        return;
    cblas_dsyrk(CblasRowMajor, CblasUpper, tr(ta), n, k, alpha, A, lda, beta, C, ldc);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            C[(size_t)i * ldc + j] = C[(size_t)j * ldc + i];
    la_flop_count += (double)n * (n + 1) * k;
}

/* The level-1 wrappers take size_t lengths and call BLAS (int lengths) in chunks: one
 * call, as before, for every length below 2^30. */
#define LA_CHUNK ((size_t)1 << 30)

double la_dot(size_t n, const double *x, const double *y)
{
    la_flop_count += 2.0 * n;
    double s = 0;
    for (size_t i = 0; i < n; i += LA_CHUNK) {
        size_t k = n - i < LA_CHUNK ? n - i : LA_CHUNK;
        s += cblas_ddot((int)k, x + i, 1, y + i, 1);
    }
    return s;
}

double la_nrm2(size_t n, const double *x)
{
    la_flop_count += 2.0 * n;
    if (n <= LA_CHUNK)
        return cblas_dnrm2((int)n, x, 1);
    double scale = 0, parts[64]; /* chunk norms (vectors up to 2^36 entries), combined
                                  * without overflow */
    size_t m = 0;
    for (size_t i = 0; i < n && m < 64; i += LA_CHUNK, m++) {
        size_t k = n - i < LA_CHUNK ? n - i : LA_CHUNK;
        parts[m] = cblas_dnrm2((int)k, x + i, 1);
        scale = parts[m] > scale ? parts[m] : scale;
    }
    if (scale == 0)
        return 0;
    double s = 0;
    for (size_t q = 0; q < m; q++)
        s += (parts[q] / scale) * (parts[q] / scale);
    return scale * sqrt(s);
}

void la_axpy(size_t n, double alpha, const double *x, double *y)
{
    la_flop_count += 2.0 * n;
    for (size_t i = 0; i < n; i += LA_CHUNK) {
        size_t k = n - i < LA_CHUNK ? n - i : LA_CHUNK;
        cblas_daxpy((int)k, alpha, x + i, 1, y + i, 1);
    }
}

void la_scal(size_t n, double alpha, double *x)
{
    la_flop_count += (double)n;
    for (size_t i = 0; i < n; i += LA_CHUNK) {
        size_t k = n - i < LA_CHUNK ? n - i : LA_CHUNK;
        cblas_dscal((int)k, alpha, x + i, 1);
    }
}

int la_syev(int n, double *A, double *w)
{
    la_flop_count += 9.0 * n * n * n;
    return LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', n, A, n, w) == 0 ? 0 : -1;
}

int la_syev_values(int n, double *A, double *w)
{
    la_flop_count += 4.0 / 3.0 * n * n * n;
    return LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', n, A, n, w) == 0 ? 0 : -1;
}

int la_gelsd(int m, int n, int nrhs, double *A, int lda, double *B, int ldb, double rcond,
             int *rank)
{
    int mn = m < n ? m : n;
    double *s = malloc(sizeof(double) * (size_t)(mn > 0 ? mn : 1));
    lapack_int r = 0;
    if (!s)
        return -1;
    lapack_int info = LAPACKE_dgelsd(LAPACK_ROW_MAJOR, m, n, nrhs, A, lda, B, ldb, s, rcond, &r);
    free(s);
    if (rank)
        *rank = (int)r;
    la_flop_count += 4.0 * m * n * (double)mn;
    return info == 0 ? 0 : -1;
}

int la_posv(int n, int nrhs, double *A, int lda, double *B, int ldb)
{
    la_flop_count += n * (double)n * n / 3.0 + 2.0 * n * n * nrhs;
    return LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', n, nrhs, A, lda, B, ldb) == 0 ? 0 : -1;
}

int la_potrf_lower(int n, double *A)
{
    la_flop_count += n * (double)n * n / 3.0;
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', n, A, n) != 0)
        return -1;
    for (int i = 0; i < n; i++)
        memset(A + (size_t)i * n + i + 1, 0, sizeof(double) * (size_t)(n - 1 - i));
    return 0;
}

void la_trsv_lower(char t, int n, const double *L, double *x)
{
    if (n <= 0)
        return;
    cblas_dtrsv(CblasRowMajor, CblasLower, tr(t), CblasNonUnit, n, L, n, x, 1);
    la_flop_count += (double)n * n;
}

int la_sym_pinv_solve(int n, double *A, const double *b, double *x, double rcond)
{
    double *w = malloc(sizeof(double) * (size_t)n);
    double *t = malloc(sizeof(double) * (size_t)n);
    int rc = -1;
    if (!w || !t || la_syev(n, A, w) != 0)
        goto out;
    double wmax = 0;
    for (int i = 0; i < n; i++)
        wmax = fmax(wmax, fabs(w[i]));
    /* x = V diag(1/w) V^T b over the kept eigenvalues (columns of A are V). */
    la_gemv('T', n, n, 1.0, A, n, b, 0.0, t);
    for (int i = 0; i < n; i++)
        t[i] = fabs(w[i]) > rcond * wmax && w[i] != 0 ? t[i] / w[i] : 0.0;
    la_gemv('N', n, n, 1.0, A, n, t, 0.0, x);
    rc = 0;
out:
    free(w);
    free(t);
    return rc;
}

int la_orthonormalize(int m, int k, double *A)
{
    double *tau = malloc(sizeof(double) * (size_t)(k > 0 ? k : 1));
    double *rdiag = malloc(sizeof(double) * (size_t)(k > 0 ? k : 1));
    int rc = -1;
    if (!tau || !rdiag)
        goto out;
    if (LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, m, k, A, k, tau) != 0)
        goto out;
    for (int j = 0; j < k; j++)
        rdiag[j] = A[(size_t)j * k + j];
    if (LAPACKE_dorgqr(LAPACK_ROW_MAJOR, m, k, k, A, k, tau) != 0)
        goto out;
    for (int j = 0; j < k; j++)
        if (rdiag[j] < 0)
            for (int i = 0; i < m; i++)
                A[(size_t)i * k + j] = -A[(size_t)i * k + j];
    la_flop_count += 4.0 * m * (double)k * k;
    rc = 0;
out:
    free(tau);
    free(rdiag);
    return rc;
}

int la_qr_full(int m, int k, const double *A, double *Q)
{
    double *tau = malloc(sizeof(double) * (size_t)(k > 0 ? k : 1));
    int rc = -1;
    if (!tau)
        return -1;
    /* Q starts as [A 0]; dorgqr with all m columns yields the full basis. */
    for (int i = 0; i < m; i++) {
        memcpy(Q + (size_t)i * m, A + (size_t)i * k, sizeof(double) * (size_t)k);
        memset(Q + (size_t)i * m + k, 0, sizeof(double) * (size_t)(m - k));
    }
    if (k > 0 && LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, m, k, Q, m, tau) != 0)
        goto out;
    if (LAPACKE_dorgqr(LAPACK_ROW_MAJOR, m, m, k, Q, m, tau) != 0)
        goto out;
    la_flop_count += 4.0 * m * (double)m * m / 3.0;
    rc = 0;
out:
    free(tau);
    return rc;
}

int la_ridge_lsq(int m, int n, const double *A, const double *b, double lambda, double *x)
{
    int extra = lambda > 0 ? n : 0;
    int rows = m + extra;
    int ldb = rows > n ? rows : n;
    double *Aa = calloc((size_t)rows * (size_t)(n > 0 ? n : 1), sizeof(double));
    double *bb = calloc((size_t)ldb, sizeof(double));
    int rc = -1;
    if (!Aa || !bb)
        goto out;
    memcpy(Aa, A, sizeof(double) * (size_t)m * n);
    memcpy(bb, b, sizeof(double) * (size_t)m);
    for (int i = 0; i < extra; i++)
        Aa[(size_t)(m + i) * n + i] = sqrt(lambda);
    if (la_gelsd(rows, n, 1, Aa, n, bb, 1, 1e-13, NULL) != 0)
        goto out;
    memcpy(x, bb, sizeof(double) * (size_t)n);
    rc = 0;
out:
    free(Aa);
    free(bb);
    return rc;
}

int la_sym_ridge_solve(int n, double *G, const double *b, double lambda, double rcond,
                       double *x)
{
    double *C = malloc(sizeof(double) * (size_t)n * n);
    int rc = -1;
    if (!C)
        return -1;
    double anorm = 0;
    for (int i = 0; i < n; i++) {
        G[(size_t)i * n + i] += lambda;
        double s = 0;
        for (int j = 0; j < n; j++)
            s += fabs(G[(size_t)i * n + j]);
        anorm = fmax(anorm, s);
    }
    /* C = the upper triangle of G in column-major order: what the row-major LAPACKE
     * calls hand LAPACK after their transposes, so the same factor and solution, without
     * the three transposes (and their allocations) of the row-major interface. */
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++)
            C[(size_t)j * n + i] = G[(size_t)i * n + j];
    memcpy(x, b, sizeof(double) * (size_t)n);
    la_flop_count += n * (double)n * n / 3.0 + 2.0 * n * n;
    double est = 0;
    /* Cholesky, accepted when its condition estimate is safe (lambda > 0 always is,
     * unless G itself was indefinite); otherwise the minimum-norm pseudo-inverse. */
    if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', n, C, n) == 0 &&
        LAPACKE_dpocon(LAPACK_COL_MAJOR, 'U', n, C, n, anorm, &est) == 0 &&
        (lambda > 0 || est > 1e3 * rcond) &&
        LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', n, 1, C, n, x, n) == 0) {
        rc = 0;
    } else if (lambda <= 0) {
        rc = la_sym_pinv_solve(n, G, b, x, rcond);
    }
    free(C);
    return rc;
}
