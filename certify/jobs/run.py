"""``certify run``: load, certify one theorem (or every applicable one, ranked), write the certificate(s),
reproduce.sh and the report. Everything is computed in memory first; files are written only when all succeeded,
each atomically, so a refused run leaves no certificate behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import theorems
from boundcert.errors import CertifyError, InvalidInput
from certify.certificate import Certificate, atomic_write_bytes, atomic_write_text
from certify.data import Dataset, load_data, role_of
from certify.reports.markup import md_cell
from certify.models.loader import LoadedModel, load_model
from certify.pipeline import certify

__all__ = ["RunResult", "run_job", "reproduce_command", "write_outputs"]


@dataclass(frozen=True, slots=True)
class RunResult:
    certificates: dict[str, Certificate]  # theorem id -> certificate
    skipped: dict[str, str] = field(default_factory=dict)  # theorem id -> why (``--theorem all``)
    paths: dict[str, Path] = field(default_factory=dict)
    data_args: dict[str, str] = field(default_factory=dict)  # theorem id -> the data it read (path or built-in)


def reproduce_command(model: str, data: str, theorem: str, delta: str, arch: str | None, margin: str | None,
                      eps: str | None) -> str:
    parts = ["certify", "run", model, "--data", data, "--theorem", theorem, "--delta", delta]
    for flag, v in (("--arch", arch), ("--margin", margin), ("--eps", eps)):
        if v is not None:
            parts += [flag, v]
    return " ".join(shlex.quote(p) for p in parts)


def _check_out(out: Path) -> None:
    """Refuse an unusable ``--out`` before any work; nothing is created or written here (no probe file, no directory
    a failed run would leave behind): its nearest existing ancestor must be a directory this process may write."""
    near = out
    while not near.exists() and near.parent != near:
        near = near.parent
    if not near.is_dir():
        raise InvalidInput(f"--out={str(out)!r} is not writable ({str(near)!r} is not a directory): choose a "
                           "writable directory")
    if not os.access(near, os.W_OK | os.X_OK):
        raise InvalidInput(f"--out={str(out)!r} is not writable ({str(near)!r} is not): choose a writable directory")


def _data_arg(spec: str) -> str:
    return str(Path(spec).resolve()) if Path(spec).is_file() else spec


def data_by_role(data: Any, train_data: Any, test_data: Any) -> dict[str, Any]:
    """The sample each data role reads (:mod:`certify.data.roles`): a role's own data, else ``data``."""
    specs = {"held_out": test_data if test_data is not None else data,
             "train": train_data if train_data is not None else data}
    specs["any"] = next((v for v in (test_data, data, train_data) if v is not None), None)
    if all(v is None for v in specs.values()):
        raise InvalidInput("no data given: give --data, or --train-data and/or --test-data")
    return specs


def certify_each(loaded: LoadedModel, specs: dict[str, Any], ids: list[str], *, resolve: Any, strict: bool,
                 delta: str, arch: str | None, margin: str | None, eps: str | None,
                 reproduce: Any = None, progress: bool = False) -> tuple[dict, dict, dict]:
    """Certify ``loaded`` with each theorem of ``ids`` on the sample of its role: ``(certificates, skipped, data)``.

    ``resolve(spec)`` turns a data specification into a :class:`Dataset` (called once per distinct spec); with
    ``strict`` the first refusal is raised, else it is recorded in ``skipped``. ``reproduce(tid, spec)`` gives the
    reproduction command. One cache per sample is shared by the theorems that read it.
    """
    from certify.reports.progress import progress as progress_bar

    datasets: dict[int, Dataset] = {}
    caches: dict[int, dict[str, Any]] = {}
    certs, skipped, used = {}, {}, {}
    for tid in progress_bar(ids, desc="theorems", enabled=progress and len(ids) > 1):
        role = role_of(theorems.get(tid))
        spec = specs[role]
        if spec is None:
            why = f"theorem {tid} reads {'held-out' if role == 'held_out' else 'training'} data: give " \
                  f"{'--test-data' if role == 'held_out' else '--train-data'}"
            if strict:
                raise InvalidInput(why)
            skipped[tid] = why
            continue
        key = id(spec)
        if key not in datasets:
            datasets[key] = resolve(spec)
        used[tid] = spec
        try:
            certs[tid] = certify(loaded, datasets[key], theorem=tid, delta=delta, arch=arch, margin=margin, eps=eps,
                                 cache=caches.setdefault(key, {}), model_info={"description": loaded.description},
                                 reproduce=reproduce(tid, spec) if reproduce else "")
        except CertifyError as exc:
            if strict:
                raise
            skipped[tid] = str(exc)
    if not certs:
        raise InvalidInput(f"no theorem applies to this model and data (e.g. {next(iter(skipped.values()))})")
    return certs, skipped, {tid: (used[tid], datasets[id(used[tid])], caches[id(used[tid])]) for tid in certs}


def run_job(model: str, data: str | None, theorem: str, delta: str = "0.05", *, out: str | Path | None = None,
            arch: str | None = None, margin: str | None = None, eps: str | None = None,
            progress: bool = False, train_data: str | None = None, test_data: str | None = None,
            resolve: Any = load_data) -> RunResult:
    """Certify ``model`` (a file) with ``theorem`` (an id or ``all``); write outputs to ``out``.

    Data roles (:mod:`certify.data.roles`): a theorem that reads held-out data takes ``test_data``, one that reads the
    training sample takes ``train_data``; ``data`` is the sample for either role when the role's own is not given.
    With ``all``, a theorem whose role has no data is skipped with the reason; a test-set bound on a known training
    split is refused (skipped with the reason under ``all``). ``resolve(spec)`` loads a data specification
    (default :func:`certify.data.load_data`; a sweep worker passes its cache of already loaded samples).
    """
    specs = data_by_role(data, train_data, test_data)
    if out is not None:
        _check_out(Path(out))
    loaded = load_model(model, arch)
    model_arg = str(Path(model).resolve())
    ids = [t.id for t in theorems.all() if t.kind == "bound"] if theorem == "all" else [theorem]
    certs, skipped, used = certify_each(
        loaded, specs, ids, resolve=resolve, strict=theorem != "all", delta=delta, arch=arch, margin=margin,
        eps=eps, progress=progress,
        reproduce=lambda tid, spec: reproduce_command(model_arg, _data_arg(spec), tid, delta, arch, margin, eps))
    result = RunResult(certs, skipped, data_args={tid: _data_arg(u[0]) for tid, u in used.items()})
    if out is not None:
        spec, ds, cache = used[next(iter(certs))]
        result = write_outputs(result, Path(out), loaded, ds, cache, model_arg, _data_arg(spec))
    return result


def ranking(result: RunResult) -> list[dict[str, str]]:
    """The certificates ranked within each claim: bounds of the same ``bounded`` quantity are compared, never a
    test-error bound against a margin-risk bound. Within a claim: upper bounds (relation <=) first, smallest first;
    then lower bounds (relation >=), largest first. ``rank`` counts within the claim; the claims are listed by their
    best bound (presentation only: no bound is compared across claims)."""
    groups: dict[str, list[dict[str, str]]] = {}
    for tid, c in result.certificates.items():
        upper = theorems.get(tid).relation == "<="
        groups.setdefault(str(c.theorem["bounded"]), []).append(
            {"theorem": tid, "relation": "<=" if upper else ">=",
             "bound": c.result.hi_str(6) if upper else c.result.lo_str(6), "bounded": str(c.theorem["bounded"])})
    def key(r: dict[str, str]) -> tuple[bool, float]:
        return r["relation"] != "<=", float(r["bound"]) * (1 if r["relation"] == "<=" else -1)

    rows = []
    for members in sorted(groups.values(), key=lambda g: min(map(key, g))):  # presentation order only
        members.sort(key=key)
        rows += [{**r, "rank": str(i + 1)} for i, r in enumerate(members)]
    return rows


def _import_root(arch: str | None) -> str | None:
    """The ``sys.path`` entry from which the module of ``arch`` (``package.module:factory``) was imported."""
    import importlib.util

    if not arch or ":" not in arch:
        return None
    module = arch.partition(":")[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not os.path.isfile(spec.origin):
        return None
    path = Path(spec.origin).resolve()
    depth = module.count(".") + (2 if path.name == "__init__.py" else 1)
    return str(path.parents[depth - 1])


def _script(result: RunResult, model_arg: str, data_arg: str, names: dict[str, str]) -> str:
    lines = ["#!/bin/sh", "# Re-runs the certification, then the independent checker.", "set -e",
             'cd "$(dirname "$0")"', 'CERTIFY="${CERTIFY:-certify}"']
    roots = dict.fromkeys(r for c in result.certificates.values() if (r := _import_root(c.model.get("arch"))))
    for root in roots:  # the user's --arch module, importable from any directory
        lines.append(f'export PYTHONPATH={shlex.quote(root)}"${{PYTHONPATH:+:$PYTHONPATH}}"')
    for tid, c in result.certificates.items():
        data = result.data_args.get(tid, data_arg)
        files = f" --model {shlex.quote(model_arg)}" + (f" --data {shlex.quote(data)}" if os.path.isfile(data) else "")
        run = c.reproduce.replace("certify run", '$CERTIFY run', 1)
        if len(result.certificates) == 1:
            lines.append(f"{run} --out .")
        else:
            lines.append(f"{run} --out {shlex.quote('reproduced-' + tid)}")
        lines.append(f"$CERTIFY check {shlex.quote(names[tid])}{files}")
    return "\n".join(lines) + "\n"


def write_outputs(result: RunResult, out: Path, loaded: LoadedModel, ds: Dataset, cache: dict[str, Any],
                  model_arg: str, data_arg: str) -> RunResult:
    from certify.reports.analyze import analyze_network
    from certify.reports.report import build_report

    layers = analyze_network(loaded.network, esd=False) if loaded.network is not None else []
    single = len(result.certificates) == 1
    names = {tid: "certificate.json" if single else f"certificate-{tid}.json" for tid in result.certificates}
    best = ranking(result)[0]["theorem"]
    report = build_report(result.certificates[best], layers, cache.get("margins"), ranking=ranking(result))
    texts: dict[str, str | bytes] = {names[t]: c.to_json() for t, c in result.certificates.items()}
    texts["reproduce.sh"] = _script(result, model_arg, data_arg, names)
    texts["report.md"], texts["report.html"] = report.markdown, report.html
    texts.update(report.figures)
    if not single:
        rank = ranking(result)
        texts["ranking.json"] = json.dumps({"ranking": rank, "skipped": result.skipped,
                                            "note": "each certificate holds at its own delta; picking the smallest "
                                                    "after the fact needs a union bound (delta / N each)"},
                                           indent=2, sort_keys=True) + "\n"
        texts["ranking.md"] = "\n".join(["| claim | rank | theorem | relation | bound |", "|---|---|---|---|---|"] + [
            f"| {md_cell(r['bounded'])} | {r['rank']} | {md_cell(r['theorem'])} | {r['relation']} | {r['bound']} |"
            for r in rank]) + "\n"
    made = [d for d in (out, *out.parents) if not d.exists()]  # the directories this run creates, deepest first
    paths: dict[str, Path] = {}
    try:
        for name, content in texts.items():  # each file atomically (certify.certificate.io), only inside ``out``
            target = out / name
            if isinstance(content, bytes):
                atomic_write_bytes(target, content)
            else:
                atomic_write_text(target, content)
            paths[name] = target
        os.chmod(out / "reproduce.sh", 0o755)
    except BaseException:
        if made:  # a failed run removes what it wrote into directories it made, and those directories
            for target in paths.values():
                target.unlink(missing_ok=True)
            for d in made:
                with contextlib.suppress(OSError):
                    d.rmdir()
        raise
    return RunResult(result.certificates, result.skipped, paths)
