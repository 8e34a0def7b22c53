/*
 * rprop.c - Rprop on the CPU: the loop over elements of rprop_math.h's update,
 * instantiated per ISA and option set, and the entry point.
 */
#include "rprop_math.h"

typedef struct {
    gm_rprop_k m;
    float scale, gmul;
} rprop_k;

GI_INLINE void rprop_body(int64_t n, float *restrict p, float *restrict g, float *restrict prev, float *restrict ss,
                           const rprop_k *k, const int SC, const int HW) {
    const gm_rprop_k km = k->m;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        const float grad = gm_unscale(g[i], scale, SC);
        if (SC) g[i] = grad;
        float param = p[i], previous = prev[i], step_size = ss[i];
        gm_rprop_update(&km, &param, gm_grad_use(grad, gmul), &previous, &step_size, HW);
        p[i] = param;
        prev[i] = previous;
        ss[i] = step_size;
    }
}

typedef void (*rprop_fn)(int64_t n, float *p, float *g, float *prev, float *ss, const rprop_k *k);

#define RPROP_SPEC(isa, attr, hw, SC)                                                                      \
    attr static void rprop_##isa##_##SC(int64_t n, float *restrict p, float *restrict g,                   \
                                         float *restrict prev, float *restrict ss, const rprop_k *k) {         \
        rprop_body(n, p, g, prev, ss, k, SC, hw);                                                          \
    }
#define RPROP_ISA(isa, attr, hw) RPROP_SPEC(isa, attr, hw, 0) RPROP_SPEC(isa, attr, hw, 1)
GI_FOR_EACH_ISA(RPROP_ISA)

#define RPROP_ROW(isa, attr, hw) {rprop_##isa##_0, rprop_##isa##_1},
/* [isa][grad_scale] */
static const rprop_fn rprop_table[GI_ISA_COUNT][2] = {GI_FOR_EACH_ISA(RPROP_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    rprop_fn fn;
    rprop_k k;
} rprop_job;

static void rprop_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const rprop_job *j = (const rprop_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, l->state[0][t] + b, l->state[1][t] + b, &j->k);
}

goptim_status goptim_rprop_step(goptim_context *ctx, const goptim_tensor_list *list,
                                 const goptim_rprop_params *hp, int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "rprop_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "rprop_step: step %lld < 1", (long long)step);
        goto out;
    }
    st = gi_check_list(ctx, "rprop_step", list, 1, 3u, &total);
    if (st || total == 0) goto out;
    rprop_job j;
    j.list = list;
    int has_scale;
    if (gi_resolve_aux(aux, hp->maximize, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */

    j.k.m = gm_rprop_scalars(hp, step);
    j.fn = rprop_table[ctx->isa][has_scale];
    gi_for_list(ctx, list, total, rprop_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
