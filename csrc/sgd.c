/*
 * sgd.c - SGD on the CPU: the loop over elements of sgd_math.h's update, instantiated
 * per ISA and option set, and the entry point.
 */
#include "sgd_math.h"

typedef struct {
    gm_sgd_k m;
    float scale, gmul;
} sgd_k;

GI_INLINE void sgd_body(int64_t n, float *restrict p, float *restrict g, float *restrict mbuf, const sgd_k *k,
                        const int WD, const int MOM, const int NEST, const int SC, const int HW) {
    const gm_sgd_k km = k->m;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        const float grad = gm_unscale(g[i], scale, SC);
        if (SC) g[i] = grad;
        float param = p[i], buf = MOM == GM_MOM_RUN ? mbuf[i] : 0.0f;
        gm_sgd_update(&km, &param, gm_grad_use(grad, gmul), &buf, WD, MOM, NEST, HW);
        p[i] = param;
        if (MOM != GM_MOM_NONE) mbuf[i] = buf;
    }
}

typedef void (*sgd_fn)(int64_t n, float *p, float *g, float *buf, const sgd_k *k);

#define SGD_SPEC(isa, attr, hw, WD, MOM, NEST, SC)                                                                \
    attr static void sgd_##isa##_##WD##MOM##NEST##SC(int64_t n, float *restrict p, float *restrict g,               \
                                                     float *restrict buf, const sgd_k *k) {                         \
        sgd_body(n, p, g, buf, k, WD, MOM, NEST, SC, hw);                                                           \
    }
#define SGD_SPEC_SC(isa, attr, hw, WD, MOM, NEST) \
    SGD_SPEC(isa, attr, hw, WD, MOM, NEST, 0) SGD_SPEC(isa, attr, hw, WD, MOM, NEST, 1)
#define SGD_SPEC_NEST(isa, attr, hw, WD, MOM) SGD_SPEC_SC(isa, attr, hw, WD, MOM, 0) SGD_SPEC_SC(isa, attr, hw, WD, MOM, 1)
#define SGD_SPEC_MOM(isa, attr, hw, WD) \
    SGD_SPEC_NEST(isa, attr, hw, WD, 0) SGD_SPEC_NEST(isa, attr, hw, WD, 1) SGD_SPEC_NEST(isa, attr, hw, WD, 2)
#define SGD_ISA(isa, attr, hw) SGD_SPEC_MOM(isa, attr, hw, 0) SGD_SPEC_MOM(isa, attr, hw, 1)
GI_FOR_EACH_ISA(SGD_ISA)

#define SGD_SC(isa, WD, MOM, NEST) {sgd_##isa##_##WD##MOM##NEST##0, sgd_##isa##_##WD##MOM##NEST##1}
#define SGD_NEST(isa, WD, MOM) {SGD_SC(isa, WD, MOM, 0), SGD_SC(isa, WD, MOM, 1)}
#define SGD_MOM(isa, WD) {SGD_NEST(isa, WD, 0), SGD_NEST(isa, WD, 1), SGD_NEST(isa, WD, 2)}
#define SGD_ROW(isa, attr, hw) {SGD_MOM(isa, 0), SGD_MOM(isa, 1)},
/* [isa][weight decay][momentum mode][nesterov][grad_scale] */
static const sgd_fn sgd_table[GI_ISA_COUNT][2][3][2][2] = {GI_FOR_EACH_ISA(SGD_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    sgd_fn fn;
    sgd_k k;
    int momentum;
} sgd_job;

static void sgd_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const sgd_job *j = (const sgd_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, j->momentum ? l->state[0][t] + b : NULL, &j->k);
}

goptim_status goptim_sgd_step(goptim_context *ctx, const goptim_tensor_list *list, const goptim_sgd_params *hp,
                              int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "sgd_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "sgd_step: step %lld < 1", (long long)step);
        goto out;
    }
    sgd_job j;
    j.list = list;
    j.momentum = hp->momentum != 0;
    st = gi_check_list(ctx, "sgd_step", list, 1, j.momentum ? 1u : 0u, &total);
    if (st || total == 0) goto out;
    int has_scale;
    if (gi_resolve_aux(aux, hp->maximize, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */

    j.k.m = gm_sgd_scalars(hp, step);
    j.fn = sgd_table[ctx->isa][j.k.m.wd][j.k.m.mom_mode][j.k.m.nesterov][has_scale];
    gi_for_list(ctx, list, total, sgd_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
