"""Generate the reproduction gallery (one page per paper_repro/results/NAME.json, with its figure) at build time.

Rows without a paper value (``paper`` None or "not transcribed", or marked ``"qualitative": true``) are shown as
qualitative comparisons, never as failed "within"; the counts cover the rows that have a value to compare with.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from _catalogue import _rst_escape

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "paper_repro" / "results"


def _cell(v: object) -> str:
    if v is None:
        return "--"
    if isinstance(v, float):
        return f"{v:.4g}"
    return _rst_escape(str(v)) or "--"


#: ``paper`` values that mean the paper's number was never transcribed (nothing to compare with).
_NO_PAPER_VALUE = {"", "--", "n/a", "none", "not transcribed", "not available"}


def is_qualitative(r: dict) -> bool:
    """A row with no paper value to compare against: ``paper`` is None (or says it was not transcribed), or the
    row is marked ``"qualitative": true`` / ``"comparison": "qualitative"``. Such a row cannot fail "within"."""
    paper = r.get("paper")
    return (paper is None or (isinstance(paper, str) and paper.strip().lower() in _NO_PAPER_VALUE)
            or r.get("qualitative") is True or str(r.get("comparison", "")).lower() == "qualitative")


def _verdict(r: dict) -> str:
    if is_qualitative(r):
        return "qualitative"
    return "yes" if r["within"] else "**no**"


def _note(r: dict) -> str:
    why = _cell(r.get("why", "")) if r.get("why") else ""
    if is_qualitative(r):
        head = "Qualitative comparison (no paper number to compare with)."
        return head + (f" {why[0].upper()}{why[1:]}" if why else "")
    return why or "--"


def _tally(rows: list[dict]) -> str:
    """``within / compared`` over the rows that have a paper value, and how many are qualitative."""
    compared = [r for r in rows if not is_qualitative(r)]
    text = f"{sum(bool(r['within']) for r in compared)} / {len(compared)}"
    n_qual = len(rows) - len(compared)
    return text + (f" ({n_qual} qualitative)" if n_qual else "")


def repro_page(name: str, res: dict, has_png: bool) -> str:
    lines = [f".. _repro-{name}:", "", name, "=" * len(name), "", f"**Paper:** {_rst_escape(res['paper'])}", "",
             f"**Claim reproduced:** {_rst_escape(res['claim'])}", "", f"**Scale:** {_rst_escape(res['scale'])}", ""]
    run = "quick variant" if res.get("quick") else "full run"
    lines += [f"**Run:** ``{res.get('command', 'certify repro ' + name)}`` ({run}, "
              f"{res.get('runtime_s', '?')} s on 2 shared CPU cores).", ""]
    if has_png:
        lines += [f".. figure:: {name}.png", "   :width: 100%", "", f"   ``paper_repro/results/{name}.png``", ""]
    lines += ["Rows", "----", "", f"Within tolerance: {_tally(res['rows'])}. A row whose paper value was never "
              "transcribed (or that is marked qualitative) is not judged: it says so instead of failing.", "",
              ".. list-table::", "   :header-rows: 1", "   :widths: 25 13 10 11 12 29", "",
              "   * - row", "     - paper", "     - ours", "     - tolerance", "     - within", "     - note"]
    for r in res["rows"]:
        lines += [f"   * - {_cell(r['name'])}", f"     - {_cell(r['paper'])}", f"     - {_cell(r['ours'])}",
                  f"     - {_cell(r['tolerance'])}", f"     - {_verdict(r)}", f"     - {_note(r)}"]
    certs = res.get("certificates", [])
    if certs:
        lines += ["", "Certificates", "------------", "",
                  f"{len(certs)} certified values (bounds or enclosures) are recorded in the results JSON; the first:",
                  "", ".. code-block:: json", ""]
        lines += ["   " + ln for ln in json.dumps(certs[0], indent=2).splitlines()]
    return "\n".join(lines) + "\n"


def write_gallery(directory: Path, results: Path = RESULTS) -> list[str]:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    names = sorted(p.stem for p in results.glob("*.json"))
    index = ["Reproduction gallery", "====================", "",
             "Generated at build time from the committed ``paper_repro/results/NAME.json`` and ``NAME.png`` "
             "(written by ``certify repro NAME``; see :doc:`../tutorials/reproduce`).", "",
             ".. list-table::", "   :header-rows: 1", "", "   * - reproduction", "     - paper",
             "     - rows within tolerance"]
    for name in names:
        res = json.loads((results / f"{name}.json").read_text())
        png = results / f"{name}.png"
        if png.is_file():
            shutil.copy(png, directory / png.name)
        (directory / f"{name}.rst").write_text(repro_page(name, res, png.is_file()))
        index += [f"   * - :ref:`{name} <repro-{name}>`", f"     - {_rst_escape(res['paper'])}",
                  f"     - {_tally(res['rows'])}"]
    if not names:
        index += ["", "No results committed yet."]
    index += ["", ".. toctree::", "   :hidden:", ""] + [f"   {n}" for n in names]
    (directory / "index.rst").write_text("\n".join(index) + "\n")
    return names
