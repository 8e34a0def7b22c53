/*
 * schedulefree_math.h - Schedule-Free AdamW (Defazio et al. 2024, "The Road Less
 * Scheduled"), written once for every backend.
 *
 * The reference, facebookresearch/schedule_free schedulefree/adamw_schedulefree.py, its
 * per-tensor path (foreach=False). Per step, in Python floats (double), with k the steps
 * taken before this one (step = k + 1):
 *   sched = (k+1) / warmup_steps if k < warmup_steps else 1
 *   bias_correction2 = 1 - beta2**(k+1)
 *   lr = group lr * sched;  lr_max = max(lr, lr_max)
 *   weight = (k+1)**r * lr_max**weight_lr_power;  weight_sum += weight
 *   ckp1 = weight / weight_sum  (0 when weight_sum is 0)
 *   adaptive_y_lr = lr * (beta1*(1 - ckp1) - 1)
 * then per element, op by op in torch (fused where torch fuses, see gm_ops.h), with y the
 * param and z a copy of it made at the param's first step:
 *   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
 *   denom = exp_avg_sq.div(bias_correction2).sqrt_().add_(eps)
 *   grad_normalized = grad / denom
 *   grad_normalized.add_(y, alpha=weight_decay)                      (weight_decay != 0)
 *   y.lerp_(end=z, weight=ckp1)
 *   y.add_(grad_normalized, alpha=adaptive_y_lr)
 *   z.sub_(grad_normalized, alpha=lr)
 * The reference divides the gradient in place (grad.div_); here the gradient in memory
 * is left as it is (only AMP's unscale writes it back, as in every step).
 *
 * The Python floats are host arithmetic here (gm_sf_adamw_host), in double with the C
 * library's pow, which Python's ** calls, so the same numbers on every backend and the
 * reference's: Go's math.Pow rounds differently in about a quarter of cases.
 *
 * Train and eval move the params between y and x, the average the reference evaluates:
 *   eval:  p.lerp_(end=z, weight=1-1/beta1)        train: p.lerp_(end=z, weight=1-beta1)
 * which is goptim_lerp_state's gm_lerp.
 */
#ifndef GOPTIM_SCHEDULEFREE_MATH_H
#define GOPTIM_SCHEDULEFREE_MATH_H

#include "gm_ops.h"

/* The reference's Python floats of one step. */
typedef struct {
    double lr;         /* the scheduled lr: group lr * sched */
    double lr_max;     /* after this step */
    double weight_sum; /* after this step */
    double ckp1;
    double bias_correction2;
} gm_sf_adamw_h;

GM_HOST gm_sf_adamw_h gm_sf_adamw_host(const goptim_schedulefree_adamw_params *hp, int64_t step) {
    gm_sf_adamw_h h;
    const int64_t k = step - 1;
    /* k+1 and warmup_steps are exact in double below 2^53, so one division rounds the
     * quotient as Python's int / int does. */
    const double sched = k < hp->warmup_steps ? (double)step / (double)hp->warmup_steps : 1.0;
    h.bias_correction2 = 1 - pow(hp->beta2, (double)step);
    h.lr = hp->lr * sched;
    /* max(lr, lr_max) keeps its first argument unless the second is larger */
    h.lr_max = hp->lr_max > h.lr ? hp->lr_max : h.lr;
    const double weight = pow((double)step, hp->r) * pow(h.lr_max, hp->weight_lr_power);
    h.weight_sum = hp->weight_sum + weight;
    h.ckp1 = h.weight_sum == 0 ? 0.0 : weight / h.weight_sum; /* ZeroDivisionError: 0 */
    return h;
}

typedef struct {
    float beta2, one_minus_beta2;
    float bc2; /* bias_correction2 (divided by) */
    float eps, weight_decay;
    gm_lerp_w ckp1; /* lerp weight ckp1 (y towards z) */
    float y_lr;     /* adaptive_y_lr = lr*(beta1*(1-ckp1)-1) */
    float neg_lr;   /* -lr (z.sub_ with alpha lr) */
    int wd;         /* weight_decay != 0 */
} gm_sf_adamw_k;

GM_HOST gm_sf_adamw_k gm_sf_adamw_scalars(const goptim_schedulefree_adamw_params *hp, int64_t step) {
    const gm_sf_adamw_h h = gm_sf_adamw_host(hp, step);
    gm_sf_adamw_k k;
    k.beta2 = (float)hp->beta2;
    k.one_minus_beta2 = (float)(1 - hp->beta2);
    k.bc2 = (float)h.bias_correction2;
    k.eps = (float)hp->eps;
    k.weight_decay = (float)hp->weight_decay;
    k.ckp1 = gm_lerp_weight(h.ckp1);
    k.y_lr = (float)(h.lr * (hp->beta1 * (1 - h.ckp1) - 1));
    k.neg_lr = (float)(-h.lr);
    k.wd = hp->weight_decay != 0;
    return k;
}

/* One element: p (y), z and v (exp_avg_sq) in place, from the gradient g as the update
 * reads it. FIRST: the param's first step, where z is the param itself (the reference
 * clones it) and *z is only written. */
GM_FN void gm_sf_adamw_update(const gm_sf_adamw_k *k, float *p, float g, float *z, float *v, const int WD,
                              const int FIRST GM_HW_PARAM) {
    const float y = *p;
    const float zin = FIRST ? y : *z;
    const float exp_avg_sq = GM_FMA(GM_MUL(k->one_minus_beta2, g), g, GM_MUL(*v, k->beta2));
    const float denom = GM_ADD(GM_SQRT(GM_DIV(exp_avg_sq, k->bc2)), k->eps);
    float gn = GM_DIV(g, denom);
    if (WD) gn = GM_FMA(k->weight_decay, y, gn);
    *p = GM_FMA(k->y_lr, gn, gm_lerp(y, zin, k->ckp1 GM_HW));
    *z = GM_FMA(k->neg_lr, gn, zin);
    *v = exp_avg_sq;
}

#endif /* GOPTIM_SCHEDULEFREE_MATH_H */
