/* nt_metric: the parameter metric S = L L^* of the NT class (see regime_nt_impl.h). */
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "regime_nt_impl.h"

#define NT_KERNEL_BLOCK 512 /* neurons per block of the n x n kernel's z^2 (n x block) */

int nt_metric_init(NtMetric *m, int d, int Nq, int N, const double *Q, const double *W0,
                   const double *a0)
{
    size_t nq = Nq > 0 ? (size_t)Nq : 1, nn = N > 0 ? (size_t)N : 1;
    memset(m, 0, sizeof *m);
    m->d = d, m->Nq = Nq, m->N = N;
    m->Wh = malloc(sizeof(double) * nn * nq);
    m->D = malloc(sizeof(double) * nq * nq);
    m->T1 = malloc(sizeof(double) * nn * nq);
    m->T2 = malloc(sizeof(double) * nq * nq);
    m->t = malloc(sizeof(double) * nn);
    if (!m->Wh || !m->D || !m->T1 || !m->T2 || !m->t) {
        nt_metric_free(m);
        return -1;
    }
    la_gemm('N', 'N', N, Nq, d, 1.0, W0, d, Q, d, 0.0, m->Wh, Nq);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < Nq; k++)
            m->T1[(size_t)i * Nq + k] = a0[i] * a0[i] * m->Wh[(size_t)i * Nq + k];
    la_gemm('T', 'N', Nq, Nq, N, 1.0, m->Wh, Nq, m->T1, Nq, 0.0, m->D, Nq);
    for (int i = 0; i < Nq; i++)
        for (int j = 0; j < i; j++) {
            double v = 0.5 * (m->D[(size_t)i * Nq + j] + m->D[(size_t)j * Nq + i]);
            m->D[(size_t)i * Nq + j] = m->D[(size_t)j * Nq + i] = v;
        }
    return 0;
}

void nt_metric_free(NtMetric *m)
{
    if (!m)
        return;
    free(m->Wh);
    free(m->D);
    free(m->T1);
    free(m->T2);
    free(m->t);
    memset(m, 0, sizeof *m);
}

void nt_metric_apply(const NtMetric *m, const double *A, int lda, const double *C, int ldc,
                     double *A2, int lda2, double *C2, int ldc2)
{
    int Nq = m->Nq, N = m->N, k = m->d - m->Nq;
    /* t_i = wh_i^T A wh_i; A2 = Wh^T diag(t) Wh */
    la_gemm('N', 'N', N, Nq, Nq, 1.0, m->Wh, Nq, A, lda, 0.0, m->T1, Nq);
    for (int i = 0; i < N; i++) {
        const double *w = m->Wh + (size_t)i * Nq;
        double *r = m->T1 + (size_t)i * Nq;
        double s = la_dot((size_t)Nq, w, r);
        for (int l = 0; l < Nq; l++)
            r[l] = s * w[l];
    }
    la_gemm('T', 'N', Nq, Nq, N, 1.0, m->Wh, Nq, m->T1, Nq, 0.0, A2, lda2);
    /* + 2 (A D + D A) = 2 (A D + (A D)^T), exactly symmetric */
    la_gemm('N', 'N', Nq, Nq, Nq, 1.0, A, lda, m->D, Nq, 0.0, m->T2, Nq);
    for (int i = 0; i < Nq; i++)
        for (int j = 0; j <= i; j++) {
            double v = 0.5 * (A2[(size_t)i * lda2 + j] + A2[(size_t)j * lda2 + i]) +
                       2.0 * (m->T2[(size_t)i * Nq + j] + m->T2[(size_t)j * Nq + i]);
            A2[(size_t)i * lda2 + j] = A2[(size_t)j * lda2 + i] = v;
        }
    if (k > 0)
        la_gemm('N', 'N', Nq, k, Nq, 2.0, m->D, Nq, C, ldc, 0.0, C2, ldc2);
}

int nt_metric_kernel(const NtMetric *m, long n, const double *U, int ldu, const double *X,
                     double *K)
{
    int Nq = m->Nq, N = m->N, d = m->d, B = N < NT_KERNEL_BLOCK ? N : NT_KERNEL_BLOCK;
    double *Z = malloc(sizeof(double) * (size_t)n * (B > 0 ? B : 1));
    double *UD = malloc(sizeof(double) * (size_t)n * (Nq > 0 ? Nq : 1));
    double *G = malloc(sizeof(double) * (size_t)n * n);
    double *H = malloc(sizeof(double) * (size_t)n * n);
    int rc = -1;
    if (!Z || !UD || !G || !H)
        goto out;
    /* sum_i z_ji^2 z_li^2 over blocks of neurons */
    memset(K, 0, sizeof(double) * (size_t)n * n);
    for (int i0 = 0; i0 < N; i0 += B) {
        int b = N - i0 < B ? N - i0 : B;
        la_gemm('N', 'T', (int)n, b, Nq, 1.0, U, ldu, m->Wh + (size_t)i0 * Nq, Nq, 0.0, Z, b);
        for (size_t q = 0; q < (size_t)n * b; q++)
            Z[q] *= Z[q];
        la_syrk('N', (int)n, b, 1.0, Z, b, 1.0, K, (int)n);
    }
    /* + 4 (u^T D u') <x, x'> */
    la_gemm('N', 'N', (int)n, Nq, Nq, 1.0, U, ldu, m->D, Nq, 0.0, UD, Nq);
    la_gemm('N', 'T', (int)n, (int)n, Nq, 1.0, UD, Nq, U, ldu, 0.0, G, (int)n);
    la_syrk('N', (int)n, d, 1.0, X, d, 0.0, H, (int)n);
    for (long j = 0; j < n; j++)
        for (long l = 0; l <= j; l++) {
            double g = 0.5 * (G[(size_t)j * n + l] + G[(size_t)l * n + j]);
            double v = K[(size_t)j * n + l] + 4.0 * g * H[(size_t)j * n + l];
            K[(size_t)j * n + l] = K[(size_t)l * n + j] = v;
        }
    rc = 0;
out:
    free(Z);
    free(UD);
    free(G);
    free(H);
    return rc;
}
