#!/usr/bin/env python3
"""torch_baseline.py - times torch.optim on the layouts of goptim's benchmarks.

Prints a markdown table: per layout and optimizer implementation, the median ms per step,
the effective GB/s (bytes a fused step must move per fp32 parameter: Adam/AdamW/Adamax/
RAdam/NAdam/Adadelta/Rprop 28, SGD-momentum/Adagrad/RMSprop/ASGD 20, clip_grad_norm_ 12 =
one read for the norm + read and write to scale) and the fraction of a copy of the same bytes measured in the same run
(a tensor copy_ moving bytes/2 each way, capped at 16 GB moved).

  GPU (default): python3 bench/torch_baseline.py
      layouts: one 268M tensor, GPT-2 medium shapes, GPT 1.3B shapes, 10,000 x 10,000
      Adam/AdamW fused=True and foreach, SGD momentum / Adagrad / RMSprop foreach,
      clip_grad_norm_ (foreach where torch has it).
  CPU: python3 bench/torch_baseline.py --device cpu --threads 2
      (or ../shared/torch2/python bench/torch_baseline.py ... for torch 2.6)
      layouts: one 64M tensor, GPT-2 medium shapes, 10,000 x 10,000, one 64K tensor (in
      cache); every optimizer as fused=True (where the torch has it: torch 2.6 on the CPU
      for Adam, AdamW, SGD and Adagrad), foreach=True and the single-tensor for-loop
      (torch 1.13's default on the CPU). Optimizers the torch lacks (NAdam and ASGD's
      foreach before 2.0) are n/a.
  --scale 0.01 multiplies every tensor's size (at least 1 element) and the number of the
      10,000 small tensors, as goptim's cmd/bench -scale does: a quick smoke run. Sizes
      that small fit in the last-level cache, so their GB/s are not memory-bound figures.
  --json prints one JSON object per line instead of the table (what `go run ./cmd/bench
      -torch` reads): a "meta" line first, one line per measurement, a "done" line with the
      peak resident memory last.

Fairness (see bench/cpu-2026-11-29.md): params are randn and gradients randn * 1e-3 (no
zeros, no denormals, nothing that takes a special path), made with a fixed seed; the
state-creating first step and --warmup further steps are untimed; the reported time is the
median of --iters steps; the copy baseline is timed right before and right after each
optimizer's steps (median of both), with the optimizer's state freed while it runs so that
the largest layout fits in memory. On the CPU, --threads N calls torch.set_num_threads(N)
(set OMP_NUM_THREADS=N too when starting the process, as cmd/bench does).

Implementations torch lacks (fused=True before torch 2.x on the CPU, foreach= in
clip_grad_norm_ before 2.0) are reported as n/a, not errors.
"""
import argparse
import gc
import json
import resource
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
    """(key, name, shapes); keys are the names goptim's cmd/bench uses."""
    if device == "cuda":
        ls = [
            ("single", "one tensor 268M", [268435456]),
            ("gpt2-medium", "GPT-2 medium", gpt_shapes(1024, 24, 1024)),
            ("gpt-1.3b", "GPT 1.3B", gpt_shapes(2048, 24, 2048)),
            ("small", "10,000 small", [10000] * 10000),
        ]
    else:
        ls = [
            ("single", "one tensor 64M", [64 * 1024 * 1024]),
            ("gpt2-medium", "GPT-2 medium", gpt_shapes(1024, 24, 1024)),
            ("small", "10,000 small", [10000] * 10000),
            ("incache", "one tensor 64K (in cache)", [64 * 1024]),
        ]
    if scale != 1.0:
        sc = lambda x: max(1, int(x * scale))
        out = []
        for k, n, s in ls:
            # as cmd/bench: the small layout keeps 10,000-element tensors and scales their count
            # the in-cache tensor keeps its size
            s = [10000] * sc(len(s)) if k == "small" else s if k == "incache" else [sc(x) for x in s]
            out.append((k, n if k == "incache" else f"{n} (scale {scale:g})", s))
        ls = out
    return ls


class Timer:
    def __init__(self, device, iters, warmup):
        self.device, self.iters, self.warmup = device, iters, warmup

    def samples_ms(self, fn, iters=None, warmup=None, reps=1):
        """ms per call of fn; on the CPU each sample is the mean of reps calls in a row."""
        iters = self.iters if iters is None else iters
        for _ in range(self.warmup if warmup is None else warmup):
            fn()
        if self.device == "cuda":
            torch.cuda.synchronize()
            ev = [torch.cuda.Event(enable_timing=True) for _ in range(iters + 1)]
            ev[0].record()
            for i in range(iters):
                fn()
                ev[i + 1].record()
            torch.cuda.synchronize()
            return [ev[i].elapsed_time(ev[i + 1]) for i in range(iters)]
        ms = []
        for _ in range(iters):
            t0 = time.perf_counter()
            for _ in range(reps):
                fn()
            ms.append((time.perf_counter() - t0) * 1e3 / reps)
        return ms


def copy_samples(device, timer, nbytes):
    """ms of a tensor copy_ moving nbytes (half read, half written; at most 16 GB moved).
    The buffers live only while it runs. Returns (floats per buffer, samples)."""
    half = min(nbytes // 2, 8 << 30) // 4
    src = torch.empty(half, device=device).normal_()
    dst = torch.empty_like(src).zero_()  # first touch outside the timing
    ms = timer.samples_ms(lambda: dst.copy_(src), iters=max(5, timer.iters // 2), warmup=2)
    del src, dst
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    return half, ms


def make_params(shapes, device, seed=0):
    """randn params and randn * 1e-3 gradients, deterministic, generated where they live."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    ps = []
    for n in shapes:
        p = torch.nn.Parameter(torch.empty(n, device=device).normal_(generator=gen))
        p.grad = torch.empty(n, device=device).normal_(generator=gen).mul_(1e-3)
        ps.append(p)
    return ps


OPTS = ["sgd-momentum", "adam", "adamw", "adagrad", "rmsprop", "adamax", "radam", "nadam", "adadelta", "rprop",
        "asgd"]
LABEL = {"sgd-momentum": "SGD momentum", "adam": "Adam", "adamw": "AdamW", "adagrad": "Adagrad",
         "rmsprop": "RMSprop", "adamax": "Adamax", "radam": "RAdam", "nadam": "NAdam", "adadelta": "Adadelta",
         "rprop": "Rprop", "asgd": "ASGD", "clip": "clip_grad_norm_"}


def optimizer_cases(device, impls):
    """(key, impl, class, kwargs, bytes per param); the hyperparameters are cmd/bench's
    (torch's defaults; SGD with momentum 0.9). Bytes per param count each array the step
    reads and writes, as cmd/bench's same-traffic loop does."""
    O = torch.optim
    base = [
        ("sgd-momentum", "SGD", dict(lr=1e-2, momentum=0.9), 20),
        ("adam", "Adam", dict(lr=1e-3), 28),
        ("adamw", "AdamW", dict(lr=1e-3, weight_decay=1e-2), 28),
        ("adagrad", "Adagrad", dict(lr=1e-2), 20),
        ("rmsprop", "RMSprop", dict(lr=1e-2), 20),
        ("adamax", "Adamax", dict(lr=2e-3), 28),
        ("radam", "RAdam", dict(lr=1e-3), 28),
        ("nadam", "NAdam", dict(lr=2e-3), 28),
        ("adadelta", "Adadelta", dict(lr=1.0), 28),
        ("rprop", "Rprop", dict(lr=1e-2), 28),
        ("asgd", "ASGD", dict(lr=1e-2), 20),
    ]
    cases = []
    for key, name, kw, bpp in base:
        cls = getattr(O, name, None)
        if cls is None:  # NAdam before torch 1.10 and the like
            cases.append((key, "foreach", None, kw, bpp))
            continue
        for impl in impls:
            if impl == "fused" and device == "cuda" and key not in ("adam", "adamw"):
                continue  # as before on the GPU: fused is timed for Adam/AdamW only (the visit's time cap)
            if impl == "fused":
                cases.append((key, impl, cls, dict(kw, fused=True), bpp))
            elif impl == "foreach":
                cases.append((key, impl, cls, dict(kw, foreach=True), bpp))
            elif impl == "for-loop":
                cases.append((key, impl, cls, dict(kw, foreach=False), bpp))
    return cases


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (CPU); 0: torch's default")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--iters", type=int, default=0, help="timed steps, median reported (default: 20 GPU, 10 CPU)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps after the state-creating first step")
    ap.add_argument("--layouts", default="",
                    help="comma-separated layout keys (single, gpt2-medium, gpt-1.3b, small) or substrings of names")
    ap.add_argument("--opts", default="", help="comma-separated: " + ",".join(OPTS) + ",clip "
                    "(default: all of them on the CPU; on the GPU the first five and clip)")
    ap.add_argument("--impls", default="",
                    help="comma-separated: fused,foreach,for-loop (default: fused,foreach on the GPU; all three on the CPU)")
    ap.add_argument("--json", action="store_true", help="JSON lines on stdout instead of the markdown table")
    args = ap.parse_args()

    dev = args.device
    if dev == "cuda" and not torch.cuda.is_available():
        print("torch_baseline: CUDA is not available", file=sys.stderr)
        return 2
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    iters = args.iters or (20 if dev == "cuda" else 10)
    timer = Timer(dev, iters, args.warmup)
    # the GPU visit's time cap (bench/device_visit.sh) keeps the GPU default to the five its
    # tables compare; --opts names any of OPTS there too
    opts = [o for o in args.opts.split(",") if o] or (OPTS[:5] if dev == "cuda" else OPTS) + ["clip"]
    for o in opts:
        if o not in LABEL:
            ap.error(f"unknown optimizer {o!r}")
    impls = [i for i in args.impls.split(",") if i] or (["fused", "foreach"] if dev == "cuda"
                                                         else ["fused", "foreach", "for-loop"])
    where = torch.cuda.get_device_name(0) if dev == "cuda" else f"CPU, {torch.get_num_threads()} threads"

    def emit(obj):
        print(json.dumps(obj), flush=True)

    if args.json:
        emit({"meta": True, "torch": torch.__version__, "device": dev, "where": where,
              "threads": torch.get_num_threads(), "iters": iters, "warmup": args.warmup})
    else:
        print("# torch.optim baseline\n")
        print(f"torch {torch.__version__}, {where}; median of {iters} steps after the first and {args.warmup} "
              "warm-up steps; params randn, grads randn*1e-3; copy: tensor copy_ of the same bytes in this run, "
              "timed before and after each optimizer\n")
        print("| layout | op | impl | tensors | params | B/param | ms | GB/s | copy GB/s | fraction of copy | note |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    keep = [k for k in args.layouts.split(",") if k]
    for key, lname, shapes in layouts(dev, args.scale):
        if keep and not any(k == key or k in lname for k in keep):
            continue
        params = make_params(shapes, dev)
        n = sum(shapes)

        def row(op, impl, bpp, ms=None, copy_ms=None, copy_floats=0, note=""):
            rec = {"layout": key, "name": lname, "opt": op, "impl": impl, "tensors": len(shapes), "params": n,
                   "bpp": bpp, "threads": torch.get_num_threads() if dev == "cpu" else 0}
            if ms is None:
                rec["error"] = note
            else:
                med = statistics.median(ms)
                cmed = statistics.median(copy_ms)
                gbs = n * bpp / (med * 1e6)
                cgbs = 8 * copy_floats / (cmed * 1e6)
                rec.update(ms=med, min_ms=min(ms), gbs=gbs, copy_ms=cmed, copy_gbs=cgbs, fraction=gbs / cgbs,
                           samples=[round(x, 4) for x in ms])
                if note:
                    rec["note"] = note
            if args.json:
                emit(rec)
            elif ms is None:
                print(f"| {lname} | {LABEL[op]} | {impl} | {len(shapes)} | {n / 1e6:.1f}M | {bpp} | n/a | | | | {note} |")
            else:
                print(f"| {lname} | {LABEL[op]} | {impl} | {len(shapes)} | {n / 1e6:.1f}M | {bpp} | {rec['ms']:.3f} "
                      f"| {rec['gbs']:.1f} | {rec['copy_gbs']:.1f} | {rec['fraction']:.3f} | {note} |")
            sys.stdout.flush()

        for op, impl, cls, kw, bpp in optimizer_cases(dev, impls):
            if op not in opts:
                continue
            try:
                if cls is None:
                    raise NotImplementedError(f"torch {torch.__version__} has no torch.optim.{LABEL[op]}")
                cls(params, **kw)  # torch 1.13 refuses fused=True on the CPU here, 2.6 for most optimizers
            except Exception as e:
                row(op, impl, bpp, note=f"unavailable: {type(e).__name__}: {str(e).splitlines()[0][:80]}")
                continue
            gc.collect()
            floats, before = copy_samples(dev, timer, n * bpp)  # before: no optimizer state alive
            try:
                opt = cls(params, **kw)
                opt.step()  # creates the state (and, for SGD momentum, takes the first-step path)
            except Exception as e:
                row(op, impl, bpp, note=f"unavailable: {type(e).__name__}: {str(e).splitlines()[0][:80]}")
                opt = None
                gc.collect()
                continue
            # as cmd/bench: a sample of a small step repeats it until about 16M elements moved
            ms = timer.samples_ms(opt.step, reps=1 if dev == "cuda" else max(1, (16 << 20) // n))
            del opt
            gc.collect()
            if dev == "cuda":
                torch.cuda.empty_cache()
            _, after = copy_samples(dev, timer, n * bpp)
            row(op, impl, bpp, ms, before + after, floats)
        if "clip" in opts:
            clip = torch.nn.utils.clip_grad_norm_
            floats, before = copy_samples(dev, timer, n * 12)
            try:
                clip(params, 1.0, foreach=True)
                ms = timer.samples_ms(lambda: clip(params, 1.0, foreach=True))
                impl, note = "foreach", ""
            except TypeError:
                ms = timer.samples_ms(lambda: clip(params, 1.0))
                impl, note = "per-tensor", "torch without foreach= in clip_grad_norm_"
            _, after = copy_samples(dev, timer, n * 12)
            row("clip", impl, 12, ms, before + after, floats, note)
        del params
        gc.collect()
        if dev == "cuda":
            torch.cuda.empty_cache()
    if args.json:
        emit({"done": True, "peak_rss_mb": round(peak_rss_mb())})
    else:
        print(f"\npeak resident memory {peak_rss_mb() / 1024:.1f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
