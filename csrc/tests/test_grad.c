/*
 * test_grad.c - goptim_grad_norm (L2 and inf, NaN/Inf propagation), clipping by norm
 * and by value, check_finite with unscaling, zero_grad and sgemm, on every ISA and
 * several thread counts.
 */
#include "optim_common.h"

#include <float.h>

static const int64_t lens[] = {0, 1, 3, 15, 16, 17, 1000, 100003, 8191, 8192, 8193, 300000};
#define NLENS ((int)(sizeof lens / sizeof lens[0]))
static const int thread_counts[] = {1, 2, 3, 7};

typedef struct {
    int count;
    tu_tensor *t;
    tu_list l;
} glist;

static glist make(uint64_t seed, float lo, float hi) {
    glist g;
    g.count = NLENS;
    g.t = calloc(NLENS, sizeof *g.t);
    tu_rng r = {seed};
    for (int i = 0; i < NLENS; i++) {
        g.t[i] = tu_tensor_new(lens[i]);
        tu_fill(&r, g.t[i].g, lens[i], lo, hi);
    }
    g.l = tu_list_new(g.t, NLENS);
    g.l.l.param = NULL; /* gradient functions must not need params */
    return g;
}

static void drop(glist *g) {
    for (int i = 0; i < g->count; i++) tu_tensor_free(&g->t[i]);
    free(g->t);
    tu_list_free(&g->l);
}

static double ref_l2(const glist *g) {
    double s = 0;
    for (int i = 0; i < g->count; i++)
        for (int64_t j = 0; j < g->t[i].n; j++) s += (double)g->t[i].g[j] * g->t[i].g[j];
    return sqrt(s);
}

static float ref_inf(const glist *g) {
    float m = 0;
    for (int i = 0; i < g->count; i++)
        for (int64_t j = 0; j < g->t[i].n; j++) m = fmaxf(m, fabsf(g->t[i].g[j]));
    return m;
}

static void test_norms(goptim_context *ctx, const goptim_isa *isas, int nisa) {
    glist g = make(1, -2, 2);
    const double l2 = ref_l2(&g);
    const float linf = ref_inf(&g);
    for (int ii = 0; ii < nisa; ii++) {
        CHECK_OK(goptim_context_set_isa(ctx, isas[ii]));
        for (int ti = 0; ti < 4; ti++) {
            CHECK_OK(goptim_context_set_threads(ctx, thread_counts[ti]));
            float out = -1;
            CHECK_OK(goptim_grad_norm(ctx, &g.l.l, 2.0, &out));
            CHECK(fabs(out - l2) <= 1e-6 * l2, "L2 norm %.9g, want %.9g (isa %s, %d threads)", out, l2,
                  tu_isa_name(isas[ii]), thread_counts[ti]);
            CHECK(out == (float)l2, "L2 norm %.9g is not the double sum rounded once (%.9g)", out, (float)l2);
            CHECK_OK(goptim_grad_norm(ctx, &g.l.l, INFINITY, &out));
            CHECK(out == linf, "inf norm %.9g, want %.9g", out, linf);

            /* NaN and Inf anywhere: NaN / Inf out (NaN wins) */
            const int where[] = {1, 7, 9, 11};
            for (int w = 0; w < 4; w++) {
                tu_tensor *t = &g.t[where[w]];
                int64_t j = t->n - 1;
                float keep = t->g[j];
                t->g[j] = -INFINITY;
                CHECK_OK(goptim_grad_norm(ctx, &g.l.l, 2.0, &out));
                CHECK(isinf(out) && out > 0, "L2 with -Inf at tensor %d: %g", where[w], out);
                CHECK_OK(goptim_grad_norm(ctx, &g.l.l, INFINITY, &out));
                CHECK(isinf(out) && out > 0, "inf norm with -Inf at tensor %d: %g", where[w], out);
                t->g[j] = NAN;
                CHECK_OK(goptim_grad_norm(ctx, &g.l.l, 2.0, &out));
                CHECK(isnan(out), "L2 with NaN at tensor %d: %g", where[w], out);
                CHECK_OK(goptim_grad_norm(ctx, &g.l.l, INFINITY, &out));
                CHECK(isnan(out), "inf norm with NaN at tensor %d: %g", where[w], out);
                float keep2 = g.t[2].g[0];
                g.t[2].g[0] = INFINITY; /* Inf and NaN together: NaN */
                CHECK_OK(goptim_grad_norm(ctx, &g.l.l, INFINITY, &out));
                CHECK(isnan(out), "inf norm with Inf and NaN: %g", out);
                g.t[2].g[0] = keep2;
                t->g[j] = keep;
            }
            /* first element NaN (isamax alone would miss it) */
            float k0 = g.t[11].g[0];
            g.t[11].g[0] = NAN;
            CHECK_OK(goptim_grad_norm(ctx, &g.l.l, INFINITY, &out));
            CHECK(isnan(out), "inf norm with a leading NaN: %g", out);
            g.t[11].g[0] = k0;
        }
    }
    /* huge values: no overflow in the L2 sum of squares */
    tu_tensor big = tu_tensor_new(1000);
    for (int i = 0; i < 1000; i++) big.g[i] = 1e30f;
    tu_list lb = tu_list_new(&big, 1);
    float out;
    CHECK_OK(goptim_grad_norm(ctx, &lb.l, 2.0, &out));
    CHECK(isinf(out) || fabs(out - 1e30 * sqrt(1000.0)) < 1e24, "big L2 %g", out); /* 3.16e31 fits float */
    CHECK(!isinf(out), "L2 of 1000 x 1e30 overflowed: %g", out);
    tu_list_free(&lb);
    tu_tensor_free(&big);
    /* empty list, zero-length tensors */
    goptim_tensor_list empty = {0};
    out = -1;
    CHECK_OK(goptim_grad_norm(ctx, &empty, 2.0, &out));
    CHECK(out == 0, "empty L2 %g", out);
    CHECK_OK(goptim_grad_norm(ctx, &empty, INFINITY, &out));
    CHECK(out == 0, "empty inf %g", out);
    CHECK(goptim_grad_norm(ctx, &g.l.l, 1.0, &out) == GOPTIM_ERR_INVALID_ARGUMENT, "norm_type 1 accepted");
    CHECK(goptim_grad_norm(ctx, &g.l.l, 2.0, NULL) == GOPTIM_ERR_INVALID_ARGUMENT, "NULL out accepted");
    drop(&g);
    printf("ok   grad_norm L2/inf, NaN/Inf propagation, overflow, empty\n");
}

static void test_clip(goptim_context *ctx, const goptim_isa *isas, int nisa) {
    for (int ii = 0; ii < nisa; ii++) {
        CHECK_OK(goptim_context_set_isa(ctx, isas[ii]));
        for (int ti = 0; ti < 4; ti++) {
            CHECK_OK(goptim_context_set_threads(ctx, thread_counts[ti]));
            glist g = make(2, -3, 3), w = make(2, -3, 3);
            /* by norm */
            const float norm = 123.25f;
            const float coef = (1.0f / (norm + 1e-6f)) * 10.0f;
            CHECK_OK(goptim_clip_grad_by_norm(ctx, &g.l.l, 10.0, &norm));
            for (int i = 0; i < NLENS; i++)
                for (int64_t j = 0; j < lens[i]; j++) w.t[i].g[j] *= coef;
            for (int i = 0; i < NLENS; i++) CHECK(tu_bits_equal(g.t[i].g, w.t[i].g, lens[i], NULL), "clip by norm, tensor %d", i);
            /* coefficient >= 1: unchanged */
            const float small = 1.0f;
            CHECK_OK(goptim_clip_grad_by_norm(ctx, &g.l.l, 10.0, &small));
            for (int i = 0; i < NLENS; i++) CHECK(tu_bits_equal(g.t[i].g, w.t[i].g, lens[i], NULL), "clip coef>=1 changed tensor %d", i);
            /* NaN norm: NaN coefficient, as torch (clamp keeps NaN) */
            const float nan = NAN;
            CHECK_OK(goptim_clip_grad_by_norm(ctx, &g.l.l, 10.0, &nan));
            CHECK(isnan(g.t[7].g[5]), "clip by NaN norm gave %g", g.t[7].g[5]);
            CHECK(goptim_clip_grad_by_norm(ctx, &g.l.l, 10.0, NULL) == GOPTIM_ERR_INVALID_ARGUMENT, "NULL norm");

            /* by value, NaN stays NaN */
            drop(&g);
            g = make(3, -3, 3);
            g.t[7].g[3] = NAN;
            g.t[7].g[4] = INFINITY;
            g.t[7].g[5] = -INFINITY;
            CHECK_OK(goptim_clip_grad_value(ctx, &g.l.l, 0.5));
            for (int i = 0; i < NLENS; i++)
                for (int64_t j = 0; j < lens[i]; j++) {
                    float x = g.t[i].g[j];
                    if (i == 7 && j == 3) CHECK(isnan(x), "NaN clamped to %g", x);
                    else CHECK(x >= -0.5f && x <= 0.5f, "clip value: %g", x);
                }
            CHECK(g.t[7].g[4] == 0.5f && g.t[7].g[5] == -0.5f, "Inf clamp");

            /* check_finite */
            drop(&g);
            drop(&w);
            g = make(4, -3, 3);
            w = make(4, -3, 3);
            float found = 0;
            CHECK_OK(goptim_check_finite(ctx, &g.l.l, NULL, &found));
            CHECK(found == 0, "finite grads flagged");
            for (int i = 0; i < NLENS; i++) CHECK(tu_bits_equal(g.t[i].g, w.t[i].g, lens[i], NULL), "check without inv_scale changed grads");
            const float inv = 0.125f * 3;
            CHECK_OK(goptim_check_finite(ctx, &g.l.l, &inv, &found));
            CHECK(found == 0, "finite grads flagged (unscale)");
            for (int i = 0; i < NLENS; i++) {
                for (int64_t j = 0; j < lens[i]; j++) w.t[i].g[j] *= inv;
                CHECK(tu_bits_equal(g.t[i].g, w.t[i].g, lens[i], NULL), "unscale, tensor %d", i);
            }
            found = 1.0f; /* accumulates: never cleared */
            CHECK_OK(goptim_check_finite(ctx, &g.l.l, NULL, &found));
            CHECK(found == 1.0f, "found_inf cleared");
            const int where[] = {1, 7, 11};
            for (int k = 0; k < 3; k++) {
                for (int bad = 0; bad < 2; bad++) {
                    tu_tensor *t = &g.t[where[k]];
                    float keep = t->g[t->n - 1];
                    t->g[t->n - 1] = bad ? NAN : -INFINITY;
                    found = 0;
                    CHECK_OK(goptim_check_finite(ctx, &g.l.l, NULL, &found));
                    CHECK(found == 1.0f, "non-finite in tensor %d not found", where[k]);
                    t->g[t->n - 1] = keep;
                }
            }
            /* a finite value that overflows only after unscaling is not flagged (torch checks first) */
            drop(&g);
            drop(&w);
        }
    }
    printf("ok   clip_grad_by_norm, clip_grad_value, check_finite\n");
}

static void test_zero(goptim_context *ctx) {
    for (int ti = 0; ti < 4; ti++) {
        CHECK_OK(goptim_context_set_threads(ctx, thread_counts[ti]));
        glist g = make(5, 1, 2);
        CHECK_OK(goptim_zero_grad(ctx, &g.l.l));
        for (int i = 0; i < NLENS; i++)
            for (int64_t j = 0; j < lens[i]; j++) CHECK(g.t[i].g[j] == 0 && !signbit(g.t[i].g[j]), "zero_grad left %g", g.t[i].g[j]);
        drop(&g);
    }
    printf("ok   zero_grad\n");
}

static void test_sgemm(goptim_context *ctx) {
    tu_rng r = {6};
    const int64_t M = 37, N = 29, K = 23;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
            float *a = tu_alloc((ta ? K : M) * lda), *b = tu_alloc((tb ? N : K) * ldb), *c = tu_alloc(M * ldc);
            tu_fill(&r, a, (ta ? K : M) * lda, -1, 1);
            tu_fill(&r, b, (tb ? N : K) * ldb, -1, 1);
            tu_fill(&r, c, M * ldc, -1, 1);
            double *want = malloc(sizeof(double) * (size_t)(M * ldc));
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    double s = 0;
                    for (int64_t k = 0; k < K; k++) {
                        double x = ta ? a[k * lda + i] : a[i * lda + k];
                        double y = tb ? b[j * ldb + k] : b[k * ldb + j];
                        s += x * y;
                    }
                    want[i * ldc + j] = 0.5 * s + 0.25 * c[i * ldc + j];
                }
            CHECK_OK(goptim_sgemm(ctx, ta, tb, M, N, K, 0.5f, a, lda, b, ldb, 0.25f, c, ldc));
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++)
                    CHECK(fabs(c[i * ldc + j] - want[i * ldc + j]) < 1e-5, "sgemm ta=%d tb=%d (%lld,%lld): %g vs %g", ta, tb,
                          (long long)i, (long long)j, c[i * ldc + j], want[i * ldc + j]);
            /* k == 0: C = beta*C; beta == 0 writes zeros even over NaN */
            c[0] = NAN;
            CHECK_OK(goptim_sgemm(ctx, ta, tb, M, N, 0, 1.0f, NULL, lda, NULL, ldb, 0.0f, c, ldc));
            CHECK(c[0] == 0 && c[(M - 1) * ldc + N - 1] == 0, "k=0 beta=0");
            CHECK(goptim_sgemm(ctx, ta, tb, M, N, K, 1, a, 1, b, ldb, 0, c, ldc) == GOPTIM_ERR_INVALID_ARGUMENT || M == 1,
                  "small lda accepted");
            CHECK(goptim_sgemm(ctx, ta, tb, -1, N, K, 1, a, lda, b, ldb, 0, c, ldc) == GOPTIM_ERR_INVALID_ARGUMENT, "m<0");
            CHECK(goptim_sgemm(ctx, ta, tb, M, N, K, 1, NULL, lda, b, ldb, 0, c, ldc) == GOPTIM_ERR_INVALID_ARGUMENT, "NULL a");
            CHECK_OK(goptim_sgemm(ctx, ta, tb, 0, N, K, 1, NULL, lda, NULL, ldb, 0, NULL, ldc));
            free(a);
            free(b);
            free(c);
            free(want);
        }
    printf("ok   sgemm (4 transpose combinations, k=0, errors)\n");
}

int main(void) {
    goptim_context *ctx;
    CHECK_OK(goptim_context_create(0, &ctx));
    goptim_isa isas[4];
    int nisa = tu_isas(ctx, isas);
    test_norms(ctx, isas, nisa);
    test_clip(ctx, isas, nisa);
    test_zero(ctx);
    test_sgemm(ctx);
    CHECK_OK(goptim_context_destroy(ctx));
    printf("PASS\n");
    return 0;
}
