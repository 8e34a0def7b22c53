"""gen_gradscaler.py - torch.amp.GradScaler driving torch's optimizers on the CPU, step by step.

    ../shared/torch2/python tests/torch/gen_gradscaler.py optim/testdata/gradscaler.json

Runs under torch 2.6 (Debian's python3-torch, see ../shared/torch2). Each case makes 2-3 float32
params, an optimizer and torch.amp.GradScaler("cpu", ...), and for ~30 steps gives every param a
scaled gradient, calls scaler.step(opt) and scaler.update(), and records what torch did. Which
path GradScaler takes is torch's own choice, recorded per case as "path":

  fused    Adam, AdamW, SGD with fused=True: the optimizer has _step_supports_amp_scaling, so
           GradScaler checks the gradients read-only (inv_scale 1.0 into found_inf) and hands
           grad_scale (the scale tensor) and found_inf to the fused kernel, which does nothing
           when found_inf is set (gradients stay scaled) and otherwise divides each gradient by
           the scale, writes it back, and updates.
  unscale  RMSprop (foreach=False; torch has no fused RMSprop) and Adagrad with fused=True
           (torch 2.6's Adagrad does not set _step_supports_amp_scaling, so its fused kernel is
           called without grad_scale): GradScaler unscales every gradient in place
           (multiplication by float(1/double(scale))), whether or not it is finite, and calls
           step only when all are. So do Adamax, RAdam, Adadelta, Rprop, NAdam, ASGD and
           Adafactor (foreach=False), and Lion, AdEMAMix, LAMB and LARS (the reference classes
           of testdata/torch/gen_golden.py, without grad_scale), and Schedule-Free AdamW (the
           reference class of testdata/torch/gen_schedulefree.py, put in train mode before
           the first step, as the reference requires).

The gradients and initial params are not stored: both sides make them from the case's seed with
splitmix64, in float32 arithmetic that rounds the same everywhere:

  splitmix64(state): state += 0x9E3779B97F4A7C15; z = state;
                     z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
                     return z ^ (z >> 31)                          (all mod 2^64)
  unit():            u = splitmix64() >> 40; return float32((u - 2^23) / 2^23)   (exact, in [-1, 1))
  init:              for each param in order, for each element: unit()
  step s (1-based):  for each param in order: e = splitmix64() % 10 (drawn first), then for each
                     element grad = float32(float32(unit() * 2^(e-8)) * float32(scale))
                     where scale is the GradScaler's scale before step s (float32 multiply);
                     then "inject" [param, element, "inf" | "-inf" | "nan"] overwrites one element
                     (NaN is float32 bits 0x7fc00000).

Format (tensors are float32 little-endian, base64; "fnv" is FNV-1a 64 of the same bytes, hex):

  {"torch_version": ..., "generator": ..., "dtype": "float32", "threads": 1,
   "cases": [{
     "name": ..., "optimizer": "adam" | "adamw" | "sgd" | "adagrad" | "rmsprop" | ... | "lamb" | "lars",
     "options": {every torch kwarg of the optimizer but foreach/fused},
     "impl": {"fused": true} | {"foreach": false} | {}, "path": "fused" | "unscale",
     "scaler": {"init_scale", "growth_factor", "backoff_factor", "growth_interval"},
     "seed": int, "lengths": [...],
     "steps": [{"scale": float,            # scaler.get_scale() before the step
                "inject": [p, i, "inf"] | null,
                "skipped": bool,            # found_inf was set: no update
                "params": [b64 per param],  # after the step
                "grads_fnv": [hex per param]}],  # the gradients after the step
     "final_scale": float,                  # after the last update()
     "state": {"step": int (absent for SGD), name: [b64 per param], ...,
               host value: [float per param]},  # Schedule-Free's weight_sum and lr_max (Python floats)
     "eval_params": [b64 per param]}]}      # Schedule-Free only: the params after eval() at the end
"""

import base64
import json
import sys

import os

import numpy as np
import torch

# Lion, AdEMAMix, LAMB and LARS, which torch lacks, as the golden generator writes them, and
# Schedule-Free AdamW as its own generator does.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "testdata", "torch"))
import gen_golden  # noqa: E402
import gen_schedulefree  # noqa: E402

MASK = (1 << 64) - 1
STEPS = 30
LENGTHS = [1, 37, 67]  # 67 = 4*16+3 = 8*8+3: torch's vector loop and its scalar tail, AVX-512 and AVX2


class Rng:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def unit(self):
        u = self.next() >> 40
        return np.float32((u - (1 << 23)) / float(1 << 23))


def b64(t):
    return base64.b64encode(t.detach().numpy().astype("<f4").tobytes()).decode()


def fnv(t):
    h = 0xCBF29CE484222325
    for b in t.detach().numpy().astype("<f4").tobytes():
        h = ((h ^ b) * 0x100000001B3) & MASK
    return "%016x" % h


NAN32 = np.frombuffer(np.uint32(0x7FC00000).tobytes(), dtype=np.float32)[0]
SPECIAL = {"inf": np.float32(np.inf), "-inf": np.float32(-np.inf), "nan": NAN32}

# Steps (1-based) that get a non-finite element. Never step 1: torch's fused SGD makes its
# momentum buffers with empty_like before the kernel, so a skipped first step leaves them
# uninitialised and the next step reads garbage.
INJECT_A = {3: (2, 5, "inf"), 4: (0, 0, "nan"), 9: (1, 36, "-inf"), 10: (2, 66, "nan"),
            11: (2, 64, "inf"), 19: (1, 0, "nan"), 26: (2, 17, "inf")}
INJECT_B = {2: (1, 3, "nan"), 7: (2, 40, "inf"), 8: (0, 0, "-inf"), 15: (2, 0, "nan"),
            22: (1, 20, "inf"), 23: (2, 65, "nan"), 24: (0, 0, "inf")}

ADAM = dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False)
SGD = dict(lr=0.05, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False)
ADAGRAD = dict(lr=0.05, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
               maximize=False)
RMSPROP = dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
               maximize=False)
ADAMAX = dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False)
RADAM = dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False, maximize=False)
ADADELTA = dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False)
RPROP = dict(lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0), maximize=False)
NADAM = dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
             decoupled_weight_decay=False, maximize=False)
ASGD = dict(lr=0.01, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, maximize=False)
ADAFACTOR = dict(lr=0.01, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, maximize=False)
LION = dict(lr=1e-3, betas=(0.9, 0.99), weight_decay=0.0)
ADEMAMIX = dict(lr=1e-3, betas=(0.9, 0.999, 0.9999), alpha=2.0, beta3_warmup=None, alpha_warmup=None, eps=1e-8,
                weight_decay=0.0)
LAMB = dict(lr=1e-3, bias_correction=True, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01, adam_w_mode=True,
            grad_averaging=True, max_grad_norm=1.0, use_nvlamb=False, trust_clip=False)
LARS = dict(lr=0.05, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False,
            trust_coefficient=0.02, clip=True, eps=1e-8)


class LARSKeepGrads(gen_golden.LARS):
    """gen_golden.LARS, with the gradients GradScaler left put back after the step. LARC
    decays and scales p.grad in place before SGD reads it; goptim's LARS computes the same
    gradient as it reads it and leaves the gradients in memory as they are (optim/lars.go),
    so the gradients recorded after a step are the unscaled ones GradScaler left. The
    update is gen_golden.LARS's, unchanged."""

    @torch.no_grad()
    def step(self):
        ps = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        kept = [p.grad.clone() for p in ps]
        super().step()
        for p, g in zip(ps, kept):
            p.grad.copy_(g)

SCHEDULEFREE = dict(lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, warmup_steps=0, r=0.0,
                    weight_lr_power=2.0)


class ScheduleFreeRef(torch.optim.Optimizer):
    """gen_schedulefree.AdamWScheduleFreeRef (facebookresearch/schedule_free's
    adamw_schedulefree.py, foreach=False, op for op) as a torch optimizer GradScaler can
    drive: one param group, whose gradients GradScaler unscales in place, and step() hands
    them to the reference (which steps on a copy and leaves them as they are, as goptim
    does). It starts in eval mode, where the reference refuses to step: call train() first.
    After each step self.state holds each param's step count k, z, exp_avg_sq, and
    weight_sum and lr_max (Python floats; the reference keeps them per group, and here every
    param steps at every step that is not skipped)."""

    def __init__(self, params, **options):
        params = list(params)
        super().__init__(params, dict(options))
        self.ref = gen_schedulefree.AdamWScheduleFreeRef([(params, dict(options, betas=tuple(options["betas"])))])

    def train(self):
        self.ref.train()

    def eval(self):
        self.ref.eval()

    @torch.no_grad()
    def step(self):
        ps = self.param_groups[0]["params"]
        self.ref.step([[p.grad for p in ps]])
        for j, p in enumerate(ps):
            k, weight_sum, lr_max = self.ref.host(0, j)
            st = self.ref.state[0][j]
            self.state[p] = {"step": k, "z": st["z"], "exp_avg_sq": st["exp_avg_sq"], "weight_sum": weight_sum,
                             "lr_max": lr_max}


S_POW2 = dict(init_scale=65536.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=4)
S_ODD = dict(init_scale=3000.0, growth_factor=1.5, backoff_factor=0.6, growth_interval=3)
S_TRIPLE = dict(init_scale=1024.0, growth_factor=3.0, backoff_factor=0.25, growth_interval=5)


def case(name, opt, options, scaler, inject, seed):
    return dict(name=name, optimizer=opt, options=options, scaler=scaler, inject=inject, seed=seed)


CASES = [
    case("adam/default", "adam", dict(ADAM), S_POW2, INJECT_A, 1),
    case("adam/amsgrad+wd+maximize/odd-scale", "adam",
         dict(ADAM, weight_decay=0.1, amsgrad=True, maximize=True), S_ODD, INJECT_B, 2),
    case("adamw/wd+betas/triple-scale", "adamw",
         dict(ADAM, weight_decay=0.05, betas=(0.8, 0.95)), S_TRIPLE, INJECT_A, 3),
    case("adamw/amsgrad+wd+maximize", "adamw",
         dict(ADAM, lr=0.003, weight_decay=0.01, amsgrad=True, maximize=True), S_POW2, INJECT_B, 4),
    case("sgd/plain", "sgd", dict(SGD), S_POW2, INJECT_A, 5),
    case("sgd/momentum+nesterov+wd/odd-scale", "sgd",
         dict(SGD, momentum=0.9, nesterov=True, weight_decay=0.01), S_ODD, INJECT_B, 6),
    case("sgd/momentum+dampening+wd+maximize", "sgd",
         dict(SGD, lr=0.02, momentum=0.8, dampening=0.1, weight_decay=0.02, maximize=True), S_TRIPLE,
         INJECT_A, 7),
    case("adagrad/default", "adagrad", dict(ADAGRAD), S_POW2, INJECT_B, 8),
    case("adagrad/lr_decay+wd+init+maximize/odd-scale", "adagrad",
         dict(ADAGRAD, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1, maximize=True),
         S_ODD, INJECT_A, 9),
    case("rmsprop/default", "rmsprop", dict(RMSPROP), S_POW2, INJECT_A, 10),
    case("rmsprop/momentum+wd+maximize/odd-scale", "rmsprop",
         dict(RMSPROP, momentum=0.5, weight_decay=0.01, maximize=True), S_ODD, INJECT_B, 11),
    case("rmsprop/centered+momentum/triple-scale", "rmsprop",
         dict(RMSPROP, momentum=0.3, centered=True), S_TRIPLE, INJECT_B, 12),
    case("adamax/default", "adamax", dict(ADAMAX), S_POW2, INJECT_A, 13),
    case("adamax/wd+betas+maximize/odd-scale", "adamax",
         dict(ADAMAX, betas=(0.3, 0.95), weight_decay=0.01, maximize=True), S_ODD, INJECT_B, 14),
    case("radam/default", "radam", dict(RADAM), S_POW2, INJECT_A, 15),
    case("radam/decoupled+wd+maximize/odd-scale", "radam",
         dict(RADAM, weight_decay=0.01, decoupled_weight_decay=True, maximize=True), S_ODD, INJECT_B, 16),
    case("adadelta/default", "adadelta", dict(ADADELTA), S_POW2, INJECT_A, 17),
    case("adadelta/wd+maximize/triple-scale", "adadelta",
         dict(ADADELTA, rho=0.8, weight_decay=0.01, maximize=True), S_TRIPLE, INJECT_B, 18),
    case("rprop/default", "rprop", dict(RPROP), S_POW2, INJECT_A, 19),
    case("rprop/etas+step_sizes+maximize/odd-scale", "rprop",
         dict(RPROP, etas=(0.4, 1.3), step_sizes=(1e-4, 1.0), maximize=True), S_ODD, INJECT_B, 20),
    case("nadam/default", "nadam", dict(NADAM), S_POW2, INJECT_A, 21),
    case("nadam/decoupled+wd+md+maximize/odd-scale", "nadam",
         dict(NADAM, weight_decay=0.01, momentum_decay=0.01, decoupled_weight_decay=True, maximize=True),
         S_ODD, INJECT_B, 22),
    case("asgd/default", "asgd", dict(ASGD), S_POW2, INJECT_A, 23),
    case("asgd/t0+lambd+wd+maximize/triple-scale", "asgd",
         dict(ASGD, lambd=0.01, alpha=0.6, t0=3.0, weight_decay=0.01, maximize=True), S_TRIPLE, INJECT_B, 24),
    case("adafactor/default", "adafactor", dict(ADAFACTOR), S_POW2, INJECT_A, 25),
    case("adafactor/eps+d+wd+maximize/odd-scale", "adafactor",
         dict(ADAFACTOR, lr=0.05, beta2_decay=-0.6, eps=(1e-6, 1e-4), d=2.0, weight_decay=0.05, maximize=True),
         S_ODD, INJECT_B, 26),
    case("lion/default", "lion", dict(LION), S_POW2, INJECT_A, 27),
    case("lion/betas+wd/odd-scale", "lion", dict(LION, betas=(0.8, 0.95), weight_decay=0.1), S_ODD, INJECT_B, 28),
    case("ademamix/default", "ademamix", dict(ADEMAMIX), S_POW2, INJECT_A, 29),
    case("ademamix/warmups+wd/triple-scale", "ademamix",
         dict(ADEMAMIX, betas=(0.0, 0.99, 0.999), alpha=5.0, beta3_warmup=8, alpha_warmup=5, weight_decay=0.05),
         S_TRIPLE, INJECT_B, 30),
    # max_grad_norm 1 is below the unscaled gradients' global norm on most steps: LAMB's
    # clipping reads the gradients after GradScaler unscaled them.
    case("lamb/default", "lamb", dict(LAMB), S_POW2, INJECT_A, 31),
    case("lamb/l2+trust_clip+no-bias-correction/odd-scale", "lamb",
         dict(LAMB, lr=0.01, betas=(0.8, 0.95), weight_decay=0.05, adam_w_mode=False, grad_averaging=False,
              bias_correction=False, max_grad_norm=0.5, trust_clip=True), S_ODD, INJECT_B, 32),
    case("lamb/nvlamb+no-clip/triple-scale", "lamb", dict(LAMB, weight_decay=0.0, use_nvlamb=True, max_grad_norm=0.0),
         S_TRIPLE, INJECT_A, 33),
    case("lars/default", "lars", dict(LARS), S_POW2, INJECT_B, 34),
    case("lars/momentum+nesterov+wd+maximize/odd-scale", "lars",
         dict(LARS, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True), S_ODD, INJECT_A, 35),
    case("lars/momentum+dampening+no-clip/triple-scale", "lars",
         dict(LARS, lr=0.02, momentum=0.8, dampening=0.1, weight_decay=5e-4, trust_coefficient=0.001, clip=False),
         S_TRIPLE, INJECT_B, 36),
    # Schedule-Free's step reads the gradients GradScaler unscaled in place; a skipped step
    # advances neither k nor weight_sum and lr_max. Each case ends with eval().
    case("schedulefree_adamw/default", "schedulefree_adamw", dict(SCHEDULEFREE), S_POW2, INJECT_A, 37),
    case("schedulefree_adamw/warmup+wd+r/odd-scale", "schedulefree_adamw",
         dict(SCHEDULEFREE, lr=0.01, betas=(0.8, 0.99), weight_decay=0.01, warmup_steps=5, r=0.5, weight_lr_power=1.0),
         S_ODD, INJECT_B, 38),
    case("schedulefree_adamw/beta1+eps+power/triple-scale", "schedulefree_adamw",
         dict(SCHEDULEFREE, lr=0.02, betas=(0.3, 0.9), eps=1e-6, warmup_steps=2, r=1.0, weight_lr_power=3.0),
         S_TRIPLE, INJECT_A, 39),
]

CTORS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD,
         "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop, "adamax": torch.optim.Adamax,
         "radam": torch.optim.RAdam, "adadelta": torch.optim.Adadelta, "rprop": torch.optim.Rprop,
         "nadam": torch.optim.NAdam, "asgd": torch.optim.ASGD, "adafactor": torch.optim.Adafactor,
         "lion": gen_golden.Lion, "ademamix": gen_golden.AdEMAMix, "lamb": gen_golden.LAMB, "lars": LARSKeepGrads,
         "schedulefree_adamw": ScheduleFreeRef}
STATE = {"adam": ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"], "adamw": ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
         "sgd": ["momentum_buffer"], "adagrad": ["sum"],
         "rmsprop": ["square_avg", "momentum_buffer", "grad_avg"], "adamax": ["exp_avg", "exp_inf"],
         "radam": ["exp_avg", "exp_avg_sq"], "adadelta": ["square_avg", "acc_delta"],
         "rprop": ["prev", "step_size"], "nadam": ["exp_avg", "exp_avg_sq", "mu_product"],
         "asgd": ["ax", "eta", "mu"], "adafactor": ["variance"], "lion": ["exp_avg"],
         "ademamix": ["exp_avg_fast", "exp_avg_slow", "exp_avg_sq"], "lamb": ["exp_avg", "exp_avg_sq"],
         "lars": ["momentum_buffer"], "schedulefree_adamw": ["z", "exp_avg_sq"]}
# Values kept per param on the host as Python floats, recorded exactly (JSON numbers).
HOST = {"schedulefree_adamw": ["weight_sum", "lr_max"]}


def run(c):
    rng = Rng(c["seed"])
    params = []
    for n in LENGTHS:
        params.append(torch.nn.Parameter(torch.tensor(np.array([rng.unit() for _ in range(n)], dtype=np.float32))))
    # torch has no fused RMSprop, Adamax, RAdam, Adadelta, Rprop, NAdam or ASGD: their
    # single-tensor path.
    impl = {"foreach": False} if c["optimizer"] in ("rmsprop", "adamax", "radam", "adadelta", "rprop", "nadam",
                                                    "asgd", "adafactor") else {"fused": True}
    if c["optimizer"] in ("lion", "ademamix", "lamb", "lars", "schedulefree_adamw"):
        impl = {}  # the published algorithms, written in testdata/torch/gen_golden.py and gen_schedulefree.py
    opt = CTORS[c["optimizer"]](params, **c["options"], **impl)
    schedulefree = c["optimizer"] == "schedulefree_adamw"
    if schedulefree:
        opt.train()  # the reference starts in eval mode and refuses to step there
    path = "fused" if getattr(opt, "_step_supports_amp_scaling", False) else "unscale"
    sc = c["scaler"]
    scaler = torch.amp.GradScaler("cpu", init_scale=sc["init_scale"], growth_factor=sc["growth_factor"],
                                  backoff_factor=sc["backoff_factor"], growth_interval=sc["growth_interval"])
    scaler.scale(torch.zeros(()))  # makes the scale tensor, as scaling the loss would
    steps = []
    for s in range(1, STEPS + 1):
        scale = scaler.get_scale()
        s32 = np.float32(scale)
        assert float(s32) == scale
        for p in params:
            e = rng.next() % 10
            mag = np.float32(2.0 ** (int(e) - 8))
            g = np.array([np.float32(np.float32(rng.unit() * mag) * s32) for _ in range(p.numel())], dtype=np.float32)
            p.grad = torch.tensor(g)
        inj = c["inject"].get(s)
        if inj is not None:
            p, i, kind = inj
            params[p].grad[i] = torch.tensor(SPECIAL[kind])
        before = [p.detach().clone() for p in params]
        scaler.step(opt)
        skipped = sum(v.item() for v in scaler._found_inf_per_device(opt).values()) != 0
        scaler.update()
        assert skipped == (inj is not None), (c["name"], s)
        if skipped:
            assert all(torch.equal(b, p.detach()) for b, p in zip(before, params)), (c["name"], s)
        steps.append({"scale": scale, "inject": list(inj) if inj else None, "skipped": skipped,
                      "params": [b64(p) for p in params], "grads_fnv": [fnv(p.grad) for p in params]})
    state = {}
    st = opt.state[params[0]]
    if "step" in st:
        state["step"] = int(st["step"].item() if torch.is_tensor(st["step"]) else st["step"])
    for key in STATE[c["optimizer"]]:
        if key in st and st[key] is not None and st[key].numel() > 0:
            state[key] = [b64(opt.state[p][key]) for p in params]
    for key in HOST.get(c["optimizer"], []):
        state[key] = [float(opt.state[p][key]) for p in params]
    options = {k: (list(v) if isinstance(v, tuple) else v) for k, v in c["options"].items()}
    out = {"name": c["name"], "optimizer": c["optimizer"], "options": options, "impl": impl, "path": path,
           "scaler": sc, "seed": c["seed"], "lengths": LENGTHS, "steps": steps,
           "final_scale": scaler.get_scale(), "state": state}
    if schedulefree:
        opt.eval()
        out["eval_params"] = [b64(p) for p in params]
    return out


def main():
    torch.set_num_threads(1)
    out = {"torch_version": torch.__version__, "generator": "tests/torch/gen_gradscaler.py",
           "dtype": "float32", "threads": 1, "cases": [run(c) for c in CASES]}
    # One line per step and per state entry: small, and a diff shows which step changed.
    compact = lambda v: json.dumps(v, separators=(",", ":"))
    lines = ["{"]
    for k in ("torch_version", "generator", "dtype", "threads"):
        lines.append(" %s: %s," % (compact(k), compact(out[k])))
    lines.append(' "cases": [')
    for ci, c in enumerate(out["cases"]):
        lines.append("  {")
        items = list(c.items())
        for ki, (k, v) in enumerate(items):
            sep = "," if ki + 1 < len(items) else ""
            if k == "steps":
                lines.append('   "steps": [')
                lines += ["    " + compact(s) + ("," if si + 1 < len(v) else "") for si, s in enumerate(v)]
                lines.append("   ]" + sep)
            elif k == "state":
                lines.append('   "state": {')
                lines += ["    %s: %s" % (compact(sk), compact(sv)) + ("," if si + 1 < len(v) else "")
                          for si, (sk, sv) in enumerate(v.items())]
                lines.append("   }" + sep)
            else:
                lines.append("   %s: %s%s" % (compact(k), compact(v), sep))
        lines.append("  }" + ("," if ci + 1 < len(out["cases"]) else ""))
    lines.append(" ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == json.loads(json.dumps(out))
    with open(sys.argv[1], "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
