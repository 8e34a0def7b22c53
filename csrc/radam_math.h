/*
 * radam_math.h - RAdam and RAdamW (decoupled_weight_decay), written once for every backend.
 *
 * torch 2.x's single-tensor path, op by op (fused where torch fuses, see gm_ops.h):
 *   step = step_t.item()                                   (float32: gm_torch_step)
 *   param.mul_(1 - lr*wd)                                             (RAdamW, wd != 0)
 *   grad = grad.add(param, alpha=wd)                                  (RAdam, wd != 0)
 *   exp_avg.lerp_(grad, 1-beta1)
 *   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
 *   bias_correction1 = 1 - beta1**step; bias_correction2 = 1 - beta2**step        (double)
 *   bias_corrected_exp_avg = exp_avg / bias_correction1
 *   rho_inf = 2/(1-beta2) - 1; rho_t = rho_inf - 2*step*(beta2**step)/bias_correction2
 *   rho_t > 5:
 *     rect = ((rho_t-4)*(rho_t-2)*rho_inf / ((rho_inf-4)*(rho_inf-2)*rho_t)) ** 0.5   (double)
 *     adaptive_lr = bias_correction2**0.5 / (exp_avg_sq.sqrt().add_(eps))
 *                 = (exp_avg_sq.sqrt() + eps).reciprocal() * bias_correction2**0.5
 *                   (Tensor.__rtruediv__ is reciprocal() * other)
 *     param.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
 *   else:
 *     param.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
 * The products are left to right, each rounded; add_(x, alpha=-1) is fma(-1, x, param),
 * i.e. param - x rounded once.
 */
#ifndef GOPTIM_RADAM_MATH_H
#define GOPTIM_RADAM_MATH_H

#include "adam_math.h" /* GM_WD_NONE, GM_WD_L2, GM_WD_DECOUPLED */


typedef struct {
    gm_lerp_w m_weight; /* lerp weight 1 - beta1 */
    float beta2, one_minus_beta2;
    float bc1;      /* 1 - beta1^t (divided by) */
    float lr;
    float bc2_sqrt; /* (1 - beta2^t) ** 0.5 */
    float rect;     /* the rectification term (when rectified) */
    float eps, weight_decay;
    float decay;    /* 1 - lr*weight_decay (RAdamW) */
    int rectified;  /* rho_t > 5 */
    int wd_mode;    /* GM_WD_* */
} gm_radam_k;

GM_HOST gm_radam_k gm_radam_scalars(const goptim_radam_params *hp, int64_t step) {
    const double t = gm_torch_step(step);
    const double bias_correction1 = 1 - pow(hp->beta1, t);
    const double bias_correction2 = 1 - pow(hp->beta2, t);
    const double rho_inf = 2 / (1 - hp->beta2) - 1;
    const double rho_t = rho_inf - 2 * t * pow(hp->beta2, t) / bias_correction2;
    gm_radam_k k;
    k.m_weight = gm_lerp_weight(1 - hp->beta1);
    k.beta2 = (float)hp->beta2;
    k.one_minus_beta2 = (float)(1 - hp->beta2);
    k.bc1 = (float)bias_correction1;
    k.lr = (float)hp->lr;
    k.rectified = rho_t > 5.0;
    k.bc2_sqrt = (float)pow(bias_correction2, 0.5);
    k.rect = k.rectified
                 ? (float)pow((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t), 0.5)
                 : 1.0f;
    k.eps = (float)hp->eps;
    k.weight_decay = (float)hp->weight_decay;
    k.decay = (float)(1 - hp->lr * hp->weight_decay);
    k.wd_mode = hp->weight_decay == 0 ? GM_WD_NONE : hp->decoupled_weight_decay ? GM_WD_DECOUPLED : GM_WD_L2;
    return k;
}

/* One element: p, m (exp_avg), v (exp_avg_sq) in place, from the gradient g as the update
 * reads it. RECT is k->rectified (constant over a call). */
GM_FN void gm_radam_update(const gm_radam_k *k, float *p, float g, float *m, float *v, const int WD,
                           const int RECT GM_HW_PARAM) {
    float param = *p;
    if (WD == GM_WD_DECOUPLED) param = GM_MUL(param, k->decay);
    if (WD == GM_WD_L2) g = GM_FMA(k->weight_decay, param, g);
    const float exp_avg = gm_lerp(*m, g, k->m_weight GM_HW);
    const float exp_avg_sq = GM_FMA(GM_MUL(k->one_minus_beta2, g), g, GM_MUL(*v, k->beta2));
    float upd = GM_MUL(GM_DIV(exp_avg, k->bc1), k->lr);
    if (RECT) {
        const float adaptive_lr = GM_MUL(GM_RCP(GM_ADD(GM_SQRT(exp_avg_sq), k->eps)), k->bc2_sqrt);
        upd = GM_MUL(GM_MUL(upd, adaptive_lr), k->rect);
    }
    *p = GM_ADD(param, -upd); /* add_(upd, alpha=-1): fma(-1, upd, param) */
    *m = exp_avg;
    *v = exp_avg_sq;
}

#endif /* GOPTIM_RADAM_MATH_H */
