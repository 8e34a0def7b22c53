/*
 * gemm.c - goptim_sgemm through OpenBLAS's cblas_sgemm (row-major).
 */
#include <cblas.h>
#include <limits.h>

#include "internal.h"

goptim_status goptim_sgemm(goptim_context *ctx, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
                           float alpha, const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                           int64_t ldc) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    /* rows x cols of A and B as stored (row-major) */
    const int64_t a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
    const int64_t a_rows = trans_a ? k : m, b_rows = trans_b ? n : k;
    if (m < 0 || n < 0 || k < 0) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "sgemm: negative size m=%lld n=%lld k=%lld", (long long)m,
                     (long long)n, (long long)k);
    } else if (m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX) {
        st = gi_fail(ctx, GOPTIM_ERR_UNSUPPORTED, "sgemm: sizes above 2^31-1 need a 64-bit-index BLAS");
    } else if (lda < (a_cols > 1 ? a_cols : 1) || ldb < (b_cols > 1 ? b_cols : 1) || ldc < (n > 1 ? n : 1)) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "sgemm: leading dimension too small (lda=%lld ldb=%lld ldc=%lld)",
                     (long long)lda, (long long)ldb, (long long)ldc);
    } else if (m == 0 || n == 0) {
        /* nothing to write */
    } else if (!c || (k > 0 && ((a_rows > 0 && !a) || (b_rows > 0 && !b)))) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "sgemm: NULL matrix");
    } else if (k == 0) {
        /* C = beta*C, with beta == 0 writing zeros as BLAS does */
        for (int64_t i = 0; i < m; i++)
            for (int64_t jj = 0; jj < n; jj++) c[i * ldc + jj] = beta == 0.0f ? 0.0f : beta * c[i * ldc + jj];
    } else {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (blasint)m,
                    (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
    }
    gi_leave(ctx);
    return st;
}
