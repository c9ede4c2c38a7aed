"""``certify optimize`` (PAC-Bayes posterior optimisation + certificate) and ``certify compress`` (compression
certificate): on the user's MODEL file and any data file, or on the library's own MLP (one module like any other);
one configuration and one path each (:mod:`certify.training.pacbayes`, :mod:`certify.training.compress`)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("optimize", help="PAC-Bayes: optimise a Gaussian posterior over a network and certify it")
    p.add_argument("model", nargs="?", default=None,
                   help="your model file (safetensors/state dict with --arch MODULE:FACTORY, TorchScript); its "
                        "architecture is used (Linear, Conv1d/2d, BatchNorm). Without it: the library's own MLP")
    p.add_argument("--data", default="mnist1d",
                   help="training data: a file (.npz/.pt) or a built-in name (mnist1d, digits, fashion-mnist)")
    p.add_argument("--test-data", default=None, help="data for the measured test errors (default: the built-in's "
                                                     "test split; none for a file)")
    p.add_argument("--binary", action="store_true", help="relabel y -> (y > 4) (Dziugaite & Roy's binary task)")
    p.add_argument("--arch", default=None, help="with MODEL: MODULE:FACTORY for weight-only files; without: MLP "
                                                "widths, e.g. 784,600,10 (default: input,256,classes)")
    p.add_argument("--prior-fraction", type=float, default=0.5, help="share of the training data for the prior "
                                                                     "(data-dependent prior; default 0.5)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate of the prior / network training")
    p.add_argument("--posterior-lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--prior", choices=["data-dependent", "data-independent"], default="data-dependent")
    p.add_argument("--objective", choices=["f_quad", "f_lambda", "f_classic", "dziugaite_roy"], default=None,
                   help="default f_quad (data-dependent) / dziugaite_roy (data-independent)")
    p.add_argument("--delta", default="0.025", help="delta of the PAC-Bayes bound (default 0.025)")
    p.add_argument("--delta-mc", default="0.01", help="delta of the Monte Carlo kl bound (default 0.01)")
    p.add_argument("--sigma-prior", default="0.03", help="prior std (data-dependent) / posterior init std")
    p.add_argument("--prior-epochs", type=int, default=10, help="epochs of the deterministic network/prior")
    p.add_argument("--prior-shift", type=int, default=0,
                   help="augment the prior/network training by a random circular shift in [-S, S] of the inputs' "
                        "last axis per batch (translated signals such as MNIST-1D's; default 0)")
    p.add_argument("--posterior-epochs", type=int, default=3)
    p.add_argument("--mc-passes", type=int, default=10)
    p.add_argument("--mc-mode", choices=["per_example", "per_network"], default="per_example")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="pacbayes-out")
    p.add_argument("--json", action="store_true", help="print the certificate JSON")
    p.set_defaults(func=_run_optimize)

    c = sub.add_parser("compress", help="compression certificate: prune, quantise, Huffman-code, Occam-Catoni bound")
    c.add_argument("model", nargs="?", default=None,
                   help="your model file (as for optimize): --decoder direct codes its trained weights, subspace "
                        "trains its architecture from a seeded init. Without it: the library's own MLP")
    c.add_argument("--data", default="mnist1d", help="training data: a file or a built-in name")
    c.add_argument("--test-data", default=None)
    c.add_argument("--binary", action="store_true")
    c.add_argument("--arch", default=None, help="with MODEL: MODULE:FACTORY; without: MLP widths "
                                                "(default: input,64,classes)")
    c.add_argument("--batch", type=int, default=256)
    c.add_argument("--decoder", choices=["subspace", "direct"], default="subspace")
    c.add_argument("--d", type=int, default=1000, help="subspace dimension (subspace decoder)")
    c.add_argument("--levels", type=int, default=None, help="quantisation levels (default 8; 16 with MODEL)")
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


def _builtin(data: str) -> bool:
    """``data`` names a built-in dataset (the library-MLP path of ``load_xy``), not a file or ``NAME:split``."""
    from certify.data.builtins import BUILTINS

    return data in BUILTINS and not os.path.isfile(data)


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


def _library_mlp_file(args: argparse.Namespace, train, hidden: int) -> str:
    """A data file without MODEL: the library's MLP (``--arch`` widths, default input,HIDDEN,classes) behind a
    Flatten, saved as TorchScript in ``--out`` (the model file the certificate names; its weights are not used)."""
    import numpy as np

    from certify.data.splits import parse_sizes
    from certify.models.posterior import save_library_mlp

    d_in, classes = int(np.prod(train[0].shape[1:])), int(np.max(train[1])) + 1
    sizes = parse_sizes(args.arch) if args.arch else (d_in, hidden, classes)
    if sizes[0] != d_in:
        from boundcert.errors import InvalidInput

        raise InvalidInput(f"--arch={args.arch} starts with width {sizes[0]} but the data has {d_in} inputs per "
                           "example: give the data's input width first")
    return save_library_mlp(sizes, args.out)[1]["path"]


def _user_inputs(args: argparse.Namespace, hidden: int = 256):
    """The user's module, training and test data, and what the certificate records about them."""
    from certify.data.splits import load_user_data
    from certify.models import load_model

    train, test, info = load_user_data(args.data, args.test_data, binary=args.binary)
    if args.model is None:
        args.model, args.arch = _library_mlp_file(args, train, hidden), None
    loaded = load_model(args.model, args.arch)
    model_info = {"name": loaded.path and os.path.basename(loaded.path),
                  "path": loaded.path and os.path.abspath(loaded.path), "arch": args.arch,
                  "file_sha256": loaded.file_sha256, "description": loaded.description}
    return loaded.module, train, test, info, model_info


def _run_optimize(args: argparse.Namespace) -> int:
    from certify.data.splits import load_xy
    from certify.training.pacbayes import PacBayesConfig, run_module_pacbayes, run_pacbayes

    prior = args.prior.replace("-", "_")
    objective = args.objective or ("f_quad" if prior == "data_dependent" else "dziugaite_roy")
    builtin = args.model is None and _builtin(args.data)
    if builtin:
        train, test, info = load_xy(args.data, binary=args.binary)
    cfg = PacBayesConfig(sizes=_default_sizes(args, train, 256) if builtin else (), prior=prior, objective=objective,
                         delta=args.delta, delta_mc=args.delta_mc, sigma_prior=args.sigma_prior,
                         prior_fraction=args.prior_fraction, prior_epochs=args.prior_epochs,
                         prior_shift=args.prior_shift, posterior_epochs=args.posterior_epochs, lr=args.lr,
                         posterior_lr=args.posterior_lr, batch=args.batch, mc_passes=args.mc_passes,
                         mc_mode=args.mc_mode, seed=args.seed)
    if builtin:
        r = run_pacbayes(cfg, train, test, args.out, data_info=info, reproduce=_cmd(), progress=not args.json)
    else:
        module, train, test, info, model_info = _user_inputs(args)
        r = run_module_pacbayes(cfg, module, train, args.out, data_info=info, model_info=model_info, test=test,
                                reproduce=_cmd(), progress=not args.json)
    _print(r.certificate, r.certificate_path, r.estimates, args.json)
    return 0


def _run_compress(args: argparse.Namespace) -> int:
    from certify.data.splits import load_xy
    from certify.training.compress import CompressionConfig, run_compression, run_module_compression

    builtin = args.model is None and _builtin(args.data)
    if builtin:
        train, test, info = load_xy(args.data, binary=args.binary)
    lr = args.lr if args.lr is not None else (1e-2 if args.decoder == "subspace" else 1e-3)
    cfg = CompressionConfig(sizes=_default_sizes(args, train, 64) if builtin else (), kind=args.decoder, d=args.d,
                            n_levels=args.levels or (8 if builtin else 16), method=args.quant, prune=args.prune,
                            epochs=args.epochs, lr=lr, batch=args.batch, delta=args.delta, seed=args.seed)
    if builtin:
        r = run_compression(cfg, train, test, args.out, data_info=info, reproduce=_cmd(), progress=not args.json)
    else:
        module, train, test, info, model_info = _user_inputs(args, hidden=64)
        r = run_module_compression(cfg, module, train, args.out, data_info=info, model_info=model_info, test=test,
                                   reproduce=_cmd(), progress=not args.json)
    _print(r.certificate, r.certificate_path, r.estimates, args.json)
    return 0
