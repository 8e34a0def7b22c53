// ops.cuh - the elementwise ops of goptim's CUDA kernels: optimizer steps (with the AMP
// extras) and gradient clipping / zeroing. See multi_tensor.cuh for the Op interface.
//
// Numerics: each step follows torch.optim's single-tensor path (torch 1.13 / 2.x,
// _single_tensor_*) operation by operation, with torch's CPU rounding: Tensor.add(x,
// alpha=a) and addcmul(x, y, value=a) round as fma(a, x, self) and fma(a*x, y, self),
// addcdiv(x, y, value=a) as self + (a*x)/y with every operation rounded, division by a
// scalar as a true division (checked against Debian's torch 1.13 on AVX2). Every float
// operation is an explicit _rn intrinsic (the files are also compiled with -fmad=false),
// so nvcc contracts nothing and the GPU gives the bits of an exact-order CPU loop.
// Derived scalars (1-beta, bias corrections, lr/bc1, sqrt(bc2), 1-lr*wd, ...) are
// computed in double on the host and rounded to float once, as torch does.
#ifndef GOPTIM_CUDA_OPS_CUH
#define GOPTIM_CUDA_OPS_CUH

#include <cmath>
#include <type_traits>

#include "multi_tensor.cuh"

namespace goptim_cuda {

__device__ __forceinline__ float fmul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float fadd(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float fdiv(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ float ffma(float a, float b, float c) { return __fmaf_rn(a, b, c); }
__device__ __forceinline__ float fsqrt(float a) { return __fsqrt_rn(a); }
// torch.maximum: NaN propagates.
__device__ __forceinline__ float nanmax(float a, float b) { return (a != a || a > b) ? a : b; }

// clip coefficient as torch.nn.utils.clip_grad_norm_ computes it on the device:
// clamp(max_norm * reciprocal(norm + 1e-6), max=1); NaN propagates.
__device__ __forceinline__ float clip_coef(float norm, float max_norm) {
    const float c = fmul(__frcp_rn(fadd(norm, 1e-6f)), max_norm);
    return c > 1.f ? 1.f : c;
}

// AMP extras and maximize, shared by every step op.
template <bool Unscale, bool Clip, bool Maximize>
struct GradPrep {
    const float *grad_scale;
    const float *found_inf;
    const float *clip_norm;
    float max_norm;
    float scale;
    float coef;

    __device__ __forceinline__ bool begin_block() {
        if (found_inf != nullptr && *found_inf != 0.f) return false;
        if (Unscale) scale = *grad_scale;
        if (Clip) coef = clip_coef(*clip_norm, max_norm);
        return true;
    }
    __device__ __forceinline__ void end_block() {}
    // The gradient as the update uses it; the unscaled gradient goes back to v[1].
    __device__ __forceinline__ float grad(float (&v)[kSlots]) const {
        float g = v[1];
        if (Unscale) {
            g = fdiv(g, scale);
            v[1] = g;
        }
        if (Clip) g = fmul(g, coef);
        if (Maximize) g = -g;
        return g;
    }
};

template <bool U, bool C, bool M>
inline GradPrep<U, C, M> make_prep(const goptim_step_aux *aux) {
    GradPrep<U, C, M> p{};
    if (aux) {
        p.grad_scale = aux->grad_scale;
        p.found_inf = aux->found_inf;
        p.clip_norm = aux->clip_norm;
        p.max_norm = (float)aux->max_norm;
    }
    p.scale = 1.f;
    p.coef = 1.f;
    return p;
}

// ---------------------------------------------------------------- SGD

struct SgdScalars {
    float neg_lr, momentum, one_minus_dampening, wd;
};

// Mom: momentum != 0; First: step 1 (buf = d_p); Nest: nesterov.
template <bool U, bool C, bool M, bool WD, bool Mom, bool First, bool Nest>
struct SgdOp : GradPrep<U, C, M> {
    SgdScalars k;
    static constexpr unsigned kLoad = kP | kG | ((Mom && !First) ? kS0 : 0u);
    static constexpr unsigned kStore = kP | (Mom ? kS0 : 0u) | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        float d = this->grad(v);
        const float p = v[0];
        if (WD) d = ffma(k.wd, p, d);
        if (Mom) {
            float buf;
            if (First) buf = d;
            else buf = ffma(k.one_minus_dampening, d, fmul(v[2], k.momentum));
            v[2] = buf;
            d = Nest ? ffma(k.momentum, buf, d) : buf;
        }
        v[0] = ffma(k.neg_lr, d, p);
    }
};

// ---------------------------------------------------------------- Adam / AdamW

enum { kWdNone = 0, kWdL2 = 1, kWdDecoupled = 2 };

struct AdamScalars {
    float beta1, one_minus_beta1, beta2, one_minus_beta2, neg_step_size, bc2_sqrt, eps, wd, decay;
};

template <bool U, bool C, bool M, int WD, bool Ams>
struct AdamOp : GradPrep<U, C, M> {
    AdamScalars k;
    static constexpr unsigned kLoad = kP | kG | kS0 | kS1 | (Ams ? kS2 : 0u);
    static constexpr unsigned kStore = kP | kS0 | kS1 | (Ams ? kS2 : 0u) | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        float g = this->grad(v);
        float p = v[0];
        if (WD == kWdDecoupled) p = fmul(p, k.decay);  // param.mul_(1 - lr*wd)
        if (WD == kWdL2) g = ffma(k.wd, p, g);         // grad.add(param, alpha=wd)
        const float m = ffma(k.one_minus_beta1, g, fmul(v[2], k.beta1));
        const float s = ffma(fmul(k.one_minus_beta2, g), g, fmul(v[3], k.beta2));
        float vh = s;
        if (Ams) {
            vh = nanmax(v[4], s);
            v[4] = vh;
        }
        const float denom = fadd(fdiv(fsqrt(vh), k.bc2_sqrt), k.eps);
        v[0] = fadd(p, fdiv(fmul(k.neg_step_size, m), denom));
        v[2] = m;
        v[3] = s;
    }
};

// ---------------------------------------------------------------- Adagrad

struct AdagradScalars {
    float neg_clr, eps, wd;
};

template <bool U, bool C, bool M, bool WD>
struct AdagradOp : GradPrep<U, C, M> {
    AdagradScalars k;
    static constexpr unsigned kLoad = kP | kG | kS0;
    static constexpr unsigned kStore = kP | kS0 | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        float g = this->grad(v);
        const float p = v[0];
        if (WD) g = ffma(k.wd, p, g);
        const float sum = ffma(g, g, v[2]);  // addcmul_(g, g, value=1)
        const float std_ = fadd(fsqrt(sum), k.eps);
        v[0] = fadd(p, fdiv(fmul(k.neg_clr, g), std_));
        v[2] = sum;
    }
};

// ---------------------------------------------------------------- RMSprop

struct RmspropScalars {
    float alpha, one_minus_alpha, eps, wd, momentum, neg_lr;
};

template <bool U, bool C, bool M, bool WD, bool Mom, bool Centered>
struct RmspropOp : GradPrep<U, C, M> {
    RmspropScalars k;
    static constexpr unsigned kLoad = kP | kG | kS0 | (Mom ? kS1 : 0u) | (Centered ? kS2 : 0u);
    static constexpr unsigned kStore = kP | kS0 | (Mom ? kS1 : 0u) | (Centered ? kS2 : 0u) | (U ? kG : 0u);
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        float g = this->grad(v);
        const float p = v[0];
        if (WD) g = ffma(k.wd, p, g);
        const float sq = ffma(fmul(k.one_minus_alpha, g), g, fmul(v[2], k.alpha));
        v[2] = sq;
        float avg;
        if (Centered) {
            const float ga = ffma(k.one_minus_alpha, g, fmul(v[4], k.alpha));
            v[4] = ga;
            avg = fsqrt(ffma(-ga, ga, sq));  // square_avg.addcmul(ga, ga, value=-1).sqrt_()
        } else {
            avg = fsqrt(sq);
        }
        avg = fadd(avg, k.eps);
        if (Mom) {
            const float buf = fadd(fmul(v[3], k.momentum), fdiv(g, avg));  // buf.mul_(m).addcdiv_(g, avg)
            v[3] = buf;
            v[0] = ffma(k.neg_lr, buf, p);
        } else {
            v[0] = fadd(p, fdiv(fmul(k.neg_lr, g), avg));
        }
    }
};

// ---------------------------------------------------------------- gradient ops

struct ClipByNormOp {
    static constexpr unsigned kLoad = kG;
    static constexpr unsigned kStore = kG;
    const float *norm;
    float max_norm;
    float coef;
    __device__ __forceinline__ bool begin_block() {
        coef = clip_coef(*norm, max_norm);
        return true;
    }
    __device__ __forceinline__ void end_block() {}
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const { v[1] = __fmul_rn(v[1], coef); }
};

struct ClipValueOp : NoBlockHooks {
    static constexpr unsigned kLoad = kG;
    static constexpr unsigned kStore = kG;
    float lo, hi;
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const {
        const float x = v[1];
        v[1] = (x != x) ? x : fminf(fmaxf(x, lo), hi);
    }
};

struct ZeroOp : NoBlockHooks {
    static constexpr unsigned kLoad = 0u;
    static constexpr unsigned kStore = kG;
    __device__ __forceinline__ void operator()(float (&v)[kSlots]) const { v[1] = 0.f; }
};

// ---------------------------------------------------------------- dispatch
//
// Host code: derive the float scalars (in double, rounded once) and pick the kernel
// instantiation for an option set; launch(op) runs it (on the GPU, or in the host
// emulation of tests/test_emulated.cpp).

#define GOPTIM_B(x) decltype(x)::value

// goptim.h: clipping applies when clip_norm is set and max_norm > 0.
inline void aux_flags(const goptim_step_aux *aux, bool *unscale, bool *clip) {
    *unscale = aux != nullptr && aux->grad_scale != nullptr;
    *clip = aux != nullptr && aux->clip_norm != nullptr && aux->max_norm > 0;
}

template <class Op, bool U, bool C, bool M>
inline void set_prep(Op &op, const goptim_step_aux *aux) {
    static_cast<GradPrep<U, C, M> &>(op) = make_prep<U, C, M>(aux);
}

template <class L>
inline goptim_status dispatch_sgd(const goptim_sgd_params &hp, int64_t step, const goptim_step_aux *aux, L &&launch) {
    bool unscale, clip;
    aux_flags(aux, &unscale, &clip);
    SgdScalars k;
    k.neg_lr = (float)(-hp.lr);
    k.momentum = (float)hp.momentum;
    k.one_minus_dampening = (float)(1.0 - hp.dampening);
    k.wd = (float)hp.weight_decay;
    const bool mom = hp.momentum != 0, first = mom && step == 1, nest = mom && hp.nesterov != 0;
    return bool_dispatch(unscale, [&](auto U) {
        return bool_dispatch(clip, [&](auto C) {
            return bool_dispatch(hp.maximize != 0, [&](auto M) {
                return bool_dispatch(hp.weight_decay != 0, [&](auto W) {
                    auto go = [&](auto Mom, auto First, auto Nest) {
                        SgdOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M), GOPTIM_B(W), GOPTIM_B(Mom), GOPTIM_B(First),
                              GOPTIM_B(Nest)>
                            op;
                        set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
                        op.k = k;
                        return launch(op);
                    };
                    using T = std::true_type;
                    using F = std::false_type;
                    if (!mom) return go(F{}, F{}, F{});
                    return bool_dispatch(first, [&](auto First) {
                        return bool_dispatch(nest, [&](auto Nest) { return go(T{}, First, Nest); });
                    });
                });
            });
        });
    });
}

template <class L>
inline goptim_status dispatch_adam(const goptim_adam_params &hp, int64_t step, const goptim_step_aux *aux,
                                   L &&launch) {
    bool unscale, clip;
    aux_flags(aux, &unscale, &clip);
    const double t = (double)step;
    const double bc1 = 1.0 - std::pow(hp.beta1, t);
    const double bc2 = 1.0 - std::pow(hp.beta2, t);
    AdamScalars k;
    k.beta1 = (float)hp.beta1;
    k.one_minus_beta1 = (float)(1.0 - hp.beta1);
    k.beta2 = (float)hp.beta2;
    k.one_minus_beta2 = (float)(1.0 - hp.beta2);
    k.neg_step_size = (float)(-(hp.lr / bc1));
    k.bc2_sqrt = (float)std::sqrt(bc2);
    k.eps = (float)hp.eps;
    k.wd = (float)hp.weight_decay;
    k.decay = (float)(1.0 - hp.lr * hp.weight_decay);
    const int wd = hp.weight_decay == 0 ? kWdNone : (hp.decoupled_weight_decay ? kWdDecoupled : kWdL2);
    return bool_dispatch(unscale, [&](auto U) {
        return bool_dispatch(clip, [&](auto C) {
            return bool_dispatch(hp.maximize != 0, [&](auto M) {
                return bool_dispatch(hp.amsgrad != 0, [&](auto A) {
                    auto go = [&](auto W) {
                        AdamOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M), GOPTIM_B(W), GOPTIM_B(A)> op;
                        set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
                        op.k = k;
                        return launch(op);
                    };
                    if (wd == kWdNone) return go(std::integral_constant<int, kWdNone>{});
                    if (wd == kWdL2) return go(std::integral_constant<int, kWdL2>{});
                    return go(std::integral_constant<int, kWdDecoupled>{});
                });
            });
        });
    });
}

template <class L>
inline goptim_status dispatch_adagrad(const goptim_adagrad_params &hp, int64_t step, const goptim_step_aux *aux,
                                      L &&launch) {
    bool unscale, clip;
    aux_flags(aux, &unscale, &clip);
    AdagradScalars k;
    k.neg_clr = (float)(-(hp.lr / (1.0 + (double)(step - 1) * hp.lr_decay)));
    k.eps = (float)hp.eps;
    k.wd = (float)hp.weight_decay;
    return bool_dispatch(unscale, [&](auto U) {
        return bool_dispatch(clip, [&](auto C) {
            return bool_dispatch(hp.maximize != 0, [&](auto M) {
                return bool_dispatch(hp.weight_decay != 0, [&](auto W) {
                    AdagradOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M), GOPTIM_B(W)> op;
                    set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
                    op.k = k;
                    return launch(op);
                });
            });
        });
    });
}

template <class L>
inline goptim_status dispatch_rmsprop(const goptim_rmsprop_params &hp, int64_t, const goptim_step_aux *aux,
                                      L &&launch) {
    bool unscale, clip;
    aux_flags(aux, &unscale, &clip);
    RmspropScalars k;
    k.alpha = (float)hp.alpha;
    k.one_minus_alpha = (float)(1.0 - hp.alpha);
    k.eps = (float)hp.eps;
    k.wd = (float)hp.weight_decay;
    k.momentum = (float)hp.momentum;
    k.neg_lr = (float)(-hp.lr);
    return bool_dispatch(unscale, [&](auto U) {
        return bool_dispatch(clip, [&](auto C) {
            return bool_dispatch(hp.maximize != 0, [&](auto M) {
                return bool_dispatch(hp.weight_decay != 0, [&](auto W) {
                    return bool_dispatch(hp.momentum > 0, [&](auto Mo) {
                        return bool_dispatch(hp.centered != 0, [&](auto Ce) {
                            RmspropOp<GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M), GOPTIM_B(W), GOPTIM_B(Mo), GOPTIM_B(Ce)> op;
                            set_prep<decltype(op), GOPTIM_B(U), GOPTIM_B(C), GOPTIM_B(M)>(op, aux);
                            op.k = k;
                            return launch(op);
                        });
                    });
                });
            });
        });
    });
}

}  // namespace goptim_cuda

#endif
