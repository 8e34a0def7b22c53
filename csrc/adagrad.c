/*
 * adagrad.c - Adagrad on the CPU: the loop over elements of adagrad_math.h's update,
 * instantiated per ISA and option set, and the entry point.
 */
#include "adagrad_math.h"

typedef struct {
    gm_adagrad_k m;
    float scale, gmul;
} adagrad_k;

GI_INLINE void adagrad_body(int64_t n, float *restrict p, float *restrict g, float *restrict sum, const adagrad_k *k,
                            const int WD, const int SC, const int HW) {
    const gm_adagrad_k km = k->m;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        const float grad = gm_unscale(g[i], scale, SC);
        if (SC) g[i] = grad;
        float param = p[i], state_sum = sum[i];
        gm_adagrad_update(&km, &param, gm_grad_use(grad, gmul), &state_sum, WD, HW);
        p[i] = param;
        sum[i] = state_sum;
    }
}

typedef void (*adagrad_fn)(int64_t n, float *p, float *g, float *sum, const adagrad_k *k);

#define ADAGRAD_SPEC(isa, attr, hw, WD, SC)                                                                 \
    attr static void adagrad_##isa##_##WD##SC(int64_t n, float *restrict p, float *restrict g,              \
                                              float *restrict sum, const adagrad_k *k) {                    \
        adagrad_body(n, p, g, sum, k, WD, SC, hw);                                                          \
    }
#define ADAGRAD_ISA(isa, attr, hw)                                                   \
    ADAGRAD_SPEC(isa, attr, hw, 0, 0) ADAGRAD_SPEC(isa, attr, hw, 0, 1) ADAGRAD_SPEC(isa, attr, hw, 1, 0) \
    ADAGRAD_SPEC(isa, attr, hw, 1, 1)
GI_FOR_EACH_ISA(ADAGRAD_ISA)

#define ADAGRAD_ROW(isa, attr, hw) {{adagrad_##isa##_00, adagrad_##isa##_01}, {adagrad_##isa##_10, adagrad_##isa##_11}},
/* [isa][weight decay][grad_scale] */
static const adagrad_fn adagrad_table[GI_ISA_COUNT][2][2] = {GI_FOR_EACH_ISA(ADAGRAD_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    adagrad_fn fn;
    adagrad_k k;
} adagrad_job;

static void adagrad_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const adagrad_job *j = (const adagrad_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, l->state[0][t] + b, &j->k);
}

goptim_status goptim_adagrad_step(goptim_context *ctx, const goptim_tensor_list *list,
                                  const goptim_adagrad_params *hp, int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "adagrad_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "adagrad_step: step %lld < 1", (long long)step);
        goto out;
    }
    st = gi_check_list(ctx, "adagrad_step", list, 1, 1u, &total);
    if (st || total == 0) goto out;
    adagrad_job j;
    j.list = list;
    int has_scale;
    if (gi_resolve_aux(aux, hp->maximize, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */

    j.k.m = gm_adagrad_scalars(hp, step);
    j.fn = adagrad_table[ctx->isa][j.k.m.wd][has_scale];
    gi_for_list(ctx, list, total, adagrad_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
