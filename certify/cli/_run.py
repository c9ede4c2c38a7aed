"""``certify run``, ``certify check`` and ``certify analyze``."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    from certify.cli._help import MODEL_FILE_HELP

    p = sub.add_parser("run", help="certify a trained model: certificate.json, reproduce.sh, report.html/.md")
    p.add_argument("model", help=MODEL_FILE_HELP)
    p.add_argument("--data", help="the sample the theorem reads: data file (.npz with x, y; .pt) or built-in "
                                  "NAME[:train|:test]")
    p.add_argument("--train-data", help="the training sample (norm, PAC-Bayes, stability bounds); default --data")
    p.add_argument("--test-data", help="held-out data (test-set bounds); default --data. A test-set bound on a "
                                       "known training split is refused")
    p.add_argument("--theorem", required=True, help="theorem id, or 'all' (every applicable bound, ranked)")
    p.add_argument("--delta", default="0.05", help="confidence parameter in (0, 1), taken exactly (default 0.05)")
    p.add_argument("--out", default="certify-out", help="output directory (default ./certify-out)")
    p.add_argument("--arch", help="package.module:factory for files that hold only weights")
    p.add_argument("--margin", help="margin of the norm bounds (default: best of a few data quantiles)")
    p.add_argument("--eps", help="l2 radius of the robustness bounds (default 0.1)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_run)

    c = sub.add_parser("check", help="independent checker: prints VERIFIED or NOT VERIFIED: <step>; exit 0 or 1")
    c.add_argument("cert")
    c.add_argument("--model", help="model file whose sha256 must match model.file_sha256")
    c.add_argument("--data", help="data file whose sha256 must match data.file_sha256")
    c.add_argument("--recompute", action="store_true", help="re-derive the quantities with the library")
    c.add_argument("--arch", help="package.module:factory for --recompute on a weights-only file")
    c.add_argument("--json", action="store_true", help='print {"verified": ..., "step": ...}')
    c.set_defaults(func=_check)

    a = sub.add_parser("analyze", help="data-free per-layer table: certified spectral norm, Frobenius, stable rank; "
                                       "ESD power-law alpha and its fit (measures)")
    a.add_argument("model", help=MODEL_FILE_HELP)
    a.add_argument("--arch", help="package.module:factory for files that hold only weights")
    a.add_argument("--plot", metavar="DIR", help="write the ESD figure of every weight layer to DIR/esd-LAYER.png")
    a.add_argument("--input-shape", help="per-sample input shape C,H,W (or C,L / F): adds each convolution's certified "
                                         "operator l2 norm on that input")
    g = a.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--csv", action="store_true")
    a.set_defaults(func=_analyze)


def _run(args: argparse.Namespace) -> int:
    from certify.jobs.run import ranking, run_job

    r = run_job(args.model, args.data, args.theorem, args.delta, out=args.out, arch=args.arch, margin=args.margin,
                eps=args.eps, progress=not args.json, train_data=args.train_data, test_data=args.test_data)
    if args.json:
        print(json.dumps({"certificates": {t: str(r.paths.get("certificate.json" if len(r.certificates) == 1
                                                                 else f"certificate-{t}.json")) for t in r.certificates},
                          "ranking": ranking(r), "skipped": r.skipped}, indent=2, sort_keys=True))
        return 0
    claim = None
    for row in ranking(r):
        if len(r.certificates) > 1 and row["bounded"] != claim:
            claim = row["bounded"]
            print(f"{claim}:")
        print(f"  {row['rank']:>2s}. {row['theorem']:45s} {row['relation']} {row['bound']:>12s}"
              if len(r.certificates) > 1 else f"{row['theorem']:45s} {row['bound']:>12s}")
    if len(r.certificates) == 1:
        print(next(iter(r.certificates.values())).claim)
    print(f"wrote {args.out}/ (certificate, reproduce.sh, report.html, report.md)")
    return 0


def _check(args: argparse.Namespace) -> int:
    """The trusted core, then the registry (the theorem record, claim relation and hypotheses are the registered
    theorem's), then with ``--recompute`` the replay; a missing file is bad input (exit 2), not a verdict."""
    from pathlib import Path

    from boundcert.errors import InvalidInput
    from certify.checker.verify import check, names_dataset

    for what, given in (("certificate", args.cert), ("--model", args.model), ("--data", args.data)):
        if given is not None and not Path(given).is_file() and not (what == "--data" and names_dataset(given)):
            raise InvalidInput(f"{what} {given!r} is not a file: check the path")
    res = check(args.cert, model=args.model, data=args.data, recompute=args.recompute, arch=args.arch)
    if args.json:
        print(json.dumps({"verified": res.ok, "step": res.step, "verdict": res.verdict}))
    else:
        print(res.verdict)
    return 0 if res.ok else 1


def _analyze(args: argparse.Namespace) -> int:
    from boundcert.errors import InvalidInput
    from certify.models.loader import load_model
    from pathlib import Path

    from certify.reports.analyze import analyze_network, rows_to_csv, skipped_layers

    shape = None
    if args.input_shape:
        try:
            shape = tuple(int(v) for v in args.input_shape.split(","))
        except ValueError:
            shape = ()
        if not shape or min(shape) < 1:
            raise InvalidInput(f"--input-shape={args.input_shape!r}: give positive integers, e.g. --input-shape 3,32,32")
    loaded = load_model(args.model, args.arch)
    graph = loaded.graph if loaded.graph is not None else loaded.network
    if graph is None:
        raise InvalidInput(loaded.unsupported or "the model cannot be normalised")
    rows = analyze_network(graph, input_shape=shape)
    if args.plot:  # the ESD figure of every weight layer (measures: WeightWatcher's fit)
        from certify.reports.frame import esd_figure

        for node in graph.weight_layers:
            print(f"wrote {esd_figure(node, Path(args.plot))}", file=sys.stderr)
    for sk in skipped_layers(graph):  # listed, never fatal (stderr keeps --json/--csv output machine-readable)
        print(f"skipped: {sk['name']} ({sk['op']}): {sk['reason']}", file=sys.stderr)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
    elif args.csv:
        sys.stdout.write(rows_to_csv(rows))
    else:
        print("certified enclosures")
        print(f"{'layer':12s} {'kind':24s} {'shape':14s} {'Frobenius hi':>14s} {'spectral [lo, hi]':>28s} {'stable rank':>20s}")
        for r in rows:
            print(f"{r.name:12s} {r.kind:24s} {r.shape:14s} {r.frobenius_hi:>14s} "
                  f"{'[' + r.spectral_lo + ', ' + r.spectral_hi + ']':>28s} {'[' + r.stable_rank_lo + ', ' + r.stable_rank_hi + ']':>20s}")
        for r in rows:
            if r.operator_hi is not None:
                print(f"{r.name:12s} operator l2 norm on input {args.input_shape}: [{r.operator_lo}, {r.operator_hi}] "
                      f"({r.operator_source})")
        print("\nESD measures (WeightWatcher's fit; estimates, not bounds; Conv2d: pooled kernel slices)")
        print(f"{'layer':12s} {'alpha':>7s} {'alpha_w':>8s} {'KS D':>7s} {'xmin':>10s} {'fitted':>7s} {'evals':>6s} "
              f"{'stable rank':>11s} {'log_norm':>9s} {'log_spec':>9s}  warning")
        for r in rows:
            print(f"{r.name:12s} {r.alpha_estimate:7.3f} {r.alpha_weighted_estimate:8.3f} {r.esd_ks_distance:7.4f} "
                  f"{r.esd_xmin:10.4g} {r.esd_n_fitted:7d} {r.esd_n_evals:6d} {r.stable_rank_estimate:11.4g} "
                  f"{r.log_norm_estimate:9.4f} {r.log_spectral_norm_estimate:9.4f}  {r.esd_warning}")
    return 0
