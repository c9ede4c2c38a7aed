"""Jobs of a sweep: one model x one job kind, with the key that decides whether it is already done.

The resume key is the sha256 of the job's inputs as canonical JSON: the sha256 of the model file's bytes, its
``--arch``, the sha256 of the data the job reads (:attr:`certify.data.Dataset.sha256`, the same hash a certificate
records; for ``dynamics`` the sha256 of the trajectory file), the job kind, the theorem id and version, and the
typed options (:class:`certify.options.RunOptions` for a theorem: what the certificate records under
``"options"``). A finished row with the same key is the same job.
"""

from __future__ import annotations

import glob as _glob
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from boundcert.errors import InvalidInput
from certify.sweep.spec import JobSpec, SweepSpec

__all__ = ["Job", "expand_jobs", "job_key", "model_files"]


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of work, as sent to a Dask worker (plain fields: it is pickled)."""

    key: str
    kind: str
    model: str  # absolute path
    arch: str | None
    model_file_sha256: str
    data: str | None  # the sample the job reads (theorem, analyze: unused) as the spec names it
    data_sha256: str | None
    train_data: str | None  # the gap job's training sample
    train_data_sha256: str | None
    theorem: str | None
    theorem_version: int | None
    options: dict[str, Any] = field(default_factory=dict)  # as the certificate records them (the key's part)
    hparams: dict[str, Any] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)  # delta, eps, margin as the spec gives them (None: default)

    @property
    def name(self) -> str:
        return self.theorem if self.kind == "theorem" and self.theorem else self.kind


def job_key(inputs: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a job's inputs."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _data_path(spec_root: Path, data: str | None) -> str | None:
    """A data file relative to the spec becomes absolute; built-in names stay as they are."""
    if data is None:
        return None
    p = spec_root / data
    return str(p.resolve()) if p.is_file() else data


#: version of the measures the ``analyze`` and ``gap`` jobs record (:mod:`certify.sweep.worker`)
MEASURES_VERSION = {"analyze": 2, "gap": 2}

ZooPaths = Sequence[tuple[str, str, dict[str, Any]]]  # (path, arch, hparams) of each zoo model
ModelEntry = tuple[str, str | None, str | None, str | None, dict[str, Any]]


def model_files(spec: SweepSpec, zoo_paths: ZooPaths = ()) -> list[ModelEntry]:
    """(path, arch, data, train_data, hparams) of every model: the zoo's, then each group's glob (sorted)."""
    out: list[ModelEntry] = []
    if spec.zoo is not None:
        ds = spec.zoo.dataset
        for path, arch, hp in zoo_paths:
            out.append((path, arch, _data_path(spec.root, spec.data) or ds,
                        _data_path(spec.root, spec.train_data) or f"{ds}:train", hp))
    from certify.sweep.zoo import read_sidecar

    for i, g in enumerate(spec.models):
        pattern = g.glob if Path(g.glob).is_absolute() else str(spec.root / g.glob)
        paths = sorted(p for p in _glob.glob(pattern, recursive=True) if Path(p).is_file())
        if not paths:
            raise InvalidInput(f"[[models]] #{i + 1} glob={g.glob!r} matches no file under {str(spec.root)!r}: "
                               "check the pattern (relative to the spec file)")
        for p in paths:
            side = read_sidecar(p) or {}
            arch = g.arch or side.get("arch")
            out.append((str(Path(p).resolve()), arch, _data_path(spec.root, g.data or spec.data),
                        _data_path(spec.root, g.train_data or spec.train_data), dict(side.get("hparams", {}))))
    return out


def _options(j: JobSpec) -> dict[str, Any]:
    if j.kind == "dynamics":  # analyze_trajectory's defaults, recorded (the measures depend on them)
        return {"kind": "dynamics", "seed": 0, "n_repeats": 1, "n_projections": 10}
    if j.kind in MEASURES_VERSION:  # what the job measures is part of its key: a new measure set reruns it
        return {"kind": j.kind, "measures": MEASURES_VERSION[j.kind]}
    if j.kind != "theorem":
        return {"kind": j.kind}
    from certify.options import DEFAULT_EPS, RunOptions

    return RunOptions(delta=j.delta, eps=j.eps if j.eps is not None else DEFAULT_EPS, margin=j.margin).to_dict()


def expand_jobs(spec: SweepSpec, zoo_paths: ZooPaths = ()) -> list[Job]:
    """Every (model, job) pair of the spec with its resume key; data are loaded once each to hash them.

    Raises:
        InvalidInput: a glob that matches nothing, data that cannot be loaded, a job that needs data the spec
            does not name.
    """
    import theorems
    from certify.data import load_data
    from certify.models.hashing import file_sha256

    hashes: dict[str, str] = {}

    def data_hash(d: str | None, what: str, model: str) -> str | None:
        if d is None:
            return None
        if d not in hashes:
            try:
                hashes[d] = load_data(d).sha256
            except InvalidInput as exc:
                raise InvalidInput(f"{what}={d!r} of model {Path(model).name!r} cannot be loaded: {exc}") from None
        return hashes[d]

    jobs: list[Job] = []
    seen: set[str] = set()  # a file matched by two groups with the same inputs is one job
    for path, arch, data, train_data, hp in model_files(spec, zoo_paths):
        fsha = file_sha256(path)
        for j in spec.jobs:
            reads = train_data if j.sample == "train" else data
            if j.kind in ("theorem", "gap") and reads is None:
                raise InvalidInput(f"job {j.name!r} needs {'train_data' if j.sample == 'train' else 'data'} for model "
                                   f"{Path(path).name!r}: set it in [sweep] or in the model's [[models]] group")
            if j.kind == "gap" and train_data is None:
                raise InvalidInput(f"job 'gap' needs train_data for model {Path(path).name!r}: set it in [sweep] or "
                                   "in the model's [[models]] group")
            t = theorems.get(j.theorem) if j.theorem else None
            d = None if j.kind == "analyze" else reads
            if j.kind == "dynamics":  # the trajectory beside the model; a missing one is that job's error
                d = str(Path(path).with_suffix(".npz"))
                dsha = file_sha256(d) if Path(d).is_file() else None
            else:
                dsha = data_hash(d, "train_data" if j.sample == "train" else "data", path)
            tr = train_data if j.kind == "gap" else None
            trsha = data_hash(tr, "train_data", path)
            opts = _options(j)
            inputs = {"kind": j.kind, "model_file_sha256": fsha, "arch": arch, "data_sha256": dsha,
                      "train_data_sha256": trsha, "theorem": j.theorem, "theorem_version": t.version if t else None,
                      "options": opts}
            key = job_key(inputs)
            if key in seen:
                continue
            seen.add(key)
            jobs.append(Job(key, j.kind, path, arch, fsha, d, dsha, tr, trsha, j.theorem,
                            t.version if t else None, opts, hp,
                            {"delta": j.delta, "eps": j.eps, "margin": j.margin} if j.kind == "theorem" else {}))
    return jobs
