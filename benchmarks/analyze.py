"""`certify analyze` on a VGG16-shaped random model against WeightWatcher.analyze(), same process.

Ours: the command itself, in process: ``certify analyze MODEL.pt --json`` on the model saved as TorchScript (loading,
normalising, every certified column -- Frobenius, spectral norm, stable rank enclosures -- and every ESD column).
Baseline: ``weightwatcher.WeightWatcher(model=model).analyze()`` with its defaults (if importable) on the in-memory
model. Both are warmed up first outside the timing (imports; ours also compiles its numba kernels on a tiny model).
Checks that alpha agrees layer by layer to 1e-6; alpha_weighted is compared after undoing WeightWatcher's Conv2d
rescaling by sqrt(1/2) (the intended difference, see kernels/_esd.py).

Usage: PYTHONPATH=. python benchmarks/analyze.py [--quick] [--no-ww]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import os
import sys
import tempfile
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("NUMBA_NUM_THREADS", "2")

import torch  # noqa: E402

from certify.cli import main as certify_main  # noqa: E402

VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg16(width: float = 1.0, fc: int = 4096, classes: int = 1000) -> torch.nn.Module:
    layers: list[torch.nn.Module] = []
    c_in = 3
    for v in VGG16:
        if v == "M":
            layers.append(torch.nn.MaxPool2d(2))
        else:
            c = max(8, int(v * width))
            layers += [torch.nn.Conv2d(c_in, c, 3, padding=1), torch.nn.ReLU()]
            c_in = c
    layers += [torch.nn.Flatten(), torch.nn.Linear(c_in * 49, fc), torch.nn.ReLU(), torch.nn.Linear(fc, fc),
               torch.nn.ReLU(), torch.nn.Linear(fc, classes)]
    return torch.nn.Sequential(*layers)


def ours(path: str) -> list[dict]:
    """``certify analyze PATH --json``, in process; the rows it prints."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = certify_main(["analyze", path, "--json"])
    if code != 0:
        raise SystemExit(f"certify analyze exited {code}")
    return json.loads(buf.getvalue())


def save(model: torch.nn.Module, path: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script's deprecation notice
        torch.jit.script(model).save(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="VGG16 at 1/8 width with 512-wide FC layers")
    ap.add_argument("--no-ww", action="store_true", help="skip the WeightWatcher baseline")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    import numba

    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    torch.manual_seed(0)
    model = vgg16(0.125, 512) if args.quick else vgg16()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: VGG16-shaped{' (quick, 1/8 width)' if args.quick else ''}, {n_params / 1e6:.1f}M random parameters")
    tmp = tempfile.TemporaryDirectory()
    path = os.path.join(tmp.name, "vgg16.pt")
    save(model, path)
    warm = os.path.join(tmp.name, "warm.pt")
    save(vgg16(0.125, 64), warm)
    ours(warm)  # imports and numba kernels outside the timing

    t0, c0 = time.perf_counter(), time.process_time()
    res = ours(path)
    t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
    print(f"ours: certify analyze {os.path.basename(path)} --json (load + certified + ESD columns, {len(res)} layers): "
          f"{t_ours:.2f} s ({c_ours:.1f} CPU s)")

    ww = None
    if not args.no_ww:
        try:
            logging.disable(logging.WARNING)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import weightwatcher as ww  # type: ignore[no-redef]
        except Exception as exc:  # noqa: BLE001
            print(f"WeightWatcher baseline unavailable ({type(exc).__name__}: {exc}); timed ours only")
    if ww is None:
        return 0
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        details = ww.WeightWatcher(model=model).analyze()
    t_ww, c_ww = time.perf_counter() - t0, time.process_time() - c0
    print(f"WeightWatcher {ww.__version__} analyze(): {t_ww:.2f} s ({c_ww:.1f} CPU s); ours / WW = {t_ours / t_ww:.3f} "
          "(target <= 1/3)")

    if len(details) != len(res):
        print(f"layer count differs: WW {len(details)} vs ours {len(res)}")
        return 1
    worst_alpha = worst_aw = 0.0
    print(f"{'layer':>6} {'alpha_ours':>12} {'alpha_ww':>12} {'|d alpha|':>9} {'|d alpha_w|':>11} "
          f"{'spectral [lo, hi] (certified)':>34}")
    for r, (_, row) in zip(res, details.iterrows()):
        is_conv = r["kind"].startswith("Conv2d")
        a = r["alpha_estimate"]
        da = abs(a - float(row["alpha"]))
        # WW multiplies Conv2d matrices by sqrt(1/2): its log10(lambda_max) is ours - log10(2)
        aw = a * (r["log_spectral_norm_estimate"] - (math.log10(2.0) if is_conv else 0.0))
        daw = abs(aw - float(row["alpha_weighted"]))
        worst_alpha, worst_aw = max(worst_alpha, da), max(worst_aw, daw)
        spec = f"[{r['spectral_lo']}, {r['spectral_hi']}]"
        print(f"{r['name']:>6} {a:>12.8f} {float(row['alpha']):>12.8f} {da:>9.1e} {daw:>11.1e} {spec:>34}")
    print(f"max |alpha_ours - alpha_ww| = {worst_alpha:.2e} (target 1e-6); max |alpha_weighted diff| = {worst_aw:.2e}")
    ok = worst_alpha <= 1e-6 and t_ours <= t_ww / 3
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
