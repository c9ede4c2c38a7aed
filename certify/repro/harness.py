"""The paper-reproduction harness: discover ``paper_repro/*.py``, list them, run one, validate its results.

Each reproduction is one script ``paper_repro/NAME.py`` (names starting with ``_`` are helpers, not
reproductions) with module-level ``PAPER`` (the citation) and ``CLAIM`` (the figure or table and what is
reproduced) and a ``main(argv=None)`` taking ``--quick`` and ``--out DIR``. It writes ``DIR/NAME.json``::

    {"paper", "claim", "scale",
     "rows": [{"name", "paper", "ours", "tolerance", "within", "why"}],   # "why" required when within is false
     "certificates": [...]}

and ``DIR/NAME.png``. Scripts are discovered by file and imported by path, so a reproduction that lands in the
tree is listed with no registration step. JSON Schema: ``docs/repro.schema.json``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

from boundcert.errors import InvalidInput

__all__ = ["REPRO_DIR", "Reproduction", "discover", "get", "load_module", "run", "validate_results"]

#: The reproductions shipped with the repository (override with ``BOUNDCERT_REPRO_DIR``).
REPRO_DIR = Path(os.environ.get("BOUNDCERT_REPRO_DIR", Path(__file__).resolve().parents[2] / "paper_repro"))


@dataclass(frozen=True, slots=True)
class Reproduction:
    """One reproduction script: its name (the file stem), path, and the paper and claim it states."""

    name: str
    path: Path
    paper: str
    claim: str

    @property
    def results_json(self) -> Path:
        return self.path.parent / "results" / f"{self.name}.json"


def load_module(path: Path) -> ModuleType:
    """Import a reproduction script by path (its directory goes first on ``sys.path`` for its helpers)."""
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(f"paper_repro_{path.stem}", path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise InvalidInput(f"cannot import reproduction script {str(path)!r}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _scripts(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.py") if not p.name.startswith("_"))


def discover(directory: str | Path | None = None) -> list[Reproduction]:
    """Every reproduction script in ``directory`` (default :data:`REPRO_DIR`), sorted by name.

    A script that lacks ``PAPER``, ``CLAIM`` or ``main`` is reported by an :class:`InvalidInput` naming it.
    """
    out = []
    for path in _scripts(Path(directory) if directory is not None else REPRO_DIR):
        module = load_module(path)
        missing = [a for a in ("PAPER", "CLAIM", "main") if not hasattr(module, a)]
        if missing:
            raise InvalidInput(f"reproduction script {str(path)!r} lacks {', '.join(missing)}: "
                               "define module-level PAPER, CLAIM and main(argv=None)")
        out.append(Reproduction(path.stem, path, str(module.PAPER), str(module.CLAIM)))
    return out


def get(name: str, directory: str | Path | None = None) -> Reproduction:
    """The reproduction called ``name``; an :class:`InvalidInput` listing the known names otherwise."""
    found = {r.name: r for r in discover(directory)}
    if name not in found:
        raise InvalidInput(f"no reproduction name={name!r}; known: {', '.join(found) or '(none)'}; "
                           "see `certify repro --list`")
    return found[name]


def run(name: str, *, quick: bool = False, out: str | Path | None = None,
        directory: str | Path | None = None, extra: Sequence[str] = ()) -> Path:
    """Run reproduction ``name`` (``main(argv)``) and return the path of its validated results JSON."""
    repro = get(name, directory)
    argv = list(extra) + (["--quick"] if quick else [])
    out_dir = Path(out) if out is not None else repro.path.parent / "results"
    argv += ["--out", str(out_dir)]
    load_module(repro.path).main(argv)
    path = out_dir / f"{name}.json"
    if not path.is_file():
        raise InvalidInput(f"reproduction {name!r} wrote no {str(path)!r}: its main() must write NAME.json to --out")
    problems = validate_results(json.loads(path.read_text()))
    if problems:
        raise InvalidInput(f"{str(path)!r} does not follow the results format: " + "; ".join(problems))
    return path


def _is_value(v: Any) -> bool:
    return v is None or isinstance(v, (int, float, str)) and not isinstance(v, bool)


def validate_results(obj: Any) -> list[str]:
    """Problems with a results object (empty list: it follows the format of docs/repro.schema.json).

    Beyond the schema: every row that is not ``within`` says ``why``.
    """
    if not isinstance(obj, dict):
        return ["the results are not a JSON object"]
    problems = [f"missing key {k!r}" for k in ("paper", "claim", "scale", "rows", "certificates") if k not in obj]
    for k in ("paper", "claim", "scale"):
        if k in obj and not (isinstance(obj[k], str) and obj[k].strip()):
            problems.append(f"{k!r} must be a non-empty string")
    if not isinstance(obj.get("certificates", []), list):
        problems.append("'certificates' must be a list")
    rows = obj.get("rows", [])
    if not isinstance(rows, list) or not rows:
        return problems + ["'rows' must be a non-empty list"]
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append(f"rows[{i}] is not an object")
            continue
        for k in ("name", "paper", "ours", "tolerance", "within"):
            if k not in row:
                problems.append(f"rows[{i}] misses {k!r}")
        if not isinstance(row.get("name", ""), str):
            problems.append(f"rows[{i}].name must be a string")
        for k in ("paper", "ours", "tolerance"):
            if k in row and not _is_value(row[k]):
                problems.append(f"rows[{i}].{k} must be a number, a string or null")
        if "within" in row and not isinstance(row["within"], bool):
            problems.append(f"rows[{i}].within must be true or false")
        if row.get("within") is False and not (isinstance(row.get("why"), str) and row["why"].strip()):
            problems.append(f"rows[{i}] ({row.get('name')!r}) is not within tolerance and says no 'why'")
    return problems
