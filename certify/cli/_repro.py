"""``certify repro --list`` / ``certify repro NAME [--quick] [--out DIR]``: the paper reproductions."""

from __future__ import annotations

import argparse
import json
import time

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("repro", help="list or run the paper reproductions (paper_repro/NAME.py)",
                       description="Re-run a published experiment at CPU scale; prints the paper's numbers beside "
                                   "ours and writes paper_repro/results/NAME.json and NAME.png.")
    p.add_argument("name", nargs="?", help="reproduction to run (see --list)")
    p.add_argument("--list", action="store_true", help="list the reproductions")
    p.add_argument("--quick", action="store_true", help="the small variant (seconds; used by the test suite)")
    p.add_argument("--out", default=None, help="output directory (default paper_repro/results)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_run)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "-" if v is None else str(v)


def _run(args: argparse.Namespace) -> int:
    from boundcert.errors import InvalidInput
    from certify import repro

    if args.list or not args.name:
        if not args.list:
            raise InvalidInput("name a reproduction or pass --list: certify repro --list")
        found = repro.discover()
        if args.json:
            print(json.dumps([{"name": r.name, "paper": r.paper, "claim": r.claim, "path": str(r.path)}
                              for r in found], indent=2))
        else:
            for r in found:
                print(f"{r.name:18s} {r.paper}\n{'':18s} {r.claim}")
        return 0
    t0 = time.perf_counter()
    path = repro.run(args.name, quick=args.quick, out=args.out)
    res = json.loads(path.read_text())
    res["wall_s"] = round(time.perf_counter() - t0, 1)
    if args.json:
        print(json.dumps({"results": str(path), **res}, indent=2))
        return 0
    print(f"{args.name}: {res['paper']}\n  {res['claim']}\n  scale: {res['scale']}")
    for row in res["rows"]:
        mark = "within" if row["within"] else "NOT within"
        line = (f"  {row['name']}: paper {_fmt(row['paper'])}, ours {_fmt(row['ours'])}, "
                f"tolerance {_fmt(row['tolerance'])}: {mark}")
        print(line + (f" ({row['why']})" if not row["within"] and row.get("why") else ""))
    print(f"  wrote {path} ({res['wall_s']} s)")
    return 0
