/* regime_nt_impl: what regime_nt.c, nt_metric.c and nt_population.c share — the basis of
 * the NT class and its parameter metric. Private to those files. No MPI, no HDF5. */
#ifndef LS_REGIME_NT_IMPL_H
#define LS_REGIME_NT_IMPL_H

/* Orthonormal basis Q (d x d, row-major) whose first Nq = min(N, d) columns span the rows
 * of W0 (N x d), the rest their complement; 0 or -1. */
int nt_basis(int d, int N, const double *W0, double *Q, int *Nq);

/* The NT parameters (da, G) in R^N x R^{N x d} (SPEC §1; c apart) give
 *     M = L(da, G) = sum_i da_i w_i w_i^T + a0_i (w_i g_i^T + g_i w_i^T),
 * and the minimum-||(da, G)|| parameters of a given M are L^* u with M = S u, S = L L^*:
 *     S[X] = sum_i (w_i^T X w_i) w_i w_i^T + 2 a0_i^2 (X w_i w_i^T + w_i w_i^T X)
 * (SPEC §6's tangent kernel K_theta0 / 2), ||(da, G)||^2 = <u, S u>_F. In regime_nt.c's Q
 * basis (w_i = Q1 wh_i, since the rows of W0 lie in span Q1) and X = [[A, C], [C^T, 0]]:
 *     A' = sum_i (wh_i^T A wh_i) wh_i wh_i^T + 2 (A D + D A),   C' = 2 D C,
 * D = sum_i a0_i^2 wh_i wh_i^T (Nq x Nq): S maps the class to itself, O(N Nq^2 + Nq^2 d). */
typedef struct {
    int d, Nq, N;
    double *Wh;    /* N x Nq: W0 Q1 */
    double *D;     /* Nq x Nq */
    double *T1;    /* N x Nq scratch */
    double *T2;    /* Nq x Nq scratch */
    double *t;     /* N scratch */
} NtMetric;

/* Q (d x d, first Nq columns spanning the rows of W0), W0 N x d, a0 N. 0 or -1 (memory). */
int nt_metric_init(NtMetric *m, int d, int Nq, int N, const double *Q, const double *W0,
                   const double *a0);
void nt_metric_free(NtMetric *m);
/* (A2, C2) = S (A, C): A Nq x Nq symmetric (row stride lda), C Nq x (d - Nq) (ldc); the
 * outputs must not alias the inputs. A2 exactly symmetric. */
void nt_metric_apply(const NtMetric *m, const double *A, int lda, const double *C, int ldc,
                     double *A2, int lda2, double *C2, int ldc2);
/* The n x n kernel K(x_j, x_l) = <x_j x_j^T, S[x_l x_l^T]>
 *     = sum_i z_ji^2 z_li^2 + 4 (u_j^T D u_l) <x_j, x_l>,   z_ji = <w_i, x_j> = <wh_i, u_j>,
 * U n x Nq (u_j = Q1^T x_j, row stride ldu), X n x d (row stride d). K n x n. 0 or -1. */
int nt_metric_kernel(const NtMetric *m, long n, const double *U, int ldu, const double *X,
                     double *K);

#endif
