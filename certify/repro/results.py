"""The one helper layer of the paper_repro/ scripts: argument parsing, results rows, certificate entries, figures,
and the results file of :mod:`certify.repro.harness` (``OUT/NAME.json`` and ``OUT/NAME.png``, written atomically).

Every script, quick variant or full run, writes ``NAME.json`` into ``--out`` (the harness's contract); the file says
``"quick"``, ``"runtime_s"`` and ``"command"``. Script-local model and data helpers (small MLPs on digits and
MNIST-1D, training, rank correlations) live in ``paper_repro/_common.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from certify.certificate import atomic_write_text
from certify.repro.harness import REPRO_DIR

__all__ = ["RESULTS_DIR", "parser", "row", "direction_row", "certificate", "enclosure", "figure", "bar_figure",
           "write"]

#: Where ``certify repro NAME`` writes by default (the committed full-run results).
RESULTS_DIR = REPRO_DIR / "results"


def parser(description: str) -> argparse.ArgumentParser:
    """The command line every reproduction takes: ``--quick``, ``--out DIR``, ``--seed``."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small variant (seconds to minutes), used by the test suite")
    p.add_argument("--out", default=str(RESULTS_DIR), help="output directory (default paper_repro/results)")
    p.add_argument("--seed", type=int, default=0)
    return p


def _plain(v: Any) -> Any:
    """A JSON value: numpy scalars as Python numbers, non-finite floats as strings; numbers are not rounded (a
    rounded certified upper end could fall below the certified value)."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def row(name: str, paper: Any, ours: Any, tolerance: Any, within: bool | None = None, why: str = "") -> dict[str, Any]:
    """One comparison row: the paper's value (a number, the direction or test of a qualitative claim, or None when
    the paper has no number for it), ours, the tolerance (a number, or the test applied), ``within`` and ``why``.

    * ``within=None``: judged as ``|ours - paper| <= tolerance``, which needs all three to be numbers; otherwise
      (e.g. ``paper`` is None) a ``ValueError``: pass ``within`` (the criterion applied) and say it in ``why``.
    * ``why`` is required, and kept in the row, when the row is not within and when ``paper`` is None (the row then
      says what it is judged by, or that it is a measurement). Otherwise it is the reason stated beforehand for a
      failure and is dropped, so a script can pass it unconditionally.
    """
    if within is None:
        if not (_is_number(paper) and _is_number(ours) and _is_number(tolerance)):
            raise ValueError(f"row {name!r}: within cannot be judged from paper={paper!r}, ours={ours!r}, "
                             f"tolerance={tolerance!r}; pass within= (the criterion) and a why")
        within = abs(float(ours) - float(paper)) <= float(tolerance)
    within = bool(within)
    r: dict[str, Any] = {"name": name, "paper": _plain(paper), "ours": _plain(ours), "tolerance": _plain(tolerance),
                         "within": within}
    if not within or paper is None:
        if not (isinstance(why, str) and why.strip()):
            raise ValueError(f"row {name!r} is " + ("not within tolerance" if not within else "without a paper value")
                             + ": say why")
        r["why"] = why
    return r


def direction_row(name: str, statistic: float, paper_direction: str, why: str = "") -> dict[str, Any]:
    """A qualitative claim: ``statistic`` must have the paper's sign (``"> 0"`` or ``"< 0"``)."""
    ok = statistic > 0 if paper_direction == "> 0" else statistic < 0
    return row(name, paper_direction, float(statistic), "sign", ok, why or "the statistic has the opposite sign")


def certificate(theorem_id: str, values: dict[str, Any], sources: dict[str, str], **context: Any) -> dict[str, Any]:
    """A compact bound certificate: the theorem, each input (decimal enclosure and its source), the result."""
    import theorems
    from theorems import Interval

    t = theorems.get(theorem_id)
    r = t.evaluate(**values)
    inputs = {}
    for k, v in values.items():
        if isinstance(v, Interval):
            inputs[k] = {"lo": v.lo_str(17), "hi": v.hi_str(17)}
        elif hasattr(v, "lo") and hasattr(v, "hi"):
            inputs[k] = {"lo": repr(float(v.lo)), "hi": repr(float(v.hi))}
        else:
            inputs[k] = {"value": v if isinstance(v, (int, str)) else repr(float(v))}
        inputs[k]["source"] = sources.get(k, "user input")
    return {"theorem": t.id, "version": t.version, "kind": t.kind, "bounds": t.bounded,
            "result": {"lo": r.lo_str(17), "hi": r.hi_str(17)}, "inputs": inputs, **context}


def enclosure(name: str, enc: Any, source: str, **context: Any) -> dict[str, Any]:
    """A certified quantity (kernel enclosure) as a certificate entry."""
    return {"quantity": name, "lo": repr(float(enc.lo)), "hi": repr(float(enc.hi)), "source": source, **context}


def figure(ncols: int = 2, width: float = 10.0, height: float = 4.0):
    """``(fig, axes)``: a row of ``ncols`` matplotlib axes (Agg backend), for :func:`write`'s ``fig``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width, height))
    return fig, np.atleast_1d(axes)


def bar_figure(title: str, rows: Sequence[dict]):
    """Paper vs ours, one pair of bars per row (rows without a numeric paper value show ours only)."""
    fig, (ax,) = figure(1, max(5, 1.6 * len(rows)), 3.6)
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r["paper"] if _is_number(r["paper"]) else 0 for r in rows], 0.4, label="paper")
    ax.bar([x + 0.2 for x in xs], [r["ours"] if _is_number(r["ours"]) else 0 for r in rows], 0.4, label="ours")
    ax.set_xticks(list(xs))
    ax.set_xticklabels([r["name"] for r in rows], rotation=15, ha="right", fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def write(name: str, out: str | Path | None, *, paper: str, claim: str, scale: str, rows: Sequence[dict],
          certificates: Sequence[dict], quick: bool, started: float, fig: Any = None,
          extra: dict | None = None) -> Path:
    """Write ``out/NAME.json`` (atomically; ``out`` None: :data:`RESULTS_DIR`) and ``out/NAME.png`` (from ``fig``),
    and print the rows to stderr. ``started`` is the run's ``time.perf_counter()`` start; ``extra`` goes under
    ``"data"``."""
    out = Path(out) if out is not None else RESULTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {"paper": paper, "claim": claim, "scale": scale, "quick": bool(quick),
                           "runtime_s": round(time.perf_counter() - started, 1),
                           "command": f"certify repro {name}" + (" --quick" if quick else ""),
                           "rows": list(rows), "certificates": list(certificates)}
    if extra:
        res["data"] = extra
    atomic_write_text(out / f"{name}.json", json.dumps(res, indent=1, default=_plain) + "\n")
    if fig is not None:
        import matplotlib.pyplot as plt

        fig.savefig(out / f"{name}.png", dpi=90, bbox_inches="tight")
        plt.close(fig)
    for r in rows:
        mark = "ok " if r["within"] else "NO "
        print(f"{mark}{r['name']}: paper {r['paper']} ours {r['ours']} tol {r['tolerance']}"
              + (f"  ({r['why']})" if "why" in r else ""), file=sys.stderr)
    return out / f"{name}.json"
