"""gen_schedulefree.py - golden trajectories of Schedule-Free AdamW for
optim/schedulefree_test.go.

    /work/shared/torch2/python testdata/torch/gen_schedulefree.py [optim/testdata/schedulefree.json]

The reference is facebookresearch/schedule_free schedulefree/adamw_schedulefree.py
(AdamWScheduleFree: train(), eval() and step() with foreach=False, the per-tensor path).
It is not a torch module, so AdamWScheduleFreeRef below is that class written with torch
2.6 tensor ops in float32 on the CPU, op for op, its scalars in Python floats. Two
differences from the file, neither of which changes a number:
  - the gradient is a copy: the reference divides p.grad in place (grad.div_(denom)),
    goptim leaves the gradient as it is;
  - the class takes lists of tensors instead of nn.Parameters, and step() the gradients
    (None for a param without one).
One case, "nil_grad_per_param", sets per_param: the reference keeps k, weight_sum and
lr_max per param group and counts a step for the whole group even for a param without a
gradient; goptim keeps them per param, as torch keeps step counts, and the two agree
whenever every param of a group has a gradient at every step (every other case). With
per_param the class keeps the three values in each param's state instead, which is
goptim's documented semantics; everything else is the reference's.

Data are exact in both languages: element i of the tensor with seed s is
float32(((s*1000003 + i*7919) % 20011) - 10005) / 4096; param j of group g of a case
with seed S starts at seed S*100000 + g*1000 + j*100, and its gradient at step t (1,
2, ...) is the data of seed S*100000 + g*1000 + j*100 + t times grad_scale (a power of
two). Tensors are little-endian float32 bytes in hex; weight_sum and lr_max are the
Python floats (JSON keeps doubles exactly).
"""
import json
import sys

import numpy as np
import torch

torch.set_num_threads(1)
f32 = np.float32

DEFAULTS = dict(lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, warmup_steps=0, r=0.0,
                weight_lr_power=2.0)


def data(seed, n):
    i = np.arange(n, dtype=np.int64)
    return ((((seed * 1000003 + i * 7919) % 20011) - 10005).astype(f32) / f32(4096)).astype(f32)


def hexf(t):
    return t.detach().contiguous().numpy().astype("<f4").tobytes().hex()


class AdamWScheduleFreeRef:
    """AdamWScheduleFree of schedulefree/adamw_schedulefree.py, foreach=False."""

    def __init__(self, groups, per_param=False):
        self.per_param = per_param
        self.param_groups = []
        for params, options in groups:
            g = dict(DEFAULTS)
            g.update(options)
            g.update(params=params, k=0, train_mode=False, weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0)
            self.param_groups.append(g)
        self.state = [[{} for _ in g["params"]] for g in self.param_groups]

    @torch.no_grad()
    def eval(self):
        for gi, group in enumerate(self.param_groups):
            train_mode = group['train_mode']
            beta1, _ = group['betas']
            if train_mode:
                for j, p in enumerate(group['params']):
                    state = self.state[gi][j]
                    if 'z' in state:
                        # Set p to x
                        p.lerp_(end=state['z'].to(p.device), weight=1 - 1 / beta1)
                group['train_mode'] = False

    @torch.no_grad()
    def train(self):
        for gi, group in enumerate(self.param_groups):
            train_mode = group['train_mode']
            beta1, _ = group['betas']
            if not train_mode:
                for j, p in enumerate(group['params']):
                    state = self.state[gi][j]
                    if 'z' in state:
                        # Set p to y
                        p.lerp_(end=state['z'].to(p.device), weight=1 - beta1)
                group['train_mode'] = True

    @staticmethod
    def scalars(group, holder):
        """The step's Python floats from holder's k, weight_sum and lr_max, advancing them."""
        beta1, beta2 = group['betas']
        k = holder['k']
        r = group['r']
        warmup_steps = group['warmup_steps']
        weight_lr_power = group['weight_lr_power']

        if k < warmup_steps:
            sched = (k + 1) / warmup_steps
        else:
            sched = 1.0

        bias_correction2 = 1 - beta2 ** (k + 1)
        lr = group['lr'] * sched
        group['scheduled_lr'] = lr

        lr_max = holder['lr_max'] = max(lr, holder['lr_max'])

        weight = ((k + 1) ** r) * (lr_max ** weight_lr_power)
        weight_sum = holder['weight_sum'] = holder['weight_sum'] + weight

        try:
            ckp1 = weight / weight_sum
        except ZeroDivisionError:
            ckp1 = 0

        holder['k'] = k + 1
        return lr, bias_correction2, ckp1, lr * (beta1 * (1 - ckp1) - 1)

    @torch.no_grad()
    def step(self, grads):
        if not self.param_groups[0]['train_mode']:
            raise Exception("Optimizer was not in train mode when step is called. "
                            "Please insert .train() and .eval() calls on the "
                            "optimizer. See documentation for details.")
        for gi, group in enumerate(self.param_groups):
            eps = group['eps']
            beta1, beta2 = group['betas']
            decay = group['weight_decay']
            active = [j for j, p in enumerate(group['params']) if grads[gi][j] is not None]
            if not self.per_param:
                shared = self.scalars(group, group)
            for j in active:
                p = group['params'][j]
                state = self.state[gi][j]
                if 'z' not in state:
                    state['z'] = torch.clone(p, memory_format=torch.preserve_format)
                    state['exp_avg_sq'] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if self.per_param:
                        state.update(k=0, weight_sum=0.0, lr_max=-1.0)
            for j in active:
                y = group['params'][j]  # Notation to match theory
                grad = grads[gi][j].clone()
                state = self.state[gi][j]
                lr, bias_correction2, ckp1, adaptive_y_lr = (
                    self.scalars(group, state) if self.per_param else shared)

                z = state['z']
                exp_avg_sq = state['exp_avg_sq']

                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = exp_avg_sq.div(bias_correction2).sqrt_().add_(eps)

                # Reuse grad buffer for memory efficiency
                grad_normalized = grad.div_(denom)

                # Weight decay calculated at y
                if decay != 0:
                    grad_normalized.add_(y, alpha=decay)

                # These operations update y in-place,
                # without computing x explicitly.
                y.lerp_(end=z, weight=ckp1)
                y.add_(grad_normalized, alpha=adaptive_y_lr)

                # z step
                z.sub_(grad_normalized, alpha=lr)

    def host(self, gi, j):
        """[k, weight_sum, lr_max] as goptim keeps them for param j of group gi."""
        h = self.state[gi][j] if self.per_param else self.param_groups[gi]
        if self.per_param and 'k' not in h:
            return [0, 0.0, -1.0]
        return [h['k'], h['weight_sum'], h['lr_max']]


def options(**kw):
    o = dict(DEFAULTS)
    o.update(kw)
    o['betas'] = list(o['betas'])
    return o


def run(name, seed, groups, ops, grad_scale=1.0, per_param=False):
    """groups: [(options, lengths)]; ops: "train", "eval", or ("step", {"lr": {g: lr}, "nil": [(g, j)]})."""
    tensors = [[torch.from_numpy(data(seed * 100000 + gi * 1000 + j * 100, n)) for j, n in enumerate(lengths)]
               for gi, (_, lengths) in enumerate(groups)]
    opts = [dict(o, betas=tuple(o['betas'])) for o, _ in groups]
    opt = AdamWScheduleFreeRef(list(zip(tensors, opts)), per_param=per_param)
    out_ops = []
    t = 0
    for op in ops:
        if op == "train":
            opt.train()
            rec = {"op": "train"}
        elif op == "eval":
            opt.eval()
            rec = {"op": "eval"}
        else:
            _, extra = op
            t += 1
            for gi, lr in extra.get("lr", {}).items():
                opt.param_groups[gi]['lr'] = lr
            nil = {tuple(x) for x in extra.get("nil", [])}
            grads = [[None if (gi, j) in nil else
                      torch.from_numpy((data(seed * 100000 + gi * 1000 + j * 100 + t, n) * f32(grad_scale))
                                       .astype(f32))
                      for j, n in enumerate(lengths)] for gi, (_, lengths) in enumerate(groups)]
            opt.step(grads)
            rec = {"op": "step", "t": t, "lr": {str(g): v for g, v in extra.get("lr", {}).items()},
                   "nil": [list(x) for x in sorted(nil)]}
            rec["z"] = [[hexf(opt.state[gi][j]['z']) if 'z' in opt.state[gi][j] else None
                         for j in range(len(ts))] for gi, ts in enumerate(tensors)]
            rec["exp_avg_sq"] = [[hexf(opt.state[gi][j]['exp_avg_sq']) if 'z' in opt.state[gi][j] else None
                                  for j in range(len(ts))] for gi, ts in enumerate(tensors)]
            rec["host"] = [[opt.host(gi, j) for j in range(len(ts))] for gi, ts in enumerate(tensors)]
        rec["params"] = [[hexf(p) for p in ts] for ts in tensors]
        out_ops.append(rec)
    return {"name": name, "seed": seed, "grad_scale": grad_scale, "per_param": per_param,
            "groups": [{"options": o, "lengths": list(lengths)} for o, lengths in groups], "ops": out_ops}


def steps(n, **extra):
    return [("step", dict(extra)) for _ in range(n)]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "optim/testdata/schedulefree.json"
    sched = [0.01, 0.02, 0.03, 0.02, 0.01, 0.005, 0.04, 0.0, 0.01, 0.02, 0.035, 0.001]
    cases = [
        run("defaults", 1, [(options(), [17, 1, 64, 3])], ["eval", "train"] + steps(12) + ["eval"]),
        run("weight_decay", 2, [(options(lr=0.01, weight_decay=0.05), [33, 7])], ["train"] + steps(10) + ["eval"]),
        run("warmup", 3, [(options(lr=0.02, warmup_steps=5), [19, 4])], ["train"] + steps(12) + ["eval"]),
        run("r_half_warmup", 4, [(options(lr=0.01, r=0.5, warmup_steps=3), [21, 2])],
            ["train"] + steps(10) + ["eval"]),
        run("weight_lr_power_0", 5, [(options(lr=0.01, weight_lr_power=0.0), [13, 8])],
            ["train"] + steps(10) + ["eval"]),
        run("r_and_power_other", 6,
            [(options(lr=0.05, r=1.25, weight_lr_power=1.5, warmup_steps=4, weight_decay=0.01), [23, 5])],
            ["train"] + steps(12) + ["eval"]),
        run("betas_half", 7, [(options(lr=0.01, betas=(0.5, 0.9), eps=1e-6), [11, 6])],
            ["train"] + steps(4) + ["eval", "train"] + steps(6) + ["eval"]),
        run("beta1_small", 8, [(options(lr=0.01, betas=(0.2, 0.99), weight_decay=0.1), [9, 14])],
            ["train"] + steps(5) + ["eval", "train"] + steps(5) + ["eval"]),
        run("groups", 9, [(options(), [5, 12]),
                          (options(lr=0.01, weight_decay=0.1, warmup_steps=3, betas=(0.8, 0.99)), [9]),
                          (options(lr=0.003, r=1.0, weight_lr_power=0.5, eps=1e-7), [1, 31])],
            ["train"] + steps(4) + ["eval", "train"] + steps(4) + ["eval", "train"] + steps(4) + ["eval"]),
        run("schedule", 10, [(options(lr=0.01, warmup_steps=2), [15, 6]), (options(lr=0.005), [7])],
            ["train"] + [("step", {"lr": {0: lr, 1: lr / 2}}) for lr in sched] + ["eval"]),
        run("lr_zero_first", 11, [(options(lr=0.0, weight_decay=0.01), [10, 3])],
            ["train"] + steps(3) + [("step", {"lr": {0: 0.01}})] + steps(5) + ["eval"]),
        run("switches", 12, [(options(lr=0.01), [3, 16, 5])],
            ["eval", "train", "train"] + steps(3) + ["eval", "eval", "train"] + steps(2) +
            ["eval", "train"] + steps(1) + ["eval"]),
        run("nil_grad_per_param", 13, [(options(lr=0.01, warmup_steps=3, weight_decay=0.02), [6, 10, 4])],
            ["train", ("step", {"nil": [(0, 2)]}), ("step", {"nil": [(0, 1), (0, 2)]}),
             ("step", {"nil": [(0, 1), (0, 2)]})] + steps(2) + ["eval", "train"] +
            [("step", {"nil": [(0, 0)]})] + steps(2) + ["eval"], per_param=True),
        run("tails", 14, [(options(lr=0.01, weight_decay=0.01, warmup_steps=2), [1031, 515, 15, 16, 17, 33, 1])],
            ["train"] + steps(6) + ["eval"]),
        run("tiny_grads", 15, [(options(lr=0.01), [12, 5])], ["train"] + steps(8) + ["eval"], grad_scale=2.0 ** -24),
        run("large_grads", 16, [(options(lr=0.01, betas=(0.95, 0.5)), [12, 5])], ["train"] + steps(8) + ["eval"],
            grad_scale=2.0 ** 20),
    ]
    out = {"torch": torch.__version__, "generator": "testdata/torch/gen_schedulefree.py",
           "reference": "facebookresearch/schedule_free schedulefree/adamw_schedulefree.py, foreach=False, float32",
           "cases": cases}
    with open(path, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
