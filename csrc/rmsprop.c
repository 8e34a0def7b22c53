/*
 * rmsprop.c - RMSprop (centered, momentum, weight decay, maximize), as torch.optim's
 * single-tensor path computes it.
 */
#include "kernel.h"

typedef struct {
    float alpha, one_minus_alpha, eps, weight_decay, momentum, neg_lr;
    float scale, gmul;
} rmsprop_k;

/*
 * torch 1.13 _single_tensor_rmsprop, op by op (fused where torch fuses, see kernel.h):
 *   grad = grad.add(param, alpha=weight_decay)                 (weight_decay != 0)
 *   square_avg.mul_(alpha).addcmul_(grad, grad, value=1-alpha)
 *   grad_avg.mul_(alpha).add_(grad, alpha=1-alpha)             (centered)
 *   avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()   (centered)
 *   avg = square_avg.sqrt()                                    (not centered)
 *   avg = avg.add_(eps)
 *   buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)   (momentum > 0)
 *   param.addcdiv_(grad, avg, value=-lr)                       (no momentum)
 */
GI_INLINE void rmsprop_body(int64_t n, float *restrict p, float *restrict g, float *restrict sq,
                            float *restrict mbuf, float *restrict gavg, const rmsprop_k *k, const int WD,
                            const int CENT, const int MOM, const int SC, const int HW) {
    const float alpha = k->alpha, one_minus_alpha = k->one_minus_alpha, eps = k->eps;
    const float weight_decay = k->weight_decay, momentum = k->momentum, neg_lr = k->neg_lr;
    const float scale = k->scale, gmul = k->gmul;
    for (int64_t i = 0; i < n; i++) {
        float grad = gi_grad(g, i, scale, gmul, SC);
        const float param = p[i];
        if (WD) grad = gi_fma(weight_decay, param, grad, HW);
        const float square_avg = gi_fma(one_minus_alpha * grad, grad, sq[i] * alpha, HW);
        sq[i] = square_avg;
        float avg;
        if (CENT) {
            const float grad_avg = gi_fma(one_minus_alpha, grad, gavg[i] * alpha, HW);
            gavg[i] = grad_avg;
            avg = sqrtf(gi_fma(-1.0f * grad_avg, grad_avg, square_avg, HW));
        } else {
            avg = sqrtf(square_avg);
        }
        avg = avg + eps;
        if (MOM) {
            const float buf = mbuf[i] * momentum + 1.0f * grad / avg;
            mbuf[i] = buf;
            p[i] = gi_fma(neg_lr, buf, param, HW);
        } else {
            p[i] = param + neg_lr * grad / avg;
        }
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

    j.k.alpha = (float)hp->alpha;
    j.k.one_minus_alpha = (float)(1 - hp->alpha);
    j.k.eps = (float)hp->eps;
    j.k.weight_decay = (float)hp->weight_decay;
    j.k.momentum = (float)hp->momentum;
    j.k.neg_lr = (float)(-hp->lr);
    j.fn = rmsprop_table[ctx->isa][hp->weight_decay != 0][j.centered][j.momentum][has_scale];
    gi_for_list(ctx, list, total, rmsprop_piece, &j);
out:
    gi_leave(ctx);
    return st;
}
