/*
 * ademamix.c - AdEMAMix on the CPU: the loop over elements of ademamix_math.h's update,
 * instantiated per ISA and option set, and the entry point.
 */
#include "ademamix_math.h"

typedef struct {
    gm_ademamix_k m;
    float scale, gmul;
} ademamix_k;

GI_INLINE void ademamix_body(int64_t n, float *restrict p, float *restrict g, float *restrict m1,
                             float *restrict m2, float *restrict v, const ademamix_k *k, const int FAST,
                             const int SC, const int HW) {
    const gm_ademamix_k km = k->m;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        const float grad = gm_unscale(g[i], scale, SC);
        if (SC) g[i] = grad;
        float param = p[i], fast = FAST ? m1[i] : 0.0f, slow = m2[i], sq = v[i];
        gm_ademamix_update(&km, &param, gm_grad_use(grad, gmul), &fast, &slow, &sq, FAST, HW);
        p[i] = param;
        if (FAST) m1[i] = fast;
        m2[i] = slow;
        v[i] = sq;
    }
}

typedef void (*ademamix_fn)(int64_t n, float *p, float *g, float *m1, float *m2, float *v, const ademamix_k *k);

#define ADEMAMIX_SPEC(isa, attr, hw, FAST, SC)                                                              \
    attr static void ademamix_##isa##_##FAST##SC(int64_t n, float *restrict p, float *restrict g,           \
                                                 float *restrict m1, float *restrict m2, float *restrict v, \
                                                 const ademamix_k *k) {                                     \
        ademamix_body(n, p, g, m1, m2, v, k, FAST, SC, hw);                                                 \
    }
#define ADEMAMIX_SPEC_SC(isa, attr, hw, FAST) ADEMAMIX_SPEC(isa, attr, hw, FAST, 0) ADEMAMIX_SPEC(isa, attr, hw, FAST, 1)
#define ADEMAMIX_ISA(isa, attr, hw) ADEMAMIX_SPEC_SC(isa, attr, hw, 0) ADEMAMIX_SPEC_SC(isa, attr, hw, 1)
GI_FOR_EACH_ISA(ADEMAMIX_ISA)

#define ADEMAMIX_SC(isa, FAST) {ademamix_##isa##_##FAST##0, ademamix_##isa##_##FAST##1}
#define ADEMAMIX_ROW(isa, attr, hw) {ADEMAMIX_SC(isa, 0), ADEMAMIX_SC(isa, 1)},
/* [isa][exp_avg_fast kept][grad_scale] */
static const ademamix_fn ademamix_table[GI_ISA_COUNT][2][2] = {GI_FOR_EACH_ISA(ADEMAMIX_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    ademamix_fn fn;
    ademamix_k k;
} ademamix_job;

static void ademamix_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const ademamix_job *j = (const ademamix_job *)argp;
    const goptim_tensor_list *l = j->list;
    float *m1 = j->k.m.fast ? l->state[0][t] + b : NULL;
    j->fn(n, l->param[t] + b, l->grad[t] + b, m1, l->state[1][t] + b, l->state[2][t] + b, &j->k);
}

goptim_status goptim_ademamix_step(goptim_context *ctx, const goptim_tensor_list *list,
                                   const goptim_ademamix_params *hp, int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "ademamix_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "ademamix_step: step %lld < 1", (long long)step);
        goto out;
    }
    st = gi_check_list(ctx, "ademamix_step", list, 1, hp->beta1 != 0 ? 7u : 6u, &total);
    if (st || total == 0) goto out;
    ademamix_job j;
    j.list = list;
    int has_scale;
    if (gi_resolve_aux(aux, 0, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */
    j.k.m = gm_ademamix_scalars(hp, step);
    j.fn = ademamix_table[ctx->isa][j.k.m.fast][has_scale];
    gi_for_list(ctx, list, total, ademamix_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
