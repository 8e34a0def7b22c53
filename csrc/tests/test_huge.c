/*
 * test_huge.c - one tensor of more than 2^31 elements (8.6 GB): int64 indexing
 * through the list loop, the pool and the gradient kernels. Opt-in, as it needs the
 * memory: GOPTIM_TEST_HUGE=1 ctest -R test_huge (otherwise it passes as skipped).
 */
#include "testutil.h"

int main(void) {
    const char *on = getenv("GOPTIM_TEST_HUGE");
    if (!on || !*on || strcmp(on, "0") == 0) {
        printf("skipped: set GOPTIM_TEST_HUGE=1 to run (needs 8.6 GB)\n");
        return 0;
    }
    const int64_t n = ((int64_t)1 << 31) + 33;
    goptim_context *ctx;
    CHECK_OK(goptim_context_create(0, &ctx));
    float *g = NULL, *p = NULL;
    CHECK_OK(goptim_alloc(ctx, n, &g));
    CHECK_OK(goptim_fill(ctx, g, 1.0f, n));
    goptim_tensor_list l = {1, &n, &p, &g, {NULL, NULL, NULL}};
    float out = 0, found = 0;
    CHECK_OK(goptim_grad_norm(ctx, &l, 2.0, &out));
    CHECK(out == (float)sqrt((double)n), "L2 of %lld ones: %.9g", (long long)n, out);
    const int64_t far = n - 7; /* beyond 2^31 */
    g[far] = NAN;
    CHECK_OK(goptim_check_finite(ctx, &l, NULL, &found));
    CHECK(found == 1.0f, "NaN at %lld not found", (long long)far);
    CHECK_OK(goptim_grad_norm(ctx, &l, INFINITY, &out));
    CHECK(isnan(out), "inf norm with NaN at %lld: %g", (long long)far, out);
    g[far] = 3.0f;
    CHECK_OK(goptim_clip_grad_value(ctx, &l, 2.0));
    CHECK(g[far] == 2.0f && g[0] == 1.0f && g[n - 1] == 1.0f, "clip_grad_value at the far end");
    /* an optimizer over the same memory: SGD without momentum, param = grad buffer's twin */
    CHECK_OK(goptim_alloc(ctx, n, &p));
    goptim_sgd_params sgd = {.lr = 0.5};
    CHECK_OK(goptim_sgd_step(ctx, &l, &sgd, 1, NULL));
    CHECK(p[0] == -0.5f && p[far] == -1.0f && p[n - 1] == -0.5f, "sgd at the far end: %g %g %g", p[0], p[far], p[n - 1]);
    CHECK_OK(goptim_free(ctx, p));
    CHECK_OK(goptim_zero_grad(ctx, &l));
    CHECK(g[far] == 0 && g[n - 1] == 0, "zero_grad at the far end");
    CHECK_OK(goptim_free(ctx, g));
    CHECK_OK(goptim_context_destroy(ctx));
    printf("PASS (%lld elements)\n", (long long)n);
    return 0;
}
