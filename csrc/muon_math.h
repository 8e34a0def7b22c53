/*
 * muon_math.h - Muon (torch.optim.Muon, torch 2.9 torch/optim/_muon.py), written once for
 * every backend.
 *
 * torch 2.9's single-tensor path, per 2-D param (its use of bfloat16 aside: here float32):
 *   buf.lerp_(grad, 1 - momentum)                        (lerp: gm_lerp, one fma)
 *   update = grad.lerp(buf, momentum) if nesterov else buf
 *   X = update (.T when rows > cols); X.div_(X.norm().clamp(min=eps))
 *   ns_steps times:
 *     A = X @ X.T
 *     B = torch.addmm(A, A, A, beta=b, alpha=c)
 *     X = torch.addmm(X, B, X, beta=a)
 *   adjusted_lr = lr * sqrt(max(1, rows/cols))           ("original", torch's None)
 *              or lr * (0.2 * sqrt(max(rows, cols)))     ("match_rms_adamw")
 *   param.mul_(1 - lr*weight_decay); param.add_(X (.T back), alpha=-adjusted_lr)
 * torch 2.6 on the CPU multiplies float matrices with BLAS sgemm, and with the reference
 * BLAS (netlib) every output is accumulated over k in order: for contiguous operands
 * (its NN case) C = beta*C (0 when beta == 0), then C += (alpha*A[i][l])*B[l][j] per l;
 * when X is the transposed view of the first iteration, addmm's second product is its
 * TN case: t = sum over l from 0 of B[i][l]*X[l][j], C = alpha*t + beta*C. Each product
 * and sum is rounded on its own (no fma). These were measured against torch 2.6 (see
 * testdata/torch/gen_muon.py). The norm is the square root of the sum of squares of
 * update in memory order, accumulated in float (torch.dot, BLAS sdot: sequential), where
 * torch's norm() reduces in its own vectorised order.
 */
#ifndef GOPTIM_MUON_MATH_H
#define GOPTIM_MUON_MATH_H

#include "gm_ops.h"

typedef struct {
    gm_lerp_w wbuf;  /* buf.lerp_(grad, 1 - momentum) */
    gm_lerp_w wnest; /* grad.lerp(buf, momentum) */
    int nesterov;
    float eps, a, b, c;
    float decay; /* 1 - lr*weight_decay */
} gm_muon_k;

GM_HOST gm_muon_k gm_muon_scalars(const goptim_muon_params *hp) {
    gm_muon_k k;
    k.wbuf = gm_lerp_weight(1 - hp->momentum);
    k.wnest = gm_lerp_weight(hp->momentum);
    k.nesterov = hp->nesterov != 0;
    k.eps = (float)hp->eps;
    k.a = (float)hp->ns_a;
    k.b = (float)hp->ns_b;
    k.c = (float)hp->ns_c;
    k.decay = (float)(1 - hp->lr * hp->weight_decay);
    return k;
}

/* -adjusted_lr for a rows x cols param, as torch's _adjust_lr computes it in Python. */
GM_HOST float gm_muon_neg_lr(const goptim_muon_params *hp, int64_t rows, int64_t cols) {
    double ratio;
    if (hp->adjust_lr_fn == GOPTIM_MUON_ADJUST_MATCH_RMS_ADAMW) {
        ratio = 0.2 * sqrt((double)(rows > cols ? rows : cols));
    } else {
        const double q = (double)rows / (double)cols;
        ratio = sqrt(q > 1 ? q : 1.0);
    }
    return (float)(-(hp->lr * ratio));
}

/* The checks every backend makes, with one text each. */
#define GM_MUON_SHAPE_MSG "muon_step: tensor %lld: %lld elements are no %lld x %lld matrix"
#define GM_MUON_STATE_MSG "muon_step: tensor %lld: NULL %s"
#define GM_MUON_STATE_MATRIX "momentum_buffer (state[0])"
#define GM_MUON_STATE_VECTOR "exp_avg or exp_avg_sq (state[1], state[2])"
#define GM_MUON_BLAS_SIZE_MSG "muon_step: tensor %lld: %lld x %lld: the BLAS products take sides up to 2^31-1"
GM_HOST int gm_muon_shape_ok(int64_t n, int64_t r, int64_t c) {
    return r == 0 || (r > 0 && c > 0 && r <= n / c && n == r * c);
}

/* The momentum of one element: advances *buf and returns the update. */
GM_FN float gm_muon_momentum(const gm_muon_k *k, float g, float *buf GM_HW_PARAM) {
    const float b = gm_lerp(*buf, g, k->wbuf GM_HW);
    *buf = b;
    return k->nesterov ? gm_lerp(g, b, k->wnest GM_HW) : b;
}

/* norm.clamp(min=eps): NaN stays NaN. */
GM_FN float gm_muon_clamp(float norm, float eps) { return norm < eps ? eps : norm; }

/* param.mul_(decay); param.add_(u, alpha=neg_lr) (add with alpha: one fma). */
GM_FN float gm_muon_apply(const gm_muon_k *k, float p, float u, float neg_lr GM_HW_PARAM) {
    return GM_FMA(neg_lr, u, GM_MUL(p, k->decay));
}

/*
 * One product in the reference BLAS's order, on the host (the emulated device and the
 * tests): C (m x n, row stride ldc) = alpha*A B + beta*Cin, A m x k (lda), B k x n
 * (ldb), or with btrans B[l][j] = b[j*ldb + l]. tn: the TN order (sum from 0, then
 * alpha*t + beta*Cin); else NN (from beta*Cin, (alpha*a)*b per term). beta == 0 reads no
 * Cin; alpha == 0 computes no product (netlib's quick returns).
 */
GM_HOST void gm_muon_mm_ref(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                            const float *b, int64_t ldb, int btrans, float beta, const float *cin, int64_t ldcin,
                            float *c, int64_t ldc, int tn) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            const float c0 = beta == 0.0f ? 0.0f : GM_MUL(beta, cin[i * ldcin + j]);
            if (alpha == 0.0f) {
                c[i * ldc + j] = c0;
                continue;
            }
            float acc = tn ? 0.0f : c0;
            for (int64_t l = 0; l < k; l++) {
                const float bv = btrans ? b[j * ldb + l] : b[l * ldb + j];
                const float av = tn ? a[i * lda + l] : GM_MUL(alpha, a[i * lda + l]);
                acc = GM_ADD(acc, GM_MUL(av, bv));
            }
            c[i * ldc + j] = tn ? (beta == 0.0f ? GM_MUL(alpha, acc) : GM_ADD(GM_MUL(alpha, acc), c0)) : acc;
        }
}

#endif /* GOPTIM_MUON_MATH_H */
