/*
 * adamax.c - Adamax on the CPU: the loop over elements of adamax_math.h's update,
 * instantiated per ISA and option set, and the entry point.
 */
#include "adamax_math.h"

typedef struct {
    gm_adamax_k m;
    float scale, gmul;
} adamax_k;

GI_INLINE void adamax_body(int64_t n, float *restrict p, float *restrict g, float *restrict m, float *restrict u,
                           const adamax_k *k, const int WD, const int SC, const int HW) {
    const gm_adamax_k km = k->m;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        const float grad = gm_unscale(g[i], scale, SC);
        if (SC) g[i] = grad;
        float param = p[i], exp_avg = m[i], exp_inf = u[i];
        gm_adamax_update(&km, &param, gm_grad_use(grad, gmul), &exp_avg, &exp_inf, WD, HW);
        p[i] = param;
        m[i] = exp_avg;
        u[i] = exp_inf;
    }
}

typedef void (*adamax_fn)(int64_t n, float *p, float *g, float *m, float *u, const adamax_k *k);

#define ADAMAX_SPEC(isa, attr, hw, WD, SC)                                                                  \
    attr static void adamax_##isa##_##WD##SC(int64_t n, float *restrict p, float *restrict g,               \
                                             float *restrict m, float *restrict u, const adamax_k *k) {     \
        adamax_body(n, p, g, m, u, k, WD, SC, hw);                                                          \
    }
#define ADAMAX_ISA(isa, attr, hw)                                                                          \
    ADAMAX_SPEC(isa, attr, hw, 0, 0) ADAMAX_SPEC(isa, attr, hw, 0, 1) ADAMAX_SPEC(isa, attr, hw, 1, 0)    \
    ADAMAX_SPEC(isa, attr, hw, 1, 1)
GI_FOR_EACH_ISA(ADAMAX_ISA)

#define ADAMAX_ROW(isa, attr, hw) {{adamax_##isa##_00, adamax_##isa##_01}, {adamax_##isa##_10, adamax_##isa##_11}},
/* [isa][weight decay][grad_scale] */
static const adamax_fn adamax_table[GI_ISA_COUNT][2][2] = {GI_FOR_EACH_ISA(ADAMAX_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    adamax_fn fn;
    adamax_k k;
} adamax_job;

static void adamax_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const adamax_job *j = (const adamax_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, l->state[0][t] + b, l->state[1][t] + b, &j->k);
}

goptim_status goptim_adamax_step(goptim_context *ctx, const goptim_tensor_list *list,
                                 const goptim_adamax_params *hp, int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "adamax_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "adamax_step: step %lld < 1", (long long)step);
        goto out;
    }
    st = gi_check_list(ctx, "adamax_step", list, 1, 3u, &total);
    if (st || total == 0) goto out;
    adamax_job j;
    j.list = list;
    int has_scale;
    if (gi_resolve_aux(aux, hp->maximize, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */

    j.k.m = gm_adamax_scalars(hp, step);
    j.fn = adamax_table[ctx->isa][j.k.m.wd][has_scale];
    gi_for_list(ctx, list, total, adamax_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
