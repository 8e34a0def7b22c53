/*
 * adam_math.h - Adam and AdamW (decoupled_weight_decay), written once for every backend.
 *
 * torch 2.x's single-tensor path, op by op (fused where torch fuses, see gm_ops.h):
 *   param.mul_(1 - lr*wd)                                            (AdamW)
 *   grad = grad.add(param, alpha=wd)                                 (Adam, wd != 0)
 *   exp_avg.lerp_(grad, 1-beta1)
 *   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
 *   torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)    (amsgrad)
 *   denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
 *   param.addcdiv_(exp_avg, denom, value=-step_size)
 * with step_size = lr / (1 - beta1^t) and bias_correction2_sqrt = sqrt(1 - beta2^t) in
 * double. addcdiv is self + (value*t1)/t2, every operation rounded. The square root and
 * the two divisions stay as torch has them: eps is added after the root, so a reciprocal
 * square root would change the results, not only their rounding.
 */
#ifndef GOPTIM_ADAM_MATH_H
#define GOPTIM_ADAM_MATH_H

#include "gm_ops.h"

/* Weight decay: none, L2 (added to the gradient), decoupled (AdamW: the param shrinks).
 * torch's AdamW multiplies by 1 - lr*wd even when wd is 0 (by 1: exact), so a zero wd
 * is GM_WD_NONE for both. */
enum { GM_WD_NONE = 0, GM_WD_L2 = 1, GM_WD_DECOUPLED = 2 };

#if defined(__cplusplus)
#include <type_traits>
/* The GPU's dispatch over the weight decay mode: f(std::integral_constant<int, mode>), so
 * the mode is a template parameter of the kernel. */
template <class F>
inline auto gm_wd_dispatch(int mode, F &&f) {
    if (mode == GM_WD_NONE) return f(std::integral_constant<int, GM_WD_NONE>{});
    if (mode == GM_WD_L2) return f(std::integral_constant<int, GM_WD_L2>{});
    return f(std::integral_constant<int, GM_WD_DECOUPLED>{});
}
#endif

typedef struct {
    gm_lerp_w m_weight; /* lerp weight 1 - beta1 */
    float beta2, one_minus_beta2;
    float neg_step_size; /* -(lr / (1 - beta1^t)) */
    float bc2_sqrt;      /* sqrt(1 - beta2^t) */
    float eps, weight_decay;
    float decay; /* 1 - lr*weight_decay (AdamW) */
    int wd_mode; /* GM_WD_* */
} gm_adam_k;

GM_HOST gm_adam_k gm_adam_scalars(const goptim_adam_params *hp, int64_t step) {
    const double t = gm_torch_step(step);
    const double bias_correction1 = 1 - pow(hp->beta1, t);
    const double bias_correction2 = 1 - pow(hp->beta2, t);
    gm_adam_k k;
    k.m_weight = gm_lerp_weight(1 - hp->beta1);
    k.beta2 = (float)hp->beta2;
    k.one_minus_beta2 = (float)(1 - hp->beta2);
    k.neg_step_size = (float)(-(hp->lr / bias_correction1));
    k.bc2_sqrt = (float)sqrt(bias_correction2);
    k.eps = (float)hp->eps;
    k.weight_decay = (float)hp->weight_decay;
    k.decay = (float)(1 - hp->lr * hp->weight_decay);
    k.wd_mode = hp->weight_decay == 0 ? GM_WD_NONE : hp->decoupled_weight_decay ? GM_WD_DECOUPLED : GM_WD_L2;
    return k;
}

/* One element: p, m (exp_avg), v (exp_avg_sq) and vmax (max_exp_avg_sq, read and written
 * only when AMS) are updated in place from the gradient g as the update reads it. */
GM_FN void gm_adam_update(const gm_adam_k *k, float *p, float g, float *m, float *v, float *vmax, const int WD,
                          const int AMS GM_HW_PARAM) {
    float param = *p;
    if (WD == GM_WD_DECOUPLED) param = GM_MUL(param, k->decay);
    if (WD == GM_WD_L2) g = GM_FMA(k->weight_decay, param, g);
    const float exp_avg = gm_lerp(*m, g, k->m_weight GM_HW);
    const float exp_avg_sq = GM_FMA(GM_MUL(k->one_minus_beta2, g), g, GM_MUL(*v, k->beta2));
    float vhat = exp_avg_sq;
    if (AMS) {
        vhat = gm_max_nan(*vmax, exp_avg_sq);
        *vmax = vhat;
    }
    const float denom = GM_ADD(GM_DIV(GM_SQRT(vhat), k->bc2_sqrt), k->eps);
    *p = GM_ADD(param, GM_DIV(GM_MUL(k->neg_step_size, exp_avg), denom));
    *m = exp_avg;
    *v = exp_avg_sq;
}

#endif /* GOPTIM_ADAM_MATH_H */
