#!/usr/bin/python3
"""Golden learning-rate trajectories of torch.optim.lr_scheduler for goptim's schedules.

Writes schedules.json next to this script. Regenerate from the repository root with
Debian's torch (python3-torch 1.13):

    /usr/bin/python3 testdata/torch/gen_schedules.py

Every case builds a torch optimizer over one tiny parameter per param group (the
parameters never change: they have no gradient, so optimizer.step() is a no-op that only
keeps torch's "step the optimizer before the scheduler" bookkeeping happy), constructs
the scheduler(s) exactly as a user would, and records

  lr[k]        the lr of every param group after construction (k = 0) and after the
               k-th scheduler.step() (k = 1..steps),
  momentum[k]  (only where the optimizer has one) SGD's momentum or Adam's beta1 per group
               at the same points: OneCycleLR cycles it.

scheduler.get_last_lr() equals lr[k] at every point of every case (the generator asserts
it), so it is not written; ReduceLROnPlateau has no get_last_lr before its first step in
torch 1.13.

ReduceLROnPlateau cases also list the metric fed to each step (metrics[k-1] is fed by
step k). Cases with "epochs" (CosineAnnealingWarmRestarts) call step(epochs[k-1]) at
step k, or step() where it is null. Composite cases (SequentialLR, ChainedScheduler)
list their children in construction order.

Functions (LambdaLR's and MultiplicativeLR's lr_lambda, CyclicLR's scale_fn) are written
by name; LAMBDAS and SCALE_FNS below define them, and the Go test defines the same.

Keys of "config" are torch's argument names with the values passed to torch; every
argument is written explicitly (no torch default is relied on), except last_epoch
(always -1) and verbose (always False).

The output is deterministic: nothing is random, and floats are Python doubles written by
json with repr (the shortest decimal that round-trips), so Go's strconv.ParseFloat(s, 64)
recovers torch's bits exactly. No NaN or infinity is written.
"""

import json
import math
import os
import warnings

import torch
from torch.optim import lr_scheduler as L

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "schedules.json")
GENERATOR = "testdata/torch/gen_schedules.py"

torch.set_num_threads(1)


def make_optimizer(kind, lrs, momentum):
    """One param group per lr; kind is "sgd" (momentum), "adam" (betas) or "adagrad"."""
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lrs[0], momentum=momentum)
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lrs[0], betas=(momentum, 0.999))
    if kind == "adagrad":
        return torch.optim.Adagrad(groups, lr=lrs[0])
    raise ValueError(kind)


def group_momentum(opt, kind):
    if kind == "sgd":
        return [g["momentum"] for g in opt.param_groups]
    if kind == "adam":
        return [g["betas"][0] for g in opt.param_groups]
    return None


CLASSES = {
    "StepLR": L.StepLR,
    "MultiStepLR": L.MultiStepLR,
    "ConstantLR": L.ConstantLR,
    "LinearLR": L.LinearLR,
    "ExponentialLR": L.ExponentialLR,
    "PolynomialLR": L.PolynomialLR,
    "CosineAnnealingLR": L.CosineAnnealingLR,
    "OneCycleLR": L.OneCycleLR,
    "ReduceLROnPlateau": L.ReduceLROnPlateau,
    "LambdaLR": L.LambdaLR,
    "MultiplicativeLR": L.MultiplicativeLR,
    "CosineAnnealingWarmRestarts": L.CosineAnnealingWarmRestarts,
    "CyclicLR": L.CyclicLR,
}

# lr_lambda functions by name (epoch -> factor); optim/schedule/schedule_test.go has the same.
LAMBDAS = {
    "exp0.95": lambda e: 0.95 ** e,
    "invsqrt10": lambda e: min((e + 1) / 10, (10 / (e + 1)) ** 0.5),
    "warmup20": lambda e: min(1.0, (e + 1) / 20),
    "const0.97": lambda e: 0.97,
    "half_every_10": lambda e: 0.5 if e % 10 == 0 else 1.0,
}

# CyclicLR scale_fn functions by name.
SCALE_FNS = {
    "inv_cycle": lambda x: 1 / x,
    "exp0.995": lambda x: 0.995 ** x,
}


def build(opt, spec):
    cls = CLASSES[spec["scheduler"]]
    cfg = dict(spec["config"])
    if "lr_lambda" in cfg:
        v = cfg["lr_lambda"]
        cfg["lr_lambda"] = [LAMBDAS[n] for n in v] if isinstance(v, list) else LAMBDAS[v]
    if cfg.get("scale_fn") is not None:
        cfg["scale_fn"] = SCALE_FNS[cfg["scale_fn"]]
    return cls(opt, **cfg)


def run_case(case):
    kind = case.get("optimizer", "sgd")
    opt = make_optimizer(kind, case["lrs"], case.get("momentum0", 0.9))
    sched_name = case["scheduler"]
    if sched_name in ("SequentialLR", "ChainedScheduler"):
        children = [build(opt, c) for c in case["children"]]
        if sched_name == "SequentialLR":
            sched = L.SequentialLR(opt, children, milestones=case["milestones"])
        else:
            sched = L.ChainedScheduler(children)
    else:
        sched = build(opt, case)

    plateau = sched_name == "ReduceLROnPlateau"
    lr, last_lr, mom = [], [], []

    def record():
        lr.append([g["lr"] for g in opt.param_groups])
        last_lr.append(lr[-1][:] if plateau else list(sched.get_last_lr()))
        m = group_momentum(opt, kind)
        if m is not None:
            mom.append(m)

    record()
    for k in range(case["steps"]):
        opt.step()
        if plateau:
            sched.step(case["metrics"][k])
        elif case.get("epochs") and case["epochs"][k] is not None:
            sched.step(case["epochs"][k])
        else:
            sched.step()
        record()

    out = dict(case)
    out.setdefault("optimizer", kind)
    if kind != "adagrad":
        out.setdefault("momentum0", 0.9)
    assert lr == last_lr, case["name"]
    out["lr"] = lr
    if mom:
        out["momentum"] = mom
    for row in lr + last_lr + mom:
        for v in row:
            assert math.isfinite(v), (case["name"], v)
    return out


def plateau_metrics(n, shape):
    """Deterministic metric sequences with improvements, plateaus and noise."""
    m = []
    for k in range(n):
        if shape == "loss":
            # decreasing, then flat with a small wiggle, then a late improvement
            if k < 20:
                v = 2.0 - 0.05 * k
            elif k < 70:
                v = 1.0 + 0.001 * ((k * 7) % 5)
            elif k < 75:
                v = 0.9 - 0.01 * (k - 70)
            else:
                v = 0.86 + 0.0005 * ((k * 3) % 4)
        elif shape == "acc":
            # increasing accuracy that saturates, with tiny (below-threshold) gains
            v = min(0.5 + 0.02 * k, 0.9) + 0.001 * (k % 3)
        elif shape == "flat":
            v = 1.0
        else:
            raise ValueError(shape)
        m.append(v)
    return m


def cases():
    c = []
    add = c.append

    # StepLR
    add(dict(name="steplr_30_0.1", scheduler="StepLR", lrs=[0.05], steps=130,
             config=dict(step_size=30, gamma=0.1)))
    add(dict(name="steplr_2groups_7_0.5", scheduler="StepLR", lrs=[0.1, 0.02], steps=125,
             config=dict(step_size=7, gamma=0.5)))
    add(dict(name="steplr_1_1.01", scheduler="StepLR", lrs=[0.001], steps=120,
             config=dict(step_size=1, gamma=1.01)))

    # MultiStepLR
    add(dict(name="multisteplr_30_80", scheduler="MultiStepLR", lrs=[0.05], steps=130,
             config=dict(milestones=[30, 80], gamma=0.1)))
    add(dict(name="multisteplr_2groups", scheduler="MultiStepLR", lrs=[0.1, 0.3], steps=125,
             config=dict(milestones=[10, 25, 60, 100], gamma=0.3)))

    # ConstantLR
    add(dict(name="constantlr_default", scheduler="ConstantLR", lrs=[0.05, 0.5], steps=120,
             config=dict(factor=1.0 / 3, total_iters=5)))
    add(dict(name="constantlr_0.5_40", scheduler="ConstantLR", lrs=[0.1], steps=120,
             config=dict(factor=0.5, total_iters=40)))

    # LinearLR
    add(dict(name="linearlr_default", scheduler="LinearLR", lrs=[0.05], steps=120,
             config=dict(start_factor=1.0 / 3, end_factor=1.0, total_iters=5)))
    add(dict(name="linearlr_2groups_0.25_0.5_40", scheduler="LinearLR", lrs=[0.1, 0.01],
             steps=125, config=dict(start_factor=0.25, end_factor=0.5, total_iters=40)))
    add(dict(name="linearlr_decay_1_0.1_100", scheduler="LinearLR", lrs=[0.3], steps=130,
             config=dict(start_factor=1.0, end_factor=0.1, total_iters=100)))
    add(dict(name="linearlr_to_zero", scheduler="LinearLR", lrs=[0.2], steps=120,
             config=dict(start_factor=0.9, end_factor=0.0, total_iters=60)))

    # ExponentialLR
    add(dict(name="exponentiallr_0.97_2groups", scheduler="ExponentialLR", lrs=[0.1, 0.05],
             steps=130, config=dict(gamma=0.97)))
    add(dict(name="exponentiallr_0.9", scheduler="ExponentialLR", lrs=[1.0], steps=120,
             config=dict(gamma=0.9)))

    # PolynomialLR
    add(dict(name="polynomiallr_100_1", scheduler="PolynomialLR", lrs=[0.1], steps=130,
             config=dict(total_iters=100, power=1.0)))
    add(dict(name="polynomiallr_100_2", scheduler="PolynomialLR", lrs=[0.1], steps=120,
             config=dict(total_iters=100, power=2.0)))
    add(dict(name="polynomiallr_2groups_37_0.5", scheduler="PolynomialLR", lrs=[0.1, 0.04],
             steps=120, config=dict(total_iters=37, power=0.5)))
    add(dict(name="polynomiallr_default", scheduler="PolynomialLR", lrs=[0.02], steps=120,
             config=dict(total_iters=5, power=1.0)))

    # CosineAnnealingLR (runs past T_max: torch's chainable form then climbs back up)
    add(dict(name="cosine_50_0", scheduler="CosineAnnealingLR", lrs=[0.1], steps=160,
             config=dict(T_max=50, eta_min=0.0)))
    add(dict(name="cosine_2groups_100_1e-4", scheduler="CosineAnnealingLR", lrs=[0.1, 0.01],
             steps=150, config=dict(T_max=100, eta_min=1e-4)))
    add(dict(name="cosine_7_1e-3", scheduler="CosineAnnealingLR", lrs=[0.05], steps=120,
             config=dict(T_max=7, eta_min=1e-3)))
    add(dict(name="cosine_120", scheduler="CosineAnnealingLR", lrs=[3e-4], steps=120,
             config=dict(T_max=120, eta_min=0.0)))

    # OneCycleLR
    def onecycle(**kw):
        cfg = dict(max_lr=0.1, total_steps=None, epochs=None, steps_per_epoch=None,
                   pct_start=0.3, anneal_strategy="cos", cycle_momentum=True,
                   base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                   final_div_factor=1e4, three_phase=False)
        cfg.update(kw)
        return cfg

    add(dict(name="onecycle_cos_sgd", scheduler="OneCycleLR", lrs=[0.01], steps=120,
             optimizer="sgd", momentum0=0.9, config=onecycle(total_steps=120)))
    add(dict(name="onecycle_linear_sgd", scheduler="OneCycleLR", lrs=[0.01], steps=149,
             optimizer="sgd", momentum0=0.9,
             config=onecycle(total_steps=150, anneal_strategy="linear")))
    add(dict(name="onecycle_three_phase_adam_2groups", scheduler="OneCycleLR",
             lrs=[0.001, 0.002], steps=130, optimizer="adam", momentum0=0.9,
             config=onecycle(max_lr=[0.01, 0.05], total_steps=130, three_phase=True,
                             base_momentum=[0.8, 0.85], max_momentum=[0.9, 0.95])))
    add(dict(name="onecycle_three_phase_linear_sgd", scheduler="OneCycleLR", lrs=[0.01],
             steps=125, optimizer="sgd", momentum0=0.5,
             config=onecycle(max_lr=0.2, total_steps=126, three_phase=True,
                             anneal_strategy="linear", pct_start=0.25)))
    add(dict(name="onecycle_epochs_no_momentum", scheduler="OneCycleLR", lrs=[0.01, 0.1],
             steps=120, optimizer="adagrad",
             config=onecycle(max_lr=[0.5, 0.05], epochs=10, steps_per_epoch=12,
                             cycle_momentum=False, div_factor=10.0,
                             final_div_factor=100.0, pct_start=0.25)))
    add(dict(name="onecycle_sgd_no_cycle", scheduler="OneCycleLR", lrs=[0.01], steps=121,
             optimizer="sgd", momentum0=0.9,
             config=onecycle(total_steps=121, cycle_momentum=False, pct_start=0.45)))

    # ReduceLROnPlateau
    def plateau(**kw):
        cfg = dict(mode="min", factor=0.1, patience=10, threshold=1e-4,
                   threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8)
        cfg.update(kw)
        return cfg

    add(dict(name="plateau_min_rel_cooldown", scheduler="ReduceLROnPlateau", lrs=[0.1],
             steps=130, metrics=plateau_metrics(130, "loss"),
             config=plateau(factor=0.5, patience=3, cooldown=2, min_lr=1e-3)))
    add(dict(name="plateau_min_abs_2groups", scheduler="ReduceLROnPlateau",
             lrs=[0.1, 0.02], steps=130, metrics=plateau_metrics(130, "loss"),
             config=plateau(factor=0.3, patience=2, threshold=0.01, threshold_mode="abs",
                            min_lr=[1e-4, 1e-3])))
    add(dict(name="plateau_max_rel", scheduler="ReduceLROnPlateau", lrs=[0.05, 0.5],
             steps=125, metrics=plateau_metrics(125, "acc"),
             config=plateau(mode="max", factor=0.2, patience=4, threshold=0.01, cooldown=5)))
    add(dict(name="plateau_max_abs", scheduler="ReduceLROnPlateau", lrs=[0.05], steps=125,
             metrics=plateau_metrics(125, "acc"),
             config=plateau(mode="max", factor=0.5, patience=1, threshold=0.005,
                            threshold_mode="abs", cooldown=1, min_lr=1e-6)))
    add(dict(name="plateau_flat_eps", scheduler="ReduceLROnPlateau", lrs=[1e-6], steps=120,
             metrics=plateau_metrics(120, "flat"),
             config=plateau(factor=0.5, patience=0, eps=1e-9)))
    add(dict(name="plateau_defaults", scheduler="ReduceLROnPlateau", lrs=[0.1], steps=120,
             metrics=plateau_metrics(120, "loss"), config=plateau()))

    # SequentialLR (children in construction order)
    add(dict(name="sequential_linear_cosine", scheduler="SequentialLR", lrs=[0.1, 0.01],
             steps=130, milestones=[10],
             children=[dict(scheduler="LinearLR",
                            config=dict(start_factor=0.1, end_factor=1.0, total_iters=10)),
                       dict(scheduler="CosineAnnealingLR",
                            config=dict(T_max=120, eta_min=1e-5))]))
    add(dict(name="sequential_short_cosine_restart", scheduler="SequentialLR", lrs=[0.05],
             steps=130, milestones=[5],
             children=[dict(scheduler="LinearLR",
                            config=dict(start_factor=0.2, end_factor=1.0, total_iters=5)),
                       dict(scheduler="CosineAnnealingLR",
                            config=dict(T_max=40, eta_min=0.0))]))
    add(dict(name="sequential_constant_exp_step", scheduler="SequentialLR", lrs=[1.0],
             steps=125, milestones=[2, 50],
             children=[dict(scheduler="ConstantLR", config=dict(factor=0.1, total_iters=2)),
                       dict(scheduler="ExponentialLR", config=dict(gamma=0.9)),
                       dict(scheduler="StepLR", config=dict(step_size=20, gamma=0.5))]))
    add(dict(name="sequential_linear_multistep_poly", scheduler="SequentialLR",
             lrs=[0.1, 0.2], steps=130, milestones=[20, 60],
             children=[dict(scheduler="LinearLR",
                            config=dict(start_factor=0.5, end_factor=1.0, total_iters=30)),
                       dict(scheduler="MultiStepLR",
                            config=dict(milestones=[10, 30], gamma=0.5)),
                       dict(scheduler="PolynomialLR",
                            config=dict(total_iters=50, power=2.0))]))
    add(dict(name="sequential_linear_linear", scheduler="SequentialLR", lrs=[0.1],
             steps=120, milestones=[10],
             children=[dict(scheduler="LinearLR",
                            config=dict(start_factor=0.1, end_factor=1.0, total_iters=10)),
                       dict(scheduler="LinearLR",
                            config=dict(start_factor=1.0, end_factor=0.01, total_iters=100))]))

    # LambdaLR and MultiplicativeLR (functions by name: LAMBDAS)
    add(dict(name="lambda_exp0.95", scheduler="LambdaLR", lrs=[0.1], steps=120,
             config=dict(lr_lambda="exp0.95")))
    add(dict(name="lambda_2groups_invsqrt_warmup", scheduler="LambdaLR", lrs=[0.1, 0.02],
             steps=125, config=dict(lr_lambda=["invsqrt10", "warmup20"])))
    add(dict(name="multiplicative_0.97", scheduler="MultiplicativeLR", lrs=[0.1], steps=120,
             config=dict(lr_lambda="const0.97")))
    add(dict(name="multiplicative_2groups", scheduler="MultiplicativeLR", lrs=[0.3, 0.05],
             steps=125, config=dict(lr_lambda=["half_every_10", "const0.97"])))

    # CosineAnnealingWarmRestarts (step(), and step(epoch) with fractional epochs)
    add(dict(name="restarts_10_1", scheduler="CosineAnnealingWarmRestarts", lrs=[0.1],
             steps=130, config=dict(T_0=10, T_mult=1, eta_min=0.0)))
    add(dict(name="restarts_2groups_5_2_1e-4", scheduler="CosineAnnealingWarmRestarts",
             lrs=[0.1, 0.01], steps=160, config=dict(T_0=5, T_mult=2, eta_min=1e-4)))
    add(dict(name="restarts_1_3", scheduler="CosineAnnealingWarmRestarts", lrs=[0.05],
             steps=125, config=dict(T_0=1, T_mult=3, eta_min=1e-3)))
    # every batch: step(epoch + i/4), over 40 epochs, through restarts at 3, 12 and 39
    add(dict(name="restarts_fractional_3_3", scheduler="CosineAnnealingWarmRestarts",
             lrs=[0.1], steps=160, epochs=[e + i / 4 for e in range(40) for i in range(4)],
             config=dict(T_0=3, T_mult=3, eta_min=0.0)))
    add(dict(name="restarts_fractional_7_1", scheduler="CosineAnnealingWarmRestarts",
             lrs=[0.1, 0.2], steps=150, epochs=[e + i / 5 for e in range(30) for i in range(5)],
             config=dict(T_0=7, T_mult=1, eta_min=1e-4)))
    # step(epoch) and step() mixed: step() goes on by whole epochs from floor(epoch)
    add(dict(name="restarts_mixed", scheduler="CosineAnnealingWarmRestarts", lrs=[0.1],
             steps=120, epochs=[0.5, 1.25, None, None, 6.75, None, 20.5, 2.0] + [None] * 112,
             config=dict(T_0=4, T_mult=2, eta_min=0.0)))

    # CyclicLR (stepped per batch; cycles SGD's momentum unless told not to)
    def cyclic(**kw):
        cfg = dict(base_lr=0.001, max_lr=0.1, step_size_up=10, step_size_down=None,
                   mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                   cycle_momentum=True, base_momentum=0.8, max_momentum=0.9)
        cfg.update(kw)
        return cfg

    add(dict(name="cyclic_triangular_sgd", scheduler="CyclicLR", lrs=[0.05], steps=130,
             config=cyclic()))
    add(dict(name="cyclic_triangular2_2groups_asym", scheduler="CyclicLR", lrs=[0.1, 0.1],
             steps=130, config=cyclic(base_lr=[0.01, 0.001], max_lr=[0.1, 0.05],
                                      step_size_up=7, step_size_down=13, mode="triangular2",
                                      base_momentum=[0.85, 0.8], max_momentum=[0.95, 0.9])))
    add(dict(name="cyclic_exp_range_no_momentum", scheduler="CyclicLR", lrs=[0.01],
             steps=125, optimizer="adagrad",
             config=cyclic(step_size_up=15, mode="exp_range", gamma=0.99,
                           cycle_momentum=False)))
    add(dict(name="cyclic_sawtooth", scheduler="CyclicLR", lrs=[0.01], steps=120,
             config=cyclic(step_size_up=10, step_size_down=0)))
    add(dict(name="cyclic_scale_fn_cycle", scheduler="CyclicLR", lrs=[0.01], steps=120,
             config=cyclic(step_size_up=6, step_size_down=9, scale_fn="inv_cycle",
                           scale_mode="cycle")))
    add(dict(name="cyclic_scale_fn_iterations", scheduler="CyclicLR", lrs=[0.01],
             steps=120, config=cyclic(step_size_up=8, scale_fn="exp0.995",
                                      scale_mode="iterations", max_momentum=0.95)))

    # the new schedules inside SequentialLR and ChainedScheduler
    add(dict(name="sequential_linear_restarts", scheduler="SequentialLR", lrs=[0.1],
             steps=130, milestones=[5],
             children=[dict(scheduler="LinearLR",
                            config=dict(start_factor=0.1, end_factor=1.0, total_iters=5)),
                       dict(scheduler="CosineAnnealingWarmRestarts",
                            config=dict(T_0=10, T_mult=2, eta_min=1e-4))]))
    add(dict(name="sequential_lambda_exp", scheduler="SequentialLR", lrs=[0.1, 0.05],
             steps=125, milestones=[20],
             children=[dict(scheduler="LambdaLR", config=dict(lr_lambda="warmup20")),
                       dict(scheduler="ExponentialLR", config=dict(gamma=0.98))]))
    add(dict(name="sequential_cyclic_then_exp", scheduler="SequentialLR", lrs=[0.1],
             steps=125, milestones=[40],
             children=[dict(scheduler="CyclicLR", config=cyclic(step_size_up=10)),
                       dict(scheduler="ExponentialLR", config=dict(gamma=0.97))]))
    add(dict(name="sequential_exp_then_cyclic", scheduler="SequentialLR", lrs=[0.1],
             steps=125, milestones=[30],
             children=[dict(scheduler="ExponentialLR", config=dict(gamma=0.97)),
                       dict(scheduler="CyclicLR",
                            config=cyclic(base_lr=0.01, max_lr=0.05, step_size_up=10))]))
    add(dict(name="chained_multiplicative_step", scheduler="ChainedScheduler", lrs=[0.2],
             steps=120,
             children=[dict(scheduler="MultiplicativeLR", config=dict(lr_lambda="const0.97")),
                       dict(scheduler="StepLR", config=dict(step_size=30, gamma=0.5))]))

    # ChainedScheduler
    add(dict(name="chained_constant_exp", scheduler="ChainedScheduler", lrs=[1.0],
             steps=120,
             children=[dict(scheduler="ConstantLR", config=dict(factor=0.1, total_iters=2)),
                       dict(scheduler="ExponentialLR", config=dict(gamma=0.9))]))
    add(dict(name="chained_linear_cosine", scheduler="ChainedScheduler", lrs=[0.1, 0.03],
             steps=130,
             children=[dict(scheduler="LinearLR",
                            config=dict(start_factor=0.25, end_factor=1.0, total_iters=8)),
                       dict(scheduler="CosineAnnealingLR",
                            config=dict(T_max=30, eta_min=1e-3))]))
    add(dict(name="chained_step_multistep_linear", scheduler="ChainedScheduler", lrs=[0.2],
             steps=120,
             children=[dict(scheduler="StepLR", config=dict(step_size=25, gamma=0.8)),
                       dict(scheduler="MultiStepLR", config=dict(milestones=[40, 90], gamma=0.2)),
                       dict(scheduler="LinearLR",
                            config=dict(start_factor=0.5, end_factor=1.0, total_iters=15))]))
    return c


def main():
    warnings.simplefilter("error")  # any torch warning means a case is misused...
    # ...except the one SequentialLR itself triggers at every milestone (it calls
    # scheduler.step(0), torch's deprecated epoch argument).
    warnings.filterwarnings("ignore", message="The epoch parameter")
    out = {
        "generator": GENERATOR,
        "torch_version": torch.__version__,
        "cases": [run_case(c) for c in cases()],
    }
    names = [c["name"] for c in out["cases"]]
    assert len(names) == len(set(names)), "duplicate case names"
    with open(OUT, "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print("wrote %s: %d cases" % (os.path.relpath(OUT), len(out["cases"])))


if __name__ == "__main__":
    main()
