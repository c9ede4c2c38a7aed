"""The sweep specification: a TOML file naming the models, their data, the jobs and their options.

```toml
[sweep]
data = "digits"              # the sample a theorem reads (a built-in NAME, NAME:train, or a file)
train_data = "digits:train"  # the training sample (the "gap" job; theorems with sample = "train")

[zoo]                        # optional: train a grid of small MLPs first (resumable, one Dask task per model)
dataset = "digits"           # digits | mnist1d
dir = "zoo"
lr = [0.001, 0.003]
batch = [32, 128]
width = [16, 32]
depth = [1, 2]
epochs = 10
seed = 0

[[models]]                   # any number of groups; paths and globs are relative to the spec file
glob = "checkpoints/*.safetensors"
arch = "certify.zoo:digits_mlp"   # for weights-only files; else read from the sidecar NAME.json, if any
data = "digits"                   # optional: overrides [sweep].data for this group

[[jobs]]
kind = "theorem"             # theorem | analyze | gap | dynamics
theorem = "test_set.binomial_tail"
delta = "0.05"               # eps, margin: as for `certify run`
sample = "test"              # test (data) | train (train_data)
```

Every key is checked here, before anything runs or is written: an unknown key, a wrong type, a theorem that is not
a bound, a glob that matches nothing are each one :class:`InvalidInput` naming the key and the fix.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

from boundcert.errors import InvalidInput

__all__ = ["JobKind", "JobSpec", "ModelGroup", "ZooSpec", "SweepSpec", "load_spec", "parse_spec"]

JobKind = Literal["theorem", "analyze", "gap", "dynamics"]
JOB_KINDS: tuple[str, ...] = ("theorem", "analyze", "gap", "dynamics")
ZOO_DATASETS: tuple[str, ...] = ("digits", "mnist1d")


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job kind, run on every model: a theorem (as ``certify run``), the ``analyze`` table, the measured ``gap``
    (train and test error of the float32 network, exact fractions of the two samples), or ``dynamics`` (the measures
    of ``certify dynamics`` on the trajectory recorded beside the model: ``NAME.npz`` for ``NAME.safetensors``)."""

    kind: JobKind
    theorem: str | None = None
    delta: str = "0.05"
    eps: str | None = None
    margin: str | None = None
    sample: Literal["test", "train"] = "test"

    @property
    def name(self) -> str:
        """The column this job gives in the report: the theorem id, ``analyze`` or ``gap``."""
        return self.theorem if self.kind == "theorem" and self.theorem else self.kind


@dataclass(frozen=True, slots=True)
class ModelGroup:
    """Model files (a glob, relative to the spec file), their architecture and their data."""

    glob: str
    arch: str | None = None
    data: str | None = None
    train_data: str | None = None


@dataclass(frozen=True, slots=True)
class ZooSpec:
    """A grid of MLPs trained by the sweep itself (learning rate x batch size x width x depth), Adam, seeded."""

    dataset: str = "digits"
    dir: str = "zoo"
    lr: tuple[float, ...] = (1e-3,)
    batch: tuple[int, ...] = (64,)
    width: tuple[int, ...] = (32,)
    depth: tuple[int, ...] = (1,)
    epochs: int = 10
    seed: int = 0

    def points(self) -> list[dict[str, Any]]:
        """The grid, one hyperparameter dict per model, in a fixed order."""
        return [{"lr": lr, "batch": b, "width": w, "depth": d}
                for lr in self.lr for b in self.batch for w in self.width for d in self.depth]


@dataclass(frozen=True, slots=True)
class SweepSpec:
    """A parsed spec; ``root`` is the directory relative paths are taken from."""

    root: Path
    models: tuple[ModelGroup, ...]
    jobs: tuple[JobSpec, ...]
    data: str | None = None
    train_data: str | None = None
    zoo: ZooSpec | None = None
    source: str = ""


def _keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InvalidInput(f"{where} has unknown key {unknown[0]!r}: use {', '.join(sorted(allowed))}")


def _str(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str | None:
    v = table.get(key, default)
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool) and key in ("delta", "eps", "margin"):
        raise InvalidInput(f"{where}.{key}={v!r} is a TOML number: write it as a decimal string, e.g. {key} = \"{v}\" "
                           "(taken exactly)")
    if not isinstance(v, str) or not v:
        raise InvalidInput(f"{where}.{key}={v!r} must be a non-empty string")
    return v


def _list(table: Mapping[str, Any], key: str, kind: type, where: str, default: tuple) -> tuple:
    v = table.get(key, list(default))
    v = v if isinstance(v, list) else [v]
    ok = all(isinstance(x, kind) and not isinstance(x, bool) or (kind is float and isinstance(x, int)
                                                                 and not isinstance(x, bool)) for x in v)
    if not v or not ok or any(x <= 0 for x in v):
        raise InvalidInput(f"[zoo].{key}={table.get(key)!r} must be a non-empty list of positive "
                           f"{'numbers' if kind is float else 'integers'}")
    return tuple(kind(x) for x in v)


def _job(t: Mapping[str, Any], i: int) -> JobSpec:
    import theorems

    where = f"[[jobs]] #{i + 1}"
    if not isinstance(t, Mapping):
        raise InvalidInput(f"{where} must be a table")
    _keys(t, {"kind", "theorem", "delta", "eps", "margin", "sample"}, where)
    kind = t.get("kind", "theorem" if "theorem" in t else None)
    if kind not in JOB_KINDS:
        raise InvalidInput(f"{where}.kind={kind!r} is not a job kind: use one of {', '.join(JOB_KINDS)}")
    sample = t.get("sample", "test")
    if sample not in ("test", "train"):
        raise InvalidInput(f"{where}.sample={sample!r} must be 'test' (the data) or 'train' (train_data)")
    if kind != "theorem":
        extra = sorted(k for k in t if k not in ("kind",))
        if extra:
            raise InvalidInput(f"{where}.{extra[0]} is only used by kind = 'theorem', not {kind!r}: remove it")
        return JobSpec(kind)
    tid = _str(t, "theorem", where)
    if tid is None:
        raise InvalidInput(f"{where} has kind = 'theorem' but no theorem: give e.g. "
                           "theorem = \"test_set.binomial_tail\"")
    th = theorems.get(tid)
    if th.kind != "bound":
        raise InvalidInput(f"{where}.theorem={tid!r} is of kind {th.kind!r}: only kind 'bound' results are certified")
    from certify.options import RunOptions

    delta, eps, margin = _str(t, "delta", where, "0.05"), _str(t, "eps", where), _str(t, "margin", where)
    RunOptions(delta=str(delta), eps=eps if eps is not None else "0.1", margin=margin)  # refuses bad values now
    return JobSpec("theorem", tid, str(delta), eps, margin, sample)  # type: ignore[arg-type]


def _zoo(t: Any) -> ZooSpec:
    if not isinstance(t, Mapping):
        raise InvalidInput("[zoo] must be a table")
    _keys(t, {"dataset", "dir", "lr", "batch", "width", "depth", "epochs", "seed"}, "[zoo]")
    ds = t.get("dataset", "digits")
    if ds not in ZOO_DATASETS:
        raise InvalidInput(f"[zoo].dataset={ds!r} is not a zoo dataset: use one of {', '.join(ZOO_DATASETS)}")
    epochs, seed = t.get("epochs", 10), t.get("seed", 0)
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise InvalidInput(f"[zoo].epochs={epochs!r} must be a positive integer")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InvalidInput(f"[zoo].seed={seed!r} must be a non-negative integer")
    return ZooSpec(ds, _str(t, "dir", "[zoo]", "zoo") or "zoo", _list(t, "lr", float, "[zoo]", (1e-3,)),
                   _list(t, "batch", int, "[zoo]", (64,)), _list(t, "width", int, "[zoo]", (32,)),
                   _list(t, "depth", int, "[zoo]", (1,)), epochs, seed)


def parse_spec(doc: Mapping[str, Any], root: Path, source: str = "") -> SweepSpec:
    """A :class:`SweepSpec` from a parsed TOML document; ``root``: the directory of relative paths."""
    _keys(doc, {"sweep", "zoo", "models", "jobs"}, "the spec")
    head = doc.get("sweep", {})
    if not isinstance(head, Mapping):
        raise InvalidInput("[sweep] must be a table")
    _keys(head, {"data", "train_data"}, "[sweep]")
    zoo = _zoo(doc["zoo"]) if "zoo" in doc else None
    groups = doc.get("models", [])
    if not isinstance(groups, list) or not all(isinstance(g, Mapping) for g in groups):
        raise InvalidInput("models must be an array of tables: write [[models]] with glob = \"...\"")
    models = []
    for i, g in enumerate(groups):
        where = f"[[models]] #{i + 1}"
        _keys(g, {"glob", "arch", "data", "train_data"}, where)
        glob = _str(g, "glob", where)
        if glob is None:
            raise InvalidInput(f"{where} has no glob: give the model files, e.g. glob = \"models/*.safetensors\"")
        models.append(ModelGroup(glob, _str(g, "arch", where), _str(g, "data", where), _str(g, "train_data", where)))
    if not models and zoo is None:
        raise InvalidInput("the spec names no models: add [[models]] with glob = \"...\" or a [zoo] grid")
    jobs_t = doc.get("jobs", [])
    if not isinstance(jobs_t, list) or not jobs_t:
        raise InvalidInput("the spec names no jobs: add [[jobs]] with kind = \"theorem\" and theorem = \"...\"")
    jobs = tuple(_job(t, i) for i, t in enumerate(jobs_t))
    names = [j.name + (f" ({j.sample}, delta {j.delta}, eps {j.eps}, margin {j.margin})" if j.theorem else "")
             for j in jobs]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise InvalidInput(f"the job {dup} is listed twice in [[jobs]]: remove one")
    return SweepSpec(root, tuple(models), jobs, _str(head, "data", "[sweep]"), _str(head, "train_data", "[sweep]"),
                     zoo, source)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check the TOML spec at ``path``."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"sweep spec {str(p)!r} does not exist: give a TOML file (see examples/sweep_digits.toml)")
    text = p.read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"sweep spec {str(p)!r} is not valid TOML ({exc}): fix the file") from None
    return parse_spec(doc, p.resolve().parent, text)
