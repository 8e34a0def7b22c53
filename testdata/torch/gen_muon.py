"""gen_muon.py - golden trajectories of Muon (torch.optim.Muon as torch 2.9 defines it in
torch/optim/_muon.py: _single_tensor_muon, _zeropower_via_newtonschulz, _adjust_lr) with
AdamW (torch.optim.AdamW, foreach=False) for the params that are not matrices, as
KellerJordan/Muon's MuonWithAuxAdam, for optim/muon_test.go.

    /work/shared/torch2/python testdata/torch/gen_muon.py [optim/testdata/muon.json]

torch 2.6 has no Muon, so its algorithm is written here with torch 2.6 tensor ops in
float32 on the CPU, op for op as torch 2.9 runs it, with two differences that goptim
makes too:
  - torch 2.9 runs Newton-Schulz on grad.bfloat16(); here it runs in float32 (goptim's
    default; a copy, since .float() of a float32 tensor would be the update itself).
  - the Frobenius norm is torch.dot(u, u).sqrt() over the update in memory order (BLAS
    sdot: a sequential float32 sum), where torch's norm() reduces in its own vectorised
    order; the two differ in the last bits only.
torch 2.6 multiplies float matrices on the CPU with the reference BLAS; the order each
product rounds in (muon_math.h describes it) is checked here against an emulation for
every product of every case, so the JSON is also a record that the order holds.

Data are exact in both languages: element i of the tensor with seed s is
float32(((s*1000003 + i*7919) % 20011) - 10005) / 4096. Results are little-endian
float32 bytes in hex.
"""
import json
import math
import sys

import numpy as np
import torch

torch.set_num_threads(1)
f32 = np.float32


def data(seed, n):
    i = np.arange(n, dtype=np.int64)
    return ((((seed * 1000003 + i * 7919) % 20011) - 10005).astype(f32) / f32(4096)).astype(f32)


def hexf(t):
    return t.detach().contiguous().numpy().astype("<f4").tobytes().hex()


def emu_mm(a, b, alpha, beta, cin, tn):
    """The reference BLAS's order (muon_math.h, gm_muon_mm_ref) in numpy float32."""
    a, b = a.contiguous().numpy(), b.contiguous().numpy()
    m, k = a.shape
    c0 = np.zeros((m, b.shape[1]), dtype=f32) if beta == 0 else (f32(beta) * cin.contiguous().numpy()).astype(f32)
    acc = np.zeros_like(c0) if tn else c0.copy()
    sa = a if tn else (f32(alpha) * a).astype(f32)
    for l in range(k):
        acc = (acc + (sa[:, l:l + 1] * b[l:l + 1, :]).astype(f32)).astype(f32)
    if tn:
        acc = (f32(alpha) * acc).astype(f32)
        if beta != 0:
            acc = (acc + c0).astype(f32)
    return acc


def check(name, got, want):
    if not np.array_equal(got.numpy().view(np.uint32), want.view(np.uint32)):
        raise SystemExit(f"{name}: torch's product does not round in the order muon_math.h states")


def adjust_lr(lr, fn, shape):
    A, B = shape[:2]
    if fn is None or fn == "original":
        ratio = math.sqrt(max(1, A / B))
    else:
        ratio = 0.2 * math.sqrt(max(A, B))
    return lr * ratio


def newton_schulz(update, coef, steps, eps):
    a, b, c = coef
    x = update.clone()
    nrm = torch.dot(x.reshape(-1), x.reshape(-1)).sqrt()
    tr = update.size(0) > update.size(1)
    if tr:
        x = x.T
    x.div_(nrm.clamp(min=eps))
    for s in range(steps):
        gram = x @ x.T
        check("X @ X.T", gram, emu_mm(x, x.T, 1.0, 0.0, None, False))
        gu = torch.addmm(gram, gram, gram, beta=b, alpha=c)
        check("addmm(A, A, A)", gu, emu_mm(gram, gram, c, b, gram, False))
        nx = torch.addmm(x, gu, x, beta=a)
        check("addmm(X, B, X)", nx, emu_mm(gu, x, 1.0, a, x, s == 0 and tr))
        x = nx
    return x.T if tr else x


def muon_step(p, g, buf, o):
    buf.lerp_(g, 1 - o["momentum"])
    update = g.lerp(buf, o["momentum"]) if o["nesterov"] else buf
    update = newton_schulz(update, o["ns_coefficients"], o["ns_steps"], o["eps"])
    adjusted = adjust_lr(o["lr"], o["adjust_lr_fn"], p.shape)
    p.mul_(1 - o["lr"] * o["weight_decay"])
    p.add_(update, alpha=-adjusted)


def muon_cfg(lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, ns_coefficients=(3.4445, -4.7750, 2.0315),
             eps=1e-7, ns_steps=5, adjust_lr_fn=None):
    return dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                ns_coefficients=list(ns_coefficients), eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)


def adamw_cfg(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, maximize=False):
    return dict(lr=lr, betas=list(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)


def run(name, seed, shapes, steps, muon, adamw, zero_grad_at=()):
    params = []
    for j, shape in enumerate(shapes):
        n = int(np.prod(shape))
        params.append(torch.from_numpy(data(seed * 1000 + j * 10, n).reshape(shape)))
    mats = [j for j, s in enumerate(shapes) if len(s) == 2]
    vecs = [j for j, s in enumerate(shapes) if len(s) != 2]
    bufs = {j: torch.zeros_like(params[j]) for j in mats}
    vp = [torch.nn.Parameter(params[j]) for j in vecs]
    opt = torch.optim.AdamW(vp, lr=adamw["lr"], betas=tuple(adamw["betas"]), eps=adamw["eps"],
                            weight_decay=adamw["weight_decay"], maximize=adamw["maximize"], foreach=False) if vp else None
    after = []
    for t in range(steps):
        grads = []
        for j, shape in enumerate(shapes):
            g = torch.from_numpy(data(seed * 1000 + j * 10 + t + 1, int(np.prod(shape))).reshape(shape))
            if (t, j) in zero_grad_at:
                g = torch.zeros_like(g)
            grads.append(g)
        with torch.no_grad():
            for j in mats:
                muon_step(params[j], grads[j], bufs[j], muon)
        for q, j in enumerate(vecs):
            vp[q].grad = grads[j]
        if opt:
            opt.step()
        after.append([hexf(vp[vecs.index(j)] if j in vecs else params[j]) for j in range(len(shapes))])
    state = []
    for j in range(len(shapes)):
        if j in mats:
            state.append({"momentum_buffer": hexf(bufs[j])})
        else:
            st = opt.state[vp[vecs.index(j)]]
            state.append({"exp_avg": hexf(st["exp_avg"]), "exp_avg_sq": hexf(st["exp_avg_sq"])})
    return {"name": name, "seed": seed, "shapes": [list(s) for s in shapes], "steps": steps, "muon": muon,
            "adamw": adamw, "zero_grad_at": [list(z) for z in zero_grad_at], "after": after, "state": state}


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "optim/testdata/muon.json"
    cases = [
        run("defaults", 1, [(8, 8), (12, 5), (5, 12), (1, 7), (7, 1), (8, 8), (6,), (1,)], 3, muon_cfg(), adamw_cfg()),
        run("no_nesterov_match_rms", 2, [(6, 10), (10, 6), (4,)], 3,
            muon_cfg(lr=0.02, weight_decay=0.05, momentum=0.9, nesterov=False, adjust_lr_fn="match_rms_adamw"),
            adamw_cfg(lr=3e-4, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.0)),
        run("original_explicit_ns3_coef", 3, [(9, 4), (4, 9), (3, 3)], 2,
            muon_cfg(lr=0.05, ns_coefficients=(3.0, -3.2, 1.2), ns_steps=3, adjust_lr_fn="original"), adamw_cfg()),
        run("momentum0_no_wd_ns0", 4, [(5, 5), (2, 6), (3,)], 2,
            muon_cfg(lr=0.01, momentum=0.0, weight_decay=0.0, ns_steps=0), adamw_cfg(maximize=True)),
        run("eps_clamps_zero_grad", 5, [(4, 6), (6, 4), (5,)], 3, muon_cfg(eps=100.0), adamw_cfg(lr=0.01),
            zero_grad_at=((1, 0), (1, 2))),
        run("blocks", 6, [(100, 270), (270, 100), (33, 33), (270,)], 2, muon_cfg(lr=0.02), adamw_cfg()),
    ]
    out = {"torch": torch.__version__, "generator": "testdata/torch/gen_muon.py",
           "reference": "torch/optim/_muon.py (torch 2.9), float32 Newton-Schulz; AdamW torch 2.6 foreach=False",
           "cases": cases}
    with open(path, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
