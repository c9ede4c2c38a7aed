"""``certify robust``: sound local robustness verification (IBP / CROWN with outward rounding), per-sample verdicts,
certified robust accuracy and the test-set bound on the robust error (:mod:`certify.robust`)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    from certify.cli._help import MODEL_FILE_HELP

    p = sub.add_parser("robust", help="verify local robustness (IBP/CROWN, rounded outward): verdicts, certified "
                                      "accuracy, a certificate")
    p.add_argument("model", help=MODEL_FILE_HELP)
    p.add_argument("--data", required=True, help="held-out data: a file (.npz with x, y; .pt) or built-in NAME:test")
    p.add_argument("--eps", required=True, help="radius of the ball (decimal, taken exactly)")
    p.add_argument("--norm", choices=["linf", "l2"], default="linf")
    p.add_argument("--method", choices=["ibp", "crown", "alpha-crown"], default="crown")
    p.add_argument("--domain", default="0,1", help="input box LO,HI intersected with the ball, or none (default 0,1)")
    p.add_argument("--delta", default="0.05", help="confidence of the test-set bound (default 0.05)")
    p.add_argument("--arch", default=None, help="MODULE:FACTORY for files that hold only weights")
    p.add_argument("--n", type=int, default=None, help="verify the first N examples only")
    p.add_argument("--attack-steps", type=int, default=20, help="PGD steps per restart (0: no attack)")
    p.add_argument("--attack-restarts", type=int, default=1)
    p.add_argument("--seed", type=int, default=0, help="seed of the PGD starts")
    p.add_argument("--no-float32", action="store_true", help="skip the float32-execution claim")
    p.add_argument("--out", default="robust-out", help="output directory (certificate.json, verdicts.json)")
    p.add_argument("--json", action="store_true", help="print a JSON summary (key certified_accuracy)")
    p.set_defaults(func=_run_robust)


def _run_robust(args: argparse.Namespace) -> int:
    from pathlib import Path

    from certify.certificate.io import atomic_write_text
    from certify.robust import RobustOptions, run_robust

    opts = RobustOptions(eps=str(args.eps), norm=args.norm, method=args.method, delta=str(args.delta),
                         domain=args.domain, attack_steps=args.attack_steps, attack_restarts=args.attack_restarts,
                         attack_seed=args.seed, n=args.n, float32=not args.no_float32)
    cmd = "certify " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    r = run_robust(args.model, args.data, opts, arch=args.arch, out=args.out, reproduce=cmd)
    summary = {**r.summary(), "method": opts.method, "norm": opts.norm, "eps": opts.eps, "domain": opts.domain,
               "certificate": r.certificate_path, "claim": r.certificate.claim,
               "robust_error_upper": r.certificate.result.hi_str(8)}
    atomic_write_text(Path(args.out) / "verdicts.json",
                      json.dumps({**summary, "verdicts": list(r.verdicts)}, indent=2, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
        return 0
    print(f"method {opts.method}, {opts.norm} ball eps={opts.eps}, domain {opts.domain}: {summary['verified']} "
          f"verified, {summary['attacked']} attacked, {summary['not_verified']} not verified of {summary['n']}")
    print(f"certified robust accuracy (exact network): {r.certified_accuracy:.4f}")
    if r.certified_accuracy_float32 is not None:
        print(f"certified robust accuracy (float32 execution): {r.certified_accuracy_float32:.4f}")
    else:
        print(r.float32_note)
    print(f"certificate: {r.certificate_path}\n\n{r.certificate.claim}")
    return 0
