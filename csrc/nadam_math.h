/*
 * nadam_math.h - NAdam, and NAdamW (decoupled_weight_decay), written once for every backend.
 *
 * torch 2.x's single-tensor path, op by op (fused where torch fuses, see gm_ops.h):
 *   step = step_t.item()                                   (float32: gm_torch_step)
 *   bias_correction2 = 1 - beta2**step                                          (double)
 *   param.mul_(1 - lr*wd)                                             (NAdamW, wd != 0)
 *   grad = grad.add(param, alpha=wd)                                  (NAdam, wd != 0)
 *   mu      = beta1 * (1 - 0.5 * 0.96**(step * momentum_decay))                 (double)
 *   mu_next = beta1 * (1 - 0.5 * 0.96**((step + 1) * momentum_decay))           (double)
 *   mu_product *= mu              (a float32 0-dim tensor times float(mu), rounded once)
 *   exp_avg.lerp_(grad, 1-beta1)
 *   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
 *   denom = exp_avg_sq.div(bias_correction2).sqrt(); denom.add_(eps)
 *   mu_product_next = mu_product.item() * mu_next                               (double)
 *   param.addcdiv_(grad, denom, value=-lr*(1-mu)/(1-mu_product.item()))
 *   param.addcdiv_(exp_avg, denom, value=-lr*mu_next/(1-mu_product_next))
 * addcdiv is self + (value*t1)/t2, every operation rounded. The scalars are host
 * arithmetic (gm_nadam_scalars), so mu_product after the step is the same number on
 * every backend.
 */
#ifndef GOPTIM_NADAM_MATH_H
#define GOPTIM_NADAM_MATH_H

#include "adam_math.h" /* GM_WD_NONE, GM_WD_L2, GM_WD_DECOUPLED */

typedef struct {
    gm_lerp_w m_weight; /* lerp weight 1 - beta1 */
    float beta2, one_minus_beta2;
    float bc2;         /* 1 - beta2^t (divided by) */
    float eps, weight_decay;
    float decay;       /* 1 - lr*weight_decay (NAdamW) */
    float c_grad;      /* -lr*(1-mu)/(1-mu_product) */
    float c_avg;       /* -lr*mu_next/(1-mu_product_next) */
    float mu_product;  /* after this step */
    int wd_mode;       /* GM_WD_* */
} gm_nadam_k;

GM_HOST gm_nadam_k gm_nadam_scalars(const goptim_nadam_params *hp, int64_t step) {
    const double t = gm_torch_step(step);
    const double mu = hp->beta1 * (1.0 - 0.5 * pow(0.96, t * hp->momentum_decay));
    const double mu_next = hp->beta1 * (1.0 - 0.5 * pow(0.96, (t + 1) * hp->momentum_decay));
    gm_nadam_k k;
    k.mu_product = (float)hp->mu_product * (float)mu;
    const double mu_product_next = (double)k.mu_product * mu_next;
    k.m_weight = gm_lerp_weight(1 - hp->beta1);
    k.beta2 = (float)hp->beta2;
    k.one_minus_beta2 = (float)(1 - hp->beta2);
    k.bc2 = (float)(1 - pow(hp->beta2, t));
    k.eps = (float)hp->eps;
    k.weight_decay = (float)hp->weight_decay;
    k.decay = (float)(1 - hp->lr * hp->weight_decay);
    k.c_grad = (float)(-hp->lr * (1.0 - mu) / (1.0 - (double)k.mu_product));
    k.c_avg = (float)(-hp->lr * mu_next / (1.0 - mu_product_next));
    k.wd_mode = hp->weight_decay == 0 ? GM_WD_NONE : hp->decoupled_weight_decay ? GM_WD_DECOUPLED : GM_WD_L2;
    return k;
}

/* One element: p, m (exp_avg), v (exp_avg_sq) in place, from the gradient g as the update
 * reads it. */
GM_FN void gm_nadam_update(const gm_nadam_k *k, float *p, float g, float *m, float *v, const int WD GM_HW_PARAM) {
    float param = *p;
    if (WD == GM_WD_DECOUPLED) param = GM_MUL(param, k->decay);
    if (WD == GM_WD_L2) g = GM_FMA(k->weight_decay, param, g);
    const float exp_avg = gm_lerp(*m, g, k->m_weight GM_HW);
    const float exp_avg_sq = GM_FMA(GM_MUL(k->one_minus_beta2, g), g, GM_MUL(*v, k->beta2));
    const float denom = GM_ADD(GM_SQRT(GM_DIV(exp_avg_sq, k->bc2)), k->eps);
    param = GM_ADD(param, GM_DIV(GM_MUL(k->c_grad, g), denom));
    *p = GM_ADD(param, GM_DIV(GM_MUL(k->c_avg, exp_avg), denom));
    *m = exp_avg;
    *v = exp_avg_sq;
}

#endif /* GOPTIM_NADAM_MATH_H */
