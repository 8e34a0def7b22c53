/*
 * radam.c - RAdam and RAdamW on the CPU: the loop over elements of radam_math.h's update,
 * instantiated per ISA and option set, and the entry point.
 */
#include "radam_math.h"

typedef struct {
    gm_radam_k m;
    float scale, gmul;
} radam_k;

GI_INLINE void radam_body(int64_t n, float *restrict p, float *restrict g, float *restrict m, float *restrict v,
                          const radam_k *k, const int WD, const int RECT, const int SC, const int HW) {
    const gm_radam_k km = k->m;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        const float grad = gm_unscale(g[i], scale, SC);
        if (SC) g[i] = grad;
        float param = p[i], exp_avg = m[i], exp_avg_sq = v[i];
        gm_radam_update(&km, &param, gm_grad_use(grad, gmul), &exp_avg, &exp_avg_sq, WD, RECT, HW);
        p[i] = param;
        m[i] = exp_avg;
        v[i] = exp_avg_sq;
    }
}

typedef void (*radam_fn)(int64_t n, float *p, float *g, float *m, float *v, const radam_k *k);

#define RADAM_SPEC(isa, attr, hw, WD, RECT, SC)                                                             \
    attr static void radam_##isa##_##WD##RECT##SC(int64_t n, float *restrict p, float *restrict g,          \
                                                  float *restrict m, float *restrict v, const radam_k *k) { \
        radam_body(n, p, g, m, v, k, WD, RECT, SC, hw);                                                     \
    }
#define RADAM_SPEC_SC(isa, attr, hw, WD, RECT) RADAM_SPEC(isa, attr, hw, WD, RECT, 0) RADAM_SPEC(isa, attr, hw, WD, RECT, 1)
#define RADAM_SPEC_RECT(isa, attr, hw, WD) RADAM_SPEC_SC(isa, attr, hw, WD, 0) RADAM_SPEC_SC(isa, attr, hw, WD, 1)
#define RADAM_ISA(isa, attr, hw) \
    RADAM_SPEC_RECT(isa, attr, hw, 0) RADAM_SPEC_RECT(isa, attr, hw, 1) RADAM_SPEC_RECT(isa, attr, hw, 2)
GI_FOR_EACH_ISA(RADAM_ISA)

#define RADAM_SC(isa, WD, RECT) {radam_##isa##_##WD##RECT##0, radam_##isa##_##WD##RECT##1}
#define RADAM_RECT(isa, WD) {RADAM_SC(isa, WD, 0), RADAM_SC(isa, WD, 1)}
#define RADAM_ROW(isa, attr, hw) {RADAM_RECT(isa, 0), RADAM_RECT(isa, 1), RADAM_RECT(isa, 2)},
/* [isa][weight decay mode][rectified][grad_scale] */
static const radam_fn radam_table[GI_ISA_COUNT][3][2][2] = {GI_FOR_EACH_ISA(RADAM_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    radam_fn fn;
    radam_k k;
} radam_job;

static void radam_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const radam_job *j = (const radam_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, l->state[0][t] + b, l->state[1][t] + b, &j->k);
}

goptim_status goptim_radam_step(goptim_context *ctx, const goptim_tensor_list *list, const goptim_radam_params *hp,
                                int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "radam_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "radam_step: step %lld < 1", (long long)step);
        goto out;
    }
    st = gi_check_list(ctx, "radam_step", list, 1, 3u, &total);
    if (st || total == 0) goto out;
    radam_job j;
    j.list = list;
    int has_scale;
    if (gi_resolve_aux(aux, hp->maximize, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */

    j.k.m = gm_radam_scalars(hp, step);
    j.fn = radam_table[ctx->isa][j.k.m.wd_mode][j.k.m.rectified][has_scale];
    gi_for_list(ctx, list, total, radam_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
