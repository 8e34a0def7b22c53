/*
 * vector.c - goptim_dot, goptim_axpy and goptim_scal through OpenBLAS's level-1 BLAS.
 *
 * OpenBLAS takes int lengths, so a vector longer than INT_MAX is done in pieces of at
 * most INT_MAX elements; dot adds the pieces' sums in double and rounds once (a vector
 * of one piece gets cblas_sdot's result unchanged).
 *
 * alpha == 0 does not go to OpenBLAS: its saxpy returns at once and its sscal writes
 * zeros, where y + 0*x and x*0 keep a NaN or an infinity (NaN), as torch's add and mul,
 * cuBLAS's kernels and the emulated device compute them. A plain loop gives those IEEE
 * results, so every backend answers alpha == 0 alike.
 */
#include <cblas.h>
#include <limits.h>

#include "internal.h"

/* The checks goptim.h gives, in its order: n < 0, n == 0 (nothing to do), NULL pointers.
 * Returns 1 when there is work to do, 0 when there is none or the call failed (*st). */
static int vector_args(goptim_context *ctx, const char *op, int64_t n, const void *x, const void *y, int need_y,
                       goptim_status *st) {
    if (n < 0) {
        *st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: negative length %lld", op, (long long)n);
        return 0;
    }
    if (n == 0) return 0;
    if (!x || (need_y && !y)) {
        *st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "%s: NULL vector", op);
        return 0;
    }
    return 1;
}

goptim_status goptim_dot(goptim_context *ctx, int64_t n, const float *x, const float *y, float *out) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    if (vector_args(ctx, "dot", n, x, y, 1, &st)) {
        if (!out) {
            st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "dot: NULL out");
        } else if (n <= INT_MAX) {
            *out = cblas_sdot((blasint)n, x, 1, y, 1);
        } else {
            double sum = 0;
            for (int64_t i = 0; i < n; i += INT_MAX) {
                const int64_t len = n - i < INT_MAX ? n - i : INT_MAX;
                sum += (double)cblas_sdot((blasint)len, x + i, 1, y + i, 1);
            }
            *out = (float)sum;
        }
    } else if (st == GOPTIM_OK && out) {
        *out = 0.0f; /* n == 0: the empty sum (goptim.h checks NULL pointers only when n > 0) */
    }
    gi_leave(ctx);
    return st;
}

goptim_status goptim_axpy(goptim_context *ctx, int64_t n, float alpha, const float *x, float *y) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    if (vector_args(ctx, "axpy", n, x, y, 1, &st)) {
        if (alpha == 0.0f) {
            for (int64_t i = 0; i < n; i++) y[i] = y[i] + 0.0f * x[i];
        } else {
            for (int64_t i = 0; i < n; i += INT_MAX) {
                const int64_t len = n - i < INT_MAX ? n - i : INT_MAX;
                cblas_saxpy((blasint)len, alpha, x + i, 1, y + i, 1);
            }
        }
    }
    gi_leave(ctx);
    return st;
}

goptim_status goptim_scal(goptim_context *ctx, int64_t n, float alpha, float *x) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    if (vector_args(ctx, "scal", n, x, x, 0, &st)) {
        if (alpha == 0.0f) {
            for (int64_t i = 0; i < n; i++) x[i] = x[i] * 0.0f;
        } else {
            for (int64_t i = 0; i < n; i += INT_MAX) {
                const int64_t len = n - i < INT_MAX ? n - i : INT_MAX;
                cblas_sscal((blasint)len, alpha, x + i, 1);
            }
        }
    }
    gi_leave(ctx);
    return st;
}
