"""gen_lbfgs.py - golden trajectories of torch.optim.LBFGS (torch 2.6, CPU, float32) for
optim/lbfgs_test.go.

    /work/shared/torch2/python testdata/torch/gen_lbfgs.py [optim/testdata/lbfgs.json]

Two objectives, each written so that its float32 loss and gradient can be recomputed
operation by operation in Go (the script checks that torch's autograd gradient equals
the explicit formula the Go test uses, bit for bit, and records where the loss's sum
differs from a sequential float32 sum):

  rosenbrock(x) = sum_i 100*(x[i+1] - x[i]^2)^2 + (1 - x[i])^2
  logreg(w, b)  = binary_cross_entropy_with_logits(X @ w + b, y)   (mean over samples)

with fixed random data written into the JSON. Each case runs several LBFGS.step(closure)
calls and records the loss each returns, the params after each, and n_iter/func_evals.
"""
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
f32 = np.float32


def rosen_loss(x):
    xl, xr = x[:-1], x[1:]
    a = xr - xl**2
    b = 1 - xl
    return (100 * a**2 + b**2).sum()


def rosen_grad_formula(x):
    """The gradient as autograd computes it: pow_backward is grad * (2 * a), the slices'
    contributions add once per element (two terms: the order does not matter)."""
    xl, xr = x[:-1], x[1:]
    a = xr - xl**2
    b = 1 - xl
    ga = 100 * (2 * a)
    gb = 2 * b
    gxl = (-ga) * (2 * xl) + (-gb)
    g = torch.zeros_like(x)
    g[1:] += ga
    g[:-1] += gxl
    return g


def seq_sum(v):
    s = f32(0)
    for e in v.numpy():
        s = f32(s + e)
    return s


def make_logreg(m, k, seed):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(m, k, generator=g, dtype=torch.float32)
    wtrue = torch.randn(k, generator=g, dtype=torch.float32)
    y = ((X @ wtrue + 2.0 * torch.randn(m, generator=g)) > 0).float()  # noisy: a finite optimum
    return X, y


def run_case(case):
    kind = case["fn"]
    cfg = dict(case["cfg"])
    if kind == "rosenbrock":
        x = torch.tensor(case["x0"], dtype=torch.float32, requires_grad=True)
        params = [x]
        data = None

        def loss_fn():
            return rosen_loss(x)
    else:
        X, y = make_logreg(case["m"], case["k"], case["seed"])
        w = torch.tensor(case["w0"], dtype=torch.float32, requires_grad=True)
        b = torch.tensor([case["b0"]], dtype=torch.float32, requires_grad=True)
        params = [w, b]
        data = {"X": [float(v) for v in X.reshape(-1)], "y": [float(v) for v in y]}

        def loss_fn():
            return F.binary_cross_entropy_with_logits(X @ w + b, y)

    kwargs = dict(lr=cfg["lr"], max_iter=cfg["max_iter"], tolerance_grad=cfg["tolerance_grad"],
                  tolerance_change=cfg["tolerance_change"], history_size=cfg["history_size"],
                  line_search_fn=cfg["line_search_fn"] or None)
    if cfg["max_eval"]:
        kwargs["max_eval"] = cfg["max_eval"]
    opt = torch.optim.LBFGS(params, **kwargs)
    checks = {"grad_formula_mismatches": 0, "sum_order_mismatches": 0, "evals": 0}

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        checks["evals"] += 1
        if kind == "rosenbrock":
            with torch.no_grad():
                if not torch.equal(rosen_grad_formula(x.detach()), x.grad):
                    checks["grad_formula_mismatches"] += 1
                xl, xr = x.detach()[:-1], x.detach()[1:]
                terms = 100 * (xr - xl**2) ** 2 + (1 - xl) ** 2
                if seq_sum(terms) != f32(loss.item()):
                    checks["sum_order_mismatches"] += 1
        return loss

    steps = []
    for _ in range(case["steps"]):
        loss = opt.step(closure)
        st = opt.state[opt._params[0]]
        steps.append({
            "loss": float(loss),
            "params": [[float(v) for v in p.detach().reshape(-1)] for p in params],
            "n_iter": int(st["n_iter"]),
            "func_evals": int(st["func_evals"]),
        })
    out = {"name": case["name"], "fn": kind, "cfg": cfg, "steps": steps, "checks": checks,
           "x0": [[float(v) for v in np.array(p0, dtype=np.float32).reshape(-1)] for p0 in
                  ([case["x0"]] if kind == "rosenbrock" else [case["w0"], [case["b0"]]])]}
    if data:
        out.update(m=case["m"], k=case["k"], data=data)
    return out


def cfg(lr=1, max_iter=20, max_eval=0, tolerance_grad=1e-7, tolerance_change=1e-9, history_size=100, ls=""):
    return dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                tolerance_change=tolerance_change, history_size=history_size, line_search_fn=ls)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "optim/testdata/lbfgs.json"
    g = torch.Generator().manual_seed(7)
    w0 = [float(v) for v in (0.1 * torch.randn(6, generator=g))]
    cases = [
        dict(name="rosen2_wolfe_h10", fn="rosenbrock", x0=[-1.2, 1.0], steps=3,
             cfg=cfg(history_size=10, ls="strong_wolfe")),
        dict(name="rosen5_wolfe_h1", fn="rosenbrock", x0=[-1.0, 1.5, 0.5, -0.5, 1.2], steps=4,
             cfg=cfg(history_size=1, max_iter=10, ls="strong_wolfe")),
        dict(name="rosen10_wolfe_h10_tol", fn="rosenbrock", x0=[0.5 * ((-1) ** i) + 0.1 * i for i in range(10)],
             steps=4, cfg=cfg(history_size=10, max_iter=8, tolerance_grad=1e-5, tolerance_change=1e-7,
                              ls="strong_wolfe")),
        dict(name="rosen2_none_h10", fn="rosenbrock", x0=[-1.2, 1.0], steps=3,
             cfg=cfg(lr=0.05, history_size=10, max_iter=10)),
        dict(name="rosen5_none_h1", fn="rosenbrock", x0=[-1.0, 1.5, 0.5, -0.5, 1.2], steps=3,
             cfg=cfg(lr=0.02, history_size=1, max_iter=6)),
        dict(name="rosen3_none_h10_maxeval", fn="rosenbrock", x0=[0.0, 0.0, 0.0], steps=3,
             cfg=cfg(lr=0.1, history_size=10, max_iter=12, max_eval=7)),
        dict(name="logreg_wolfe_h10", fn="logreg", m=40, k=5, seed=3, w0=w0[:5], b0=w0[5], steps=3,
             cfg=cfg(history_size=10, max_iter=10, ls="strong_wolfe")),
        dict(name="logreg_wolfe_h1", fn="logreg", m=40, k=5, seed=3, w0=w0[:5], b0=w0[5], steps=3,
             cfg=cfg(history_size=1, max_iter=6, ls="strong_wolfe")),
        dict(name="logreg_none_h10", fn="logreg", m=40, k=5, seed=3, w0=w0[:5], b0=w0[5], steps=3,
             cfg=cfg(history_size=10, max_iter=10)),
        dict(name="logreg_none_h1_tol", fn="logreg", m=40, k=5, seed=3, w0=w0[:5], b0=w0[5], steps=4,
             cfg=cfg(lr=0.5, history_size=1, max_iter=5, tolerance_grad=1e-4, tolerance_change=1e-6)),
    ]
    out = {"torch": torch.__version__, "generator": "testdata/torch/gen_lbfgs.py",
           "cases": [run_case(c) for c in cases]}
    for c in out["cases"]:
        last = c["steps"][-1]
        print(f'{c["name"]}: losses {[round(s["loss"], 6) for s in c["steps"]]} n_iter {last["n_iter"]} '
              f'func_evals {last["func_evals"]} checks {c["checks"]}', file=sys.stderr)
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
