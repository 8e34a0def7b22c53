/*
 * adamax_math.h - Adamax (Adam with the infinity norm), written once for every backend.
 *
 * torch 2.x's single-tensor path, op by op (fused where torch fuses, see gm_ops.h):
 *   grad = grad.add(param, alpha=weight_decay)                      (weight_decay != 0)
 *   exp_avg.lerp_(grad, 1-beta1)
 *   torch.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps), out=exp_inf)
 *   clr = lr / (1 - beta1^t)                                        (double, host)
 *   param.addcdiv_(exp_avg, exp_inf, value=-clr)
 * addcdiv is self + (value*t1)/t2, every operation rounded; torch.maximum propagates NaN.
 */
#ifndef GOPTIM_ADAMAX_MATH_H
#define GOPTIM_ADAMAX_MATH_H

#include "gm_ops.h"

typedef struct {
    gm_lerp_w m_weight; /* lerp weight 1 - beta1 */
    float beta2, eps, weight_decay;
    float neg_clr; /* -(lr / (1 - beta1^t)) */
    int wd;
} gm_adamax_k;

GM_HOST gm_adamax_k gm_adamax_scalars(const goptim_adamax_params *hp, int64_t step) {
    const double bias_correction = 1 - pow(hp->beta1, gm_torch_step(step));
    gm_adamax_k k;
    k.m_weight = gm_lerp_weight(1 - hp->beta1);
    k.beta2 = (float)hp->beta2;
    k.eps = (float)hp->eps;
    k.weight_decay = (float)hp->weight_decay;
    k.neg_clr = (float)(-(hp->lr / bias_correction));
    k.wd = hp->weight_decay != 0;
    return k;
}

/* One element: p, m (exp_avg) and u (exp_inf) in place, from the gradient g as the update
 * reads it. */
GM_FN void gm_adamax_update(const gm_adamax_k *k, float *p, float g, float *m, float *u, const int WD GM_HW_PARAM) {
    const float param = *p;
    if (WD) g = GM_FMA(k->weight_decay, param, g);
    const float exp_avg = gm_lerp(*m, g, k->m_weight GM_HW);
    const float exp_inf = gm_max_nan(GM_MUL(*u, k->beta2), GM_ADD(GM_ABS(g), k->eps));
    *p = GM_ADD(param, GM_DIV(GM_MUL(k->neg_clr, exp_avg), exp_inf));
    *m = exp_avg;
    *u = exp_inf;
}

#endif /* GOPTIM_ADAMAX_MATH_H */
