/*
 * ademamix_math.h - AdEMAMix (Pagliardini et al. 2024), written once for every backend.
 *
 * The reference, apple/ml-ademamix pytorch/ademamix.py, op by op in torch (fused where
 * torch fuses, see gm_ops.h); step is a Python int there (no float32 rounding):
 *   bias_correction1 = 1 - beta1**step; bias_correction2 = 1 - beta2**step        (double)
 *   alpha = step < alpha_warmup ? (step/alpha_warmup)*alpha : alpha               (double)
 *   beta3 = step < beta3_warmup ? f_inv((1-a)*f(beta1) + a*f(beta3)) : beta3      (double)
 *           with a = step/beta3_warmup, f(b) = log(0.5)/log(b + 1e-8) - 1,
 *           f_inv(t) = 0.5**(1/(t + 1))
 *   exp_avg_fast.mul_(beta1).add_(grad, alpha=1-beta1)         (beta1 == 0: the grad)
 *   exp_avg_slow.mul_(beta3).add_(grad, alpha=1-beta3)
 *   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
 *   denom = (exp_avg_sq.sqrt() / sqrt(bias_correction2)).add_(eps)
 *   update = (exp_avg_fast.div(bias_correction1) + alpha*exp_avg_slow) / denom
 *   update.add_(p, alpha=weight_decay)          (always, as the reference: 0*Inf is NaN)
 *   p.add_(-lr * update)                        (the product rounded, then the sum)
 */
#ifndef GOPTIM_ADEMAMIX_MATH_H
#define GOPTIM_ADEMAMIX_MATH_H

#include "gm_ops.h"

typedef struct {
    float beta1, one_minus_beta1, beta2, one_minus_beta2, beta3, one_minus_beta3;
    float bc1;      /* 1 - beta1^t (divided by) */
    float bc2_sqrt; /* sqrt(1 - beta2^t) */
    float alpha, eps, weight_decay, neg_lr;
    int fast;       /* beta1 != 0: exp_avg_fast is kept */
} gm_ademamix_k;

/* The reference's half-life parameterisation of a beta. */
GM_HOST double gm_ademamix_hl(double beta) { return log(0.5) / log(beta + 1e-8) - 1; }

GM_HOST gm_ademamix_k gm_ademamix_scalars(const goptim_ademamix_params *hp, int64_t step) {
    const double t = (double)step;
    double alpha = hp->alpha, beta3 = hp->beta3;
    if (step < hp->alpha_warmup) {
        const double a = t / (double)hp->alpha_warmup;
        alpha = (1.0 - a) * 0.0 + a * hp->alpha;
    }
    if (step < hp->beta3_warmup) {
        const double a = t / (double)hp->beta3_warmup;
        beta3 = pow(0.5, 1 / ((1.0 - a) * gm_ademamix_hl(hp->beta1) + a * gm_ademamix_hl(hp->beta3) + 1));
    }
    gm_ademamix_k k;
    k.beta1 = (float)hp->beta1;
    k.one_minus_beta1 = (float)(1 - hp->beta1);
    k.beta2 = (float)hp->beta2;
    k.one_minus_beta2 = (float)(1 - hp->beta2);
    k.beta3 = (float)beta3;
    k.one_minus_beta3 = (float)(1 - beta3);
    k.bc1 = (float)(1 - pow(hp->beta1, t));
    k.bc2_sqrt = (float)sqrt(1 - pow(hp->beta2, t));
    k.alpha = (float)alpha;
    k.eps = (float)hp->eps;
    k.weight_decay = (float)hp->weight_decay;
    k.neg_lr = (float)(-hp->lr);
    k.fast = hp->beta1 != 0;
    return k;
}

/* One element: p, m1 (exp_avg_fast, read and written only when FAST), m2
 * (exp_avg_slow), v (exp_avg_sq) in place, from the gradient g as the update reads it. */
GM_FN void gm_ademamix_update(const gm_ademamix_k *k, float *p, float g, float *m1, float *m2, float *v,
                              const int FAST GM_HW_PARAM) {
    const float param = *p;
    const float fast = FAST ? GM_FMA(k->one_minus_beta1, g, GM_MUL(*m1, k->beta1)) : g;
    const float slow = GM_FMA(k->one_minus_beta3, g, GM_MUL(*m2, k->beta3));
    const float sq = GM_FMA(GM_MUL(k->one_minus_beta2, g), g, GM_MUL(*v, k->beta2));
    const float denom = GM_ADD(GM_DIV(GM_SQRT(sq), k->bc2_sqrt), k->eps);
    float update = GM_DIV(GM_ADD(GM_DIV(fast, k->bc1), GM_MUL(k->alpha, slow)), denom);
    update = GM_FMA(k->weight_decay, param, update);
    *p = GM_ADD(param, GM_MUL(k->neg_lr, update));
    if (FAST) *m1 = fast;
    *m2 = slow;
    *v = sq;
}

#endif /* GOPTIM_ADEMAMIX_MATH_H */
