"""Helpers for paper_repro/ scripts: the results file of DESIGN.md and a figure, written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from certify.certificate import atomic_write_text

__all__ = ["row", "write_results", "bar_figure", "RESULTS_DIR"]

RESULTS_DIR = Path(__file__).resolve().parents[2] / "paper_repro" / "results"


def row(name: str, paper: float | None, ours: float, tolerance: float | None, *, within: bool | None = None,
        why: str = "") -> dict[str, Any]:
    """One comparison row; ``within`` defaults to ``|ours - paper| <= tolerance``; a ``why`` when it is not."""
    if within is None:
        within = paper is not None and tolerance is not None and abs(ours - paper) <= tolerance
    r: dict[str, Any] = {"name": name, "paper": paper, "ours": ours, "tolerance": tolerance, "within": bool(within)}
    if why or not within:
        r["why"] = why or "not within tolerance"
    return r


def write_results(name: str, *, paper: str, claim: str, scale: str, rows: Sequence[dict], certificates: Sequence[dict],
                  extra: dict | None = None, out_dir: str | Path | None = None) -> Path:
    out = Path(out_dir) if out_dir else RESULTS_DIR
    doc = {"paper": paper, "claim": claim, "scale": scale, "rows": list(rows), "certificates": list(certificates)}
    if extra:
        doc.update(extra)
    path = out / f"{name}.json"
    atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return path


def bar_figure(path: str | Path, title: str, rows: Sequence[dict]) -> Path:
    """Paper vs ours, one pair of bars per row (rows without a paper number show ours only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(rows)), 3.6))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r["paper"] if r["paper"] is not None else 0 for r in rows], 0.4, label="paper")
    ax.bar([x + 0.2 for x in xs], [r["ours"] for r in rows], 0.4, label="ours")
    ax.set_xticks(list(xs))
    ax.set_xticklabels([r["name"] for r in rows], rotation=15, ha="right", fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
