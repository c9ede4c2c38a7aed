"""``certify sweep SPEC``: certify and measure a model zoo on Dask (LocalCluster by default, or ``--scheduler``)."""

from __future__ import annotations

import argparse
import json

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="run theorems / analyze / the gap over many models on Dask; Parquet rows; resumable",
        description="One job per (model, job kind) of the TOML spec, run by the same pipeline as `certify run` on a "
                    "Dask LocalCluster (worker processes) or an existing cluster (--scheduler). Results: "
                    "DIR/results.parquet, one row per job; each job's files under DIR/jobs/KEY/. A job whose inputs "
                    "(model and data sha256, theorem id and version, options) have a finished row is not run again.")
    p.add_argument("spec", help="the sweep spec (TOML; see examples/sweep_digits.toml)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, e.g. tcp://host:8786 "
                                                          "(default: start a LocalCluster)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="LocalCluster worker processes (default 2)")
    p.add_argument("--memory-limit", default="auto", metavar="M",
                   help="LocalCluster memory limit per worker, e.g. 2GiB (default auto: the machine's share)")
    p.add_argument("--out", default="sweep-out", metavar="DIR", help="output directory (default ./sweep-out)")
    p.add_argument("--csv", action="store_true", help="also write DIR/results.csv")
    p.add_argument("--report", action="store_true",
                   help="write DIR/report/: Kendall tau and granulated Psi of every bound and measure vs the gap")
    p.add_argument("--retry-errors", action="store_true", help="run jobs recorded with status 'error' again")
    p.add_argument("--json", action="store_true", help="print a JSON summary (no progress bar)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from boundcert.errors import InvalidInput
    from certify.sweep import load_spec, run_sweep, write_report

    if args.workers < 1:
        raise InvalidInput(f"--workers={args.workers} must be >= 1")
    if args.scheduler is not None and "://" not in args.scheduler:
        raise InvalidInput(f"--scheduler={args.scheduler!r} is not an address: give e.g. tcp://127.0.0.1:8786")
    spec = load_spec(args.spec)
    if args.report and not any(j.kind == "gap" for j in spec.jobs):
        raise InvalidInput("--report ranks against the generalization gap: add [[jobs]] kind = \"gap\" (and "
                           "train_data) to the spec, or leave --report out")
    res = run_sweep(spec, args.out, scheduler=args.scheduler, workers=args.workers, memory_limit=args.memory_limit,
                    progress=not args.json, retry_errors=args.retry_errors, csv=args.csv)
    report = str(write_report(res.rows, args.out)) if args.report else None
    summary = {"jobs": len(res.jobs), "skipped": res.skipped, "ran": res.ran, "status": res.counts(),
               "results": str(res.out / "results.parquet"), "report": report}
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
        return 0
    status = ", ".join(f"{n} {s}" for s, n in sorted(res.counts().items()))
    print(f"{len(res.jobs)} jobs: {res.skipped} already finished, {res.ran} run; rows: {status or 'none'}")
    for r in res.rows:
        if r["status"] != "ok":
            print(f"  {r['status']}: {r['name']} on {r['model']}: {r['error']}")
    print(f"wrote {summary['results']}" + (f" and {report}/" if report else ""))
    return 0
