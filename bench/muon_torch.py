#!/usr/bin/env python3
"""muon_torch.py - torch 2.6 beside goptim's BenchmarkMuonGPT2Small (optim/muon_bench_test.go).

    /work/shared/torch2/python bench/muon_torch.py [--threads 1,2] [--rounds 2] [--layers 12]

One Muon step over GPT-2 small's params, written in torch ops as torch 2.9's
torch/optim/_muon.py runs it (float32 Newton-Schulz, as testdata/torch/gen_muon.py writes
it: lerp momentum, nesterov, X / max(||X||_F, eps), 5 iterations of A = X X^T,
B = addmm(A, A, A, beta=b, alpha=c), X = addmm(X, B, X, beta=a), the lr adjustment, decoupled
weight decay) for the 48 attention and MLP matrices, and torch.optim.AdamW(fused=True) for
the other params (embeddings, layer norms, biases), timed beside the bare products of the
same Newton-Schulz iterations:

    mm     torch.mm(X, X.T, out=A); torch.mm(A, A, out=B); torch.mm(B, X, out=X')
    addmm  the step's own calls: mm for A, addmm for B and X' (alpha and beta in the BLAS call)

Each round runs step, mm, addmm, addmm, mm, step, so that drift and other load fall on
every side alike, and prints the ratios step/mm and step/addmm of that round; one untimed
step comes first (AdamW's state, allocation). torch.set_num_threads(n) sets the intra-op
threads; when the BLAS loaded is OpenBLAS, its threads are set to n too (through its
openblas_set_num_threads), as goptim's benchmark sets cblas.SetThreads.

The BLAS torch multiplies with is whatever libblas.so.3 the process loads; the script
names it (from /proc/self/maps). Debian's torch 2.6 is built with BLAS_INFO=generic and
the root of ../shared/torch2 has the netlib reference BLAS: unblocked loops, one thread,
no fused multiply-add, a few GFLOP/s, so its products are no fair speed. OpenBLAS can stand
in without touching the root: copy the host's OpenBLAS (libblas.so.3, libopenblas.so.0,
and its liblapack.so.3, since the root's LAPACK 3.12 wants a BLAS routine, sgemmtr, that
OpenBLAS 0.3.21 lacks) into a folder under the current directory (which the wrapper
bind-mounts) and point LD_LIBRARY_PATH at it, e.g.

    mkdir -p build/torch-openblas
    cp /usr/lib/x86_64-linux-gnu/openblas-pthread/{libblas.so.3,libopenblas.so.0,liblapack.so.3} \
       build/torch-openblas/
    LD_LIBRARY_PATH=$PWD/build/torch-openblas /work/shared/torch2/python bench/muon_torch.py

--layers L keeps the matrices and vectors of the first L layers (all of them: 12) and
always the embeddings and ln_f, for a run that the reference BLAS finishes in minutes.
--json prints one JSON object per round instead of the table.
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import sys
import time

import torch

COEF = (3.4445, -4.7750, 2.0315)
LR, WD, MOMENTUM, EPS, NS_STEPS = 1e-3, 0.1, 0.95, 1e-7, 5


def gpt2_small(layers):
    """(matrices, vectors): GPT-2 small's 48 Muon matrices and its AdamW params."""
    mats = []
    vecs = [(50257, 768), (1024, 768)]  # wte, wpe: AdamW's in Muon's recipe
    for _ in range(layers):
        mats += [(768, 2304), (768, 768), (768, 3072), (3072, 768)]
        vecs += [(768,), (768,), (2304,), (768,), (768,), (768,), (3072,), (768,)]
    return mats, vecs + [(768,), (768,)]


def loaded_blas():
    libs = []
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            name = os.path.basename(path)
            if ("blas" in name or "lapack" in name) and path not in libs:
                libs.append(path)
    return libs


def openblas():
    """The loaded OpenBLAS, or None."""
    for path in loaded_blas():
        if "openblas" in os.path.basename(path):
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_set_num_threads
                return lib
            except (OSError, AttributeError):
                pass
    return None


def newton_schulz(update, eps):
    a, b, c = COEF
    x = update.clone()
    nrm = torch.dot(x.reshape(-1), x.reshape(-1)).sqrt()
    if update.size(0) > update.size(1):
        x = x.T
    x.div_(nrm.clamp(min=eps))
    for _ in range(NS_STEPS):
        gram = x @ x.T
        gu = torch.addmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.addmm(x, gu, x, beta=a)
    return x.T if update.size(0) > update.size(1) else x


class Model:
    def __init__(self, layers):
        g = torch.Generator().manual_seed(0)
        mats, vecs = gpt2_small(layers)
        self.mats = [(torch.randn(s, generator=g), torch.randn(s, generator=g), torch.zeros(s)) for s in mats]
        self.vecs = [torch.nn.Parameter(torch.randn(s, generator=g)) for s in vecs]
        for p in self.vecs:
            p.grad = torch.randn(p.shape, generator=g)
        self.adamw = torch.optim.AdamW(self.vecs, lr=1e-3, weight_decay=1e-2, fused=True)
        self.shapes = mats
        self.prod = {}
        for s in set(mats):
            m, n = min(s), max(s)
            x = torch.randn(m, n, generator=g)
            x /= x.norm()
            self.prod[s] = (x, torch.empty(m, m), torch.empty(m, m), torch.empty(m, n))

    @torch.no_grad()
    def step(self):
        for p, grad, buf in self.mats:
            buf.lerp_(grad, 1 - MOMENTUM)
            update = grad.lerp(buf, MOMENTUM)
            update = newton_schulz(update, EPS)
            ratio = math.sqrt(max(1, p.size(0) / p.size(1)))
            p.mul_(1 - LR * WD)
            p.add_(update, alpha=-LR * ratio)
        self.adamw.step()

    @torch.no_grad()
    def products(self, addmm):
        a_, b_, c_ = COEF
        for s in self.shapes:
            x, A, B, xn = self.prod[s]
            for _ in range(NS_STEPS):
                torch.mm(x, x.T, out=A)
                if addmm:
                    torch.addmm(A, A, A, beta=b_, alpha=c_, out=B)
                    torch.addmm(x, B, x, beta=a_, out=xn)
                else:
                    torch.mm(A, A, out=B)
                    torch.mm(B, x, out=xn)


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    model = Model(args.layers)
    ob = openblas()
    blas = loaded_blas()
    meta = {"torch": torch.__version__, "blas_info": "generic" if "BLAS_INFO=generic" in torch.__config__.show() else "?",
            "blas_loaded": blas, "openblas": bool(ob), "layers": args.layers,
            "matrices": len(model.shapes), "adamw_params": sum(p.numel() for p in model.vecs)}
    if args.json:
        print(json.dumps({"meta": meta}), flush=True)
    else:
        print(f"torch {meta['torch']}, BLAS {'OpenBLAS' if ob else 'as loaded'}: {', '.join(blas)}")
        print(f"{meta['matrices']} Muon matrices ({args.layers} layers), {meta['adamw_params']} AdamW params (fused)")
        print()
        print("| threads | round | step s | mm s | addmm s | step/mm | step/addmm |")
        print("| --- | --- | --- | --- | --- | --- | --- |", flush=True)
    for n in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(n)
        if ob:
            ob.openblas_set_num_threads(n)
        model.step()  # untimed: AdamW's state
        ratios = []
        for r in range(args.rounds):
            ts = tm = ta = 0.0
            ts += timed(model.step)
            tm += timed(lambda: model.products(False))
            ta += timed(lambda: model.products(True))
            ta += timed(lambda: model.products(True))
            tm += timed(lambda: model.products(False))
            ts += timed(model.step)
            ratios.append((ts / tm, ts / ta))
            row = {"threads": n, "round": r, "step_s": ts / 2, "mm_s": tm / 2, "addmm_s": ta / 2,
                   "step_over_mm": ts / tm, "step_over_addmm": ts / ta}
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print(f"| {n} | {r} | {ts / 2:.2f} | {tm / 2:.2f} | {ta / 2:.2f} | {ts / tm:.3f} | {ts / ta:.3f} |",
                      flush=True)
        if not args.json and args.rounds > 1:
            print(f"| {n} | median | | | | {statistics.median(x[0] for x in ratios):.3f} | "
                  f"{statistics.median(x[1] for x in ratios):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
