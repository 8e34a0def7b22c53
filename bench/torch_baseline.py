#!/usr/bin/env python3
"""torch_baseline.py - times torch.optim on the layouts of goptim's benchmarks.

Prints a markdown table: per layout and optimizer implementation, the median ms per step,
the effective GB/s (bytes a fused step must move per fp32 parameter: Adam/AdamW 28,
SGD-momentum/Adagrad/RMSprop 20, clip_grad_norm_ 12 = one read for the norm + read and
write to scale) and the fraction of a copy of the same bytes measured in the same run
(a tensor copy_ moving bytes/2 each way, capped at 16 GB moved).

  GPU (default): python3 bench/torch_baseline.py
      layouts: one 268M tensor, GPT-2 medium shapes, GPT 1.3B shapes, 10,000 x 10,000
      Adam/AdamW fused=True and foreach, SGD momentum / Adagrad / RMSprop foreach,
      clip_grad_norm_ (foreach where torch has it).
  CPU: python3 bench/torch_baseline.py --device cpu --threads 16
      layouts: one 64M tensor, GPT-2 medium shapes, 10,000 x 10,000.
  --scale 0.01 multiplies every tensor's size (at least 1 element): a quick smoke run.

Implementations torch lacks (fused=True before torch 2.x on the CPU, foreach= in
clip_grad_norm_ before 2.0) are reported as n/a, not errors.
"""
import argparse
import math
import statistics
import sys
import time

import torch


def gpt_shapes(d, layers, ctx):
    vocab = 50257
    s = [vocab * d, ctx * d]
    for _ in range(layers):
        s += [d, d, d * 3 * d, 3 * d, d * d, d, d, d, d * 4 * d, 4 * d, 4 * d * d, d]
    s += [d, d]
    return s


def layouts(device, scale):
    if device == "cuda":
        ls = [
            ("one tensor 268M", [268435456]),
            ("GPT-2 medium", gpt_shapes(1024, 24, 1024)),
            ("GPT 1.3B", gpt_shapes(2048, 24, 2048)),
            ("10,000 small", [10000] * 10000),
        ]
    else:
        ls = [
            ("one tensor 64M", [64 * 1024 * 1024]),
            ("GPT-2 medium", gpt_shapes(1024, 24, 1024)),
            ("10,000 small", [10000] * 10000),
        ]
    if scale != 1.0:
        ls = [(f"{n} (scale {scale:g})", [max(1, int(x * scale)) for x in s]) for n, s in ls]
    return ls


class Timer:
    def __init__(self, device, iters, warmup):
        self.device, self.iters, self.warmup = device, iters, warmup

    def median_ms(self, fn):
        for _ in range(self.warmup):
            fn()
        if self.device == "cuda":
            ev = [torch.cuda.Event(enable_timing=True) for _ in range(self.iters + 1)]
            ev[0].record()
            for i in range(self.iters):
                fn()
                ev[i + 1].record()
            torch.cuda.synchronize()
            ms = [ev[i].elapsed_time(ev[i + 1]) for i in range(self.iters)]
        else:
            ms = []
            for _ in range(self.iters):
                t0 = time.perf_counter()
                fn()
                ms.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(ms)


class CopyBaseline:
    def __init__(self, device, timer):
        self.device, self.timer, self.cache = device, timer, {}

    def gbs(self, nbytes):
        half = min(nbytes // 2, 8 << 30) // 4
        if half not in self.cache:
            src = torch.ones(half, device=self.device)
            dst = torch.empty_like(src)
            ms = self.timer.median_ms(lambda: dst.copy_(src))
            self.cache[half] = 2 * half * 4 / (ms * 1e6)
            del src, dst
        return self.cache[half]


def make_params(shapes, device):
    torch.manual_seed(0)  # generated where they live: fast for 1.3B parameters on the GPU
    ps = []
    for n in shapes:
        p = torch.nn.Parameter(torch.rand(n, device=device) - 0.5)
        p.grad = (torch.rand(n, device=device) - 0.5) * 0.02
        ps.append(p)
    return ps


def optimizer_cases(device):
    O = torch.optim
    cases = []
    for name, cls, kw, bpp in [
        ("Adam", O.Adam, dict(lr=1e-3), 28),
        ("AdamW", O.AdamW, dict(lr=1e-3, weight_decay=1e-2), 28),
    ]:
        cases.append((name, "fused", cls, dict(kw, fused=True), bpp))
        cases.append((name, "foreach", cls, dict(kw, foreach=True), bpp))
    cases.append(("SGD momentum", "foreach", O.SGD, dict(lr=1e-2, momentum=0.9, foreach=True), 20))
    cases.append(("Adagrad", "foreach", O.Adagrad, dict(lr=1e-2, foreach=True), 20))
    cases.append(("RMSprop", "foreach", O.RMSprop, dict(lr=1e-2, foreach=True), 20))
    if device == "cpu":  # the single-tensor loop is torch's default on the CPU
        cases.append(("Adam", "for-loop", O.Adam, dict(lr=1e-3, foreach=False), 28))
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (CPU); 0: torch's default")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--layouts", default="", help="comma-separated substrings of layout names to keep")
    args = ap.parse_args()

    dev = args.device
    if dev == "cuda" and not torch.cuda.is_available():
        print("torch_baseline: CUDA is not available", file=sys.stderr)
        return 2
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    timer = Timer(dev, args.iters, args.warmup)
    copy = CopyBaseline(dev, timer)

    print("# torch.optim baseline\n")
    where = torch.cuda.get_device_name(0) if dev == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {where}; median of {args.iters} steps after {args.warmup} warm-up; "
          "copy: tensor copy_ of the same bytes in this run\n")
    print("| layout | op | impl | tensors | params | B/param | ms | GB/s | copy GB/s | fraction of copy | note |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    keep = [k for k in args.layouts.split(",") if k]
    for lname, shapes in layouts(dev, args.scale):
        if keep and not any(k in lname for k in keep):
            continue
        params = make_params(shapes, dev)
        n = sum(shapes)

        def row(op, impl, bpp, ms, note=""):
            if ms is None:
                print(f"| {lname} | {op} | {impl} | {len(shapes)} | {n / 1e6:.1f}M | {bpp} | n/a | | | | {note} |")
            else:
                gbs = n * bpp / (ms * 1e6)
                c = copy.gbs(n * bpp)
                print(f"| {lname} | {op} | {impl} | {len(shapes)} | {n / 1e6:.1f}M | {bpp} | {ms:.3f} | {gbs:.1f} "
                      f"| {c:.1f} | {gbs / c:.3f} | {note} |")
            sys.stdout.flush()

        for op, impl, cls, kw, bpp in optimizer_cases(dev):
            try:
                opt = cls(params, **kw)
                opt.step()  # creates the state
            except Exception as e:  # e.g. fused=True on torch 1.13's CPU
                row(op, impl, bpp, None, f"unavailable: {type(e).__name__}: {str(e).splitlines()[0][:80]}")
                continue
            ms = timer.median_ms(opt.step)
            row(op, impl, bpp, ms)
            del opt
            if dev == "cuda":
                torch.cuda.empty_cache()
        # clip_grad_norm_
        clip = torch.nn.utils.clip_grad_norm_
        try:
            clip(params, 1.0, foreach=True)
            ms = timer.median_ms(lambda: clip(params, 1.0, foreach=True))
            row("clip_grad_norm_", "foreach", 12, ms)
        except TypeError:
            ms = timer.median_ms(lambda: clip(params, 1.0))
            row("clip_grad_norm_", "per-tensor", 12, ms, "torch without foreach= in clip_grad_norm_")
        del params
        if dev == "cuda":
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
