"""Enclosed logit margins of a ResNet-18-size CNN (CIFAR variant, random weights) on a batch of images.

The network is kuangliu's CIFAR ResNet-18 (11.2 M parameters at width 64; BatchNorm folded into the convs'
biases, so the layers are Conv/ReLU/Residual), with the 4x4 average pool folded exactly into the last dense layer
(``W kron 1/16``: a power of two). ``kernels.logit_margins`` runs the float64 midpoint-radius forward pass.
Reports seconds per image and the time extrapolated (linearly: the pass is per image) to ``--target`` images.

``--torch``: instead, the torch CIFAR ResNet-18 with its BatchNorm layers (eval mode, non-trivial statistics;
``tests.network.zoo``) through the torch.fx translation to the network IR; prints, for ``--precision float64`` and
``compensated`` (double-double Dot2 midpoints) in the same process, the logit enclosure's width relative to the
largest logit magnitude (issue 16's target: <= 1e-6) and the time per image (median of ``--repeats`` calls).

Usage: ``PYTHONPATH=. python benchmarks/margins.py [--images 8] [--width 64] [--hw 32] [--device cpu|cuda]
[--target 50000] [--torch [--precision float64|compensated|both] [--op-norms fast|tight]]``. The issue-9 target is
50,000 images in < 30 s on an H100/H200 (``--device cuda``).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402

import kernels  # noqa: E402
from kernels import Activation, ConvLayer, DenseLayer, Residual  # noqa: E402


def resnet18_layers(width: int, hw: int, classes: int, seed: int) -> list:
    """The CIFAR ResNet-18 as kernel layers (He init, small biases)."""
    rng = np.random.default_rng(seed)

    def conv(co, ci, k, in_hw, stride, pad):
        w = rng.standard_normal((co, ci, k, k)) * np.sqrt(2.0 / (ci * k * k))
        return ConvLayer(w, (in_hw, in_hw), bias=0.01 * rng.standard_normal(co), stride=stride, padding=pad)

    layers = [conv(width, 3, 3, hw, 1, 1), Activation("relu")]
    c, size = width, hw
    for i, mult in enumerate((1, 2, 4, 8)):
        c_out = width * mult
        for block in range(2):
            stride = 2 if (i > 0 and block == 0) else 1
            out = size // stride
            body = (conv(c_out, c, 3, size, stride, 1), Activation("relu"), conv(c_out, c_out, 3, out, 1, 1))
            short = (conv(c_out, c, 1, size, stride, 0),) if (stride != 1 or c != c_out) else ()
            layers += [Residual(body, short), Activation("relu")]
            c, size = c_out, out
    fc = rng.standard_normal((classes, c)) / np.sqrt(c)
    # avg pool over the final size x size map folded into the dense layer: W kron (1 / size^2), exact for powers of 2
    fused = np.repeat(fc, size * size, axis=1) / float(size * size)
    layers.append(DenseLayer(fused, 0.01 * rng.standard_normal(classes)))
    return layers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--hw", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--target", type=int, default=50_000, help="images in the extrapolated time")
    ap.add_argument("--torch", action="store_true", help="the torch ResNet-18 with BatchNorm through the IR")
    ap.add_argument("--op-norms", choices=["fast", "tight"], default="fast", help="with --torch: operator norms")
    ap.add_argument("--precision", choices=["float64", "compensated", "both"], default="both",
                    help="with --torch: midpoint arithmetic (both: each, in the same process)")
    ap.add_argument("--repeats", type=int, default=3, help="with --torch: timed calls per precision (median)")
    args = ap.parse_args()
    if args.torch:
        return _torch_resnet(args)
    try:
        import torch

        torch.set_num_threads(2)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    except ImportError:
        pass
    from kernels._device import cuda_usable

    if args.device == "cuda" and not cuda_usable():
        raise SystemExit("--device cuda: no CUDA GPU is usable here (set NUMBA_ENABLE_CUDASIM=1 for the simulator, "
                         "tiny sizes only); use --device cpu")
    layers = resnet18_layers(args.width, args.hw, 10, seed=0)
    n_params = sum(int(np.prod(lay.weight.shape)) for lay in _flat(layers))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((args.images, 3, args.hw, args.hw)).astype(np.float32)
    y = rng.integers(0, 10, size=args.images)
    kernels.logit_margins(layers, x[:1], y[:1], device=args.device)  # warm-up (compilation)
    t0 = time.perf_counter()
    m = kernels.logit_margins(layers, x, y, batch_size=args.batch_size, device=args.device)
    dt = time.perf_counter() - t0
    widths = m.hi - m.lo
    print(f"ResNet-18 (width {args.width}, {args.hw}x{args.hw}, {n_params / 1e6:.2f} M params) margins of {args.images} "
          f"images on {args.device}: {dt:.2f} s = {dt / args.images:.4f} s/image; extrapolated to {args.target} "
          f"images: {dt / args.images * args.target:.0f} s (linear extrapolation, not measured)")
    print(f"  source {m.source}; enclosure width: max {float(np.max(widths)):.3g}, median "
          f"{float(np.median(widths)):.3g}; margins {np.round(0.5 * (m.lo + m.hi), 4)[:4]}...")


def _torch_resnet(args: argparse.Namespace) -> None:
    import torch

    from certify.models.loader import load_model
    from tests.network.zoo import resnet18

    torch.set_num_threads(2)
    model = resnet18(args.width)
    net = load_model(model).network
    x = np.random.default_rng(1).standard_normal((args.images, 3, args.hw, args.hw)).astype(np.float32)
    y = np.arange(args.images) % 10
    precisions = ("float64", "compensated") if args.precision == "both" else (args.precision,)
    print(f"torch ResNet-18 + BatchNorm (width {args.width}, {args.hw}x{args.hw}, {net.n_params() / 1e6:.2f} M "
          f"weights), {args.images} images on {args.device}, op_norms={args.op_norms}")
    stats = {}
    for prec in precisions:
        t0 = time.perf_counter()
        kernels.forward_enclosure(net, x[:1], batch_size=1, device=args.device, op_norms=args.op_norms,
                                  precision=prec)
        setup = time.perf_counter() - t0  # the first call pays for the operator norms (then cached per process)
        times, out = [], None
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out = kernels.forward_enclosure(net, x, batch_size=args.batch_size, device=args.device,
                                            op_norms=args.op_norms, precision=prec)
            times.append(time.perf_counter() - t0)
        lo, hi = out
        dt = float(np.median(times))
        m_lo, m_hi = kernels.network.margins_from_logits(lo, hi, y)
        scale = float(np.max(np.abs(0.5 * (lo + hi))))
        width = float(np.max(hi - lo))
        stats[prec] = (dt, width / scale)
        print(f"  precision={prec:<11}: {dt / args.images:.3f} s/image (median of {args.repeats}; first call incl. "
              f"operator norms and compilation: {setup:.1f} s); logit width max {width:.3g}, relative to max |logit| "
              f"{scale:.3g}: {width / scale:.3g}; margin width max {float(np.max(m_hi - m_lo)):.3g}")
    if len(stats) == 2:
        (t64, w64), (tc, wc) = stats["float64"], stats["compensated"]
        print(f"  compensated / float64: time {tc / t64:.2f}x, relative logit width {wc / w64:.3g}x "
              f"(issue 16 target: relative width <= 1e-6; met: {wc <= 1e-6})")
    print("  (operator norms are cached per process by weight hash and geometry: the timed calls reuse them)")


def _flat(layers):
    for lay in layers:
        if isinstance(lay, Residual):
            yield from _flat(lay.block)
            yield from _flat(lay.shortcut)
        elif isinstance(lay, (ConvLayer, DenseLayer)):
            yield lay


if __name__ == "__main__":
    main()
