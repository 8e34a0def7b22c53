/*
 * rmsprop.c - RMSprop on the CPU: the loop over elements of rmsprop_math.h's update,
 * instantiated per ISA and option set, and the entry point.
 */
#include "rmsprop_math.h"

typedef struct {
    gm_rmsprop_k m;
    float scale, gmul;
} rmsprop_k;

GI_INLINE void rmsprop_body(int64_t n, float *restrict p, float *restrict g, float *restrict sq,
                            float *restrict mbuf, float *restrict gavg, const rmsprop_k *k, const int WD,
                            const int CENT, const int MOM, const int SC, const int HW) {
    const gm_rmsprop_k km = k->m;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        const float grad = gm_unscale(g[i], scale, SC);
        if (SC) g[i] = grad;
        float param = p[i], square_avg = sq[i], buf = MOM ? mbuf[i] : 0.0f, grad_avg = CENT ? gavg[i] : 0.0f;
        gm_rmsprop_update(&km, &param, gm_grad_use(grad, gmul), &square_avg, &buf, &grad_avg, WD, CENT, MOM, HW);
        p[i] = param;
        sq[i] = square_avg;
        if (MOM) mbuf[i] = buf;
        if (CENT) gavg[i] = grad_avg;
    }
}

typedef void (*rmsprop_fn)(int64_t n, float *p, float *g, float *sq, float *buf, float *gavg, const rmsprop_k *k);

#define RMSPROP_SPEC(isa, attr, hw, WD, CENT, MOM, SC)                                                      \
    attr static void rmsprop_##isa##_##WD##CENT##MOM##SC(int64_t n, float *restrict p, float *restrict g,    \
                                                         float *restrict sq, float *restrict buf,            \
                                                         float *restrict gavg, const rmsprop_k *k) {         \
        rmsprop_body(n, p, g, sq, buf, gavg, k, WD, CENT, MOM, SC, hw);                                      \
    }
#define RMSPROP_SPEC_SC(isa, attr, hw, WD, CENT, MOM) \
    RMSPROP_SPEC(isa, attr, hw, WD, CENT, MOM, 0) RMSPROP_SPEC(isa, attr, hw, WD, CENT, MOM, 1)
#define RMSPROP_SPEC_MOM(isa, attr, hw, WD, CENT) \
    RMSPROP_SPEC_SC(isa, attr, hw, WD, CENT, 0) RMSPROP_SPEC_SC(isa, attr, hw, WD, CENT, 1)
#define RMSPROP_SPEC_CENT(isa, attr, hw, WD) RMSPROP_SPEC_MOM(isa, attr, hw, WD, 0) RMSPROP_SPEC_MOM(isa, attr, hw, WD, 1)
#define RMSPROP_ISA(isa, attr, hw) RMSPROP_SPEC_CENT(isa, attr, hw, 0) RMSPROP_SPEC_CENT(isa, attr, hw, 1)
GI_FOR_EACH_ISA(RMSPROP_ISA)

#define RMSPROP_SC(isa, WD, CENT, MOM) {rmsprop_##isa##_##WD##CENT##MOM##0, rmsprop_##isa##_##WD##CENT##MOM##1}
#define RMSPROP_MOM(isa, WD, CENT) {RMSPROP_SC(isa, WD, CENT, 0), RMSPROP_SC(isa, WD, CENT, 1)}
#define RMSPROP_CENT(isa, WD) {RMSPROP_MOM(isa, WD, 0), RMSPROP_MOM(isa, WD, 1)}
#define RMSPROP_ROW(isa, attr, hw) {RMSPROP_CENT(isa, 0), RMSPROP_CENT(isa, 1)},
/* [isa][weight decay][centered][momentum][grad_scale] */
static const rmsprop_fn rmsprop_table[GI_ISA_COUNT][2][2][2][2] = {GI_FOR_EACH_ISA(RMSPROP_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    rmsprop_fn fn;
    rmsprop_k k;
    int momentum, centered;
} rmsprop_job;

static void rmsprop_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const rmsprop_job *j = (const rmsprop_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, l->state[0][t] + b, j->momentum ? l->state[1][t] + b : NULL,
          j->centered ? l->state[2][t] + b : NULL, &j->k);
}

goptim_status goptim_rmsprop_step(goptim_context *ctx, const goptim_tensor_list *list,
                                  const goptim_rmsprop_params *hp, int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "rmsprop_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "rmsprop_step: step %lld < 1", (long long)step);
        goto out;
    }
    rmsprop_job j;
    j.list = list;
    j.momentum = hp->momentum > 0;
    j.centered = hp->centered != 0;
    st = gi_check_list(ctx, "rmsprop_step", list, 1, 1u | (j.momentum ? 2u : 0u) | (j.centered ? 4u : 0u), &total);
    if (st || total == 0) goto out;
    int has_scale;
    if (gi_resolve_aux(aux, hp->maximize, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */

    j.k.m = gm_rmsprop_scalars(hp, step);
    j.fn = rmsprop_table[ctx->isa][j.k.m.wd][j.centered][j.momentum][has_scale];
    gi_for_list(ctx, list, total, rmsprop_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
