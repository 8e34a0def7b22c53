/*
 * adafactor_math.h - Adafactor (torch.optim.Adafactor, torch 2.5+), written once for
 * every backend.
 *
 * torch 2.x's single-tensor path, per tensor:
 *   step = step_t.item()                                          (float32: gm_torch_step)
 *   one_minus_beta2_t = step**beta2_decay; rho_t = min(lr, 1/step**0.5)         (double)
 *   alpha = max(eps2, param.norm(2).item() / numel**0.5) * rho_t                 (double)
 *   param.mul_(1 - lr*weight_decay)                                      (wd != 0)
 *   matrix (the last two dimensions, rows x cols):
 *     row_mean = norm(grad, dim=-1)**2 / cols;  row_var.lerp_(row_mean, one_minus_beta2_t)
 *     col_mean = norm(grad, dim=-2)**2 / rows;  col_var.lerp_(col_mean, one_minus_beta2_t)
 *     var_estimate = (row_var @ col_var) / row_var.mean(dim=-2).clamp_(min=eps1)
 *   vector:
 *     variance.lerp_(grad*grad, one_minus_beta2_t); var_estimate = variance
 *   update = var_estimate.clamp_(min=eps1*eps1).rsqrt_() * grad
 *   denom = max(1, update.norm(2).item() / (numel**0.5 * d))                     (double)
 *   param.add_(update, alpha=-alpha/denom)
 * Element operations are torch's, each rounded (rsqrt is 1/sqrt, two roundings; add with
 * alpha is one fma). The norms and means are reductions: here summed in double and
 * rounded to float once, where torch sums in float in its own order, so they can differ
 * from torch's in the last bits (and what follows from them with them).
 */
#ifndef GOPTIM_ADAFACTOR_MATH_H
#define GOPTIM_ADAFACTOR_MATH_H

#include "gm_ops.h"

typedef struct {
    gm_lerp_w w;    /* lerp weight one_minus_beta2_t */
    float decay;    /* 1 - lr*weight_decay */
    float eps1;     /* the floor of row_var's mean */
    float eps1sq;   /* the floor of the variance estimate */
    int wd;         /* weight_decay != 0 */
    double rho, eps2, d;
} gm_adafactor_k;

GM_HOST gm_adafactor_k gm_adafactor_scalars(const goptim_adafactor_params *hp, int64_t step) {
    const double t = gm_torch_step(step);
    gm_adafactor_k k;
    k.w = gm_lerp_weight(pow(t, hp->beta2_decay));
    const double r = 1 / sqrt(t); /* step**0.5: correctly rounded either way */
    k.rho = hp->lr < r ? hp->lr : r;
    k.decay = (float)(1 - hp->lr * hp->weight_decay);
    k.eps1 = (float)hp->eps1;
    k.eps1sq = (float)(hp->eps1 * hp->eps1);
    k.wd = hp->weight_decay != 0;
    k.eps2 = hp->eps2;
    k.d = hp->d;
    return k;
}

/* The checks of a tensor's shape and state every backend makes, with one text each:
 * rows r and cols c describe numel n (r == 0: a vector, cols unread). */
#define GM_ADAFACTOR_SHAPE_MSG "adafactor_step: tensor %lld: %lld elements are no stack of %lld x %lld matrices"
#define GM_ADAFACTOR_STATE_MSG "adafactor_step: tensor %lld: NULL %s"
#define GM_ADAFACTOR_STATE_MATRIX "row_var or col_var (state[0], state[1])"
#define GM_ADAFACTOR_STATE_VECTOR "variance (state[2])"
GM_HOST int gm_adafactor_shape_ok(int64_t n, int64_t r, int64_t c) {
    return r == 0 || (r > 0 && c > 0 && r <= n / c && n % (r * c) == 0);
}

/* Python's max(a, b): b only when b > a (so a NaN b gives a). */
GM_FN double gm_pymax(double a, double b) { return b > a ? b : a; }

/* alpha, from the param's sum of squares before the step. numel**0.5 is sqrt: both are
 * correctly rounded (C's pow, which Python calls, and sqrt on every backend). Host and
 * device: the GPU computes it where the sums are. */
GM_FN double gm_adafactor_alpha(double eps2, double rho, double param_sumsq, int64_t numel) {
    const float norm = (float)sqrt(param_sumsq);
    return gm_pymax(eps2, (double)norm / sqrt((double)numel)) * rho;
}

/* The factor of the update added to the param: -alpha / denom. */
GM_FN float gm_adafactor_coef(double d, double alpha, double update_sumsq, int64_t numel) {
    const float norm = (float)sqrt(update_sumsq);
    const double denom = gm_pymax(1.0, (double)norm / (sqrt((double)numel) * d));
    return (float)(-alpha / denom);
}

/* A mean of squares from its sum (a norm squared, divided by the count): torch takes the
 * norm in float, squares it and divides by the size. */
GM_FN float gm_adafactor_mean_sq(double sumsq, float count) {
    const float norm = (float)sqrt(sumsq);
    return GM_DIV(GM_MUL(norm, norm), count);
}

/* clamp_(min=m): NaN stays NaN. */
GM_FN float gm_clamp_min(float x, float m) { return x < m ? m : x; }

/* The update of one element from its variance estimate and gradient. */
GM_FN float gm_adafactor_update(const gm_adafactor_k *k, float var_estimate, float g) {
    return GM_MUL(GM_RCP(GM_SQRT(gm_clamp_min(var_estimate, k->eps1sq))), g);
}

/* A matrix element's variance estimate: row_var * col_var / row_var's mean (clamped). */
GM_FN float gm_adafactor_var(float row_var, float col_var, float row_mean) {
    return GM_DIV(GM_MUL(row_var, col_var), row_mean);
}

/* The param after the step. */
GM_FN float gm_adafactor_apply(const gm_adafactor_k *k, float p, float update, float coef, const int WD GM_HW_PARAM) {
    if (WD) p = GM_MUL(p, k->decay);
    return GM_FMA(coef, update, p);
}

#endif /* GOPTIM_ADAFACTOR_MATH_H */
