/*
 * adagrad_math.h - Adagrad (dense), written once for every backend.
 *
 * torch.optim's single-tensor path, op by op (fused where torch fuses, see gm_ops.h):
 *   grad = grad.add(param, alpha=weight_decay)   (weight_decay != 0)
 *   clr = lr / (1 + (step - 1) * lr_decay)       (double, host)
 *   state_sum.addcmul_(grad, grad, value=1)
 *   std = state_sum.sqrt().add_(eps)
 *   param.addcdiv_(grad, std, value=-clr)
 */
#ifndef GOPTIM_ADAGRAD_MATH_H
#define GOPTIM_ADAGRAD_MATH_H

#include "gm_ops.h"

typedef struct {
    float neg_clr, eps, weight_decay;
    int wd;
} gm_adagrad_k;

GM_HOST gm_adagrad_k gm_adagrad_scalars(const goptim_adagrad_params *hp, int64_t step) {
    gm_adagrad_k k;
    k.neg_clr = (float)(-(hp->lr / (1 + (gm_torch_step(step) - 1) * hp->lr_decay)));
    k.eps = (float)hp->eps;
    k.weight_decay = (float)hp->weight_decay;
    k.wd = hp->weight_decay != 0;
    return k;
}

/* One element: p and sum (state_sum) in place, from the gradient g as the update reads it. */
GM_FN void gm_adagrad_update(const gm_adagrad_k *k, float *p, float g, float *sum, const int WD GM_HW_PARAM) {
    const float param = *p;
    if (WD) g = GM_FMA(k->weight_decay, param, g);
    const float state_sum = GM_FMA(g, g, *sum); /* addcmul_(g, g, value=1): fma(1*g, g, sum) */
    const float std_ = GM_ADD(GM_SQRT(state_sum), k->eps);
    *p = GM_ADD(param, GM_DIV(GM_MUL(k->neg_clr, g), std_));
    *sum = state_sum;
}

#endif /* GOPTIM_ADAGRAD_MATH_H */
