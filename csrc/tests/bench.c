/*
 * bench.c - the CPU kernels against a copy of the same bytes, measured in the same run.
 *
 *   build/goptim_bench [millions of params, default 64] [iterations, default 10]
 *
 * For every ISA and thread count: each optimizer on one tensor of N params and on
 * 10,000 equal tensors (same N in total), reported as effective GB/s (the bytes a
 * fused step must move: Adam/AdamW 28 B per param, SGD-momentum, Adagrad and RMSprop
 * 20 B) and as a fraction of the copy bandwidth (bytes read + written by a
 * multi-threaded memcpy of a large buffer, with the same thread count). Built by
 * CMake, not run by ctest.
 */
#include "optim_common.h"

#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int iters = 10;

/* best-of time per call, after a warm-up call */
#define TIME_BEST(expr)                                 \
    ({                                                  \
        double best_ = 1e30;                            \
        expr;                                           \
        for (int it_ = 0; it_ < iters; it_++) {         \
            double t0_ = now();                         \
            expr;                                       \
            double dt_ = now() - t0_;                   \
            if (dt_ < best_) best_ = dt_;               \
        }                                               \
        best_;                                          \
    })

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
        {"rmsprop", {.kind = OPT_RMSPROP, .rms = {.lr = 0.01, .alpha = 0.99, .eps = 1e-8}}, 20},
    };
    const int nopt = (int)(sizeof opts / sizeof opts[0]);

    printf("goptim CPU bench: %lld params, best of %d, %d CPUs\n", (long long)n, iters, (int)maxthreads);
    printf("%-8s %-7s %-14s %-8s %10s %9s %9s %9s\n", "isa", "threads", "optimizer", "layout", "ms/step", "GB/s",
           "copy GB/s", "fraction");
    for (int ii = 0; ii < nisa; ii++) {
        CHECK_OK(goptim_context_set_isa(ctx, isas[ii]));
        for (int th = 1; th <= maxthreads; th++) {
            CHECK_OK(goptim_context_set_threads(ctx, th));
            double tc = TIME_BEST(CHECK_OK(goptim_copy(ctx, cdst, csrc, cn)));
            double copy_gbs = 2.0 * (double)cn * 4 / tc / 1e9;
            for (int oi = 0; oi < nopt; oi++) {
                for (int layout = 0; layout < 2; layout++) {
                    tu_list *l = layout ? &ls : &l1;
                    int64_t step = 2; /* steady state (SGD: buffer read) */
                    double t = TIME_BEST(CHECK_OK(opt_step(ctx, &opts[oi].c, &l->l, step++, NULL)));
                    double gbs = opts[oi].bytes * (double)n / t / 1e9;
                    printf("%-8s %-7d %-14s %-8s %10.2f %9.1f %9.1f %9.3f\n", tu_isa_name(isas[ii]), th, opts[oi].name,
                           layout ? "10k" : "1tensor", t * 1e3, gbs, copy_gbs, gbs / copy_gbs);
                    fflush(stdout);
                }
            }
            /* gradient utilities, 4 B read (+4 B written for clip) per param */
            float norm;
            double tn = TIME_BEST(CHECK_OK(goptim_grad_norm(ctx, &l1.l, 2.0, &norm)));
            double ti = TIME_BEST(CHECK_OK(goptim_grad_norm(ctx, &l1.l, INFINITY, &norm)));
            float found = 0;
            double tf = TIME_BEST(CHECK_OK(goptim_check_finite(ctx, &l1.l, NULL, &found)));
            printf("%-8s %-7d %-14s %-8s %10.2f %9.1f %9.1f %9.3f\n", tu_isa_name(isas[ii]), th, "grad_norm_l2", "1tensor",
                   tn * 1e3, 4.0 * n / tn / 1e9, copy_gbs, 4.0 * n / tn / 1e9 / copy_gbs);
            printf("%-8s %-7d %-14s %-8s %10.2f %9.1f %9.1f %9.3f\n", tu_isa_name(isas[ii]), th, "grad_norm_inf", "1tensor",
                   ti * 1e3, 4.0 * n / ti / 1e9, copy_gbs, 4.0 * n / ti / 1e9 / copy_gbs);
            printf("%-8s %-7d %-14s %-8s %10.2f %9.1f %9.1f %9.3f\n", tu_isa_name(isas[ii]), th, "check_finite", "1tensor",
                   tf * 1e3, 4.0 * n / tf / 1e9, copy_gbs, 4.0 * n / tf / 1e9 / copy_gbs);
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
