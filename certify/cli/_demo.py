"""``certify demo``: train a small network on MNIST-1D, certify its test error, write the certificate."""

from __future__ import annotations

import argparse
import json

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the main job on embedded data: train on MNIST-1D, certify, report, check")
    p.add_argument("--out", default="demo-out", help="output directory (default ./demo-out)")
    p.add_argument("--epochs", type=int, default=60, help="training epochs (default 60)")
    p.add_argument("--delta", default="0.05", help="confidence parameter in (0, 1) (default 0.05)")
    p.add_argument("--json", action="store_true", help="print the certificate JSON instead of a summary")
    p.add_argument("--no-pacbayes", action="store_true", help="skip the PAC-Bayes certificate step")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from certify.jobs.demo import run_demo

    r = run_demo(args.out, epochs=args.epochs, delta=args.delta, progress=not args.json,
                 pacbayes=not args.no_pacbayes)
    if args.json:
        print(json.dumps(r.certificate.to_dict(), indent=2, sort_keys=True))
        return 0
    c = r.certificate
    print(f"\nmodel:       {r.model_path}  (train accuracy {r.train_accuracy:.3f}, test accuracy {r.test_accuracy:.3f})")
    print(f"theorem:     {c.theorem['id']}  ({c.theorem['reference']['citation']} {c.theorem['reference']['locator']})")
    for name, rec in ((i.name, i) for i in c.inputs):
        print(f"input:       {name} = [{rec.value.lo_str(12)}, {rec.value.hi_str(12)}]  ({rec.source}: {rec.detail})")
    print(f"result:      [{c.result.lo_str(12)}, {c.result.hi_str(12)}]")
    print(f"certificate: {r.certificate_path}")
    print(f"report:      {r.certificate_path.parent / 'report.html'}  (reproduce: sh {r.certificate_path.parent / 'reproduce.sh'})")
    print(f"\n{c.claim}")
    print(r.verdict)
    if r.pacbayes is not None:
        pc = r.pacbayes.certificate
        print(f"\nPAC-Bayes:   {pc.theorem['id']}, posterior {r.pacbayes.posterior_path}")
        for rec in pc.inputs:
            print(f"input:       {rec.name} = [{rec.value.lo_str(10)}, {rec.value.hi_str(10)}]  ({rec.source})")
        print(f"certificate: {r.pacbayes.certificate_path}\n\n{pc.claim}")
    return 0 if r.verdict == "VERIFIED" else 1
