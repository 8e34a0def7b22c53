/*
 * nadam.c - NAdam on the CPU: the loop over elements of nadam_math.h's update,
 * instantiated per ISA and option set, and the entry point.
 */
#include "nadam_math.h"

typedef struct {
    gm_nadam_k m;
    float scale, gmul;
} nadam_k;

GI_INLINE void nadam_body(int64_t n, float *restrict p, float *restrict g, float *restrict m, float *restrict v,
                           const nadam_k *k, const int WD, const int SC, const int HW) {
    const gm_nadam_k km = k->m;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        const float grad = gm_unscale(g[i], scale, SC);
        if (SC) g[i] = grad;
        float param = p[i], exp_avg = m[i], exp_avg_sq = v[i];
        gm_nadam_update(&km, &param, gm_grad_use(grad, gmul), &exp_avg, &exp_avg_sq, WD, HW);
        p[i] = param;
        m[i] = exp_avg;
        v[i] = exp_avg_sq;
    }
}

typedef void (*nadam_fn)(int64_t n, float *p, float *g, float *m, float *v, const nadam_k *k);

#define NADAM_SPEC(isa, attr, hw, WD, SC)                                                                  \
    attr static void nadam_##isa##_##WD##SC(int64_t n, float *restrict p, float *restrict g,               \
                                            float *restrict m, float *restrict v, const nadam_k *k) {      \
        nadam_body(n, p, g, m, v, k, WD, SC, hw);                                                          \
    }
#define NADAM_SPEC_SC(isa, attr, hw, WD) NADAM_SPEC(isa, attr, hw, WD, 0) NADAM_SPEC(isa, attr, hw, WD, 1)
#define NADAM_ISA(isa, attr, hw) \
    NADAM_SPEC_SC(isa, attr, hw, 0) NADAM_SPEC_SC(isa, attr, hw, 1) NADAM_SPEC_SC(isa, attr, hw, 2)
GI_FOR_EACH_ISA(NADAM_ISA)

#define NADAM_SC(isa, WD) {nadam_##isa##_##WD##0, nadam_##isa##_##WD##1}
#define NADAM_ROW(isa, attr, hw) {NADAM_SC(isa, 0), NADAM_SC(isa, 1), NADAM_SC(isa, 2)},
/* [isa][weight decay mode][grad_scale] */
static const nadam_fn nadam_table[GI_ISA_COUNT][3][2] = {GI_FOR_EACH_ISA(NADAM_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    nadam_fn fn;
    nadam_k k;
} nadam_job;

static void nadam_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const nadam_job *j = (const nadam_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, l->state[0][t] + b, l->state[1][t] + b, &j->k);
}

goptim_status goptim_nadam_step(goptim_context *ctx, const goptim_tensor_list *list,
                                 const goptim_nadam_params *hp, int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "nadam_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "nadam_step: step %lld < 1", (long long)step);
        goto out;
    }
    st = gi_check_list(ctx, "nadam_step", list, 1, 3u, &total);
    if (st || total == 0) goto out;
    nadam_job j;
    j.list = list;
    int has_scale;
    if (gi_resolve_aux(aux, hp->maximize, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */

    j.k.m = gm_nadam_scalars(hp, step);
    j.fn = nadam_table[ctx->isa][j.k.m.wd_mode][has_scale];
    gi_for_list(ctx, list, total, nadam_piece, &j);
out:
    gi_leave(ctx);
    return st;
}

goptim_status goptim_nadam_mu_product(const goptim_nadam_params *hp, int64_t step, float *out) {
    if (!hp || !out || step < 1) return GOPTIM_ERR_INVALID_ARGUMENT;
    *out = gm_nadam_scalars(hp, step).mu_product;
    return GOPTIM_OK;
}
