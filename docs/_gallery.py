"""Generate the reproduction gallery (one page per paper_repro/results/NAME.json, with its figure) at build time."""

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


def repro_page(name: str, res: dict, has_png: bool) -> str:
    lines = [f".. _repro-{name}:", "", name, "=" * len(name), "", f"**Paper:** {_rst_escape(res['paper'])}", "",
             f"**Claim reproduced:** {_rst_escape(res['claim'])}", "", f"**Scale:** {_rst_escape(res['scale'])}", ""]
    run = "quick variant" if res.get("quick") else "full run"
    lines += [f"**Run:** ``{res.get('command', 'certify repro ' + name)}`` ({run}, "
              f"{res.get('runtime_s', '?')} s on 2 shared CPU cores).", ""]
    if has_png:
        lines += [f".. figure:: {name}.png", "   :width: 100%", "", f"   ``paper_repro/results/{name}.png``", ""]
    lines += ["Rows", "----", "", ".. list-table::", "   :header-rows: 1", "",
              "   * - row", "     - paper", "     - ours", "     - tolerance", "     - within", "     - why not"]
    for r in res["rows"]:
        lines += [f"   * - {_cell(r['name'])}", f"     - {_cell(r['paper'])}", f"     - {_cell(r['ours'])}",
                  f"     - {_cell(r['tolerance'])}", f"     - {'yes' if r['within'] else '**no**'}",
                  f"     - {_cell(r.get('why', ''))}"]
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
        n_in = sum(r["within"] for r in res["rows"])
        index += [f"   * - :ref:`{name} <repro-{name}>`", f"     - {_rst_escape(res['paper'])}",
                  f"     - {n_in} / {len(res['rows'])}"]
    if not names:
        index += ["", "No results committed yet."]
    index += ["", ".. toctree::", "   :hidden:", ""] + [f"   {n}" for n in names]
    (directory / "index.rst").write_text("\n".join(index) + "\n")
    return names
