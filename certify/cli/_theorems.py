"""``certify theorems list|show|eval``: browse the registry and evaluate a theorem rigorously."""

from __future__ import annotations

import argparse
import json
from typing import Any

import theorems
from boundcert.errors import InvalidInput
from theorems import Theorem

__all__ = ["add_parser", "theorem_summary", "theorem_details"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("theorems", help="list, show and evaluate the registered theorems")
    tsub = p.add_subparsers(dest="theorems_command", metavar="ACTION")
    tsub.required = True

    pl = tsub.add_parser("list", help="id, title, kind and reference of every registered result")
    pl.add_argument("--json", action="store_true", help="machine-readable output")
    pl.set_defaults(func=_list)

    ps = tsub.add_parser("show", help="statement (LaTeX), quantities, hypotheses and reference of one theorem")
    ps.add_argument("id")
    ps.add_argument("--json", action="store_true", help="machine-readable output")
    ps.set_defaults(func=_show)

    pe = tsub.add_parser(
        "eval",
        help="rigorous enclosure of a theorem's statement at NAME=VALUE inputs",
        description="Values are read exactly: decimals (0.05), fractions (1/3), hex floats (0x1.8p-3). The printed "
        "lo and hi are rounded outward, so lo <= exact value <= hi.",
    )
    pe.add_argument("id")
    pe.add_argument("values", nargs="*", metavar="NAME=VALUE")
    pe.add_argument("--json", action="store_true", help='print {"lo": "...", "hi": "..."} and more as JSON')
    pe.add_argument("--digits", type=int, default=20, help="significant digits of the printed ends (default 20)")
    pe.set_defaults(func=_eval)


def theorem_summary(t: Theorem) -> dict[str, Any]:
    return {
        "id": t.id,
        "title": t.title,
        "kind": t.kind,
        "reference": {"key": t.reference.key, "citation": t.reference.citation, "locator": t.reference.locator},
    }


def theorem_details(t: Theorem) -> dict[str, Any]:
    out = theorem_summary(t)
    out.update(
        {
            "version": t.version,
            "bounded": t.bounded,
            "holds_for": t.holds_for,
            "statement_latex": t.latex(),
            "claim_latex": t.claim_latex(),
            "statement_tree": t.tree(),
            "quantities": [
                {"name": q.name, "meaning": q.meaning, "domain": q.domain.describe(), "source": q.source,
                 "monotone": q.monotone}
                for q in t.quantities
            ],
            "hypotheses": [
                {"name": h.name, "statement": h.statement, "check": "mechanical" if h.check else "assumed"}
                for h in t.hypotheses
            ],
            "example": t.example_values(),
            "notes": t.notes,
        }
    )
    return out


def _list(args: argparse.Namespace) -> int:
    rows = [theorem_summary(t) for t in theorems.all()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["id"]) for r in rows)
    for r in rows:
        ref = f"{r['reference']['key']}, {r['reference']['locator']}"
        print(f"{r['id']:<{width}}  {r['kind']:<9}  {r['title']}  [{ref}]")
    return 0


def _show(args: argparse.Namespace) -> int:
    t = theorems.get(args.id)
    d = theorem_details(t)
    if args.json:
        print(json.dumps(d, indent=2))
        return 0
    print(f"{t.id}: {t.title}  (kind: {t.kind}, version {t.version})")
    print(f"  claim:      {d['claim_latex']}")
    print(f"  bounds:     {t.bounded}" + (f", for {t.holds_for}" if t.holds_for else ""))
    print("  quantities:")
    for q in d["quantities"]:
        print(f"    {q['name']:<10} {q['meaning']}  [{q['domain']}; from {q['source']}]")
    print("  hypotheses:")
    for h in d["hypotheses"]:
        print(f"    {h['name']:<16} {h['statement']}  ({h['check']})")
    print(f"  reference:  {t.reference.citation} {t.reference.locator}.")
    if d["example"]:
        print("  example:    certify theorems eval " + t.id + " " + " ".join(f"{k}={v}" for k, v in d["example"].items()))
    return 0


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["m=100", "delta=0.05"]`` -> ``{"m": "100", "delta": "0.05"}`` (values stay strings: read exactly later)."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InvalidInput(f"argument {pair!r} is not NAME=VALUE: write e.g. delta=0.05")
        if name.strip() in out:
            raise InvalidInput(f"quantity {name.strip()!r} is given twice: give it once")
        out[name.strip()] = value.strip()
    return out


def _eval(args: argparse.Namespace) -> int:
    if not 1 <= args.digits <= 1000:
        raise InvalidInput(f"--digits={args.digits}: give 1 to 1000 significant digits for the printed ends")
    t = theorems.get(args.id)
    values = parse_assignments(args.values)
    enclosed = t.enclose_inputs(values)
    checks = t.check_hypotheses(enclosed, values)
    result = theorems.eval_tree(t.tree(), enclosed)
    lo, hi = result.lo_str(args.digits), result.hi_str(args.digits)
    if args.json:
        print(
            json.dumps(
                {
                    "id": t.id,
                    "kind": t.kind,
                    "lo": lo,
                    "hi": hi,
                    "inputs": values,
                    "hypotheses": [{"name": c.name, "status": c.status} for c in checks],
                },
                indent=2,
            )
        )
        return 0
    print(f"{t.id} ({t.kind}): [{lo}, {hi}]")
    if t.kind == "bound":
        conf = f" with probability >= {t.confidence}" if t.confidence is not None else ""
        rel, end = (">=", lo) if t.relation == ">=" else ("<=", hi)  # a lower bound is certified by its lower end
        print(f"  {t.bounded} {rel} {end}{conf} (for the inputs given)")
    else:
        print(f"  kind {t.kind}: this number is not a bound")
    assumed = [c.name for c in checks if c.status == "assumed"]
    if assumed:
        print(f"  assumed, not checked: {', '.join(assumed)}")
    return 0
