/*
 * asgd.c - ASGD on the CPU: the loop over elements of asgd_math.h's update, instantiated
 * per ISA and option set, the entry point, and goptim_asgd_next.
 */
#include "asgd_math.h"

typedef struct {
    gm_asgd_k m;
    float scale, gmul;
} asgd_k;

GI_INLINE void asgd_body(int64_t n, float *restrict p, float *restrict g, float *restrict ax, const asgd_k *k,
                         const int WD, const int AVG, const int SC, const int HW) {
    const gm_asgd_k km = k->m;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        const float grad = gm_unscale(g[i], scale, SC);
        if (SC) g[i] = grad;
        float param = p[i], avg = AVG ? ax[i] : 0.0f; /* copied over, not read, until averaging starts */
        gm_asgd_update(&km, &param, gm_grad_use(grad, gmul), &avg, WD, AVG, HW);
        p[i] = param;
        ax[i] = avg;
    }
}

typedef void (*asgd_fn)(int64_t n, float *p, float *g, float *ax, const asgd_k *k);

#define ASGD_SPEC(isa, attr, hw, WD, AVG, SC)                                                               \
    attr static void asgd_##isa##_##WD##AVG##SC(int64_t n, float *restrict p, float *restrict g,           \
                                                float *restrict ax, const asgd_k *k) {                     \
        asgd_body(n, p, g, ax, k, WD, AVG, SC, hw);                                                         \
    }
#define ASGD_SPEC_SC(isa, attr, hw, WD, AVG) ASGD_SPEC(isa, attr, hw, WD, AVG, 0) ASGD_SPEC(isa, attr, hw, WD, AVG, 1)
#define ASGD_SPEC_AVG(isa, attr, hw, WD) ASGD_SPEC_SC(isa, attr, hw, WD, 0) ASGD_SPEC_SC(isa, attr, hw, WD, 1)
#define ASGD_ISA(isa, attr, hw) ASGD_SPEC_AVG(isa, attr, hw, 0) ASGD_SPEC_AVG(isa, attr, hw, 1)
GI_FOR_EACH_ISA(ASGD_ISA)

#define ASGD_SC(isa, WD, AVG) {asgd_##isa##_##WD##AVG##0, asgd_##isa##_##WD##AVG##1}
#define ASGD_AVG(isa, WD) {ASGD_SC(isa, WD, 0), ASGD_SC(isa, WD, 1)}
#define ASGD_ROW(isa, attr, hw) {ASGD_AVG(isa, 0), ASGD_AVG(isa, 1)},
/* [isa][weight decay][averaging][grad_scale] */
static const asgd_fn asgd_table[GI_ISA_COUNT][2][2][2] = {GI_FOR_EACH_ISA(ASGD_ROW)};

typedef struct {
    const goptim_tensor_list *list;
    asgd_fn fn;
    asgd_k k;
} asgd_job;

static void asgd_piece(void *argp, int64_t chunk, int64_t t, int64_t b, int64_t n) {
    (void)chunk;
    const asgd_job *j = (const asgd_job *)argp;
    const goptim_tensor_list *l = j->list;
    j->fn(n, l->param[t] + b, l->grad[t] + b, l->state[0][t] + b, &j->k);
}

goptim_status goptim_asgd_step(goptim_context *ctx, const goptim_tensor_list *list, const goptim_asgd_params *hp,
                               int64_t step, const goptim_step_aux *aux) {
    goptim_status st = gi_enter(ctx);
    if (st) return st;
    int64_t total = 0;
    if (!hp) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "asgd_step: NULL hyperparameters");
        goto out;
    }
    if (step < 1) {
        st = gi_fail(ctx, GOPTIM_ERR_INVALID_ARGUMENT, "asgd_step: step %lld < 1", (long long)step);
        goto out;
    }
    st = gi_check_list(ctx, "asgd_step", list, 1, 1u, &total);
    if (st || total == 0) goto out;
    asgd_job j;
    j.list = list;
    int has_scale;
    if (gi_resolve_aux(aux, hp->maximize, &has_scale, &j.k.scale, &j.k.gmul)) goto out; /* found_inf */

    j.k.m = gm_asgd_scalars(hp);
    j.fn = asgd_table[ctx->isa][j.k.m.wd][j.k.m.avg][has_scale];
    gi_for_list(ctx, list, total, asgd_piece, &j);
out:
    gi_leave(ctx);
    return st;
}

goptim_status goptim_asgd_next(const goptim_asgd_params *hp, int64_t step, float *eta, float *mu) {
    if (!hp || !eta || !mu || step < 1) return GOPTIM_ERR_INVALID_ARGUMENT;
    gm_asgd_next(hp, step, eta, mu);
    return GOPTIM_OK;
}
