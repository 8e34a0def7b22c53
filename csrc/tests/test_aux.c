/*
 * test_aux.c - goptim_step_aux for every optimizer: found_inf skips everything,
 * grad_scale unscales and writes the gradient back, clip_norm/max_norm multiplies the
 * gradient as read by torch's clip coefficient; each checked bit for bit against a
 * plain step on the transformed gradient, on every ISA and several thread counts.
 */
#include "optim_common.h"

static const int64_t lengths[] = {1, 17, 1000, 100003};
#define NLEN ((int)(sizeof lengths / sizeof lengths[0]))

/* torch: clamp(reciprocal(norm + 1e-6) * max_norm, max=1) in float */
static float clip_coef(float norm, double max_norm) {
    float c = (1.0f / (norm + 1e-6f)) * (float)max_norm;
    return c > 1.0f ? 1.0f : c;
}

typedef struct {
    const char *name;
    int use_scale, use_clip;
    float scale, norm;
    double max_norm;
} aux_case;

static const aux_case cases[] = {
    {"grad_scale", 1, 0, 3.0f, 0, 0},
    {"grad_scale_pow2", 1, 0, 65536.0f, 0, 0},
    {"clip", 0, 1, 0, 7.5f, 1.0},
    {"clip_inactive", 0, 1, 0, 0.5f, 1.0},
    {"clip_max_norm_0_means_off", 0, 1, 0, 7.5f, 0.0},
    {"scale_and_clip", 1, 1, 3.0f, 7.5f, 2.0},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static void init(const opt_config *c, tu_tensor *t, uint64_t seed) {
    tu_rng r = {seed};
    tu_fill(&r, t->p, t->n, -1, 1);
    for (int k = 0; k < 3; k++) tu_fill(&r, t->s[k], t->n, 0, 0.5f); /* non-trivial state */
    (void)c;
}

static void copy_tensor(tu_tensor *dst, const tu_tensor *src) {
    size_t b = (size_t)src->n * sizeof(float);
    memcpy(dst->p, src->p, b);
    memcpy(dst->g, src->g, b);
    for (int k = 0; k < 3; k++) memcpy(dst->s[k], src->s[k], b);
}

static void expect_equal(const char *what, const opt_config *c, const aux_case *ac, const float *a, const float *b,
                         int64_t n, const char *where) {
    int64_t i = 0;
    CHECK(tu_bits_equal(a, b, n, &i), "%s %s %s (%s): element %lld: %.9g vs %.9g", c->name, ac ? ac->name : "",
          what, where, (long long)i, a[i], b[i]);
}

static void test_config(goptim_context *ctx, const opt_config *c, const goptim_isa *isas, int nisa) {
    for (int li = 0; li < NLEN; li++) {
        const int64_t n = lengths[li];
        tu_tensor start = tu_tensor_new(n), a = tu_tensor_new(n), b = tu_tensor_new(n);
        float *graw = tu_alloc(n);
        init(c, &start, 5 + (uint64_t)li);
        tu_rng r = {99 + (uint64_t)li};
        tu_fill(&r, graw, n, -4, 4);
        tu_list la = tu_list_new(&a, 1), lb = tu_list_new(&b, 1);
        for (int ii = 0; ii < nisa; ii++) {
            CHECK_OK(goptim_context_set_isa(ctx, isas[ii]));
            for (int threads = 1; threads <= 3; threads += 2) {
                CHECK_OK(goptim_context_set_threads(ctx, threads));
                char where[64];
                snprintf(where, sizeof where, "n=%lld isa=%s threads=%d", (long long)n, tu_isa_name(isas[ii]), threads);
                for (int64_t step = 1; step <= 2; step++) {
                    /* found_inf != 0: nothing changes, even with scale and clip given */
                    copy_tensor(&a, &start);
                    memcpy(a.g, graw, (size_t)n * sizeof(float));
                    float inf_flag = 1.0f, three = 3.0f, norm = 7.5f;
                    goptim_step_aux skip = {&three, &inf_flag, &norm, 1.0};
                    CHECK_OK(opt_step(ctx, c, &la.l, step, &skip));
                    expect_equal("found_inf: param", c, NULL, a.p, start.p, n, where);
                    expect_equal("found_inf: grad", c, NULL, a.g, graw, n, where);
                    for (int k = 0; k < 3; k++) expect_equal("found_inf: state", c, NULL, a.s[k], start.s[k], n, where);

                    /* found_inf == 0 and nothing else: same as no aux */
                    float zero = 0.0f;
                    goptim_step_aux none = {NULL, &zero, NULL, 0};
                    copy_tensor(&a, &start);
                    memcpy(a.g, graw, (size_t)n * sizeof(float));
                    CHECK_OK(opt_step(ctx, c, &la.l, step, &none));
                    copy_tensor(&b, &start);
                    memcpy(b.g, graw, (size_t)n * sizeof(float));
                    CHECK_OK(opt_step(ctx, c, &lb.l, step, NULL));
                    expect_equal("found_inf=0: param", c, NULL, a.p, b.p, n, where);

                    for (int ci = 0; ci < NCASES; ci++) {
                        const aux_case *ac = &cases[ci];
                        goptim_step_aux aux = {ac->use_scale ? &ac->scale : NULL, NULL,
                                               ac->use_clip ? &ac->norm : NULL, ac->max_norm};
                        copy_tensor(&a, &start);
                        memcpy(a.g, graw, (size_t)n * sizeof(float));
                        CHECK_OK(opt_step(ctx, c, &la.l, step, &aux));
                        /* the same step, by hand: unscale, clip, plain update */
                        copy_tensor(&b, &start);
                        float coef = (ac->use_clip && ac->max_norm > 0) ? clip_coef(ac->norm, ac->max_norm) : 1.0f;
                        float *gwant = tu_alloc(n);
                        for (int64_t i = 0; i < n; i++) {
                            float g = graw[i];
                            if (ac->use_scale) g = g / ac->scale;
                            gwant[i] = g;
                            b.g[i] = g * coef;
                        }
                        CHECK_OK(opt_step(ctx, c, &lb.l, step, NULL));
                        expect_equal("param", c, ac, a.p, b.p, n, where);
                        unsigned mask = opt_state_mask(c);
                        for (int k = 0; k < 3; k++)
                            if (mask >> k & 1) expect_equal("state", c, ac, a.s[k], b.s[k], n, where);
                        /* gradient in memory: unscaled if grad_scale, never clipped */
                        expect_equal("grad written back", c, ac, a.g, gwant, n, where);
                        free(gwant);
                    }
                }
            }
        }
        tu_list_free(&la);
        tu_list_free(&lb);
        tu_tensor_free(&start);
        tu_tensor_free(&a);
        tu_tensor_free(&b);
        free(graw);
    }
    printf("ok   %-36s found_inf, grad_scale, clip, scale+clip\n", c->name);
}

int main(void) {
    goptim_context *ctx;
    CHECK_OK(goptim_context_create(0, &ctx));
    goptim_isa isas[4];
    int nisa = tu_isas(ctx, isas);
    for (int ci = 0; ci < TU_NCONFIGS; ci++) test_config(ctx, &tu_configs[ci], isas, nisa);
    CHECK_OK(goptim_context_destroy(ctx));
    printf("PASS\n");
    return 0;
}
