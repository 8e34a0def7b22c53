/*
 * sgd.c - SGD (momentum, dampening, Nesterov, weight decay, maximize), as torch.optim's
 * single-tensor path computes it.
 */
#include "kernel.h"

typedef struct {
    float neg_lr, momentum, one_minus_dampening, weight_decay;
    float scale, gmul;
} sgd_k;

enum { MOM_NONE = 0, MOM_FIRST = 1, MOM_RUN = 2 };

/*
 * torch 1.13 _single_tensor_sgd, op by op (fused where torch fuses, see kernel.h):
 *   d_p = d_p.add(param, alpha=weight_decay)               (weight_decay != 0)
 *   buf = clone(d_p)                                       (momentum, first step)
 *   buf.mul_(momentum).add_(d_p, alpha=1-dampening)        (momentum, later steps)
 *   d_p = nesterov ? d_p.add(buf, alpha=momentum) : buf
 *   param.add_(d_p, alpha=-lr)
 */
GI_INLINE void sgd_body(int64_t n, float *restrict p, float *restrict g, float *restrict mbuf, const sgd_k *k,
                        const int WD, const int MOM, const int NEST, const int SC, const int HW) {
    const float neg_lr = k->neg_lr, momentum = k->momentum, one_minus_dampening = k->one_minus_dampening;
    const float weight_decay = k->weight_decay, scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        float d_p = gi_grad(g, i, scale, gmul, SC);
        const float param = p[i];
        if (WD) d_p = gi_fma(weight_decay, param, d_p, HW);
        if (MOM != MOM_NONE) {
            float buf;
            if (MOM == MOM_FIRST) buf = d_p;
            else buf = gi_fma(one_minus_dampening, d_p, mbuf[i] * momentum, HW);
            mbuf[i] = buf;
            d_p = NEST ? gi_fma(momentum, buf, d_p, HW) : buf;
        }
        p[i] = gi_fma(neg_lr, d_p, param, HW);
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

    j.k.neg_lr = (float)(-hp->lr);
    j.k.momentum = (float)hp->momentum;
    j.k.one_minus_dampening = (float)(1 - hp->dampening);
    j.k.weight_decay = (float)hp->weight_decay;
    const int mom = !j.momentum ? MOM_NONE : step == 1 ? MOM_FIRST : MOM_RUN;
    const int nest = j.momentum && hp->nesterov;
    j.fn = sgd_table[ctx->isa][hp->weight_decay != 0][mom][nest][has_scale];
    gi_for_list(ctx, list, total, sgd_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
