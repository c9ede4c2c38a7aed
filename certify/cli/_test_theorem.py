"""``certify test-theorem ID|FILE.py:NAME``: property checks and the Monte Carlo validity harness on one theorem.

Exit 0 when every check passes, 1 when a property fails, a violation rate is significantly above ``delta`` or
the statement raises on valid inputs (each failure is printed with the inputs it occurred at), 2 for bad input.
Needs the ``test`` extra (``hypothesis``).
"""

from __future__ import annotations

import argparse
import json
import math

from boundcert.errors import InvalidInput

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "test-theorem",
        help="property-test a theorem and run it through the Monte Carlo validity harness",
        description="Checks that the rigorous enclosure contains an independent 256-bit value, that declared "
        "monotonicities hold and invalid inputs are refused (hypothesis), then runs the learn-then-bound "
        "procedure on synthetic problems with known true risk and tests with an exact binomial test whether "
        "the bound fails more often than delta allows. SPEC is a registered id or FILE.py:NAME (a Theorem in "
        "your own file; see docs/user_theorems.rst). Exit 0 pass, 1 violation found, 2 bad input.",
    )
    p.add_argument("spec", metavar="ID|FILE.py:NAME")
    p.add_argument("--trials", type=int, default=5000, help="repetitions per scenario (default 5000)")
    p.add_argument("--examples", type=int, default=30, help="hypothesis examples per property (default 30)")
    p.add_argument("--alpha", type=float, default=1e-3, help="family-wise significance level (default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="random seed (runs are reproducible)")
    p.add_argument("--quick", action="store_true", help="only the fast subset of the built-in scenarios")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.trials < 1:
        raise InvalidInput(f"--trials={args.trials} must be >= 1")
    if args.examples < 1:
        raise InvalidInput(f"--examples={args.examples} must be >= 1")
    if not 0 < args.alpha < 1:
        raise InvalidInput(f"--alpha={args.alpha} must lie in (0, 1)")
    try:
        from theorems import testing
    except ImportError as exc:  # pragma: no cover  (hypothesis missing)
        raise InvalidInput(f"certify test-theorem needs the test extra: pip install 'boundcert[test]' ({exc})")
    loaded = testing.load_theorem(args.spec)
    report = testing.test_theorem(
        loaded.theorem, trials=args.trials, examples=args.examples, seed=args.seed, alpha=args.alpha,
        scenarios=loaded.scenarios, fixed=loaded.fixed, quick=args.quick,
    )
    if args.json:
        v = report.validity
        print(json.dumps({
            "id": report.theorem_id,
            "passed": report.passed,
            "properties": [{"check": n, "result": r} for n, r in report.property_checks],
            "validity": None if v is None else {
                "alpha": v.alpha,
                "skipped": v.skipped,
                "scenarios": [
                    {"scenario": r.scenario, "trials": r.trials, "violations": r.violations,
                     "failure_probability": _num(r.failure_probability), "p_value": r.p_value, "flagged": r.flagged,
                     "mean_bound": _num(r.mean_bound), "mean_true_risk": r.mean_true_risk,
                     "tightness": _num(r.tightness), "error": r.error or None,
                     "counterexample": None if r.counterexample is None else {
                         "inputs": {k: str(x) for k, x in r.counterexample.inputs.items()},
                         "bound": _num(r.counterexample.bound), "true_risk": r.counterexample.true_risk,
                         "error": r.counterexample.error or None}}
                    for r in v.results
                ],
            },
        }, indent=2, allow_nan=False))
    else:
        print(report.summary())
    return 0 if report.passed else 1


def _num(x: float) -> float | None:
    """A float for JSON; NaN (no bound: the statement raised) as null."""
    return None if math.isnan(x) else x
