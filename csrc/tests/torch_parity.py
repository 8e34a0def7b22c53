#!/usr/bin/env python3
"""torch_parity.py - the CPU kernels against torch.optim itself, bit for bit.

    python3 torch_parity.py path/to/libgoptim_cpu_shared.so

Runs every optimizer configuration for 25 steps at several lengths on every ISA the
machine has, next to torch.optim (foreach=False, the single-tensor path) on the same
data, and requires the parameters to be bit-identical after every step. Exit code
77 (skipped under ctest) when torch or numpy is not importable. torch's AVX2 kernels
fuse add(alpha), addcmul and lerp into FMAs; the kernels do the same.

The kernels follow torch 2.x, whose single-tensor Adam/AdamW update exp_avg, and centered
RMSprop grad_avg, with lerp_ where torch 1.13 multiplies and adds: with torch 1.x those
configurations are left out (and named), the rest must still match bit for bit. With
torch 2.6 beside this machine: ../shared/torch2/python csrc/tests/torch_parity.py LIB.
"""
import ctypes as C
import sys

try:
    import numpy as np
    import torch
except ImportError as e:  # pragma: no cover
    print(f"skipped: {e}")
    sys.exit(77)

lib = C.CDLL(sys.argv[1])


class TensorList(C.Structure):
    _fields_ = [("count", C.c_int64), ("numel", C.POINTER(C.c_int64)), ("param", C.POINTER(C.c_void_p)),
                ("grad", C.POINTER(C.c_void_p)), ("state", C.POINTER(C.c_void_p) * 3)]


def params_struct(names, ints):
    return type("P", (C.Structure,), {"_fields_": [(n, C.c_double) for n in names] + [(n, C.c_int32) for n in ints]})


Sgd = params_struct("lr momentum dampening weight_decay".split(), ["nesterov", "maximize"])
Adam = params_struct("lr beta1 beta2 eps weight_decay".split(), ["amsgrad", "maximize", "decoupled"])
Adagrad = params_struct("lr lr_decay weight_decay eps".split(), ["maximize"])
Rms = params_struct("lr alpha eps weight_decay momentum".split(), ["centered", "maximize"])

CONFIGS = [
    ("sgd", "sgd", Sgd(0.1, 0, 0, 0, 0, 0), torch.optim.SGD, dict(lr=0.1), 0.0),
    ("sgd_momentum_dampening_wd", "sgd", Sgd(0.05, 0.9, 0.1, 0.01, 0, 0), torch.optim.SGD,
     dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01), 0.0),
    ("sgd_nesterov_maximize", "sgd", Sgd(0.05, 0.9, 0, 0.01, 1, 1), torch.optim.SGD,
     dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True, maximize=True), 0.0),
    ("adam", "adam", Adam(1e-3, 0.9, 0.999, 1e-8, 0, 0, 0, 0), torch.optim.Adam, dict(lr=1e-3), 0.0),
    ("adam_wd_amsgrad_maximize", "adam", Adam(1e-2, 0.8, 0.99, 1e-6, 0.01, 1, 1, 0), torch.optim.Adam,
     dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, amsgrad=True, maximize=True), 0.0),
    ("adamw", "adam", Adam(1e-3, 0.9, 0.999, 1e-8, 0.01, 0, 0, 1), torch.optim.AdamW, dict(lr=1e-3), 0.0),
    ("adamw_amsgrad", "adam", Adam(3e-3, 0.9, 0.95, 1e-8, 0.1, 1, 0, 1), torch.optim.AdamW,
     dict(lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1, amsgrad=True), 0.0),
    ("adagrad", "adagrad", Adagrad(1e-2, 0, 0, 1e-10, 0), torch.optim.Adagrad, dict(lr=1e-2), 0.0),
    ("adagrad_decay_wd_init_maximize", "adagrad", Adagrad(5e-2, 0.01, 0.01, 1e-10, 1), torch.optim.Adagrad,
     dict(lr=5e-2, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1, maximize=True), 0.1),
    ("rmsprop", "rmsprop", Rms(1e-2, 0.99, 1e-8, 0, 0, 0, 0), torch.optim.RMSprop, dict(lr=1e-2), 0.0),
    ("rmsprop_centered_momentum_wd_maximize", "rmsprop", Rms(1e-3, 0.95, 1e-6, 0.01, 0.5, 1, 1),
     torch.optim.RMSprop,
     dict(lr=1e-3, alpha=0.95, eps=1e-6, weight_decay=0.01, momentum=0.5, centered=True, maximize=True), 0.0),
]
LENGTHS = [1, 15, 17, 1000, 100003]
STEPS = 25


def run(ctx, isa, name, kind, hp, tcls, targs, init, n, seed):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(n).astype(np.float32)
    grads = [(rng.standard_normal(n) * np.float32(0.1)).astype(np.float32) for _ in range(STEPS)]
    for g in grads:
        g[::97] *= np.float32(1e-4)
    p = p0.copy()
    states = [np.full(n, init, np.float32) for _ in range(3)]
    g = np.zeros(n, np.float32)
    ptr = lambda a: (C.c_void_p * 1)(a.ctypes.data)
    numel = (C.c_int64 * 1)(n)
    pp, gp, sp = ptr(p), ptr(g), [ptr(s) for s in states]
    lst = TensorList(1, numel, C.cast(pp, C.POINTER(C.c_void_p)), C.cast(gp, C.POINTER(C.c_void_p)),
                     (C.POINTER(C.c_void_p) * 3)(*[C.cast(s, C.POINTER(C.c_void_p)) for s in sp]))
    step_fn = getattr(lib, f"goptim_{kind}_step")
    tp = torch.tensor(p0.copy(), requires_grad=True)
    opt = tcls([tp], foreach=False, **targs)
    for t in range(1, STEPS + 1):
        g[:] = grads[t - 1]
        st = step_fn(ctx, C.byref(lst), C.byref(hp), C.c_int64(t), None)
        assert st == 0, f"{name}: status {st}"
        tp.grad = torch.tensor(grads[t - 1].copy())
        opt.step()
        want = tp.detach().numpy()
        same = p.view(np.uint32) == want.view(np.uint32)
        if not same.all():
            i = int(np.argmin(same))
            print(f"FAIL {name} isa={isa} n={n} step {t}: {(~same).sum()} elements differ, "
                  f"first [{i}] {p[i]!r} vs torch {want[i]!r}")
            return False
    return True


def changed_since_1x(kind, hp):
    """The configurations whose torch single-tensor arithmetic changed in torch 2.x."""
    return kind == "adam" or (kind == "rmsprop" and hp.centered)


def main():
    torch2 = int(torch.__version__.split(".")[0]) >= 2
    configs = [c for c in CONFIGS if torch2 or not changed_since_1x(c[1], c[2])]
    for c in CONFIGS:
        if c not in configs:
            print(f"left out with torch {torch.__version__} (torch 2.x arithmetic): {c[0]}")
    ctx = C.c_void_p()
    assert lib.goptim_context_create(0, C.byref(ctx)) == 0
    isas = [i for i in (1, 2, 3, 4) if lib.goptim_context_set_isa(ctx, i) == 0]
    ok = True
    for isa in isas:
        assert lib.goptim_context_set_isa(ctx, isa) == 0
        for ci, (name, kind, hp, tcls, targs, init) in enumerate(configs):
            for n in LENGTHS:
                ok &= run(ctx, isa, name, kind, hp, tcls, targs, init, n, 1000 * ci + n)
    lib.goptim_context_destroy(ctx)
    print(f"torch {torch.__version__}: {len(configs)} configurations x lengths {LENGTHS} x ISAs {isas}, "
          f"{STEPS} steps: {'bit-identical' if ok else 'MISMATCH'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
