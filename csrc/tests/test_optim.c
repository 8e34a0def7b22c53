/*
 * test_optim.c - every optimizer configuration against the double-precision reference
 * at many lengths, and bit-identity across instruction sets, thread counts and list
 * layouts (one call over many tensors == one call per tensor).
 */
#include "optim_common.h"

#define STEPS 8
static const int64_t lengths[] = {0, 1, 3, 15, 16, 17, 1000, 100003};
#define NLENGTHS ((int)(sizeof lengths / sizeof lengths[0]))
static const int thread_counts[] = {1, 2, 3, 7};
#define NTHREADS ((int)(sizeof thread_counts / sizeof thread_counts[0]))

/* Inputs of one run: initial params and the gradients of every step. */
typedef struct {
    int64_t n;
    float *p0;
    float *grads; /* STEPS * n */
} inputs;

static inputs make_inputs(int64_t n, uint64_t seed) {
    tu_rng r = {seed};
    inputs in = {n, tu_alloc(n), tu_alloc(n * STEPS)};
    tu_fill(&r, in.p0, n, -1, 1);
    tu_fill(&r, in.grads, n * STEPS, -1, 1);
    /* a few exact zeros and tiny values */
    for (int64_t i = 0; i < n * STEPS; i += 97) in.grads[i] = 0;
    for (int64_t i = 5; i < n * STEPS; i += 101) in.grads[i] *= 1e-6f;
    return in;
}

static void reset(const opt_config *c, tu_tensor *t, const inputs *in) {
    memcpy(t->p, in->p0, (size_t)in->n * sizeof(float));
    for (int k = 0; k < 3; k++)
        for (int64_t i = 0; i < in->n; i++) t->s[k][i] = (float)opt_state_init(c, k);
}

static void run(goptim_context *ctx, const opt_config *c, tu_tensor *t, const inputs *in) {
    reset(c, t, in);
    tu_list l = tu_list_new(t, 1);
    for (int s = 1; s <= STEPS; s++) {
        memcpy(t->g, in->grads + (size_t)(s - 1) * (size_t)in->n, (size_t)in->n * sizeof(float));
        CHECK_OK(opt_step(ctx, c, &l.l, s, NULL));
    }
    tu_list_free(&l);
}

static void check_same(const char *what, const opt_config *c, const tu_tensor *a, const tu_tensor *b, const char *where) {
    int64_t i = 0;
    unsigned mask = opt_state_mask(c);
    CHECK(tu_bits_equal(a->p, b->p, a->n, &i), "%s %s n=%lld %s: param[%lld] %.9g vs %.9g", c->name, what,
          (long long)a->n, where, (long long)i, a->p[i], b->p[i]);
    CHECK(tu_bits_equal(a->g, b->g, a->n, &i), "%s %s n=%lld %s: grad[%lld]", c->name, what, (long long)a->n, where,
          (long long)i);
    for (int k = 0; k < 3; k++)
        if (mask >> k & 1)
            CHECK(tu_bits_equal(a->s[k], b->s[k], a->n, &i), "%s %s n=%lld %s: state%d[%lld] %.9g vs %.9g", c->name,
                  what, (long long)a->n, where, k, (long long)i, a->s[k][i], b->s[k][i]);
}

/* The portable kernel against the exact float reference, bit for bit. */
static void check_reference(const opt_config *c, const tu_tensor *t, const inputs *in) {
    int64_t n = in->n;
    tu_tensor r = tu_tensor_new(n);
    for (int64_t i = 0; i < n; i++) {
        r.p[i] = in->p0[i];
        for (int k = 0; k < 3; k++) r.s[k][i] = (float)opt_state_init(c, k);
    }
    for (int st = 1; st <= STEPS; st++) {
        memcpy(r.g, in->grads + (size_t)(st - 1) * (size_t)n, (size_t)n * sizeof(float));
        ref_step(c, n, r.p, r.g, r.s[0], r.s[1], r.s[2], st);
    }
    check_same("reference", c, t, &r, "portable vs exact float reference");
    tu_tensor_free(&r);
}

/* Each configuration and length: reference, then every ISA and thread count bit-equal. */
static void test_lengths(goptim_context *ctx, const goptim_isa *isas, int nisa) {
    for (int ci = 0; ci < TU_NCONFIGS; ci++) {
        const opt_config *c = &tu_configs[ci];
        for (int li = 0; li < NLENGTHS; li++) {
            int64_t n = lengths[li];
            inputs in = make_inputs(n, 1000 + (uint64_t)ci * 31 + (uint64_t)li);
            tu_tensor base = tu_tensor_new(n), t = tu_tensor_new(n);
            CHECK_OK(goptim_context_set_isa(ctx, GOPTIM_ISA_PORTABLE));
            CHECK_OK(goptim_context_set_threads(ctx, 1));
            run(ctx, c, &base, &in);
            check_reference(c, &base, &in);
            for (int ii = 0; ii < nisa; ii++) {
                CHECK_OK(goptim_context_set_isa(ctx, isas[ii]));
                for (int ti = 0; ti < NTHREADS; ti++) {
                    CHECK_OK(goptim_context_set_threads(ctx, thread_counts[ti]));
                    run(ctx, c, &t, &in);
                    char where[64];
                    snprintf(where, sizeof where, "isa=%s threads=%d", tu_isa_name(isas[ii]), thread_counts[ti]);
                    check_same("vs portable/1 thread", c, &base, &t, where);
                }
            }
            tu_tensor_free(&base);
            tu_tensor_free(&t);
            free(in.p0);
            free(in.grads);
        }
        printf("ok   %-36s lengths 0..100003, %d ISAs x threads 1,2,3,7 bit-identical\n", c->name, nisa);
    }
}

/* Many tensors in one call (threads span tensors) == one call per tensor. */
static void test_lists(goptim_context *ctx, const goptim_isa *isas, int nisa) {
    enum { K = 2008 };
    int64_t ns[K];
    for (int i = 0; i < NLENGTHS; i++) ns[i] = lengths[i];
    for (int i = NLENGTHS; i < K; i++) ns[i] = (i * 7) % 41; /* includes empty tensors */
    for (int ci = 0; ci < TU_NCONFIGS; ci++) {
        const opt_config *c = &tu_configs[ci];
        tu_tensor *a = calloc(K, sizeof *a), *b = calloc(K, sizeof *b);
        inputs *in = calloc(K, sizeof *in);
        for (int i = 0; i < K; i++) {
            a[i] = tu_tensor_new(ns[i]);
            b[i] = tu_tensor_new(ns[i]);
            in[i] = make_inputs(ns[i], 77 + (uint64_t)i);
        }
        CHECK_OK(goptim_context_set_isa(ctx, GOPTIM_ISA_PORTABLE));
        CHECK_OK(goptim_context_set_threads(ctx, 1));
        for (int i = 0; i < K; i++) run(ctx, c, &a[i], &in[i]);
        tu_list l = tu_list_new(b, K);
        for (int ii = 0; ii < nisa; ii++) {
            CHECK_OK(goptim_context_set_isa(ctx, isas[ii]));
            for (int ti = 0; ti < NTHREADS; ti++) {
                CHECK_OK(goptim_context_set_threads(ctx, thread_counts[ti]));
                for (int i = 0; i < K; i++) reset(c, &b[i], &in[i]);
                for (int s = 1; s <= STEPS; s++) {
                    for (int i = 0; i < K; i++)
                        memcpy(b[i].g, in[i].grads + (size_t)(s - 1) * (size_t)ns[i], (size_t)ns[i] * sizeof(float));
                    CHECK_OK(opt_step(ctx, c, &l.l, s, NULL));
                }
                char where[96];
                for (int i = 0; i < K; i++) {
                    snprintf(where, sizeof where, "list of %d, tensor %d, isa=%s threads=%d", K, i,
                             tu_isa_name(isas[ii]), thread_counts[ti]);
                    check_same("list vs per-tensor", c, &a[i], &b[i], where);
                }
            }
        }
        tu_list_free(&l);
        for (int i = 0; i < K; i++) {
            tu_tensor_free(&a[i]);
            tu_tensor_free(&b[i]);
            free(in[i].p0);
            free(in[i].grads);
        }
        free(a);
        free(b);
        free(in);
    }
    printf("ok   lists of %d tensors (threads spanning tensors) == per-tensor calls, all configs\n", K);
}

int main(void) {
    goptim_context *ctx;
    CHECK_OK(goptim_context_create(0, &ctx));
    goptim_isa isas[4];
    int nisa = tu_isas(ctx, isas);
    printf("ISAs on this machine:");
    for (int i = 0; i < nisa; i++) printf(" %s", tu_isa_name(isas[i]));
    printf("\n");
    test_lengths(ctx, isas, nisa);
    test_lists(ctx, isas, nisa);
    CHECK_OK(goptim_context_destroy(ctx));
    printf("PASS\n");
    return 0;
}
