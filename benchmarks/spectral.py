"""Benchmarks of the certified spectral-norm kernels (same process, median of several runs).

1. Dense: float32 n x n Gaussian, ``kernels.spectral_norm`` (certified) vs ``torch.linalg.matrix_norm(W, ord=2)``
   (not rigorous).
2. ResNet-18 (CIFAR, 32x32, random weights) conv stack: every conv certified by ``kernels.conv_spectral_norm``;
   total time beside the uncertified FFT + SVD (Sedghi et al.) on the same grids. Zero padding goes through the
   banded Gram certificate (the Fourier form is only an embedding there); the FFT+SVD column is then an
   over-estimate of the true norm, not a competitor's answer.

Usage: ``PYTHONPATH=. python benchmarks/spectral.py [--quick] [--repeats 3] [--padding-mode circular|zeros|both]
[--device cpu|cuda] [--n N]``. ``--device cuda`` runs the dense certificate's Gram, Cholesky and Lanczos products in
float64 on the GPU through torch (cuBLAS/cuSOLVER), and the conv certificates' per-frequency Gram blocks and
Cholesky factorisations likewise.
The issue-9 target is ``--skip-resnet --device cuda --n 16384 --repeats 1`` (< 5 s on an H100/H200).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch

import kernels


def _say(*parts: object) -> None:
    print(*parts, flush=True)


def _median_time(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def dense(n: int, repeats: int, device: str = "cpu", baseline: bool = True) -> None:
    w = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    wt = torch.from_numpy(w).to(device)
    if baseline:
        t_torch, s_torch = _median_time(lambda: float(torch.linalg.matrix_norm(wt, ord=2)), repeats)
    else:
        t_torch, s_torch = float("nan"), float("nan")
    t_ours, enc = _median_time(lambda: kernels.spectral_norm(w, rtol=1e-6, device=device), repeats)
    _say(f"dense float32 {n}x{n} on {device}: torch.linalg.matrix_norm(ord=2) {t_torch:.3f} s (value {s_torch!r}, "
         "not rigorous)")
    _say(f"  kernels.spectral_norm ({enc.source}): {t_ours:.3f} s  ratio {t_ours / t_torch:.3f}  rel gap {enc.rel_gap:.3g}  "
          f"[{enc.lo!r}, {enc.hi!r}]  torch value inside: {enc.contains(s_torch)}")


def resnet18_convs(width: int = 64):
    """(c_out, c_in, k, input_hw, stride, padding) of every conv of the CIFAR ResNet-18 (kuangliu variant)."""
    layers = [(width, 3, 3, 32, 1, 1)]
    c, hw = width, 32
    for i, mult in enumerate((1, 2, 4, 8)):
        c_out = width * mult
        for block in range(2):
            stride = 2 if (i > 0 and block == 0) else 1
            layers.append((c_out, c, 3, hw, stride, 1))
            if stride != 1 or c != c_out:
                layers.append((c_out, c, 1, hw, stride, 0))  # shortcut
            hw_out = hw // stride
            layers.append((c_out, c_out, 3, hw_out, 1, 1))
            c, hw = c_out, hw_out
    return layers


def resnet(mode: str, repeats: int, quick: bool, device: str = "cpu") -> None:
    """Every conv of the stack, one line each as it finishes (the full-width zero-padding run takes minutes)."""
    width = 16 if quick else 64
    layers = resnet18_convs(width)
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal((co, ci, k, k)) * np.sqrt(2.0 / (ci * k * k)) for co, ci, k, *_ in layers]
    _say(f"ResNet-18 conv stack ({len(layers)} convs, padding_mode={mode}, width {width}, median of {repeats}):")
    t_ours_total, t_base_total, gaps = 0.0, 0.0, []
    for w, (co, ci, k, hw, s, p) in zip(weights, layers):
        def certified(w=w, hw=hw, s=s, p=p):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", kernels.RtolNotReached)
                return kernels.conv_spectral_norm(w, hw, stride=s, padding=p, padding_mode=mode, rtol=1e-4,
                                                  device=device)

        def baseline(w=w, hw=hw, s=s, p=p):
            return kernels.conv_spectral_norm_estimate(w, hw, stride=s, padding=p, padding_mode=mode, method="fft")

        t_base, est = _median_time(baseline, repeats)
        t_ours, e = _median_time(certified, repeats)
        t_ours_total += t_ours
        t_base_total += t_base
        gaps.append(e.rel_gap)
        how = "banded" if "banded-gram" in e.source else "fourier"
        _say(f"    {co:4d}x{ci:4d}x{k}x{k} in {hw:2d} s{s} p{p}: [{e.lo:.9g}, {e.hi:.9g}] gap {e.rel_gap:.2e} "
             f"({how}, {t_ours:.2f} s)  fft+svd {est:.9g} ({t_base:.3f} s)")
    _say(f"  total: certified {t_ours_total:.1f} s, uncertified FFT+SVD {t_base_total:.2f} s "
         f"(ratio {t_ours_total / t_base_total:.1f}); rel gap max {max(gaps):.3g}, median {statistics.median(gaps):.3g}; "
         f"all <= 1e-4: {all(g <= 1e-4 for g in gaps)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (512x512 dense, ResNet width 16)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--padding-mode", choices=["circular", "zeros", "both"], default="both")
    ap.add_argument("--skip-dense", action="store_true")
    ap.add_argument("--skip-resnet", action="store_true")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where the dense certificate runs")
    ap.add_argument("--n", type=int, default=None, help="dense size (default 4096, 512 with --quick)")
    ap.add_argument("--no-baseline", action="store_true", help="skip torch.linalg.matrix_norm on the dense matrix")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch.cuda.is_available() is False here (no GPU); the CUDA path of the "
                         "certificates runs through torch's cuBLAS/cuSOLVER; use --device cpu")
    if not args.skip_dense:
        n = args.n or (512 if args.quick else 4096)
        dense(n, args.repeats, args.device, baseline=not args.no_baseline)
    if not args.skip_resnet:
        for mode in (["circular", "zeros"] if args.padding_mode == "both" else [args.padding_mode]):
            resnet(mode, args.repeats, args.quick, args.device)


if __name__ == "__main__":
    main()
