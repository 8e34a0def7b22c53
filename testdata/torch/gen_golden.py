#!/usr/bin/python3
"""Golden reference trajectories for goptim, computed by torch.optim.

Produces, next to this script:

  optim.json  fp32 trajectories of torch.optim.SGD, Adam, AdamW, Adagrad, RMSprop, Adamax,
              RAdam, Adadelta, Rprop, NAdam, ASGD and Adafactor (with each param's
              shape where the optimizer reads it), and of the published algorithms
              torch lacks, written below in torch ops: Lion, AdEMAMix, LAMB (apex's
              FusedLAMB) and LARS (torch's SGD inside apex's LARC)
              (single-tensor path: foreach=False, and fused=False where the optimizer
              has that argument). Each case lists every hyperparameter explicitly, the
              initial parameters, the gradient fed at every step, the parameters after
              every step and torch's final optimizer state.
  clip.json   torch.nn.utils.clip_grad_norm_ (norm_type 2 and inf) and clip_grad_value_
              on single tensors and multi-tensor groups: the gradients before and after
              clipping and the total norm torch returns.

Regenerate from the repository root with torch 2.6 (Debian 13's, in the root that
../shared/torch2/setup.sh builds beside this machine):

    ../shared/torch2/python testdata/torch/gen_golden.py

The output is deterministic: every case seeds its own torch.Generator from a CRC32 of
its name (adding or removing a case leaves the others unchanged), torch runs on one
thread, and floats are written as the shortest decimal that round-trips the float32
value (checked on write, both when parsed straight to float32 and through float64).
The format is described in testdata/torch/README.md.
"""

import math
import os
import sys
import zlib

# Run from anywhere: keep this directory (and the cwd) from shadowing stdlib modules
# such as "types" when started from inside torch's own tree.
HERE = os.path.dirname(os.path.abspath(__file__))

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

GENERATOR = "testdata/torch/gen_golden.py"
STEPS = 20

# ---------------------------------------------------------------------------
# JSON writer with exact float32 numbers
# ---------------------------------------------------------------------------


def f32(x):
    """Shortest decimal string that round-trips the float32 x."""
    v = np.float32(x)
    if not np.isfinite(v):
        raise ValueError("non-finite value %r in golden data" % (v,))
    s = str(v)
    back_direct = np.float32(s)              # decimal -> float32 (numpy parses via double)
    back_double = np.float32(float(s))       # decimal -> float64 -> float32
    if back_direct.tobytes() != v.tobytes() or back_double.tobytes() != v.tobytes():
        s = repr(float(v))                   # exact float64 value of the float32
        assert np.float32(float(s)).tobytes() == v.tobytes()
    return s


class F32Array:
    """A 1-D float32 array, written on one line."""

    def __init__(self, t):
        if isinstance(t, torch.Tensor):
            t = t.detach().cpu().numpy()
        # Copy: a tensor's numpy view shares memory with the tensor, which the
        # optimizer keeps updating in place.
        a = np.array(t, dtype=np.float32, copy=True)
        self.a = a.reshape(-1)  # row-major, as goptim's flat tensors hold a shaped param

    def dump(self):
        return "[" + ",".join(f32(x) for x in self.a) + "]"


class F32:
    """A float32 scalar."""

    def __init__(self, x):
        self.x = np.float32(x)

    def dump(self):
        return f32(self.x)


def dump(v, indent=0, inline=False):
    pad = " " * indent
    if isinstance(v, (F32Array, F32)):
        return v.dump()
    if v is None:
        return "null"  # Adafactor's eps[0] default
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("non-finite %r" % v)
        return repr(v)
    if isinstance(v, str):
        import json
        return json.dumps(v)
    if isinstance(v, dict):
        if inline or not v:
            return "{" + ", ".join("%s: %s" % (dump(k), dump(x, inline=True)) for k, x in v.items()) + "}"
        inner = ",\n".join("%s %s: %s" % (pad, dump(k), dump(x, indent + 1, inline=isinstance(x, dict) and k == "options"))
                           for k, x in v.items())
        return "{\n" + inner + "\n" + pad + "}"
    if isinstance(v, (list, tuple)):
        # Scalars, and the per-tensor arrays of one step, go on one line.
        if inline or not v or not isinstance(v[0], (list, tuple, dict, F32Array)) or \
                (isinstance(v[0], F32Array) and sum(len(x.a) for x in v) <= 128):
            return "[" + ", ".join(dump(x, inline=True) for x in v) + "]"
        inner = ",\n".join(pad + " " + dump(x, indent + 1) for x in v)
        return "[\n" + inner + "\n" + pad + "]"
    raise TypeError(type(v))


def write(path, obj):
    text = dump(obj) + "\n"
    with open(path, "w") as f:
        f.write(text)
    return len(text)


# ---------------------------------------------------------------------------
# Optimizer cases
# ---------------------------------------------------------------------------

# Every option of every optimizer with torch's default; cases override some of them.
DEFAULTS = {
    "sgd": {"lr": 0.01, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0,
            "nesterov": False, "maximize": False},
    "adam": {"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-08, "weight_decay": 0.0,
             "amsgrad": False, "maximize": False},
    "adamw": {"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-08, "weight_decay": 0.01,
              "amsgrad": False, "maximize": False},
    "adagrad": {"lr": 0.01, "lr_decay": 0.0, "weight_decay": 0.0,
                "initial_accumulator_value": 0.0, "eps": 1e-10, "maximize": False},
    "rmsprop": {"lr": 0.01, "alpha": 0.99, "eps": 1e-08, "weight_decay": 0.0,
                "momentum": 0.0, "centered": False, "maximize": False},
    "adamax": {"lr": 0.002, "betas": [0.9, 0.999], "eps": 1e-08, "weight_decay": 0.0,
               "maximize": False},
    "radam": {"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-08, "weight_decay": 0.0,
              "decoupled_weight_decay": False, "maximize": False},
    "adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-06, "weight_decay": 0.0, "maximize": False},
    "rprop": {"lr": 0.01, "etas": [0.5, 1.2], "step_sizes": [1e-06, 50.0], "maximize": False},
    "nadam": {"lr": 0.002, "betas": [0.9, 0.999], "eps": 1e-08, "weight_decay": 0.0,
              "momentum_decay": 0.004, "decoupled_weight_decay": False, "maximize": False},
    "asgd": {"lr": 0.01, "lambd": 0.0001, "alpha": 0.75, "t0": 1000000.0, "weight_decay": 0.0,
             "maximize": False},
    "adafactor": {"lr": 0.01, "beta2_decay": -0.8, "eps": [None, 0.001], "d": 1.0, "weight_decay": 0.0,
                  "maximize": False},
    # The published algorithms torch lacks, written below in torch ops (float32).
    "lion": {"lr": 0.0001, "betas": [0.9, 0.99], "weight_decay": 0.0},
    "ademamix": {"lr": 0.001, "betas": [0.9, 0.999, 0.9999], "alpha": 2.0, "beta3_warmup": None,
                 "alpha_warmup": None, "eps": 1e-08, "weight_decay": 0.0},
    "lamb": {"lr": 0.001, "bias_correction": True, "betas": [0.9, 0.999], "eps": 1e-06, "weight_decay": 0.01,
             "adam_w_mode": True, "grad_averaging": True, "max_grad_norm": 1.0, "use_nvlamb": False,
             "trust_clip": False},
    "lars": {"lr": 0.01, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False,
             "maximize": False, "trust_coefficient": 0.02, "clip": True, "eps": 1e-08},
}


def norm64(x):
    """The L2 norm as goptim takes it: squares summed in double, rounded to float32 once
    (apex and torch.norm sum in float32)."""
    return torch.linalg.vector_norm(x.detach().double()).float()


def f32s(x):
    """The Python float of x rounded to float32: the value apex's kernels take."""
    return float(np.float32(x))


class Lion(torch.optim.Optimizer):
    """Lion as google/automl lion/lion_pytorch.py computes it, op by op."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.mul_(1 - group["lr"] * group["weight_decay"])
                state = self.state[p]
                if len(state) == 0:
                    state["exp_avg"] = torch.zeros_like(p)
                exp_avg = state["exp_avg"]
                beta1, beta2 = group["betas"]
                update = exp_avg * beta1 + p.grad * (1 - beta1)
                p.add_(torch.sign(update), alpha=-group["lr"])
                exp_avg.mul_(beta2).add_(p.grad, alpha=1 - beta2)


class AdEMAMix(torch.optim.Optimizer):
    """AdEMAMix as apple/ml-ademamix pytorch/ademamix.py computes it, op by op."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999, 0.9999), alpha=2.0, beta3_warmup=None,
                 alpha_warmup=None, eps=1e-8, weight_decay=0):
        super().__init__(params, dict(lr=lr, betas=betas, alpha=alpha, beta3_warmup=beta3_warmup,
                                      alpha_warmup=alpha_warmup, eps=eps, weight_decay=weight_decay))

    @staticmethod
    def alpha_at(step, alpha_end, warmup):
        if step < warmup:
            a = step / float(warmup)
            return (1.0 - a) * 0 + a * alpha_end
        return alpha_end

    @staticmethod
    def beta3_at(step, beta_end, beta_start, warmup):
        def f(beta, eps=1e-8):
            return math.log(0.5) / math.log(beta + eps) - 1

        if step < warmup:
            a = step / float(warmup)
            return math.pow(0.5, 1 / (((1.0 - a) * f(beta_start) + a * f(beta_end)) + 1))
        return beta_end

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, lmbda, eps = group["lr"], group["weight_decay"], group["eps"]
            beta1, beta2, beta3_final = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg_fast"] = torch.zeros_like(p) if beta1 != 0.0 else None
                    state["exp_avg_slow"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                fast, slow, sq = state["exp_avg_fast"], state["exp_avg_slow"], state["exp_avg_sq"]
                state["step"] += 1
                bias_correction1 = 1 - beta1 ** state["step"]
                bias_correction2 = 1 - beta2 ** state["step"]
                alpha = group["alpha"]
                if group["alpha_warmup"] is not None:
                    alpha = self.alpha_at(state["step"], group["alpha"], group["alpha_warmup"])
                beta3 = beta3_final
                if group["beta3_warmup"] is not None:
                    beta3 = self.beta3_at(state["step"], beta3_final, beta1, group["beta3_warmup"])
                if beta1 != 0.0:
                    fast.mul_(beta1).add_(grad, alpha=1 - beta1)
                else:
                    fast = grad
                slow.mul_(beta3).add_(grad, alpha=1 - beta3)
                sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = (sq.sqrt() / math.sqrt(bias_correction2)).add_(eps)
                update = (fast.div(bias_correction1) + alpha * slow) / denom
                update.add_(p, alpha=lmbda)
                p.add_(-lr * update)

class LAMB(torch.optim.Optimizer):
    """LAMB as apex's FusedLAMB computes it (apex/optimizers/fused_lamb.py and
    csrc/multi_tensor_lamb.cu), in torch ops on float32: its scalars from the float32
    options, the moments and update of LAMBStage1Functor, the per-tensor trust ratio of
    LAMBStage2Functor; plus timm's trust_clip (timm/optim/lamb.py). The norms are
    norm64's; max_grad_norm 0 turns the clipping off."""

    def __init__(self, params, lr=1e-3, bias_correction=True, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01,
                 adam_w_mode=True, grad_averaging=True, max_grad_norm=1.0, use_nvlamb=False, trust_clip=False):
        super().__init__(params, dict(lr=lr, bias_correction=bias_correction, betas=betas, eps=eps,
                                      weight_decay=weight_decay, adam_w_mode=adam_w_mode,
                                      grad_averaging=grad_averaging, max_grad_norm=max_grad_norm,
                                      use_nvlamb=use_nvlamb, trust_clip=trust_clip))

    @torch.no_grad()
    def step(self):
        grads = [p.grad for g in self.param_groups for p in g["params"] if p.grad is not None]
        gnorm = torch.stack([g.double().pow(2).sum() for g in grads]).sum().sqrt().float()
        for group in self.param_groups:
            beta1, beta2 = np.float32(group["betas"][0]), np.float32(group["betas"][1])
            beta3 = np.float32(1) - beta1 if group["grad_averaging"] else np.float32(1)
            one_minus_beta2 = np.float32(1) - beta2
            lr, eps, wd = f32s(group["lr"]), f32s(group["eps"]), f32s(group["weight_decay"])
            max_norm = f32s(group["max_grad_norm"])
            clip = 1.0
            if max_norm > 0 and gnorm.item() > max_norm:
                clip = float(gnorm / max_norm)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                bc1, bc2 = 1.0, 1.0
                if group["bias_correction"]:
                    bc1 = f32s(1.0 - float(beta1) ** t)
                    bc2 = f32s(1.0 - float(beta2) ** t)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                s = p.grad / clip if clip != 1.0 else p.grad
                if not group["adam_w_mode"] and wd != 0:
                    s = s.add(p, alpha=wd)
                m.mul_(float(beta1)).add_(s, alpha=float(beta3))
                v.mul_(float(beta2)).addcmul_(s, s, value=float(one_minus_beta2))
                u = (m / bc1) / ((v / bc2).sqrt() + eps)
                if group["adam_w_mode"] and wd != 0:
                    u = u.add(p, alpha=wd)
                ratio = torch.tensor(lr, dtype=torch.float32)
                if group["use_nvlamb"] or wd != 0:
                    pn, un = norm64(p), norm64(u)
                    if pn.item() != 0 and un.item() != 0:
                        trust = pn / un
                        if group["trust_clip"]:
                            trust = torch.minimum(trust, torch.ones_like(trust))
                        ratio = trust * lr
                p.add_(u, alpha=-ratio.item())


class LARS(torch.optim.SGD):
    """torch.optim.SGD wrapped in apex's LARC (apex/parallel/LARC.py): per tensor the
    adaptive lr from the norms (norm64's), the gradient decayed and scaled in place, then
    SGD without weight decay."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 maximize=False, trust_coefficient=0.02, clip=True, eps=1e-8):
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening, weight_decay=0.0,
                         nesterov=nesterov, maximize=maximize, foreach=False)
        self.trust_coefficient, self.clip, self.eps, self.lars_weight_decay = trust_coefficient, clip, eps, weight_decay

    @torch.no_grad()
    def step(self):
        wd = self.lars_weight_decay
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                pn, gn = norm64(p), norm64(p.grad)
                if pn.item() != 0 and gn.item() != 0:
                    a = self.trust_coefficient * pn / (gn + pn * wd + self.eps)
                    if self.clip:
                        a = min(a / group["lr"], 1)
                    p.grad += wd * p
                    p.grad *= a
        super().step()


CLASSES = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adamax": torch.optim.Adamax,
    "radam": torch.optim.RAdam,
    "adadelta": torch.optim.Adadelta,
    "rprop": torch.optim.Rprop,
    "nadam": torch.optim.NAdam,
    "asgd": torch.optim.ASGD,
    "adafactor": torch.optim.Adafactor,
    "lion": Lion,
    "ademamix": AdEMAMix,
    "lamb": LAMB,
    "lars": LARS,
}

# Arguments that pick torch's implementation, not its math. Passed to every optimizer
# that accepts them; recorded once at the top of optim.json, not in each case's options.
IMPL = {"foreach": False, "fused": False}


def impl_kwargs(cls):
    import inspect
    params = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in IMPL.items() if k in params}


def seed_of(name):
    return zlib.crc32(name.encode("utf-8"))


def run_case(name, opt, lengths, overrides=None, steps=STEPS, grad_zeros=False, init_scale=1.0, shapes=None):
    options = dict(DEFAULTS[opt])
    for k, v in (overrides or {}).items():
        assert k in options, (name, k)
        options[k] = v
    kwargs = {k: (tuple(v) if k in ("betas", "etas", "step_sizes") or (k == "eps" and isinstance(v, list)) else v)
              for k, v in options.items()}
    cls = CLASSES[opt]

    gen = torch.Generator().manual_seed(seed_of(name))
    if shapes is not None:
        lengths = [int(np.prod(sh)) for sh in shapes]
    params = [torch.nn.Parameter(init_scale * torch.randn(n, generator=gen, dtype=torch.float32))
              for n in lengths]
    if shapes is not None:
        params = [torch.nn.Parameter(p.detach().reshape(sh)) for p, sh in zip(params, shapes)]
    init = [F32Array(p) for p in params]
    optimizer = cls(params, **kwargs, **impl_kwargs(cls))

    grads_out, params_out = [], []
    for _ in range(steps):
        step_grads = []
        for p in params:
            # Magnitude drawn log-uniformly from 1e-3 .. 10, plus a pull towards 0.
            scale = 10.0 ** (-3.0 + 4.0 * torch.rand((), generator=gen, dtype=torch.float64).item())
            g = (scale * torch.randn(p.numel(), generator=gen, dtype=torch.float32)
                 + 0.1 * p.detach().reshape(-1)).to(torch.float32).reshape(p.shape)
            if grad_zeros:
                mask = (torch.rand(p.numel(), generator=gen) < 0.25).reshape(g.shape)
                g = torch.where(mask, torch.zeros_like(g), g)
            p.grad = g.clone()
            step_grads.append(F32Array(g))
        optimizer.step()
        grads_out.append(step_grads)
        params_out.append([F32Array(p) for p in params])
        for p in params:
            assert torch.isfinite(p).all(), name

    state = {}
    # Adafactor keeps row_var and col_var for matrices, variance for vectors: a key a
    # param lacks is an empty array.
    keys = sorted(set(k for p in params for k in optimizer.state[p].keys()))
    for k in keys:
        vals = [optimizer.state[p].get(k, torch.zeros(0)) for p in params]
        if all(v is None for v in vals):
            continue  # SGD without momentum keeps momentum_buffer = None
        if k == "step":
            steps_seen = {int(v.item()) if isinstance(v, torch.Tensor) else int(v) for v in vals}
            assert steps_seen == {steps}, (name, steps_seen)
            state["step"] = steps
        else:
            state[k] = [F32Array(v) for v in vals]

    out = {
        "name": name,
        "optimizer": opt,
        "options": options,
        "steps": steps,
        "lengths": list(lengths),
        "init": init,
        "grads": grads_out,
        "params": params_out,
        "state": state,
    }
    if shapes is not None:
        out["shapes"] = [list(sh) for sh in shapes]
    return out


MULTI = [17, 1, 64, 3]


def optim_cases():
    C = []

    def add(name, opt, lengths, overrides=None, **kw):
        C.append(run_case(name, opt, lengths, overrides, **kw))

    # --- SGD -------------------------------------------------------------
    gd = {"lr": 0.1}
    add("sgd/plain/len=1", "sgd", [1], gd)
    add("sgd/plain/len=33", "sgd", [33], gd)
    add("sgd/plain/len=257", "sgd", [257], gd)
    add("sgd/plain/multi", "sgd", MULTI, gd)
    add("sgd/momentum=0.9/len=7", "sgd", [7], {"lr": 0.05, "momentum": 0.9})
    add("sgd/momentum=0.9/multi", "sgd", MULTI, {"lr": 0.05, "momentum": 0.9})
    add("sgd/momentum=0.9/len=1000", "sgd", [1000], {"lr": 0.05, "momentum": 0.9})
    add("sgd/momentum=0.9/dampening=0.5/len=33", "sgd", [33],
        {"lr": 0.05, "momentum": 0.9, "dampening": 0.5})
    add("sgd/momentum=0.5/dampening=0.1/len=7", "sgd", [7],
        {"lr": 0.1, "momentum": 0.5, "dampening": 0.1})
    add("sgd/nesterov/momentum=0.9/len=7", "sgd", [7], {"lr": 0.05, "momentum": 0.9, "nesterov": True})
    add("sgd/nesterov/momentum=0.9/multi", "sgd", MULTI, {"lr": 0.05, "momentum": 0.9, "nesterov": True})
    add("sgd/wd=0.01/len=33", "sgd", [33], {"lr": 0.1, "weight_decay": 0.01})
    add("sgd/wd=0.1/len=1", "sgd", [1], {"lr": 0.1, "weight_decay": 0.1})
    add("sgd/maximize/len=7", "sgd", [7], {"lr": 0.1, "maximize": True})
    add("sgd/maximize/wd=0.1/len=33", "sgd", [33], {"lr": 0.1, "maximize": True, "weight_decay": 0.1})
    add("sgd/momentum=0.9/wd=0.01/len=100", "sgd", [100], {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01})
    add("sgd/nesterov/momentum=0.8/wd=0.05/maximize/len=33", "sgd", [33],
        {"lr": 0.02, "momentum": 0.8, "weight_decay": 0.05, "nesterov": True, "maximize": True})
    add("sgd/momentum=0.9/dampening=0.3/wd=0.01/maximize/multi", "sgd", MULTI,
        {"lr": 0.03, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01, "maximize": True})
    add("sgd/nesterov/momentum=0.99/wd=0.001/len=7/steps=60", "sgd", [7],
        {"lr": 0.01, "momentum": 0.99, "weight_decay": 0.001, "nesterov": True}, steps=60)
    add("sgd/default-lr=0.01/len=7", "sgd", [7])

    # --- Adam and AdamW -------------------------------------------------
    for opt in ("adam", "adamw"):
        wd0 = DEFAULTS[opt]["weight_decay"]
        add(opt + "/defaults/len=1", opt, [1])
        add(opt + "/defaults/len=7", opt, [7])
        add(opt + "/defaults/len=%d" % (1000 if opt == "adam" else 257), opt, [1000 if opt == "adam" else 257])
        add(opt + "/defaults/multi", opt, MULTI)
        add(opt + "/defaults/len=7/steps=100", opt, [7], steps=100)
        add(opt + "/lr=0.1/len=33", opt, [33], {"lr": 0.1})
        add(opt + "/amsgrad/len=33", opt, [33], {"lr": 0.01, "amsgrad": True})
        add(opt + "/amsgrad/multi", opt, MULTI, {"lr": 0.01, "amsgrad": True})
        add(opt + "/wd=0/len=7", opt, [7], {"lr": 0.01, "weight_decay": 0.0})
        add(opt + "/wd=0.1/len=7", opt, [7], {"lr": 0.01, "weight_decay": 0.1})
        add(opt + "/wd=0.1/multi", opt, MULTI, {"lr": 0.01, "weight_decay": 0.1})
        add(opt + "/maximize/len=33", opt, [33], {"lr": 0.01, "maximize": True})
        add(opt + "/betas=(0.8,0.99)/eps=1e-6/len=7", opt, [7],
            {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-06})
        add(opt + "/betas=(0,0.9)/len=33", opt, [33], {"lr": 0.01, "betas": [0.0, 0.9]})
        add(opt + "/eps=1e-3/len=7", opt, [7], {"lr": 0.01, "eps": 0.001})
        add(opt + "/amsgrad/wd=0.1/len=7", opt, [7], {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1})
        add(opt + "/amsgrad/wd=0.05/maximize/betas=(0.5,0.9)/multi", opt, MULTI,
            {"lr": 0.02, "amsgrad": True, "weight_decay": 0.05, "maximize": True, "betas": [0.5, 0.9]})
        add(opt + "/maximize/wd=0.1/eps=1e-6/len=100", opt, [100],
            {"lr": 0.005, "maximize": True, "weight_decay": 0.1, "eps": 1e-06})
        add(opt + "/amsgrad/zero-grads/len=33", opt, [33], {"lr": 0.01, "amsgrad": True}, grad_zeros=True)
        assert wd0 == DEFAULTS[opt]["weight_decay"]

    # --- Adagrad ---------------------------------------------------------
    add("adagrad/defaults/len=7", "adagrad", [7])
    add("adagrad/defaults/len=257", "adagrad", [257])
    add("adagrad/defaults/multi", "adagrad", MULTI)
    add("adagrad/lr=0.1/len=1", "adagrad", [1], {"lr": 0.1})
    add("adagrad/lr_decay=0.01/len=33", "adagrad", [33], {"lr": 0.1, "lr_decay": 0.01})
    add("adagrad/lr_decay=0.5/len=7/steps=50", "adagrad", [7], {"lr": 0.1, "lr_decay": 0.5}, steps=50)
    add("adagrad/wd=0.1/len=7", "adagrad", [7], {"lr": 0.05, "weight_decay": 0.1})
    add("adagrad/initial_accumulator_value=0.1/len=33", "adagrad", [33],
        {"lr": 0.05, "initial_accumulator_value": 0.1})
    add("adagrad/eps=1e-3/len=7", "adagrad", [7], {"lr": 0.05, "eps": 0.001})
    add("adagrad/maximize/len=33", "adagrad", [33], {"lr": 0.05, "maximize": True})
    add("adagrad/zero-grads/len=33", "adagrad", [33], {"lr": 0.05}, grad_zeros=True)
    add("adagrad/lr_decay=0.1/wd=0.05/initial_accumulator_value=0.5/eps=1e-6/maximize/multi", "adagrad", MULTI,
        {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.05, "initial_accumulator_value": 0.5,
         "eps": 1e-06, "maximize": True})
    add("adagrad/lr_decay=0.01/wd=0.01/len=100", "adagrad", [100],
        {"lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.01})

    # --- RMSprop ---------------------------------------------------------
    add("rmsprop/defaults/len=7", "rmsprop", [7])
    add("rmsprop/defaults/multi", "rmsprop", MULTI)
    add("rmsprop/lr=0.001/len=1", "rmsprop", [1], {"lr": 0.001})
    add("rmsprop/alpha=0.9/len=33", "rmsprop", [33], {"alpha": 0.9})
    add("rmsprop/eps=1e-4/len=7", "rmsprop", [7], {"eps": 0.0001})
    add("rmsprop/wd=0.1/len=7", "rmsprop", [7], {"weight_decay": 0.1})
    add("rmsprop/momentum=0.9/len=33", "rmsprop", [33], {"momentum": 0.9, "lr": 0.001})
    add("rmsprop/momentum=0.9/multi", "rmsprop", MULTI, {"momentum": 0.9, "lr": 0.001})
    add("rmsprop/centered/len=7", "rmsprop", [7], {"centered": True})
    add("rmsprop/centered/multi", "rmsprop", MULTI, {"centered": True})
    add("rmsprop/centered/momentum=0.9/len=100", "rmsprop", [100],
        {"centered": True, "momentum": 0.9, "lr": 0.001})
    add("rmsprop/centered/momentum=0.9/len=257", "rmsprop", [257],
        {"centered": True, "momentum": 0.9, "lr": 0.001})
    add("rmsprop/maximize/len=33", "rmsprop", [33], {"maximize": True})
    add("rmsprop/zero-grads/len=33", "rmsprop", [33], {}, grad_zeros=True)
    add("rmsprop/centered/zero-grads/len=7", "rmsprop", [7], {"centered": True}, grad_zeros=True)
    add("rmsprop/alpha=0.95/eps=1e-6/wd=0.05/momentum=0.5/centered/maximize/multi", "rmsprop", MULTI,
        {"alpha": 0.95, "eps": 1e-06, "weight_decay": 0.05, "momentum": 0.5, "centered": True,
         "maximize": True, "lr": 0.005})
    add("rmsprop/momentum=0.9/wd=0.01/len=7/steps=60", "rmsprop", [7],
        {"momentum": 0.9, "weight_decay": 0.01, "lr": 0.001}, steps=60)

    add("adamax/defaults/len=1", "adamax", [1])
    add("adamax/defaults/len=7", "adamax", [7])
    add("adamax/defaults/len=1000", "adamax", [1000])
    add("adamax/defaults/multi", "adamax", MULTI)
    add("adamax/defaults/len=7/steps=100", "adamax", [7], steps=100)
    add("adamax/lr=0.1/len=33", "adamax", [33], {"lr": 0.1})
    add("adamax/betas=(0.3,0.9)/len=33", "adamax", [33], {"betas": [0.3, 0.9]})
    add("adamax/eps=1e-3/len=7", "adamax", [7], {"eps": 0.001})
    add("adamax/wd=0.1/len=7", "adamax", [7], {"weight_decay": 0.1})
    add("adamax/maximize/len=33", "adamax", [33], {"maximize": True})
    add("adamax/zero-grads/len=33", "adamax", [33], {}, grad_zeros=True)
    add("adamax/lr=0.01/betas=(0.8,0.99)/eps=1e-6/wd=0.05/maximize/multi", "adamax", MULTI,
        {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-06, "weight_decay": 0.05, "maximize": True})

    # RAdam rectifies from step 6 with the defaults; beta2 = 0.7 from step 10; 0.6 never.
    add("radam/defaults/len=1", "radam", [1])
    add("radam/defaults/len=7", "radam", [7])
    add("radam/defaults/len=1000", "radam", [1000])
    add("radam/defaults/multi", "radam", MULTI)
    add("radam/defaults/len=7/steps=100", "radam", [7], steps=100)
    add("radam/lr=0.01/len=33", "radam", [33], {"lr": 0.01})
    add("radam/betas=(0.3,0.7)/len=33", "radam", [33], {"betas": [0.3, 0.7]})
    add("radam/betas=(0.9,0.6)/never-rectified/len=7", "radam", [7], {"betas": [0.9, 0.6]})
    add("radam/eps=1e-3/len=7", "radam", [7], {"eps": 0.001})
    add("radam/wd=0.1/len=7", "radam", [7], {"weight_decay": 0.1})
    add("radam/decoupled/wd=0.1/len=33", "radam", [33], {"weight_decay": 0.1, "decoupled_weight_decay": True})
    add("radam/decoupled/wd=0/len=7", "radam", [7], {"decoupled_weight_decay": True})
    add("radam/maximize/len=33", "radam", [33], {"maximize": True})
    add("radam/zero-grads/len=33", "radam", [33], {}, grad_zeros=True)
    add("radam/lr=0.01/betas=(0.8,0.99)/eps=1e-6/wd=0.05/decoupled/maximize/multi", "radam", MULTI,
        {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-06, "weight_decay": 0.05,
         "decoupled_weight_decay": True, "maximize": True}, steps=40)

    add("adadelta/defaults/len=1", "adadelta", [1])
    add("adadelta/defaults/len=7", "adadelta", [7])
    add("adadelta/defaults/len=1000", "adadelta", [1000])
    add("adadelta/defaults/multi", "adadelta", MULTI)
    add("adadelta/defaults/len=7/steps=100", "adadelta", [7], steps=100)
    add("adadelta/lr=0.1/len=33", "adadelta", [33], {"lr": 0.1})
    add("adadelta/rho=0.5/len=33", "adadelta", [33], {"rho": 0.5})
    add("adadelta/rho=1/len=7", "adadelta", [7], {"rho": 1.0})
    add("adadelta/eps=1e-3/len=7", "adadelta", [7], {"eps": 0.001})
    add("adadelta/wd=0.1/len=7", "adadelta", [7], {"weight_decay": 0.1})
    add("adadelta/maximize/len=33", "adadelta", [33], {"maximize": True})
    add("adadelta/zero-grads/len=33", "adadelta", [33], {}, grad_zeros=True)
    add("adadelta/lr=0.5/rho=0.95/eps=1e-5/wd=0.05/maximize/multi", "adadelta", MULTI,
        {"lr": 0.5, "rho": 0.95, "eps": 1e-05, "weight_decay": 0.05, "maximize": True})

    add("rprop/defaults/len=1", "rprop", [1])
    add("rprop/defaults/len=7", "rprop", [7])
    add("rprop/defaults/len=1000", "rprop", [1000])
    add("rprop/defaults/multi", "rprop", MULTI)
    add("rprop/defaults/len=7/steps=100", "rprop", [7], steps=100)
    add("rprop/lr=0.1/len=33", "rprop", [33], {"lr": 0.1})
    add("rprop/etas=(0.3,1.5)/len=33", "rprop", [33], {"etas": [0.3, 1.5]})
    add("rprop/step_sizes=(1e-3,0.05)/len=33", "rprop", [33], {"step_sizes": [0.001, 0.05]})
    add("rprop/maximize/len=33", "rprop", [33], {"maximize": True})
    add("rprop/zero-grads/len=33", "rprop", [33], {}, grad_zeros=True)
    add("rprop/lr=0.05/etas=(0.4,1.3)/step_sizes=(1e-4,1)/maximize/multi", "rprop", MULTI,
        {"lr": 0.05, "etas": [0.4, 1.3], "step_sizes": [0.0001, 1.0], "maximize": True}, steps=40)

    add("nadam/defaults/len=1", "nadam", [1])
    add("nadam/defaults/len=7", "nadam", [7])
    add("nadam/defaults/len=1000", "nadam", [1000])
    add("nadam/defaults/multi", "nadam", MULTI)
    add("nadam/defaults/len=7/steps=100", "nadam", [7], steps=100)
    add("nadam/lr=0.01/len=33", "nadam", [33], {"lr": 0.01})
    add("nadam/betas=(0.5,0.9)/len=33", "nadam", [33], {"betas": [0.5, 0.9]})
    add("nadam/betas=(0,0.99)/len=7", "nadam", [7], {"betas": [0.0, 0.99]})
    add("nadam/momentum_decay=0.1/len=33", "nadam", [33], {"momentum_decay": 0.1})
    add("nadam/momentum_decay=0/len=7", "nadam", [7], {"momentum_decay": 0.0})
    add("nadam/eps=1e-3/len=7", "nadam", [7], {"eps": 0.001})
    add("nadam/wd=0.1/len=7", "nadam", [7], {"weight_decay": 0.1})
    add("nadam/decoupled/wd=0.1/len=33", "nadam", [33], {"weight_decay": 0.1, "decoupled_weight_decay": True})
    add("nadam/decoupled/wd=0/len=7", "nadam", [7], {"decoupled_weight_decay": True})
    add("nadam/maximize/len=33", "nadam", [33], {"maximize": True})
    add("nadam/zero-grads/len=33", "nadam", [33], {}, grad_zeros=True)
    add("nadam/lr=0.01/betas=(0.8,0.99)/eps=1e-6/wd=0.05/md=0.01/decoupled/maximize/multi", "nadam", MULTI,
        {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-06, "weight_decay": 0.05, "momentum_decay": 0.01,
         "decoupled_weight_decay": True, "maximize": True}, steps=40)

    # Adafactor: matrices (the last two dimensions factored, leading ones a stack) and
    # vectors, in one list as a model has them.
    MAT = [[5, 7], [33], [1, 9], [8, 1], [2, 3, 4], [1]]
    add("adafactor/defaults/len=1", "adafactor", None, shapes=[[1]])
    add("adafactor/defaults/matrix", "adafactor", None, shapes=[[5, 7]])
    add("adafactor/defaults/vector", "adafactor", None, shapes=[[33]])
    add("adafactor/defaults/mixed", "adafactor", None, shapes=MAT)
    add("adafactor/defaults/larger/steps=100", "adafactor", None, shapes=[[24, 16], [50]], steps=100)
    add("adafactor/lr=0.1/mixed", "adafactor", None, {"lr": 0.1}, shapes=MAT)
    add("adafactor/beta2_decay=-0.5/mixed", "adafactor", None, {"beta2_decay": -0.5}, shapes=MAT)
    add("adafactor/beta2_decay=0/mixed", "adafactor", None, {"beta2_decay": 0.0}, shapes=MAT)
    add("adafactor/eps=(1e-3,1e-2)/mixed", "adafactor", None, {"eps": [0.001, 0.01]}, shapes=MAT)
    add("adafactor/eps=(0,0)/mixed", "adafactor", None, {"eps": [0.0, 0.0]}, shapes=MAT)
    add("adafactor/lr=1/small-params/mixed", "adafactor", None, {"lr": 1.0}, shapes=MAT, init_scale=0.01)
    add("adafactor/d=3/mixed", "adafactor", None, {"d": 3.0}, shapes=MAT)
    add("adafactor/wd=0.1/mixed", "adafactor", None, {"weight_decay": 0.1}, shapes=MAT)
    add("adafactor/maximize/mixed", "adafactor", None, {"maximize": True}, shapes=MAT)
    add("adafactor/zero-grads/mixed", "adafactor", None, {}, shapes=MAT, grad_zeros=True)
    add("adafactor/lr=0.05/beta2_decay=-0.6/eps=(1e-6,1e-4)/d=2/wd=0.05/maximize/mixed", "adafactor", None,
        {"lr": 0.05, "beta2_decay": -0.6, "eps": [1e-06, 0.0001], "d": 2.0, "weight_decay": 0.05, "maximize": True},
        shapes=MAT, steps=40)

    # Lion (google/automl lion/lion_pytorch.py) and AdEMAMix (apple/ml-ademamix
    # pytorch/ademamix.py): the published algorithms in torch ops.
    add("lion/defaults/len=1", "lion", [1])
    add("lion/defaults/len=7", "lion", [7])
    add("lion/defaults/len=1000", "lion", [1000])
    add("lion/defaults/multi", "lion", MULTI)
    add("lion/defaults/len=7/steps=100", "lion", [7], steps=100)
    add("lion/lr=0.01/len=33", "lion", [33], {"lr": 0.01})
    add("lion/betas=(0.5,0.9)/len=33", "lion", [33], {"betas": [0.5, 0.9]})
    add("lion/betas=(0,0)/len=7", "lion", [7], {"betas": [0.0, 0.0]})
    add("lion/wd=0.1/len=33", "lion", [33], {"lr": 0.01, "weight_decay": 0.1})
    add("lion/zero-grads/len=33", "lion", [33], {}, grad_zeros=True)
    add("lion/lr=3e-3/betas=(0.95,0.98)/wd=0.5/multi", "lion", MULTI,
        {"lr": 0.003, "betas": [0.95, 0.98], "weight_decay": 0.5}, steps=40)
    add("ademamix/defaults/len=1", "ademamix", [1])
    add("ademamix/defaults/len=7", "ademamix", [7])
    add("ademamix/defaults/len=1000", "ademamix", [1000])
    add("ademamix/defaults/multi", "ademamix", MULTI)
    add("ademamix/defaults/len=7/steps=100", "ademamix", [7], steps=100)
    add("ademamix/lr=0.01/alpha=8/len=33", "ademamix", [33], {"lr": 0.01, "alpha": 8.0})
    add("ademamix/betas=(0.5,0.9,0.99)/len=33", "ademamix", [33], {"betas": [0.5, 0.9, 0.99]})
    add("ademamix/beta1=0/len=33", "ademamix", [33], {"betas": [0.0, 0.999, 0.9999]})
    add("ademamix/warmups=(10,15)/len=33", "ademamix", [33], {"beta3_warmup": 10, "alpha_warmup": 15})
    add("ademamix/beta1=0/warmups=(12,7)/len=7", "ademamix", [7],
        {"betas": [0.0, 0.99, 0.999], "beta3_warmup": 12, "alpha_warmup": 7})
    add("ademamix/eps=1e-3/len=7", "ademamix", [7], {"eps": 0.001})
    add("ademamix/wd=0.1/len=33", "ademamix", [33], {"weight_decay": 0.1})
    add("ademamix/zero-grads/len=33", "ademamix", [33], {}, grad_zeros=True)
    add("ademamix/lr=5e-3/betas=(0.8,0.99,0.999)/alpha=5/warmups=(30,20)/eps=1e-6/wd=0.05/multi", "ademamix", MULTI,
        {"lr": 0.005, "betas": [0.8, 0.99, 0.999], "alpha": 5.0, "beta3_warmup": 30, "alpha_warmup": 20,
         "eps": 1e-06, "weight_decay": 0.05}, steps=40)

    # LAMB (apex's FusedLAMB) and LARS (apex's LARC around torch's SGD): per-tensor trust
    # ratios. The gradients' global norm is mostly above 1 (they are drawn up to 10), so
    # the default max_grad_norm clips most steps.
    add("lamb/defaults/len=1", "lamb", [1])
    add("lamb/defaults/len=7", "lamb", [7])
    add("lamb/defaults/len=1000", "lamb", [1000])
    add("lamb/defaults/multi", "lamb", MULTI)
    add("lamb/defaults/len=7/steps=100", "lamb", [7], steps=100)
    add("lamb/lr=0.01/betas=(0.8,0.99)/len=33", "lamb", [33], {"lr": 0.01, "betas": [0.8, 0.99]})
    add("lamb/wd=0/multi", "lamb", MULTI, {"weight_decay": 0.0})
    add("lamb/wd=0/nvlamb/multi", "lamb", MULTI, {"weight_decay": 0.0, "use_nvlamb": True})
    add("lamb/l2/wd=0.1/multi", "lamb", MULTI, {"adam_w_mode": False, "weight_decay": 0.1})
    add("lamb/no-grad-averaging/len=33", "lamb", [33], {"grad_averaging": False})
    add("lamb/no-bias-correction/len=33", "lamb", [33], {"bias_correction": False})
    add("lamb/max_grad_norm=0/multi", "lamb", MULTI, {"max_grad_norm": 0.0})
    add("lamb/max_grad_norm=100/multi", "lamb", MULTI, {"max_grad_norm": 100.0})
    add("lamb/trust_clip/multi", "lamb", MULTI, {"trust_clip": True})
    add("lamb/eps=1e-3/len=33", "lamb", [33], {"eps": 0.001})
    add("lamb/zero-grads/multi", "lamb", MULTI, {}, grad_zeros=True)
    add("lamb/zero-init/multi", "lamb", MULTI, {}, init_scale=0.0)
    add("lamb/lr=5e-3/betas=(0.85,0.98)/eps=1e-8/wd=0.05/l2/nvlamb/trust_clip/max_grad_norm=3/multi", "lamb",
        MULTI, {"lr": 0.005, "betas": [0.85, 0.98], "eps": 1e-08, "weight_decay": 0.05, "adam_w_mode": False,
                "use_nvlamb": True, "trust_clip": True, "max_grad_norm": 3.0}, steps=40)
    add("lars/defaults/len=1", "lars", [1])
    add("lars/defaults/len=7", "lars", [7])
    add("lars/defaults/len=1000", "lars", [1000])
    add("lars/defaults/multi", "lars", MULTI)
    add("lars/defaults/len=7/steps=100", "lars", [7], steps=100)
    add("lars/momentum=0.9/multi", "lars", MULTI, {"momentum": 0.9})
    add("lars/momentum=0.9/nesterov/multi", "lars", MULTI, {"momentum": 0.9, "nesterov": True})
    add("lars/momentum=0.5/dampening=0.3/len=33", "lars", [33], {"momentum": 0.5, "dampening": 0.3})
    add("lars/wd=0.01/multi", "lars", MULTI, {"weight_decay": 0.01})
    add("lars/no-clip/lr=0.5/multi", "lars", MULTI, {"clip": False, "lr": 0.5})
    add("lars/trust=0.001/eps=1e-3/len=33", "lars", [33], {"trust_coefficient": 0.001, "eps": 0.001})
    add("lars/maximize/momentum=0.9/len=33", "lars", [33], {"maximize": True, "momentum": 0.9})
    add("lars/zero-grads/multi", "lars", MULTI, {}, grad_zeros=True)
    add("lars/zero-init/momentum=0.9/multi", "lars", MULTI, {"momentum": 0.9}, init_scale=0.0)
    add("lars/lr=0.1/momentum=0.9/nesterov/wd=5e-4/trust=0.01/maximize/multi", "lars", MULTI,
        {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.0005, "trust_coefficient": 0.01,
         "maximize": True}, steps=40)

    # ASGD averages from the step after t0 + 1: t0 = 5 and 0 exercise it within the run.
    add("asgd/defaults/len=1", "asgd", [1])
    add("asgd/defaults/len=7", "asgd", [7])
    add("asgd/defaults/len=1000", "asgd", [1000])
    add("asgd/defaults/multi", "asgd", MULTI)
    add("asgd/defaults/len=7/steps=100", "asgd", [7], steps=100)
    add("asgd/lr=0.05/len=33", "asgd", [33], {"lr": 0.05})
    add("asgd/t0=5/len=33", "asgd", [33], {"t0": 5.0})
    add("asgd/t0=0/len=7/steps=60", "asgd", [7], {"t0": 0.0}, steps=60)
    add("asgd/lambd=0.5/alpha=0.5/len=33", "asgd", [33], {"lambd": 0.5, "alpha": 0.5})
    add("asgd/lambd=0/len=7", "asgd", [7], {"lambd": 0.0})
    add("asgd/alpha=1/lr=0.1/len=7", "asgd", [7], {"alpha": 1.0, "lr": 0.1})
    add("asgd/wd=0.1/len=7", "asgd", [7], {"weight_decay": 0.1})
    add("asgd/maximize/len=33", "asgd", [33], {"maximize": True})
    add("asgd/zero-grads/t0=3/len=33", "asgd", [33], {"t0": 3.0}, grad_zeros=True)
    add("asgd/lr=0.02/lambd=0.01/alpha=0.6/t0=10/wd=0.05/maximize/multi", "asgd", MULTI,
        {"lr": 0.02, "lambd": 0.01, "alpha": 0.6, "t0": 10.0, "weight_decay": 0.05, "maximize": True}, steps=40)

    names = [c["name"] for c in C]
    assert len(names) == len(set(names)), "duplicate case names"
    return C


# ---------------------------------------------------------------------------
# Clipping cases
# ---------------------------------------------------------------------------


def clip_case(name, kind, lengths, limit, norm_type=2.0, grad_scale=1.0, zeros=False):
    gen = torch.Generator().manual_seed(seed_of(name))
    grads = []
    for n in lengths:
        g = grad_scale * torch.randn(n, generator=gen, dtype=torch.float32)
        if zeros:
            g = torch.zeros(n, dtype=torch.float32)
        grads.append(g.to(torch.float32))
    params = [torch.nn.Parameter(torch.zeros(n, dtype=torch.float32)) for n in lengths]
    for p, g in zip(params, grads):
        p.grad = g.clone()

    case = {"name": name, "kind": kind}
    if kind == "norm":
        total = torch.nn.utils.clip_grad_norm_(params, max_norm=limit, norm_type=norm_type)
        case["max_norm"] = float(limit)
        case["norm_type"] = "inf" if math.isinf(norm_type) else float(norm_type)
    else:
        torch.nn.utils.clip_grad_value_(params, clip_value=limit)
        case["clip_value"] = float(limit)
    case["lengths"] = list(lengths)
    case["grads"] = [F32Array(g) for g in grads]
    if kind == "norm":
        assert total.dtype == torch.float32
        case["total_norm"] = F32(total.item())
        coef = limit / (total.item() + 1e-6)
        case["clipping_applied"] = bool(coef < 1.0)
    case["clipped"] = [F32Array(p.grad) for p in params]
    return case


def clip_cases():
    C = []

    def add(*a, **kw):
        C.append(clip_case(*a, **kw))

    for nt, tag in ((2.0, "l2"), (math.inf, "inf")):
        add("norm/%s/clips/len=1" % tag, "norm", [1], 0.5, nt, grad_scale=3.0)
        add("norm/%s/clips/len=7" % tag, "norm", [7], 1.0, nt)
        add("norm/%s/clips/len=1000" % tag, "norm", [1000], 1.0, nt)
        add("norm/%s/clips/multi" % tag, "norm", MULTI, 0.25, nt)
        add("norm/%s/clips/large-grads/len=33" % tag, "norm", [33], 5.0, nt, grad_scale=100.0)
        add("norm/%s/no-clip/len=33" % tag, "norm", [33], 1000.0, nt)
        add("norm/%s/no-clip/multi" % tag, "norm", MULTI, 1000.0, nt, grad_scale=0.01)
        add("norm/%s/no-clip/tiny-grads/len=100" % tag, "norm", [100], 1.0, nt, grad_scale=1e-4)
        add("norm/%s/zero-grads/multi" % tag, "norm", MULTI, 1.0, nt, zeros=True)
        add("norm/%s/clips/many-tensors" % tag, "norm", [5, 9, 1, 130, 2, 31, 64, 7], 0.1, nt)
    add("value/clips/len=7", "value", [7], 0.5)
    add("value/clips/len=1000", "value", [1000], 1.0)
    add("value/clips/multi", "value", MULTI, 0.1)
    add("value/no-clip/len=33", "value", [33], 100.0)
    add("value/clips/len=1", "value", [1], 0.01, grad_scale=3.0)

    names = [c["name"] for c in C]
    assert len(names) == len(set(names)), "duplicate case names"
    return C


def main():
    out_dir = HERE
    version = torch.__version__
    optim = {
        "torch_version": version,
        "generator": GENERATOR,
        "dtype": "float32",
        "implementation": dict(IMPL),
        "cases": optim_cases(),
    }
    clip = {
        "torch_version": version,
        "generator": GENERATOR,
        "dtype": "float32",
        "cases": clip_cases(),
    }
    n1 = write(os.path.join(out_dir, "optim.json"), optim)
    n2 = write(os.path.join(out_dir, "clip.json"), clip)
    print("optim.json: %d cases, %d bytes" % (len(optim["cases"]), n1), file=sys.stderr)
    print("clip.json: %d cases, %d bytes" % (len(clip["cases"]), n2), file=sys.stderr)


if __name__ == "__main__":
    main()
