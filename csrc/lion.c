/*
 * lion.c - Lion on the CPU: the loop over elements of lion_math.h's update, instantiated
 * per ISA, and the entry point.
 */
#include "lion_math.h"

typedef struct {
    gm_lion_k m;
    float scale, gmul;
} lion_k;

GI_INLINE void lion_body(int64_t n, float *restrict p, float *restrict g, float *restrict m, const lion_k *k,
                         const int SC, const int HW) {
    const gm_lion_k km = k->m;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        const float grad = gm_unscale(g[i], scale, SC);
        if (SC) g[i] = grad;
        float param = p[i], exp_avg = m[i];
        gm_lion_update(&km, &param, gm_grad_use(grad, gmul), &exp_avg, HW);
        p[i] = param;
        m[i] = exp_avg;
    }
}

typedef void (*lion_fn)(int64_t n, float *p, float *g, float *m, const lion_k *k);

#define LION_SPEC(isa, attr, hw, SC)                                                                        \
    attr static void lion_##isa##_##SC(int64_t n, float *restrict p, float *restrict g, float *restrict m, \
                                       const lion_k *k) {                                                  \
        lion_body(n, p, g, m, k, SC, hw);                                                                  \
    }
#define LION_ISA(isa, attr, hw) LION_SPEC(isa, attr, hw, 0) LION_SPEC(isa, attr, hw, 1)
GI_FOR_EACH_ISA(LION_ISA)

#define LION_ROW(isa, attr, hw) {lion_##isa##_0, lion_##isa##_1},
/* [isa][grad_scale] */
static const lion_fn lion_table[GI_ISA_COUNT][2] = {GI_FOR_EACH_ISA(LION_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    lion_fn fn;
    lion_k k;
} lion_job;

static void lion_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const lion_job *j = (const lion_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, l->state[0][t] + b, &j->k);
}

goptim_status goptim_lion_step(goptim_context *ctx, const goptim_tensor_list *list, const goptim_lion_params *hp,
                               int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "lion_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "lion_step: step %lld < 1", (long long)step);
        goto out;
    }
    st = gi_check_list(ctx, "lion_step", list, 1, 1u, &total);
    if (st || total == 0) goto out;
    lion_job j;
    j.list = list;
    int has_scale;
    if (gi_resolve_aux(aux, 0, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */
    j.k.m = gm_lion_scalars(hp);
    j.fn = lion_table[ctx->isa][has_scale];
    gi_for_list(ctx, list, total, lion_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
