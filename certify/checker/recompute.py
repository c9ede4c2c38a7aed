"""``certify check --recompute``: re-derive a certificate's inputs with the library (imports torch, theorems).

Kept apart from the trusted core (:mod:`certify.checker.core`, standard library + mpmath only). It verifies that the
statement tree is the registered theorem's (same id, version and tree), replays the options the certificate
records (``"options"``: :class:`certify.options.RunOptions` for ``certify run``, the configuration and data of
``certify optimize`` / ``certify compress``) through the same providers, and requires every recomputed enclosure to
lie inside the recorded one (counts: equal) and the model and data hashes to match.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any, Mapping

from boundcert.errors import CertifyError
from certify.checker.core import CheckResult

__all__ = ["recompute", "registered"]


def _resolve(cert_path: Path, given: str | None, recorded: str | None) -> str | None:
    """The file the user gives, else the one the certificate names, read only as a bare name beside it."""
    if given:
        return given
    if recorded and Path(recorded).name == recorded and (cert_path.parent / recorded).is_file():
        return str(cert_path.parent / recorded)
    return None


_ARCH = re.compile(r"^[\w.]+:[\w.]+$")


def _named_archs(cert: Mapping[str, Any]) -> list[str]:
    """The ``MODULE:FACTORY`` strings a certificate names (``model.arch``, ``options.model.arch``)."""
    opts = cert.get("options") if isinstance(cert.get("options"), dict) else {}
    model = opts.get("model") if isinstance(opts.get("model"), dict) else {}
    found = [cert["model"].get("arch") if isinstance(cert.get("model"), dict) else None, model.get("arch")]
    return [a for a in found if isinstance(a, str) and _ARCH.match(a)]


def _arch_gate(cert: Mapping[str, Any], arch: str | None) -> CheckResult:
    """A certificate carries data, never instructions: an architecture it names is used only when it is one of the
    library's own (``certify.zoo:NAME``, looked up in the zoo's table, or the sweep zoo's
    ``certify.sweep.archs:mlp_<sizes>``, parsed: at most 16 layers of at most 999,999 units; nothing imported by
    name); any other is used
    only when the user passes it with ``--arch``."""
    from certify.models import zoo

    for named in _named_archs(cert):
        mod, _, fn = named.partition(":")
        library = (mod in ("certify.zoo", "certify.models.zoo") and fn in zoo.__all__) or (
            mod == "certify.sweep.archs" and re.fullmatch(r"mlp(_[1-9][0-9]{0,5}){2,16}", fn) is not None)
        if arch is None and not library:
            return CheckResult(False, f"recompute: the certificate names the architecture {named!r}, which is not "
                                      f"one of the library's: a certificate never runs code; pass --arch {named} "
                                      "to use it")
    return CheckResult(True)


def _bound_part(cert: Mapping[str, Any]) -> CheckResult:
    """PAC-Bayes with a data-dependent prior: the recorded bound part (its indices' sha256) is the one the replay
    draws from the recorded split seed and sizes (the replay then re-derives m, k and the empirical risk on it)."""
    opts, data = cert.get("options"), cert.get("data")
    split = data.get("split") if isinstance(data, dict) else None
    if not isinstance(opts, dict) or opts.get("kind") != "optimize" or not isinstance(split, dict) \
            or "bound_indices_sha256" not in split:
        return CheckResult(True)
    import hashlib

    import numpy as np

    from certify.training.pacbayes import split_indices

    try:
        n_prior, seed = int(split["n_prior"]), int(split["seed"])
        _, bi = split_indices(n_prior + int(split["n_bound"]), n_prior, seed)
        same_seed = int((opts.get("config") or {}).get("split_seed", seed)) == seed
    except (KeyError, TypeError, ValueError) as exc:
        return CheckResult(False, f"recompute: data.split is malformed ({type(exc).__name__}: {exc})")
    if not same_seed or hashlib.sha256(bi.astype(np.int64).tobytes()).hexdigest() != split["bound_indices_sha256"]:
        return CheckResult(False, "recompute: data.split.bound_indices_sha256 is not that of the recorded split "
                                  "(seed, n_prior, n_bound) and options.config.split_seed")
    return CheckResult(True)


@functools.lru_cache(maxsize=None)
def _theorem_record(tid: str) -> dict[str, Any]:
    """The registered theorem's certificate record (cached: its LaTeX takes sympy a while; compared, never changed)."""
    import theorems
    from certify.certificate import theorem_record

    return theorem_record(theorems.get(tid))


def registered(cert: Mapping[str, Any]) -> CheckResult:
    """The certificate states the registered theorem (needs the library; runs nothing the certificate names).

    Its ``theorem`` record is the registered one field by field (id, version, title, kind, bounded quantity,
    holds_for, reference, statement and confidence trees, LaTeX), its claim uses the theorem's relation, its
    hypotheses are the registered ones in order with their statements, and a hypothesis is marked ``checked`` only
    where the library supports it: its mechanical check holds on the recorded inputs, or a recorded quantity's
    provider declares that it discharges it (``assumed`` for a checkable one is a weaker claim: accepted).
    """
    import theorems
    from certify.quantities.registry import context_of_options, discharged, load_providers
    from theorems import Interval, enclose, parse_exact

    load_providers()

    try:
        th, hyps, inputs = cert["theorem"], cert["hypotheses"], cert["inputs"]
        try:
            t = theorems.get(th["id"])
        except CertifyError:
            return CheckResult(False, f"registry: theorem {th['id']!r} is not registered in this library")
        want = _theorem_record(t.id)
        for key in sorted(set(want) | set(th)):
            if th.get(key) != want.get(key):
                return CheckResult(False, f"registry: theorem.{key} is not that of {t.id} version {t.version}")
        if (" is at least " in str(cert["claim"])) != (t.relation == ">="):
            return CheckResult(False, f"registry: the claim's relation is not the theorem's {t.relation!r}")
        if [(h.get("name"), h.get("statement")) for h in hyps] != [(h.name, h.statement) for h in t.hypotheses]:
            return CheckResult(False, f"registry: the hypotheses are not the registered ones of {t.id}: "
                                      f"{', '.join(h.name for h in t.hypotheses)}")
        values = {n: Interval(enclose(parse_exact(r["lo"])).lo, enclose(parse_exact(r["hi"])).hi)
                  for n, r in inputs.items() if n in t.names}
        for n, r in inputs.items():  # the decimals shown to people are outward too
            if ("lo_decimal" in r and parse_exact(r["lo_decimal"]) > parse_exact(r["lo"])) or (
                    "hi_decimal" in r and parse_exact(r["hi_decimal"]) < parse_exact(r["hi"])):
                return CheckResult(False, f"registry: input {n}'s decimal ends do not enclose its exact ends")
        proven = discharged(context_of_options(cert.get("options")), inputs)
        for h, rec in zip(t.hypotheses, hyps):
            if rec.get("status") == "checked" and h.name not in proven and not (
                    h.check is not None and h.check(values)):
                return CheckResult(False, f"registry: hypothesis {h.name} is marked checked, but neither its check "
                                          "on the recorded inputs nor a recorded quantity discharges it")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return CheckResult(False, f"registry: malformed certificate ({type(exc).__name__}: {exc})")
    return CheckResult(True)


def _show(x: Any) -> str:
    """An exact rational for a message, to 17 digits (no float overflow above 1.8e308)."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 17
        return str(Decimal(x.numerator) / Decimal(x.denominator))


def _inside(recorded: Mapping[str, Any], again: Mapping[str, Any]) -> CheckResult:
    """Every recomputed input enclosure lies inside the recorded one, and no input is missing."""
    from theorems import parse_exact

    for name, rec in again.items():
        old = recorded.get(name)
        if old is None:
            return CheckResult(False, f"recompute: input {name} is missing from the certificate")
        lo, hi = parse_exact(old["lo"]), parse_exact(old["hi"])
        new_lo, new_hi = parse_exact(rec["lo"]), parse_exact(rec["hi"])
        if not (lo <= new_lo and new_hi <= hi):
            return CheckResult(False, f"recompute: input {name} recomputes to [{_show(new_lo)}, "
                                      f"{_show(new_hi)}], outside the recorded enclosure")
    return CheckResult(True)


def recompute(cert_path: str, *, model: str | None = None, data: str | None = None,
              arch: str | None = None) -> CheckResult:
    """Re-derive the certificate at ``cert_path``; ``model``/``data``/``arch`` override what it records."""
    import theorems

    path = Path(cert_path)
    try:
        cert = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return CheckResult(False, f"recompute: the certificate cannot be read as JSON ({exc})")
    for gate in (registered(cert), _arch_gate(cert, arch), _bound_part(cert)):
        if not gate.ok:
            return gate
    t = theorems.get(cert["theorem"]["id"])
    kind = (cert.get("options") or {}).get("kind", "run")
    replay = {"run": _run, "optimize": _optimize, "compress": _compress, "flatness": _flatness,
              "robust": _robust}.get(kind)
    if replay is None:
        return CheckResult(False, f"recompute: options kind {kind!r} is not one this library replays")
    try:
        return replay(path, cert, t, model=model, data=data, arch=arch)
    except CertifyError as exc:
        return CheckResult(False, f"recompute: the library refuses ({exc})")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a field the replay reads is missing or mistyped
        return CheckResult(False, f"recompute: malformed certificate ({type(exc).__name__}: {exc})")


def _run(path: Path, cert: dict, t: Any, *, model: str | None, data: str | None, arch: str | None) -> CheckResult:
    """``certify run``: the same model, data and :class:`RunOptions` through :func:`certify.certify`."""
    from certify.options import RunOptions, options_from
    from certify.pipeline import certify
    from theorems import parse_exact

    model_file = _resolve(path, model, cert["model"].get("path"))
    if model_file is None or not Path(model_file).is_file():
        return CheckResult(False, "recompute: give the model file with --model")
    d = cert["data"]
    data_spec = data or (f"{d['name']}:{d['split']}" if d.get("split") in ("train", "test") else None)
    if data_spec is None:
        return CheckResult(False, "recompute: give the data file with --data")
    recorded = cert.get("options")
    opts = options_from(recorded, RunOptions, "run") if recorded else RunOptions(delta=cert["delta"]["total"])
    margin = opts.margin
    if margin is None and "margin" in cert["inputs"]:  # the margin chosen from the data: replay that choice
        margin = str(parse_exact(cert["inputs"]["margin"]["lo"]))
    again = certify(model_file, data_spec, theorem=t.id, delta=opts.delta, arch=arch or cert["model"].get("arch"),
                    margin=margin, eps=opts.eps)
    if again.data["sha256"] != d["sha256"] or again.model["sha256"] != cert["model"]["sha256"]:
        return CheckResult(False, "recompute: model or data hash differs from the certificate's")
    return _inside(cert["inputs"], {r.name: r.to_dict() for r in again.inputs})


def _builtin_train(cert: dict, data: str | None = None, path: Path = Path(".")) -> tuple[Any, dict] | CheckResult:
    """The training data the run read, from the recorded data specification (a built-in split, or for a user's
    module any ``certify.data.load_data`` specification, ``data`` overriding it); its hash must match."""
    from certify.data.splits import load_xy

    spec = (cert.get("options") or {}).get("data")
    if isinstance(spec, dict) and "spec" in spec:  # a user's module: any data specification
        from certify.data import load_data
        from certify.data.builtins import BUILTINS

        named = str(spec["spec"])
        if data is None and named.partition(":")[0] not in BUILTINS:  # a file: the user's --data, or beside
            data = _resolve(path, None, Path(named).name)
            if data is None:
                return CheckResult(False, f"recompute: give the training data file ({Path(named).name}) with --data")
        ds = load_data(data or named)
        if ds.sha256 != spec.get("sha256"):
            return CheckResult(False, "recompute: the training data's hash differs from the certificate's")
        return (ds.x, (ds.y > 4).astype(ds.y.dtype) if spec.get("binary") else ds.y), {"sha256": ds.sha256}
    if not isinstance(spec, dict) or "name" not in spec:
        return CheckResult(False, "recompute: the certificate records no data specification to replay")
    train, _, info = load_xy(spec["name"], binary=bool(spec.get("binary")), n_train=spec.get("n_train"),
                             n_test=spec.get("n_test"))
    if info["train_sha256"] != cert["data"].get("train_sha256"):
        return CheckResult(False, "recompute: the training data's hash differs from the certificate's")
    return train, info


def _optimize(path: Path, cert: dict, t: Any, *, model: str | None, data: str | None,
              arch: str | None) -> CheckResult:
    """``certify optimize``: KL from the stored posterior, Monte Carlo errors replayed with the recorded seed."""
    import numpy as np

    import theorems
    from certify.models.posterior import load_posterior
    from certify.options import options_from
    from certify.quantities.pacbayes import PosteriorContext, PriorVariance
    from certify.quantities.registry import provide
    from certify.training.pacbayes import PacBayesConfig, split_indices

    opts = cert["options"]
    if opts.get("family") == "module":
        return _optimize_module(path, cert, t, model=model, data=data, arch=arch)
    cfg = _config(opts, PacBayesConfig, "optimize")
    post_file = _resolve(path, model, cert["model"].get("path"))
    if post_file is None or not Path(post_file).is_file():
        return CheckResult(False, "recompute: give the posterior file with --model")
    post = load_posterior(post_file)
    if post.sha256 != cert["model"]["sha256"]:
        return CheckResult(False, "recompute: the posterior file's hash differs from the certificate's")
    got = _builtin_train(cert)
    if isinstance(got, CheckResult):
        return got
    (x, y), _ = got
    x = np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)
    if cfg.prior == "data_dependent":
        _, bi = split_indices(len(y), int(round(cfg.prior_fraction * len(y))), cfg.split_seed)
    else:
        bi = np.arange(len(y))
    pv = options_from(opts.get("prior_variance") or {}, PriorVariance, "prior variance")
    ctx = PosteriorContext(post, pv, x[bi], y[bi], dict(cert["data"]), cfg.delta, cfg.mc_passes, cfg.mc_mode,
                           cfg.seed + 7, cfg.delta_mc, progress=False)
    again = provide(ctx, theorems.tree_symbols(t.tree()))
    return _inside(cert["inputs"], {n: _record(p) for n, p in again.items()})


def _module_template(path: Path, options: Mapping[str, Any], arch: str | None) -> Any | CheckResult:
    """The user's module (its structure) from ``options.model``: the model file by its bare name beside the
    certificate (its sha256 must match), else the architecture alone (``--arch``, or a library zoo factory that the
    gate let through)."""
    from certify.models import load_model
    from certify.models.hashing import file_sha256
    from certify.models.loader import _factory

    rec = dict(options.get("model") or {})
    arch = arch or rec.get("arch")
    name = _resolve(path, None, rec.get("name"))
    if name is not None:
        if rec.get("file_sha256") and file_sha256(name) != rec["file_sha256"]:
            return CheckResult(False, f"recompute: the model file {Path(name).name}'s hash differs from the "
                                      "certificate's")
        return load_model(name, arch).module
    if arch:
        return _factory(arch).eval()
    return CheckResult(False, f"recompute: the model file {rec.get('name')!r} the posterior belongs to is not beside "
                              "the certificate: put it there")


def _optimize_module(path: Path, cert: dict, t: Any, *, model: str | None, data: str | None,
                     arch: str | None) -> CheckResult:
    """``certify optimize MODEL``: the stored module posterior, the recorded split and Monte Carlo seed."""
    import numpy as np

    import theorems
    from certify.models.module_posterior import load_module_posterior
    from certify.options import options_from
    from certify.quantities.pacbayes import PosteriorContext, PriorVariance
    from certify.quantities.registry import provide
    from certify.training.pacbayes import PacBayesConfig, bound_indices

    opts = cert["options"]
    cfg = _config(opts, PacBayesConfig, "optimize")
    template = _module_template(path, opts, arch)
    if isinstance(template, CheckResult):
        return template
    post_file = _resolve(path, model, cert["model"].get("path"))
    if post_file is None or not Path(post_file).is_file():
        return CheckResult(False, "recompute: give the posterior file with --model")
    post = load_module_posterior(post_file, template)
    if post.sha256 != cert["model"]["sha256"]:
        return CheckResult(False, "recompute: the posterior file's hash differs from the certificate's")
    got = _builtin_train(cert, data, path)
    if isinstance(got, CheckResult):
        return got
    (x, y), _ = got
    _, bi = bound_indices(cfg, len(y))
    pv = options_from(opts.get("prior_variance") or {}, PriorVariance, "prior variance")
    ctx = PosteriorContext(post, pv, np.ascontiguousarray(x[bi], dtype=np.float32), y[bi], dict(cert["data"]),
                           cfg.delta, cfg.mc_passes, cfg.mc_mode, cfg.seed + 7, cfg.delta_mc, progress=False)
    again = provide(ctx, theorems.tree_symbols(t.tree()))
    return _inside(cert["inputs"], {n: _record(p) for n, p in again.items()})


def _compress(path: Path, cert: dict, t: Any, *, model: str | None, data: str | None,
              arch: str | None) -> CheckResult:
    """``certify compress``: the network rebuilt from the code file, its training errors counted again."""
    import numpy as np

    import theorems
    from certify.models.codec import Code
    from certify.models.compressed import Decoder
    from certify.models.hashing import file_sha256, weights_sha256
    from certify.quantities.code_length import CodeContext
    from certify.quantities.registry import provide
    from certify.training.compress import CompressionConfig

    module = cert["options"].get("family") == "module"
    cfg = _config(cert["options"], CompressionConfig, "compress")
    code_file = _resolve(path, model, cert["model"].get("path"))
    if code_file is None or not Path(code_file).is_file():
        return CheckResult(False, "recompute: give the code file with --model")
    if file_sha256(code_file) != cert["model"].get("code_sha256"):
        return CheckResult(False, "recompute: the code file's hash differs from the certificate's")
    dec = cert["model"]["decoder"]
    if module:
        decoder = _module_decoder(path, cert, dec, arch)
        if isinstance(decoder, CheckResult):
            return decoder
    else:
        decoder = Decoder(tuple(dec["sizes"]), dec["kind"], d=int(dec["d"]), seed=int(dec["seed"]),
                          sparse=bool(dec["sparse"]))
    got = _builtin_train(cert, data if module else None, path)
    if isinstance(got, CheckResult):
        return got
    (x, y), _ = got
    x = np.ascontiguousarray(x if module else x.reshape(len(x), -1), dtype=np.float32)
    raw, n_bits = Path(code_file).read_bytes(), int(cert["model"]["code_bits"])
    if (n_bits + 7) // 8 != len(raw):
        return CheckResult(False, f"recompute: model.code_bits={n_bits} does not fit the {len(raw)}-byte code file")
    code = Code(raw, n_bits)
    ctx = CodeContext(decoder, code, Path(code_file), x, np.asarray(y), dict(cert["data"]), cfg.delta)
    again = provide(ctx, theorems.tree_symbols(t.tree()))
    if weights_sha256(ctx.weights()) != cert["model"].get("weights_sha256"):
        return CheckResult(False, "recompute: the rebuilt weights' hash differs from the certificate's")
    return _inside(cert["inputs"], {n: _record(p) for n, p in again.items()})


def _module_decoder(path: Path, cert: dict, dec: Mapping[str, Any], arch: str | None) -> Any:
    """The recorded decoder of a user's module, rebuilt on the module's structure (which must match it)."""
    from certify.models.compressed import ModuleDecoder

    template = _module_template(path, cert["options"], arch)
    if isinstance(template, CheckResult):
        return template
    decoder = ModuleDecoder.for_module(template, str(dec["kind"]).removeprefix("module-"), d=int(dec["d"]),
                                       seed=int(dec["seed"]), sparse=bool(dec["sparse"]), arch=str(dec["arch"]))
    if decoder.describe() != dict(dec):
        return CheckResult(False, "recompute: the model's structure does not match the certificate's decoder")
    return decoder


def _flatness(path: Path, cert: dict, t: Any, *, model: str | None, data: str | None,
              arch: str | None) -> CheckResult:
    """``certify landscape --flatness-certificate [isotropic|mag]``: search, prior choice, draws replayed by seed."""
    from certify.landscape.flatness import FlatnessOptions, run_flatness
    from certify.options import options_from

    opts = options_from(cert["options"], FlatnessOptions, "flatness")
    model_file = _resolve(path, model, cert["model"].get("path"))
    if model_file is None or not Path(model_file).is_file():
        return CheckResult(False, "recompute: give the model file with --model")
    spec = data or cert["data"].get("spec")
    if not data and isinstance(spec, str) and Path(spec).suffix in (".npz", ".pt", ".pth"):
        spec = _resolve(path, None, spec)  # a data file: read only beside the certificate
    if spec is None:
        return CheckResult(False, "recompute: give the data file with --data")
    prior = ((cert.get("extra") or {}).get("flatness") or {}).get("prior") or {}
    init = _resolve(path, None, prior.get("path")) if opts.prior_mean == "init" else None
    if opts.prior_mean == "init" and init is None:
        return CheckResult(False, "recompute: put the initialisation checkpoint beside the certificate")
    again = run_flatness(model_file, spec, opts, arch=arch or cert["model"].get("arch"), init=init)
    if again.data["sha256"] != cert["data"]["sha256"] or again.model["sha256"] != cert["model"]["sha256"]:
        return CheckResult(False, "recompute: model or data hash differs from the certificate's")
    if init is not None and again.extra["flatness"]["prior"].get("file_sha256") != prior.get("file_sha256"):
        return CheckResult(False, "recompute: the initialisation file's hash differs from the certificate's")
    return _inside(cert["inputs"], {r.name: r.to_dict() for r in again.inputs})


def _robust(path: Path, cert: dict, t: Any, *, model: str | None, data: str | None,
            arch: str | None) -> CheckResult:
    """``certify robust``: the recorded :class:`RobustOptions` through the same verification and assembler."""
    from certify.options import options_from
    from certify.robust import RobustOptions, run_robust

    opts = options_from(cert["options"], RobustOptions, "robust")
    model_file = _resolve(path, model, cert["model"].get("path"))
    if model_file is None or not Path(model_file).is_file():
        return CheckResult(False, "recompute: give the model file with --model")
    d = cert["data"]
    name = str(d.get("name", "")).split("[:")[0]
    spec = data or (f"{name}:{d['split']}" if d.get("split") in ("train", "test") else None)
    if spec is None:
        return CheckResult(False, "recompute: give the data file with --data")
    from dataclasses import replace

    # k_uncertified comes from the bounds alone: the PGD search (verdicts only) is not replayed
    again = run_robust(model_file, spec, replace(opts, attack_steps=0),
                       arch=arch or cert["model"].get("arch")).certificate
    if again.data["sha256"] != d["sha256"] or again.model["sha256"] != cert["model"]["sha256"]:
        return CheckResult(False, "recompute: model or data hash differs from the certificate's")
    return _inside(cert["inputs"], {r.name: r.to_dict() for r in again.inputs})


def _config(options: Mapping[str, Any], cls: type, what: str) -> Any:
    """The run configuration recorded under ``options.config`` (JSON lists back to the tuple ``sizes``)."""
    from certify.options import options_from

    record = dict(options.get("config") or {})
    if isinstance(record.get("sizes"), list):
        record["sizes"] = tuple(record["sizes"])
    return options_from(record, cls, what)


def _record(p: Any) -> dict[str, str]:
    from certify.certificate import InputRecord

    return InputRecord("", p.value, p.source, p.detail).to_dict()
