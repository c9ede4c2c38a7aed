"""``certify landscape``: Hessian eigenvalue brackets and trace interval, sharpness/flatness measures, landscape
figures, and the PAC-Bayes flatness certificate."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    from certify.cli._help import MODEL_FILE_HELP

    p = sub.add_parser("landscape", help="loss landscape: Hessian eigenvalue brackets and trace interval (float64 "
                                         "operator), sharpness/flatness measures, slices, flatness certificate")
    p.add_argument("model", help=MODEL_FILE_HELP)
    p.add_argument("--data", required=True, help="the training sample: data file or built-in NAME[:train|:test]")
    p.add_argument("--arch", help="package.module:factory for files that hold only weights")
    p.add_argument("--hessian", action="store_true", help="top eigenvalue brackets and the trace interval (default "
                                                          "when nothing else is asked)")
    p.add_argument("--blocks", choices=["all", "layers"], default="all", help="full Hessian, or also every layer block")
    p.add_argument("--top-k", type=int, default=3, help="eigenvalues to bracket (default 3)")
    p.add_argument("--lanczos-steps", type=int, default=None, help="Lanczos steps (default max(2k + 20, 40))")
    p.add_argument("--trace-samples", type=int, default=100, help="Hutchinson samples (default 100)")
    p.add_argument("--delta", default="0.05", help="failure probability of the trace interval and of the PAC-Bayes "
                                                   "bound (default 0.05)")
    p.add_argument("--density", action="store_true", help="spectral density by stochastic Lanczos quadrature")
    p.add_argument("--sharpness", action="store_true", help="Jiang et al. (2020) sharpness and flatness measures")
    p.add_argument("--init", help="initialisation checkpoint (pacbayes.init measure; prior mean of the certificate)")
    p.add_argument("--plot", choices=["1d", "2d"], help="filter-normalised slice (figure and data under --out)")
    p.add_argument("--path", dest="other", metavar="CHECKPOINT", help="second checkpoint: linear path and barrier")
    p.add_argument("--flatness-certificate", nargs="?", const="isotropic", choices=["isotropic", "mag"],
                   metavar="isotropic|mag",
                   help="PAC-Bayes flatness certificate (pac_bayes.kl at the largest flat sigma; union over the grid): "
                        "posterior N(w, sigma^2 I) (isotropic, the default) or N(w, diag(sigma^2 w_i^2 + eps^2)) (mag)")
    p.add_argument("--sigmas", help="sigma grid of the certificate, comma-separated decimals (default 1,...,0.001)")
    p.add_argument("--prior-sigmas", help="prior scales of the mag certificate, comma-separated decimals (default "
                                          "2^(-j/4), j = 0..39)")
    p.add_argument("--mag-eps", default="0.001", help="eps of the mag posterior (default 0.001)")
    p.add_argument("--delta-mc", default="0.01", help="delta of the certificate's Monte Carlo bound (default 0.01)")
    p.add_argument("--mc-passes", type=int, default=10, help="Monte Carlo passes of the certificate (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="landscape-out", help="directory of figures, landscape.json, certificate.json")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=_landscape)


def _check_int(name: str, value: int | None, minimum: int) -> None:
    from boundcert.errors import InvalidInput

    if value is not None and value < minimum:
        raise InvalidInput(f"--{name}={value} must be >= {minimum}")


def _delta_float(text: str) -> float:
    from boundcert.errors import InvalidInput
    from theorems import enclose

    d = enclose(text, name="--delta")
    if not (d.lo > 0 and d.hi < 1):
        raise InvalidInput(f"--delta={text} must lie strictly between 0 and 1, e.g. 0.05")
    return float(d.hi) if d.lo == d.hi else float(d.lo)  # the float at or below the decimal: no weaker claim


def _landscape(args: argparse.Namespace) -> int:
    from boundcert.errors import InvalidInput
    from certify.certificate.io import atomic_write_bytes, atomic_write_text
    from certify.data import load_data
    from certify.landscape import (
        FlatnessOptions, hessian_report, linear_path, sharpness_measures, slice_1d, slice_2d,
    )
    from certify.landscape.flatness import run_flatness
    from certify.models import load_model

    for name in ("top_k", "trace_samples", "mc_passes"):
        _check_int(name.replace("_", "-"), getattr(args, name), 1)
    _check_int("lanczos-steps", args.lanczos_steps, 1)
    delta = _delta_float(args.delta)
    opts = None
    if (args.prior_sigmas or args.mag_eps != "0.001") and args.flatness_certificate != "mag":
        raise InvalidInput("--prior-sigmas and --mag-eps belong to the magnitude-aware certificate: add "
                           "--flatness-certificate mag")
    if args.flatness_certificate:
        kw: dict[str, Any] = {"delta": args.delta, "delta_mc": args.delta_mc, "mc_passes": args.mc_passes,
                              "seed": args.seed, "prior_mean": "init" if args.init else "zero",
                              "posterior": args.flatness_certificate}
        if args.sigmas:
            kw["sigmas"] = tuple(s.strip() for s in args.sigmas.split(",") if s.strip())
        if args.prior_sigmas:
            kw["prior_sigmas"] = tuple(s.strip() for s in args.prior_sigmas.split(",") if s.strip())
        if args.flatness_certificate == "mag":
            kw["mag_eps"] = args.mag_eps
        opts = FlatnessOptions(**kw)  # options are refused before any work
    loaded = load_model(args.model, args.arch)
    ds = load_data(args.data)
    init = load_model(args.init, args.arch).module if args.init else None
    other = load_model(args.other, args.arch).module if args.other else None
    progress = not args.json  # bars go to stderr, drawn only on a terminal (certify.reports.progress)
    wants_hessian = args.hessian or args.density or not (args.sharpness or args.plot or args.other
                                                          or args.flatness_certificate)
    result: dict[str, Any] = {"model": args.model, "data": {"spec": args.data, "name": ds.name, "n": ds.n,
                                                            "sha256": ds.sha256}}
    figures: dict[str, bytes] = {}
    if wants_hessian:
        from certify.reports.landscape_plot import density_png

        rep = hessian_report(loaded.module, ds.x, ds.y, blocks=args.blocks, top_k=args.top_k,
                             n_iter=args.lanczos_steps, trace_samples=args.trace_samples, delta=delta,
                             density=args.density, seed=args.seed, progress=progress)
        result["hessian"] = rep.to_dict()
        if args.density:
            for b in rep.blocks:
                figures[f"hessian_density_{b.block}.png"] = density_png(b)
    if args.sharpness:
        result["sharpness"] = sharpness_measures(loaded.module, ds.x, ds.y, init=init, seed=args.seed,
                                                 progress=progress).to_dict()
    if args.plot:
        from certify.reports.landscape_plot import slice_png

        s = (slice_1d if args.plot == "1d" else slice_2d)(loaded.module, ds.x, ds.y, seed=args.seed, progress=progress)
        result[f"slice_{args.plot}"] = s.to_dict()
        figures[f"slice_{args.plot}.png"] = slice_png(s)
    if other is not None:
        from certify.reports.landscape_plot import path_png

        lp = linear_path(loaded.module, other, ds.x, ds.y, progress=progress)
        result["linear_path"] = lp.to_dict()
        figures["linear_path.png"] = path_png(lp)
    cert = None
    if opts is not None:
        cmd = "certify " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        cert = run_flatness(args.model, args.data, opts, arch=args.arch, init=args.init, reproduce=cmd)
    # every number is computed: only now is anything written
    out = Path(args.out)
    written = []
    if figures or cert is not None or args.plot or args.other:
        out.mkdir(parents=True, exist_ok=True)
        for name, png in figures.items():
            atomic_write_bytes(out / name, png)
            written.append(str(out / name))
        if cert is not None:
            written.append(str(cert.save(out)))
            result["certificate"] = {"path": str(out / "certificate.json"), "claim": cert.claim,
                                     "result": {"lo": cert.result.lo_str(20), "hi": cert.result.hi_str(20)},
                                     "sigma": cert.extra["flatness"]["sigma"],
                                     "posterior": cert.extra["flatness"]["posterior"],
                                     "prior_sigma": cert.extra["flatness"]["prior_sigma"]}
        atomic_write_text(out / "landscape.json", json.dumps(result, indent=2, sort_keys=True))
        written.append(str(out / "landscape.json"))
    result["written"] = written
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
        return 0
    _print(result)
    return 0


def _print(result: dict[str, Any]) -> None:
    for b in (result.get("hessian") or {}).get("blocks", []):
        print(f"Hessian block {b['block']} ({b['dim']} parameters, {b['n_hvp']} float64 HVPs); brackets proven for "
              "the float64 operator")
        for name, e in b.get("eigenvalues", {}).items():
            print(f"  {name:10s} in [{e['lo']}, {e['hi']}]  (an eigenvalue of the operator)")
        print(f"  lambda_max >= {b['lambda_max_lower']} (proven lower bound)")
        if "trace" in b:
            t = b["trace"]
            print(f"  trace in [{float(t['lo']):.6g}, {float(t['hi']):.6g}] with probability >= 1 - {t['delta']} "
                  f"(estimate {float(t['trace_estimate']):.6g}, {t['n_samples']} samples)")
    sh = result.get("sharpness")
    if sh:
        print("sharpness / flatness measures (Jiang et al. 2020; estimates)")
        for k, v in sh.items():
            if k.endswith("_estimate"):
                print(f"  {k:36s} {v:.6g}" if v is not None else f"  {k:36s} -")
    if "linear_path" in result:
        lp = result["linear_path"]
        print(f"linear path: loss barrier estimate {lp['loss_barrier_estimate']:.6g}, error barrier estimate "
              f"{lp['error_barrier_estimate']:.6g}")
    if "certificate" in result:
        c = result["certificate"]
        prior = f", prior scale {c['prior_sigma']}" if c["posterior"] == "mag" else ""
        print(f"certificate: {c['path']} ({c['posterior']} posterior, sigma = {c['sigma']}{prior})")
        print(result["certificate"]["claim"])
    for w in result.get("written", []):
        print(f"wrote {w}")
