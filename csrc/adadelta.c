/*
 * adadelta.c - Adadelta on the CPU: the loop over elements of adadelta_math.h's update,
 * instantiated per ISA and option set, and the entry point.
 */
#include "adadelta_math.h"

typedef struct {
    gm_adadelta_k m;
    float scale, gmul;
} adadelta_k;

GI_INLINE void adadelta_body(int64_t n, float *restrict p, float *restrict g, float *restrict sq, float *restrict acc,
                           const adadelta_k *k, const int WD, const int SC, const int HW) {
    const gm_adadelta_k km = k->m;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        const float grad = gm_unscale(g[i], scale, SC);
        if (SC) g[i] = grad;
        float param = p[i], square_avg = sq[i], acc_delta = acc[i];
        gm_adadelta_update(&km, &param, gm_grad_use(grad, gmul), &square_avg, &acc_delta, WD, HW);
        p[i] = param;
        sq[i] = square_avg;
        acc[i] = acc_delta;
    }
}

typedef void (*adadelta_fn)(int64_t n, float *p, float *g, float *sq, float *acc, const adadelta_k *k);

#define ADADELTA_SPEC(isa, attr, hw, WD, SC)                                                                  \
    attr static void adadelta_##isa##_##WD##SC(int64_t n, float *restrict p, float *restrict g,               \
                                             float *restrict sq, float *restrict acc, const adadelta_k *k) {     \
        adadelta_body(n, p, g, sq, acc, k, WD, SC, hw);                                                          \
    }
#define ADADELTA_ISA(isa, attr, hw)                                                                          \
    ADADELTA_SPEC(isa, attr, hw, 0, 0) ADADELTA_SPEC(isa, attr, hw, 0, 1) ADADELTA_SPEC(isa, attr, hw, 1, 0)    \
    ADADELTA_SPEC(isa, attr, hw, 1, 1)
GI_FOR_EACH_ISA(ADADELTA_ISA)

#define ADADELTA_ROW(isa, attr, hw) {{adadelta_##isa##_00, adadelta_##isa##_01}, {adadelta_##isa##_10, adadelta_##isa##_11}},
/* [isa][weight decay][grad_scale] */
static const adadelta_fn adadelta_table[GI_ISA_COUNT][2][2] = {GI_FOR_EACH_ISA(ADADELTA_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    adadelta_fn fn;
    adadelta_k k;
} adadelta_job;

static void adadelta_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const adadelta_job *j = (const adadelta_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, l->state[0][t] + b, l->state[1][t] + b, &j->k);
}

goptim_status goptim_adadelta_step(goptim_context *ctx, const goptim_tensor_list *list,
                                 const goptim_adadelta_params *hp, int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "adadelta_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "adadelta_step: step %lld < 1", (long long)step);
        goto out;
    }
    st = gi_check_list(ctx, "adadelta_step", list, 1, 3u, &total);
    if (st || total == 0) goto out;
    adadelta_job j;
    j.list = list;
    int has_scale;
    if (gi_resolve_aux(aux, hp->maximize, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */

    j.k.m = gm_adadelta_scalars(hp, step);
    j.fn = adadelta_table[ctx->isa][j.k.m.wd][has_scale];
    gi_for_list(ctx, list, total, adadelta_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
