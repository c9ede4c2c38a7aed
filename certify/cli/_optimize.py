"""``certify optimize`` (PAC-Bayes posterior optimisation + certificate) and ``certify compress`` (compression
certificate)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("optimize", help="PAC-Bayes: optimise a Gaussian posterior from a trained MLP and certify it")
    p.add_argument("--data", default="mnist1d", help="built-in dataset (mnist1d, digits, fashion-mnist)")
    p.add_argument("--binary", action="store_true", help="relabel y -> (y > 4) (Dziugaite & Roy's binary task)")
    p.add_argument("--arch", default=None, help="MLP widths, e.g. 784,600,10 (default: input,256,classes)")
    p.add_argument("--prior", choices=["data-dependent", "data-independent"], default="data-dependent")
    p.add_argument("--objective", choices=["f_quad", "f_lambda", "f_classic", "dziugaite_roy"], default=None,
                   help="default f_quad (data-dependent) / dziugaite_roy (data-independent)")
    p.add_argument("--delta", default="0.025", help="delta of the PAC-Bayes bound (default 0.025)")
    p.add_argument("--delta-mc", default="0.01", help="delta of the Monte Carlo kl bound (default 0.01)")
    p.add_argument("--sigma-prior", default="0.03", help="prior std (data-dependent) / posterior init std")
    p.add_argument("--prior-epochs", type=int, default=10, help="epochs of the deterministic network/prior")
    p.add_argument("--posterior-epochs", type=int, default=3)
    p.add_argument("--mc-passes", type=int, default=10)
    p.add_argument("--mc-mode", choices=["per_example", "per_network"], default="per_example")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="pacbayes-out")
    p.add_argument("--json", action="store_true", help="print the certificate JSON")
    p.set_defaults(func=_run_optimize)

    c = sub.add_parser("compress", help="compression certificate: prune, quantise, Huffman-code, Occam-Catoni bound")
    c.add_argument("--data", default="mnist1d")
    c.add_argument("--binary", action="store_true")
    c.add_argument("--arch", default=None, help="MLP widths (default: input,64,classes)")
    c.add_argument("--decoder", choices=["subspace", "direct"], default="subspace")
    c.add_argument("--d", type=int, default=1000, help="subspace dimension (subspace decoder)")
    c.add_argument("--levels", type=int, default=8)
    c.add_argument("--quant", choices=["kmeans", "uniform"], default="kmeans")
    c.add_argument("--prune", type=float, default=0.0, help="fraction of smallest entries set to 0")
    c.add_argument("--epochs", type=int, default=5)
    c.add_argument("--lr", type=float, default=None)
    c.add_argument("--delta", default="0.05")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", default="compress-out")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_run_compress)


def _default_sizes(args, train, hidden: int) -> tuple[int, ...]:
    from certify.data.splits import parse_sizes

    if args.arch:
        return parse_sizes(args.arch)
    return (train[0].shape[1], hidden, int(train[1].max()) + 1)


def _cmd() -> str:
    return "certify " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _print(cert, path, estimates, as_json: bool) -> None:
    if as_json:
        print(json.dumps(cert.to_dict(), indent=2, sort_keys=True))
        return
    print(f"\ntheorem:     {cert.theorem['id']}")
    for rec in cert.inputs:
        print(f"input:       {rec.name} = [{rec.value.lo_str(10)}, {rec.value.hi_str(10)}]  ({rec.source})")
    for k, v in estimates.items():
        print(f"measured:    {k} = {v}")
    print(f"delta split: {cert.delta['split']}")
    print(f"certificate: {path}\n\n{cert.claim}")


def _run_optimize(args: argparse.Namespace) -> int:
    from certify.data.splits import load_xy
    from certify.training.pacbayes import PacBayesConfig, run_pacbayes

    train, test, info = load_xy(args.data, binary=args.binary)
    prior = args.prior.replace("-", "_")
    objective = args.objective or ("f_quad" if prior == "data_dependent" else "dziugaite_roy")
    cfg = PacBayesConfig(sizes=_default_sizes(args, train, 256), prior=prior, objective=objective, delta=args.delta,
                         delta_mc=args.delta_mc, sigma_prior=args.sigma_prior, prior_epochs=args.prior_epochs,
                         posterior_epochs=args.posterior_epochs, mc_passes=args.mc_passes, mc_mode=args.mc_mode,
                         seed=args.seed)
    r = run_pacbayes(cfg, train, test, args.out, data_info=info, reproduce=_cmd(), progress=not args.json)
    _print(r.certificate, r.certificate_path, r.estimates, args.json)
    return 0


def _run_compress(args: argparse.Namespace) -> int:
    from certify.data.splits import load_xy
    from certify.training.compress import CompressionConfig, run_compression

    train, test, info = load_xy(args.data, binary=args.binary)
    lr = args.lr if args.lr is not None else (1e-2 if args.decoder == "subspace" else 1e-3)
    cfg = CompressionConfig(sizes=_default_sizes(args, train, 64), kind=args.decoder, d=args.d, n_levels=args.levels,
                            method=args.quant, prune=args.prune, epochs=args.epochs, lr=lr, delta=args.delta,
                            seed=args.seed)
    r = run_compression(cfg, train, test, args.out, data_info=info, reproduce=_cmd(), progress=not args.json)
    _print(r.certificate, r.certificate_path, r.estimates, args.json)
    return 0
