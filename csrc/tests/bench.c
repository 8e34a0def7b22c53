/*
 * bench.c - the CPU kernels against a copy of the same bytes, measured in the same run.
 *
 *   build/goptim_bench [millions of params, default 64] [iterations, default 10]
 *
 * For every ISA and thread count: each optimizer on one tensor of N params and on
 * 10,000 equal tensors (same N in total), reported as effective GB/s (the bytes a
 * fused step must move: Adam/AdamW 28 B per param, SGD-momentum, Adagrad and RMSprop
 * 20 B) and as a fraction of the copy bandwidth (bytes read + written by a plain
 * memcpy of 14 B per param, split over the same number of threads). Copy and
 * step timings alternate, and the best of each is taken, so a machine shared with
 * other work affects both alike. Built by CMake, not run by ctest.
 */
#include "optim_common.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

/* The baseline: a plain multi-threaded memcpy, each thread copying one contiguous
 * part (glibc uses non-temporal stores for parts this large). */
typedef struct {
    float *dst;
    const float *src;
    size_t n;
} copy_part;

static void *copy_thread(void *p) {
    copy_part *c = (copy_part *)p;
    memcpy(c->dst, c->src, c->n * sizeof(float));
    return NULL;
}

static void memcpy_threads(float *dst, const float *src, int64_t n, int threads) {
    pthread_t th[64];
    copy_part parts[64];
    if (threads > 64) threads = 64;
    for (int i = 0; i < threads; i++) {
        int64_t b = n / threads * i, e = i == threads - 1 ? n : n / threads * (i + 1);
        parts[i] = (copy_part){dst + b, src + b, (size_t)(e - b)};
        if (i > 0) CHECK(pthread_create(&th[i], NULL, copy_thread, &parts[i]) == 0, "pthread_create");
    }
    copy_thread(&parts[0]);
    for (int i = 1; i < threads; i++) pthread_join(th[i], NULL);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int iters = 10;

typedef struct {
    const char *name;
    opt_config c;
    double bytes; /* per param */
} bench_opt;

int main(int argc, char **argv) {
    int64_t n = (argc > 1 ? atoll(argv[1]) : 64) << 20;
    if (argc > 2) iters = atoi(argv[2]);
    goptim_context *ctx;
    CHECK_OK(goptim_context_create(0, &ctx));
    int32_t maxthreads;
    CHECK_OK(goptim_context_threads(ctx, &maxthreads));
    goptim_isa isas[4];
    int nisa = tu_isas(ctx, isas);

    float *buf[5];
    for (int i = 0; i < 5; i++) {
        CHECK_OK(goptim_alloc(ctx, n, &buf[i]));
        CHECK_OK(goptim_fill(ctx, buf[i], i == 1 ? 0.01f : 0.5f, n));
    }
    /* copy source/destination: 2 x 14 B per param (as many bytes as Adam moves) */
    const int64_t cn = n * 7 / 2;
    float *csrc, *cdst;
    CHECK_OK(goptim_alloc(ctx, cn, &csrc));
    CHECK_OK(goptim_alloc(ctx, cn, &cdst));
    CHECK_OK(goptim_fill(ctx, csrc, 1.0f, cn));

    tu_tensor one = {n, buf[0], buf[1], {buf[2], buf[3], buf[4]}};
    tu_list l1 = tu_list_new(&one, 1);
    enum { SMALL = 10000 };
    tu_tensor *small = calloc(SMALL, sizeof *small);
    for (int i = 0; i < SMALL; i++) {
        int64_t b = n / SMALL * i, e = i == SMALL - 1 ? n : n / SMALL * (i + 1);
        small[i] = (tu_tensor){e - b, buf[0] + b, buf[1] + b, {buf[2] + b, buf[3] + b, buf[4] + b}};
    }
    tu_list ls = tu_list_new(small, SMALL);

    const bench_opt opts[] = {
        {"adam", {.kind = OPT_ADAM, .adam = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}}, 28},
        {"adamw", {.kind = OPT_ADAM, .adam = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01, .decoupled_weight_decay = 1}}, 28},
        {"sgd_momentum", {.kind = OPT_SGD, .sgd = {.lr = 0.01, .momentum = 0.9}}, 20},
        {"adagrad", {.kind = OPT_ADAGRAD, .adagrad = {.lr = 0.01, .eps = 1e-10}}, 20},
        {"radam", {.kind = OPT_RADAM, .radam = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}}, 28},
        {"adadelta", {.kind = OPT_ADADELTA, .adadelta = {.lr = 1.0, .rho = 0.9, .eps = 1e-6}}, 28},
        {"rprop", {.kind = OPT_RPROP, .rprop = {.lr = 1e-2, .etaminus = 0.5, .etaplus = 1.2, .step_size_min = 1e-6, .step_size_max = 50}}, 28},
        {"adamax", {.kind = OPT_ADAMAX, .adamax = {.lr = 2e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}}, 28},
        {"rmsprop", {.kind = OPT_RMSPROP, .rms = {.lr = 0.01, .alpha = 0.99, .eps = 1e-8}}, 20},
        {"nadam", {.kind = OPT_NADAM, .nadam = {.lr = 2e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .momentum_decay = 4e-3}}, 28},
        /* before t0 ax is written, not read: param read+written, grad read, ax written */
        {"asgd", {.kind = OPT_ASGD, .asgd = {.lr = 1e-2, .lambd = 1e-4, .alpha = 0.75, .t0 = 1e6}}, 16},
        {"lion", {.kind = OPT_LION, .lion = {.lr = 1e-4, .beta1 = 0.9, .beta2 = 0.99}}, 20},
        {"ademamix", {.kind = OPT_ADEMAMIX, .ademamix = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .beta3 = 0.9999, .alpha = 2, .eps = 1e-8}}, 36},
        /* two passes: LAMB with the trust ratio and the global norm given (p, g, m, v read, m, v written; p, m, v
         * read, p written); LARS with momentum (p, g read for the norms; SGD momentum's pass) */
        {"lamb", {.kind = OPT_LAMB, .lamb = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6, .weight_decay = 0.01, .max_grad_norm = 1, .bias_correction = 1, .grad_averaging = 1, .adam_w_mode = 1, .global_grad_norm = &tu_global_norm}}, 40},
        {"lars", {.kind = OPT_LARS, .lars = {.lr = 0.01, .momentum = 0.9, .trust_coefficient = 0.02, .eps = 1e-8, .clip = 1}}, 28},
    };
    const int nopt = (int)(sizeof opts / sizeof opts[0]);

    printf("goptim CPU bench: %lld params, best of %d, %d CPUs\n", (long long)n, iters, (int)maxthreads);
    printf("%-8s %-7s %-14s %-8s %10s %9s %9s %9s\n", "isa", "threads", "optimizer", "layout", "ms/step", "GB/s",
           "copy GB/s", "fraction");
    for (int ii = 0; ii < nisa; ii++) {
        CHECK_OK(goptim_context_set_isa(ctx, isas[ii]));
        for (int th = 1; th <= maxthreads; th++) {
            CHECK_OK(goptim_context_set_threads(ctx, th));
            {
                double tg = 1e30, tm = 1e30;
                for (int it = -1; it < iters; it++) {
                    double t0 = now();
                    memcpy_threads(cdst, csrc, cn, th);
                    double t1 = now();
                    CHECK_OK(goptim_copy(ctx, cdst, csrc, cn));
                    double t2 = now();
                    if (it >= 0 && t1 - t0 < tm) tm = t1 - t0;
                    if (it >= 0 && t2 - t1 < tg) tg = t2 - t1;
                }
                printf("%-8s %-7d %-14s %-8s %10.2f %9.1f %9.1f %9.3f\n", tu_isa_name(isas[ii]), th, "goptim_copy",
                       "1tensor", tg * 1e3, 8.0 * (double)cn / tg / 1e9, 8.0 * (double)cn / tm / 1e9, tm / tg);
            }
            for (int oi = 0; oi < nopt + 3; oi++) {
                for (int layout = 0; layout < (oi < nopt ? 2 : 1); layout++) {
                    tu_list *l = layout ? &ls : &l1;
                    int64_t step = 2; /* steady state (SGD: buffer read) */
                    double tc = 1e30, t = 1e30, bytes;
                    const char *name;
                    float out = 0;
                    for (int it = -1; it < iters; it++) {
                        double t0 = now();
                        memcpy_threads(cdst, csrc, cn, th);
                        double t1 = now();
                        if (oi < nopt) CHECK_OK(opt_step(ctx, &opts[oi].c, &l->l, step++, NULL));
                        else if (oi == nopt) CHECK_OK(goptim_grad_norm(ctx, &l->l, 2.0, &out));
                        else if (oi == nopt + 1) CHECK_OK(goptim_grad_norm(ctx, &l->l, INFINITY, &out));
                        else CHECK_OK(goptim_check_finite(ctx, &l->l, NULL, &out));
                        double t2 = now();
                        if (it >= 0 && t1 - t0 < tc) tc = t1 - t0;
                        if (it >= 0 && t2 - t1 < t) t = t2 - t1;
                    }
                    if (oi < nopt) {
                        name = opts[oi].name;
                        bytes = opts[oi].bytes;
                    } else {
                        static const char *gn[] = {"grad_norm_l2", "grad_norm_inf", "check_finite"};
                        name = gn[oi - nopt];
                        bytes = 4; /* read once */
                    }
                    const double copy_gbs = 2.0 * (double)cn * 4 / tc / 1e9;
                    const double gbs = bytes * (double)n / t / 1e9;
                    printf("%-8s %-7d %-14s %-8s %10.2f %9.1f %9.1f %9.3f\n", tu_isa_name(isas[ii]), th, name,
                           layout ? "10k" : "1tensor", t * 1e3, gbs, copy_gbs, gbs / copy_gbs);
                    fflush(stdout);
                }
            }
        }
    }
    tu_list_free(&l1);
    tu_list_free(&ls);
    free(small);
    for (int i = 0; i < 5; i++) CHECK_OK(goptim_free(ctx, buf[i]));
    CHECK_OK(goptim_free(ctx, csrc));
    CHECK_OK(goptim_free(ctx, cdst));
    CHECK_OK(goptim_context_destroy(ctx));
    return 0;
}
