/*
 * test_schedulefree.c - Schedule-Free AdamW and goptim_lerp_state against the exact
 * float reference (schedulefree_math.h in a plain scalar loop) on every ISA, thread count
 * and length, with the step extras (unscale, clip, found_inf); the first step not reading
 * z; the host values; and the argument checks of both entry points.
 */
#include "optim_common.h"
#include "schedulefree_math.h"

#define STEPS 7
static const int64_t lengths[] = {0, 1, 3, 15, 16, 17, 1000, 100003};
#define NLENGTHS ((int)(sizeof lengths / sizeof lengths[0]))
static const int thread_counts[] = {1, 2, 3};
#define NTHREADS ((int)(sizeof thread_counts / sizeof thread_counts[0]))

static const goptim_schedulefree_adamw_params configs[] = {
    {.lr = 0.0025, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_lr_power = 2},
    {.lr = 0.02, .beta1 = 0.5, .beta2 = 0.9, .eps = 1e-6, .weight_decay = 0.05, .warmup_steps = 3, .r = 0.5,
     .weight_lr_power = 1.5},
    {.lr = 0.01, .beta1 = 0.2, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.01, .warmup_steps = 10, .r = 2},
};
#define NCONFIGS ((int)(sizeof configs / sizeof configs[0]))

/* The host values before step t of a run under c: weight_sum and lr_max advanced by the
 * library's own host arithmetic. */
static goptim_schedulefree_adamw_params host_before(const goptim_schedulefree_adamw_params *c, int64_t t) {
    goptim_schedulefree_adamw_params h = *c;
    h.weight_sum = 0;
    h.lr_max = -1;
    for (int64_t s = 1; s < t; s++) {
        double ws, lm;
        CHECK_OK(goptim_schedulefree_adamw_next(&h, s, &ws, &lm));
        h.weight_sum = ws;
        h.lr_max = lm;
    }
    return h;
}

/* Inputs: initial params, every step's gradients (some zero, some tiny). */
static float *make_grads(int64_t n, uint64_t seed) {
    tu_rng r = {seed};
    float *g = tu_alloc(n * STEPS);
    tu_fill(&r, g, n * STEPS, -1, 1);
    for (int64_t i = 0; i < n * STEPS; i += 97) g[i] = 0;
    for (int64_t i = 5; i < n * STEPS; i += 101) g[i] *= 1e-6f;
    return g;
}

/* Extras of a step: 0 none, 1 grad_scale, 2 clip. */
typedef struct {
    float scale, norm, found;
    goptim_step_aux aux;
} extras;

static const goptim_step_aux *make_aux(extras *e, int kind) {
    memset(&e->aux, 0, sizeof e->aux);
    e->scale = 4.0f;
    e->norm = 3.0f;
    e->found = 0.0f;
    if (kind == 0) return NULL;
    if (kind == 1) e->aux.grad_scale = &e->scale;
    if (kind == 2) {
        e->aux.clip_norm = &e->norm;
        e->aux.max_norm = 1.5;
    }
    e->aux.found_inf = &e->found;
    return &e->aux;
}

/* The run's reference: the shared math element by element, in order. */
static void ref_run(const goptim_schedulefree_adamw_params *c, int kind, int64_t n, const float *p0,
                    const float *grads, float *p, float *g, float *z, float *v) {
    memcpy(p, p0, (size_t)n * sizeof(float));
    memset(v, 0, (size_t)n * sizeof(float));
    for (int t = 1; t <= STEPS; t++) {
        const goptim_schedulefree_adamw_params h = host_before(c, t);
        const gm_sf_adamw_k k = gm_sf_adamw_scalars(&h, t);
        const float gmul = kind == 2 ? gm_clip_coef(3.0f, 1.5f) : 1.0f;
        for (int64_t i = 0; i < n; i++) {
            float gi = grads[(size_t)(t - 1) * (size_t)n + (size_t)i];
            if (kind == 1) gi = gm_unscale(gi, 4.0f, 1);
            g[i] = gi;
            gm_sf_adamw_update(&k, &p[i], gm_grad_use(gi, gmul), &z[i], &v[i], k.wd, t == 1);
        }
    }
}

static void kernel_run(goptim_context *ctx, const goptim_schedulefree_adamw_params *c, int kind, tu_tensor *t,
                       const float *p0, const float *grads) {
    memcpy(t->p, p0, (size_t)t->n * sizeof(float));
    for (int64_t i = 0; i < t->n; i++) t->s[0][i] = NAN; /* z is not read at step 1 */
    memset(t->s[1], 0, (size_t)t->n * sizeof(float));
    tu_list l = tu_list_new(t, 1);
    extras e;
    for (int s = 1; s <= STEPS; s++) {
        memcpy(t->g, grads + (size_t)(s - 1) * (size_t)t->n, (size_t)t->n * sizeof(float));
        const goptim_step_aux *aux = make_aux(&e, kind);
        const goptim_schedulefree_adamw_params h = host_before(c, s);
        CHECK_OK(goptim_schedulefree_adamw_step(ctx, &l.l, &h, s, aux));
    }
    tu_list_free(&l);
}

static void check_bits(const char *what, const float *a, const float *b, int64_t n, const char *where) {
    int64_t i = 0;
    CHECK(tu_bits_equal(a, b, n, &i), "%s %s n=%lld: [%lld] %.9g vs %.9g", what, where, (long long)n, (long long)i,
          a[i], b[i]);
}

static void test_steps(goptim_context *ctx, const goptim_isa *isas, int nisa) {
    for (int ci = 0; ci < NCONFIGS; ci++) {
        for (int kind = 0; kind < 3; kind++) {
            for (int li = 0; li < NLENGTHS; li++) {
                const int64_t n = lengths[li];
                tu_rng r = {(uint64_t)(100 * ci + li)};
                float *p0 = tu_alloc(n);
                tu_fill(&r, p0, n, -1, 1);
                float *grads = make_grads(n, (uint64_t)(7 * ci + li));
                tu_tensor ref = tu_tensor_new(n);
                ref_run(&configs[ci], kind, n, p0, grads, ref.p, ref.g, ref.s[0], ref.s[1]);
                for (int a = 0; a < nisa; a++) {
                    CHECK_OK(goptim_context_set_isa(ctx, isas[a]));
                    for (int ti = 0; ti < NTHREADS; ti++) {
                        CHECK_OK(goptim_context_set_threads(ctx, thread_counts[ti]));
                        tu_tensor t = tu_tensor_new(n);
                        kernel_run(ctx, &configs[ci], kind, &t, p0, grads);
                        char where[96];
                        snprintf(where, sizeof where, "config %d extras %d %s threads %d", ci, kind,
                                 tu_isa_name(isas[a]), thread_counts[ti]);
                        check_bits("param", t.p, ref.p, n, where);
                        check_bits("z", t.s[0], ref.s[0], n, where);
                        check_bits("exp_avg_sq", t.s[1], ref.s[1], n, where);
                        if (kind == 1) check_bits("unscaled grad", t.g, ref.g, n, where);
                        else
                            check_bits("grad (not written)", t.g, grads + (size_t)(STEPS - 1) * (size_t)n, n, where);
                        tu_tensor_free(&t);
                    }
                }
                tu_tensor_free(&ref);
                free(p0);
                free(grads);
            }
        }
    }
    CHECK_OK(goptim_context_set_isa(ctx, GOPTIM_ISA_AUTO));
    printf("ok   steps == exact float reference, %d configs x {none, unscale, clip} x %d lengths x %d ISAs x %d "
           "thread counts\n",
           NCONFIGS, NLENGTHS, nisa, NTHREADS);
}

/* found_inf set: nothing changes, z's NaN included (the first step is skipped whole). */
static void test_found_inf(goptim_context *ctx) {
    const int64_t n = 37;
    tu_tensor t = tu_tensor_new(n);
    tu_rng r = {3};
    tu_fill(&r, t.p, n, -1, 1);
    tu_fill(&r, t.g, n, -1, 1);
    for (int64_t i = 0; i < n; i++) t.s[0][i] = NAN;
    tu_tensor before = tu_tensor_new(n);
    memcpy(before.p, t.p, (size_t)n * 4);
    memcpy(before.g, t.g, (size_t)n * 4);
    memcpy(before.s[0], t.s[0], (size_t)n * 4);
    tu_list l = tu_list_new(&t, 1);
    float scale = 2, found = 1;
    goptim_step_aux aux = {.grad_scale = &scale, .found_inf = &found};
    const goptim_schedulefree_adamw_params h = host_before(&configs[0], 1);
    CHECK_OK(goptim_schedulefree_adamw_step(ctx, &l.l, &h, 1, &aux));
    check_bits("param", t.p, before.p, n, "found_inf");
    check_bits("grad", t.g, before.g, n, "found_inf");
    check_bits("z", t.s[0], before.s[0], n, "found_inf");
    check_bits("exp_avg_sq", t.s[1], before.s[1], n, "found_inf");
    tu_list_free(&l);
    tu_tensor_free(&t);
    tu_tensor_free(&before);
    printf("ok   found_inf skips the step\n");
}

/* goptim_lerp_state against gm_lerp for every slot and weights on both branches. */
static void test_lerp(goptim_context *ctx, const goptim_isa *isas, int nisa) {
    static const double weights[] = {0.1, 1 - 1 / 0.9, 0.5, 1.0, -4.0, 0.0, 1 - 1 / 0.3};
    for (int a = 0; a < nisa; a++) {
        CHECK_OK(goptim_context_set_isa(ctx, isas[a]));
        for (int ti = 0; ti < NTHREADS; ti++) {
            CHECK_OK(goptim_context_set_threads(ctx, thread_counts[ti]));
            for (int li = 0; li < NLENGTHS; li++) {
                const int64_t n = lengths[li];
                for (int slot = 0; slot < GOPTIM_MAX_STATE; slot++) {
                    for (size_t wi = 0; wi < sizeof weights / sizeof weights[0]; wi++) {
                        tu_tensor t = tu_tensor_new(n);
                        tu_rng r = {(uint64_t)(li * 31 + slot)};
                        tu_fill(&r, t.p, n, -2, 2);
                        tu_fill(&r, t.s[slot], n, -2, 2);
                        float *want = tu_alloc(n);
                        const gm_lerp_w w = gm_lerp_weight(weights[wi]);
                        for (int64_t i = 0; i < n; i++) want[i] = gm_lerp(t.p[i], t.s[slot][i], w);
                        tu_list l = tu_list_new(&t, 1);
                        l.l.grad = NULL; /* not read */
                        for (int k = 0; k < GOPTIM_MAX_STATE; k++)
                            if (k != slot) l.l.state[k] = NULL;
                        CHECK_OK(goptim_lerp_state(ctx, &l.l, slot, weights[wi]));
                        char where[80];
                        snprintf(where, sizeof where, "lerp slot %d weight %g %s threads %d", slot, weights[wi],
                                 tu_isa_name(isas[a]), thread_counts[ti]);
                        check_bits("param", t.p, want, n, where);
                        tu_list_free(&l);
                        tu_tensor_free(&t);
                        free(want);
                    }
                }
            }
        }
    }
    CHECK_OK(goptim_context_set_isa(ctx, GOPTIM_ISA_AUTO));
    printf("ok   lerp_state == gm_lerp, every slot, weights on both branches\n");
}

static void test_arguments(goptim_context *ctx) {
    tu_tensor ts[2] = {tu_tensor_new(5), tu_tensor_new(3)};
    tu_list l = tu_list_new(ts, 2);
    const goptim_schedulefree_adamw_params h = host_before(&configs[0], 1);
    double ws, lm;
    CHECK(goptim_schedulefree_adamw_step(NULL, &l.l, &h, 1, NULL) == GOPTIM_ERR_INVALID_ARGUMENT, "NULL ctx");
    CHECK(goptim_schedulefree_adamw_step(ctx, &l.l, NULL, 1, NULL) == GOPTIM_ERR_INVALID_ARGUMENT, "NULL hp");
    CHECK(goptim_schedulefree_adamw_step(ctx, &l.l, &h, 0, NULL) == GOPTIM_ERR_INVALID_ARGUMENT, "step 0");
    CHECK(goptim_schedulefree_adamw_step(ctx, NULL, &h, 1, NULL) == GOPTIM_ERR_INVALID_ARGUMENT, "NULL list");
    float *const *s1 = l.l.state[1];
    l.l.state[1] = NULL;
    CHECK(goptim_schedulefree_adamw_step(ctx, &l.l, &h, 1, NULL) == GOPTIM_ERR_INVALID_ARGUMENT, "no exp_avg_sq");
    l.l.state[1] = s1;
    CHECK(goptim_schedulefree_adamw_next(NULL, 1, &ws, &lm) == GOPTIM_ERR_INVALID_ARGUMENT, "next NULL hp");
    CHECK(goptim_schedulefree_adamw_next(&h, 1, NULL, &lm) == GOPTIM_ERR_INVALID_ARGUMENT, "next NULL out");
    CHECK(goptim_schedulefree_adamw_next(&h, 0, &ws, &lm) == GOPTIM_ERR_INVALID_ARGUMENT, "next step 0");

    CHECK(goptim_lerp_state(NULL, &l.l, 0, 0.5) == GOPTIM_ERR_INVALID_ARGUMENT, "lerp NULL ctx");
    CHECK(goptim_lerp_state(ctx, &l.l, -1, 0.5) == GOPTIM_ERR_INVALID_ARGUMENT, "lerp slot -1");
    CHECK(goptim_lerp_state(ctx, &l.l, GOPTIM_MAX_STATE, 0.5) == GOPTIM_ERR_INVALID_ARGUMENT, "lerp slot max");
    CHECK(goptim_lerp_state(ctx, NULL, 0, 0.5) == GOPTIM_ERR_INVALID_ARGUMENT, "lerp NULL list");
    float *const *s0 = l.l.state[0];
    l.l.state[0] = NULL;
    CHECK(goptim_lerp_state(ctx, &l.l, 0, 0.5) == GOPTIM_ERR_INVALID_ARGUMENT, "lerp NULL state array");
    l.l.state[0] = s0;
    l.param[1] = NULL;
    CHECK(goptim_lerp_state(ctx, &l.l, 0, 0.5) == GOPTIM_ERR_INVALID_ARGUMENT, "lerp NULL param");
    l.numel[1] = 0; /* an empty tensor's pointers are not read */
    CHECK_OK(goptim_lerp_state(ctx, &l.l, 0, 0.5));
    l.numel[1] = -1;
    CHECK(goptim_lerp_state(ctx, &l.l, 0, 0.5) == GOPTIM_ERR_INVALID_ARGUMENT, "lerp negative numel");
    l.l.count = 0;
    l.l.param = NULL;
    CHECK_OK(goptim_lerp_state(ctx, &l.l, 0, 0.5));
    tu_list_free(&l);
    tu_tensor_free(&ts[0]);
    tu_tensor_free(&ts[1]);
    printf("ok   argument checks\n");
}

/* The host values: the reference's Python floats, including warmup, the zero-weight
 * path (lr 0: weight_sum stays 0, ckp1 = 0) and lr_max keeping its maximum. */
static void test_host(void) {
    goptim_schedulefree_adamw_params h = {.lr = 0.0, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                                          .weight_lr_power = 2, .weight_sum = 0, .lr_max = -1};
    double ws, lm;
    CHECK_OK(goptim_schedulefree_adamw_next(&h, 1, &ws, &lm));
    CHECK(ws == 0 && lm == 0, "lr 0: weight_sum %g lr_max %g", ws, lm);
    CHECK(gm_sf_adamw_host(&h, 1).ckp1 == 0, "lr 0: ckp1 must be 0");
    h.lr = 0.02;
    h.warmup_steps = 4;
    const gm_sf_adamw_h a = gm_sf_adamw_host(&h, 2); /* k = 1 < 4: sched = 2/4 */
    CHECK(a.lr == 0.02 * 0.5 && a.lr_max == 0.01 && a.weight_sum == pow(0.01, 2) && a.ckp1 == 1.0,
          "warmup: lr %.17g lr_max %.17g weight_sum %.17g ckp1 %.17g", a.lr, a.lr_max, a.weight_sum, a.ckp1);
    h.lr_max = 0.5;
    h.weight_sum = 1;
    CHECK_OK(goptim_schedulefree_adamw_next(&h, 9, &ws, &lm));
    CHECK(lm == 0.5 && ws == 1.25, "lr_max kept: weight_sum %.17g lr_max %.17g", ws, lm);
    printf("ok   host values\n");
}

int main(void) {
    goptim_context *ctx;
    CHECK_OK(goptim_context_create(0, &ctx));
    goptim_isa isas[4];
    int nisa = tu_isas(ctx, isas);
    test_host();
    test_arguments(ctx);
    test_found_inf(ctx);
    test_lerp(ctx, isas, nisa);
    test_steps(ctx, isas, nisa);
    CHECK_OK(goptim_context_destroy(ctx));
    printf("PASS\n");
    return 0;
}
