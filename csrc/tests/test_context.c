/*
 * test_context.c - contexts, threads, ISA selection, status strings, memory, argument
 * errors (never a crash, always a message), and concurrent calls on one context.
 */
#include "optim_common.h"

#include <pthread.h>
#include <unistd.h>

#define EXPECT_INVALID(ctx, call)                                                                          \
    do {                                                                                                   \
        goptim_status st_ = (call);                                                                        \
        CHECK(st_ == GOPTIM_ERR_INVALID_ARGUMENT, "%s returned %d, want INVALID_ARGUMENT", #call, (int)st_); \
        if (ctx) CHECK(goptim_context_last_error(ctx)[0] != 0, "%s left no message", #call);              \
    } while (0)

static void test_basics(void) {
    for (int s = 0; s <= 6; s++) CHECK(goptim_status_string((goptim_status)s) != NULL, "status %d", s);
    CHECK(strcmp(goptim_status_string(GOPTIM_OK), "ok") == 0, "ok string");
    CHECK(strcmp(goptim_backend_name(), "cpu") == 0, "backend name %s", goptim_backend_name());
    CHECK(goptim_backend_is_device() == 0, "cpu is not a device backend");
    CHECK(goptim_context_last_error(NULL) != NULL, "last_error(NULL)");

    goptim_context *ctx;
    CHECK(goptim_context_create(0, NULL) == GOPTIM_ERR_INVALID_ARGUMENT, "create(NULL)");
    CHECK_OK(goptim_context_create(0, &ctx));
    CHECK(strcmp(goptim_context_last_error(ctx), "") == 0, "fresh context has an error");
    int32_t n;
    CHECK_OK(goptim_context_threads(ctx, &n));
    CHECK(n == (int32_t)sysconf(_SC_NPROCESSORS_ONLN), "threads %d", n);
    CHECK_OK(goptim_context_set_threads(ctx, 5));
    CHECK_OK(goptim_context_threads(ctx, &n));
    CHECK(n == 5, "threads %d after set 5", n);
    CHECK_OK(goptim_context_set_threads(ctx, -1));
    CHECK_OK(goptim_context_threads(ctx, &n));
    CHECK(n == (int32_t)sysconf(_SC_NPROCESSORS_ONLN), "threads %d after set -1", n);
    CHECK_OK(goptim_context_set_threads(ctx, 1));

    goptim_isa isa;
    CHECK_OK(goptim_context_isa(ctx, &isa));
    CHECK(isa != GOPTIM_ISA_AUTO, "auto is resolved at creation (%d)", (int)isa);
    CHECK_OK(goptim_context_set_isa(ctx, GOPTIM_ISA_PORTABLE));
    CHECK_OK(goptim_context_isa(ctx, &isa));
    CHECK(isa == GOPTIM_ISA_PORTABLE, "isa %d", (int)isa);
    CHECK_OK(goptim_context_set_isa(ctx, GOPTIM_ISA_AUTO));
    EXPECT_INVALID(ctx, goptim_context_set_isa(ctx, (goptim_isa)99));
#if defined(__x86_64__)
    CHECK(goptim_context_set_isa(ctx, GOPTIM_ISA_NEON) == GOPTIM_ERR_UNSUPPORTED, "NEON on x86-64");
    CHECK(goptim_context_last_error(ctx)[0] != 0, "no message for unsupported ISA");
#endif
    CHECK_OK(goptim_context_synchronize(ctx));
    CHECK_OK(goptim_context_destroy(ctx));

    /* many contexts, create/destroy churn with threads */
    for (int i = 0; i < 20; i++) {
        CHECK_OK(goptim_context_create(3, &ctx));
        CHECK_OK(goptim_context_set_threads(ctx, 2 + i % 3));
        CHECK_OK(goptim_context_destroy(ctx));
    }
    printf("ok   status strings, backend, context, threads, ISA\n");
}

static void test_memory(goptim_context *ctx) {
    float *a, *b, *z0, *z1;
    CHECK_OK(goptim_alloc(ctx, 0, &z0));
    CHECK_OK(goptim_alloc(ctx, 0, &z1));
    CHECK(z0 && z1 && z0 != z1, "n == 0 gives unique pointers");
    CHECK_OK(goptim_free(ctx, z0));
    CHECK_OK(goptim_free(ctx, z1));
    CHECK_OK(goptim_free(ctx, NULL));
    EXPECT_INVALID(ctx, goptim_alloc(ctx, -1, &a));
    EXPECT_INVALID(ctx, goptim_alloc(ctx, 4, NULL));
    CHECK(goptim_alloc(ctx, INT64_MAX, &a) == GOPTIM_ERR_OUT_OF_MEMORY, "absurd size");

    /* 1<<20 floats (4 MiB) and up: 2 MiB-aligned for huge pages; 1<<20 + 5 also
     * checks that the padding up to the next 2 MiB is not assumed zeroed or used. */
    const int64_t sizes[] = {1, 3, 17, 1000, 70000, (1 << 20) - 1, 1 << 20, (1 << 20) + 5};
    const int nsizes = (int)(sizeof sizes / sizeof sizes[0]);
    for (int t = 1; t <= 3; t += 2) {
        CHECK_OK(goptim_context_set_threads(ctx, t));
        for (int si = 0; si < nsizes; si++) {
            int64_t n = sizes[si];
            CHECK_OK(goptim_alloc(ctx, n, &a));
            CHECK_OK(goptim_alloc(ctx, n, &b));
            CHECK(((uintptr_t)a & 63) == 0 && ((uintptr_t)b & 63) == 0, "64-byte alignment");
            if (n >= (1 << 20))
                CHECK(((uintptr_t)a & ((2u << 20) - 1)) == 0 && ((uintptr_t)b & ((2u << 20) - 1)) == 0,
                      "2 MiB alignment of %lld floats", (long long)n);
            for (int64_t i = 0; i < n; i++) CHECK(a[i] == 0 && b[i] == 0, "alloc not zeroed at %lld", (long long)i);
            CHECK_OK(goptim_fill(ctx, a, 2.5f, n));
            for (int64_t i = 0; i < n; i++) CHECK(a[i] == 2.5f, "fill at %lld", (long long)i);
            CHECK_OK(goptim_fill(ctx, a, -0.0f, n));
            CHECK(signbit(a[n - 1]), "fill -0");
            float *h = tu_alloc(n), *h2 = tu_alloc(n);
            tu_rng r = {(uint64_t)n};
            tu_fill(&r, h, n, -1, 1);
            CHECK_OK(goptim_copy_from_host(ctx, a, h, n));
            CHECK_OK(goptim_copy(ctx, b, a, n));
            CHECK_OK(goptim_copy_to_host(ctx, h2, b, n));
            CHECK(tu_bits_equal(h, h2, n, NULL), "copy round trip n=%lld", (long long)n);
            if (n > 4) { /* overlapping copy behaves as memmove */
                CHECK_OK(goptim_copy(ctx, a + 1, a, n - 1));
                CHECK(a[1] == h[0] && a[n - 1] == h[n - 2], "overlapping copy");
            }
            free(h);
            free(h2);
            CHECK_OK(goptim_free(ctx, a));
            CHECK_OK(goptim_free(ctx, b));
        }
    }
    /* streaming stores: unaligned destination, odd lengths, every ISA */
    {
        const int64_t n = 1000003;
        float *src = tu_alloc(n + 8), *dst = tu_alloc(n + 8);
        tu_rng r = {11};
        tu_fill(&r, src, n + 8, -1, 1);
        goptim_isa isas[4];
        int nisa = tu_isas(ctx, isas);
        for (int ii = 0; ii < nisa; ii++) {
            CHECK_OK(goptim_context_set_isa(ctx, isas[ii]));
            for (int t = 1; t <= 2; t++) {
                CHECK_OK(goptim_context_set_threads(ctx, t));
                memset(dst, 0, (size_t)(n + 8) * 4);
                CHECK_OK(goptim_copy(ctx, dst + 3, src + 1, n));
                CHECK(dst[2] == 0 && dst[n + 3] == 0, "copy wrote outside");
                CHECK(tu_bits_equal(dst + 3, src + 1, n, NULL), "streamed copy (isa %s)", tu_isa_name(isas[ii]));
                CHECK_OK(goptim_fill(ctx, dst + 1, -7.25f, n));
                CHECK(dst[0] == 0 && dst[n + 1] == src[n - 1], "fill wrote outside");
                for (int64_t i = 1; i <= n; i++) CHECK(dst[i] == -7.25f, "streamed fill at %lld", (long long)i);
            }
        }
        CHECK_OK(goptim_context_set_isa(ctx, GOPTIM_ISA_AUTO));
        free(src);
        free(dst);
    }
    EXPECT_INVALID(ctx, goptim_copy(ctx, NULL, z0, 3));
    EXPECT_INVALID(ctx, goptim_copy(ctx, z0, z0, -3));
    EXPECT_INVALID(ctx, goptim_fill(ctx, NULL, 1, 3));
    CHECK_OK(goptim_copy(ctx, NULL, NULL, 0));
    CHECK_OK(goptim_fill(ctx, NULL, 1, 0));
    printf("ok   alloc (aligned, zeroed, n=0), free, copy, fill\n");
}

static void test_errors(goptim_context *ctx) {
    tu_tensor t = tu_tensor_new(100);
    tu_list l = tu_list_new(&t, 1);
    goptim_sgd_params sgd = {.lr = 0.1, .momentum = 0.9};
    goptim_adam_params adam = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .amsgrad = 1};
    goptim_adagrad_params ada = {.lr = 0.1, .eps = 1e-10};
    goptim_rmsprop_params rms = {.lr = 0.1, .alpha = 0.99, .eps = 1e-8, .momentum = 0.9, .centered = 1};
    float f = 0, one = 1;

    /* NULL context: every entry point */
    EXPECT_INVALID(NULL, goptim_context_destroy(NULL));
    EXPECT_INVALID(NULL, goptim_context_set_threads(NULL, 1));
    int32_t n32;
    EXPECT_INVALID(NULL, goptim_context_threads(NULL, &n32));
    EXPECT_INVALID(NULL, goptim_context_set_isa(NULL, GOPTIM_ISA_AUTO));
    goptim_isa isa;
    EXPECT_INVALID(NULL, goptim_context_isa(NULL, &isa));
    EXPECT_INVALID(NULL, goptim_context_synchronize(NULL));
    float *p;
    EXPECT_INVALID(NULL, goptim_alloc(NULL, 1, &p));
    EXPECT_INVALID(NULL, goptim_free(NULL, NULL));
    EXPECT_INVALID(NULL, goptim_copy(NULL, &f, &f, 1));
    EXPECT_INVALID(NULL, goptim_copy_from_host(NULL, &f, &f, 1));
    EXPECT_INVALID(NULL, goptim_copy_to_host(NULL, &f, &f, 1));
    EXPECT_INVALID(NULL, goptim_fill(NULL, &f, 0, 1));
    EXPECT_INVALID(NULL, goptim_sgd_step(NULL, &l.l, &sgd, 1, NULL));
    EXPECT_INVALID(NULL, goptim_adam_step(NULL, &l.l, &adam, 1, NULL));
    EXPECT_INVALID(NULL, goptim_adagrad_step(NULL, &l.l, &ada, 1, NULL));
    EXPECT_INVALID(NULL, goptim_rmsprop_step(NULL, &l.l, &rms, 1, NULL));
    EXPECT_INVALID(NULL, goptim_grad_norm(NULL, &l.l, 2, &f));
    EXPECT_INVALID(NULL, goptim_clip_grad_by_norm(NULL, &l.l, 1, &f));
    EXPECT_INVALID(NULL, goptim_clip_grad_value(NULL, &l.l, 1));
    EXPECT_INVALID(NULL, goptim_check_finite(NULL, &l.l, NULL, &f));
    EXPECT_INVALID(NULL, goptim_zero_grad(NULL, &l.l));
    EXPECT_INVALID(NULL, goptim_sgemm(NULL, 0, 0, 1, 1, 1, 1, &f, 1, &f, 1, 0, &f, 1));

    /* NULL list / hyperparameters / bad step */
    EXPECT_INVALID(ctx, goptim_sgd_step(ctx, NULL, &sgd, 1, NULL));
    EXPECT_INVALID(ctx, goptim_sgd_step(ctx, &l.l, NULL, 1, NULL));
    EXPECT_INVALID(ctx, goptim_adam_step(ctx, &l.l, &adam, 0, NULL));
    EXPECT_INVALID(ctx, goptim_adagrad_step(ctx, &l.l, NULL, 1, NULL));
    EXPECT_INVALID(ctx, goptim_rmsprop_step(ctx, &l.l, &rms, -3, NULL));
    EXPECT_INVALID(ctx, goptim_grad_norm(ctx, NULL, 2, &f));
    EXPECT_INVALID(ctx, goptim_zero_grad(ctx, NULL));

    /* bad lists */
    goptim_tensor_list bad = l.l;
    bad.count = -1;
    EXPECT_INVALID(ctx, goptim_sgd_step(ctx, &bad, &sgd, 1, NULL));
    EXPECT_INVALID(ctx, goptim_zero_grad(ctx, &bad));
    bad = l.l;
    bad.numel = NULL;
    EXPECT_INVALID(ctx, goptim_adam_step(ctx, &bad, &adam, 1, NULL));
    bad = l.l;
    bad.grad = NULL;
    EXPECT_INVALID(ctx, goptim_grad_norm(ctx, &bad, 2, &f));
    bad = l.l;
    bad.param = NULL;
    EXPECT_INVALID(ctx, goptim_adagrad_step(ctx, &bad, &ada, 1, NULL));
    CHECK_OK(goptim_zero_grad(ctx, &bad)); /* gradient functions do not need params */
    int64_t negative = -5;
    bad = l.l;
    bad.numel = &negative;
    EXPECT_INVALID(ctx, goptim_rmsprop_step(ctx, &bad, &rms, 1, NULL));
    EXPECT_INVALID(ctx, goptim_check_finite(ctx, &bad, NULL, &f));
    EXPECT_INVALID(ctx, goptim_check_finite(ctx, &l.l, NULL, NULL));
    float *nullp = NULL;
    bad = l.l;
    bad.param = &nullp;
    EXPECT_INVALID(ctx, goptim_sgd_step(ctx, &bad, &sgd, 1, NULL));
    bad = l.l;
    bad.grad = &nullp;
    EXPECT_INVALID(ctx, goptim_clip_grad_value(ctx, &bad, 1));
    /* state the options need: array or pointer missing */
    for (int k = 0; k < 3; k++) {
        bad = l.l;
        bad.state[k] = NULL;
        EXPECT_INVALID(ctx, goptim_adam_step(ctx, &bad, &adam, 1, NULL));
        EXPECT_INVALID(ctx, goptim_rmsprop_step(ctx, &bad, &rms, 1, NULL));
        bad.state[k] = &nullp;
        EXPECT_INVALID(ctx, goptim_adam_step(ctx, &bad, &adam, 1, NULL));
        EXPECT_INVALID(ctx, goptim_rmsprop_step(ctx, &bad, &rms, 1, NULL));
        CHECK(strstr(goptim_context_last_error(ctx), "state") != NULL, "message names the state: %s",
              goptim_context_last_error(ctx));
    }
    bad = l.l;
    bad.state[0] = NULL;
    EXPECT_INVALID(ctx, goptim_sgd_step(ctx, &bad, &sgd, 1, NULL));
    EXPECT_INVALID(ctx, goptim_adagrad_step(ctx, &bad, &ada, 1, NULL));
    /* state the options do not need may be NULL */
    goptim_sgd_params plain = {.lr = 0.1};
    CHECK_OK(goptim_sgd_step(ctx, &bad, &plain, 1, NULL));
    bad = l.l;
    bad.state[1] = NULL;
    bad.state[2] = NULL;
    goptim_rmsprop_params rplain = {.lr = 0.1, .alpha = 0.99, .eps = 1e-8};
    CHECK_OK(goptim_rmsprop_step(ctx, &bad, &rplain, 1, NULL));
    bad.state[1] = l.l.state[1];
    goptim_adam_params aplain = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    CHECK_OK(goptim_adam_step(ctx, &bad, &aplain, 1, NULL));
    /* empty tensors may have NULL pointers; empty lists may have NULL arrays */
    int64_t zero = 0;
    goptim_tensor_list empties = {1, &zero, &nullp, &nullp, {&nullp, &nullp, &nullp}};
    CHECK_OK(goptim_adam_step(ctx, &empties, &adam, 1, NULL));
    goptim_tensor_list none = {0};
    CHECK_OK(goptim_rmsprop_step(ctx, &none, &rms, 1, NULL));
    CHECK_OK(goptim_check_finite(ctx, &none, &one, &f));
    printf("last error example: %s\n", goptim_context_last_error(ctx));

    tu_list_free(&l);
    tu_tensor_free(&t);
    printf("ok   errors: NULL/negative arguments, missing state, messages\n");
}

/* Several threads stepping their own tensors through one context: the calls are
 * serialised and each result equals the one computed alone. */
typedef struct {
    goptim_context *ctx;
    tu_tensor t;
} worker_arg;

static void *worker(void *p) {
    worker_arg *w = (worker_arg *)p;
    tu_list l = tu_list_new(&w->t, 1);
    goptim_adam_params adam = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    for (int s = 1; s <= 30; s++) CHECK_OK(goptim_adam_step(w->ctx, &l.l, &adam, s, NULL));
    tu_list_free(&l);
    return NULL;
}

static void test_concurrency(void) {
    goptim_context *ctx;
    CHECK_OK(goptim_context_create(3, &ctx));
    enum { W = 4, N = 150000 };
    worker_arg args[W];
    pthread_t th[W];
    for (int i = 0; i < W; i++) {
        args[i].ctx = ctx;
        args[i].t = tu_tensor_new(N);
        tu_rng r = {1};
        tu_fill(&r, args[i].t.p, N, -1, 1);
        tu_fill(&r, args[i].t.g, N, -1, 1);
        CHECK(pthread_create(&th[i], NULL, worker, &args[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < W; i++) pthread_join(th[i], NULL);
    for (int i = 1; i < W; i++) CHECK(tu_bits_equal(args[0].t.p, args[i].t.p, N, NULL), "concurrent result %d differs", i);
    for (int i = 0; i < W; i++) tu_tensor_free(&args[i].t);

    /* many short parallel calls: pool hand-offs */
    tu_tensor t = tu_tensor_new(70000);
    tu_list l = tu_list_new(&t, 1);
    for (int i = 0; i < 3000; i++) CHECK_OK(goptim_zero_grad(ctx, &l.l));
    tu_list_free(&l);
    tu_tensor_free(&t);
    CHECK_OK(goptim_context_destroy(ctx));

    /* late and early workers: sleeps of varying length between calls, 7 threads on
     * however many CPUs; results equal the single-threaded ones */
    goptim_context *c1, *c7;
    CHECK_OK(goptim_context_create(1, &c1));
    CHECK_OK(goptim_context_create(7, &c7));
    tu_tensor x = tu_tensor_new(300001), y = tu_tensor_new(300001);
    tu_rng r = {3};
    tu_fill(&r, x.p, x.n, -1, 1);
    tu_fill(&r, x.g, x.n, -1, 1);
    memcpy(y.p, x.p, (size_t)x.n * 4);
    memcpy(y.g, x.g, (size_t)x.n * 4);
    tu_list lx = tu_list_new(&x, 1), ly = tu_list_new(&y, 1);
    goptim_rmsprop_params rms = {.lr = 1e-3, .alpha = 0.9, .eps = 1e-8, .momentum = 0.5, .centered = 1};
    for (int s = 1; s <= 300; s++) {
        CHECK_OK(goptim_rmsprop_step(c1, &lx.l, &rms, s, NULL));
        if (s % 3 == 0) usleep((useconds_t)(tu_next(&r) % 400));
        CHECK_OK(goptim_rmsprop_step(c7, &ly.l, &rms, s, NULL));
    }
    CHECK(tu_bits_equal(x.p, y.p, x.n, NULL), "7 threads with sleeps differ from 1 thread");
    tu_list_free(&lx);
    tu_list_free(&ly);
    tu_tensor_free(&x);
    tu_tensor_free(&y);
    CHECK_OK(goptim_context_destroy(c1));
    CHECK_OK(goptim_context_destroy(c7));
    printf("ok   concurrent calls on one context, 3000 pool hand-offs, late workers\n");
}

int main(void) {
    test_basics();
    goptim_context *ctx;
    CHECK_OK(goptim_context_create(0, &ctx));
    test_memory(ctx);
    test_errors(ctx);
    CHECK_OK(goptim_context_destroy(ctx));
    test_concurrency();
    printf("PASS\n");
    return 0;
}
