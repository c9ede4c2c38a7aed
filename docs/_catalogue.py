"""Generate the theorem catalogue (one page per registered theorem) from the registry: never typed twice."""

from __future__ import annotations

import shutil
from pathlib import Path

import theorems


#: Where ``Reference.confirmed`` notes point; every ``Reference.key`` has a ``ref-KEY`` label there (a missing one is
#: a warning, so a ``-W`` build fails until the work is added to the bibliography).
_BIBLIOGRAPHY = "docs/references.rst"


def _rst_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`").replace("|", "\\|")


def _inline(text: str) -> str:
    """Words with optional $...$ math -> RST with :math: roles."""
    parts = text.split("$")
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 1:
            out.append(f":math:`{part}`")
        else:
            out.append(_rst_escape(part))
    return "".join(out)


def theorem_page(t: theorems.Theorem) -> str:
    title = f"{t.id}: {t.title}"
    lines = [f".. _theorem-{t.id}:", "", title, "=" * len(title), ""]
    lines += [f"**Kind:** ``{t.kind}`` (version {t.version}).  **Bounds:** {_rst_escape(t.bounded)}"
              + (f", for {_rst_escape(t.holds_for)}." if t.holds_for else "."), ""]
    lines += ["Statement", "---------", "", ".. math::", "", "   " + t.claim_latex(), ""]
    lines += ["Quantities", "----------", "", ".. list-table::", "   :header-rows: 1", "",
              "   * - name", "     - meaning", "     - domain", "     - from", "     - bound is"]
    for q in t.quantities:
        lines += [f"   * - ``{q.name}``", f"     - {_rst_escape(q.meaning)}", f"     - {q.domain.describe()}",
                  f"     - {q.source}", f"     - {q.monotone or '(not declared)'}"]
    lines += ["", "Hypotheses", "----------", ""]
    for h in t.hypotheses:
        how = "checked mechanically" if h.check else "assumed (recorded in every certificate)"
        lines += [f"- ``{h.name}``: {_inline(h.statement)} -- *{how}*"]
    ref = t.reference
    lines += ["", "Reference", "---------", "", f"{_rst_escape(ref.citation)} **{_rst_escape(ref.locator)}** "
              f"(bibliography: :ref:`{_rst_escape(ref.key)} <ref-{ref.key}>`)."]
    if ref.confirmed:
        confirmed = _rst_escape(ref.confirmed).replace(_BIBLIOGRAPHY, f":ref:`{_BIBLIOGRAPHY} <ref-{ref.key}>`")
        lines += ["", f"Constants confirmed: {confirmed}."]
    if t.notes:
        lines += ["", _inline(t.notes)]
    ex = t.example_values()
    if ex:
        r = t.evaluate(**ex)
        args = " ".join(f"{k}={v}" for k, v in ex.items())
        lines += ["", "Example (evaluated when these docs were built)", "----------------------------------------------",
                  "", ".. code-block:: console", "", f"   $ certify theorems eval {t.id} {args}",
                  f"   {t.id} ({t.kind}): [{r.lo_str(20)}, {r.hi_str(20)}]", ""]
    return "\n".join(lines) + "\n"


def write_catalogue(directory: Path) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    ts = theorems.all()
    index = ["Theorem catalogue", "=================", "",
             "Every registered result, generated from the same objects the code evaluates.", "",
             ".. list-table::", "   :header-rows: 1", "", "   * - id", "     - kind", "     - title", "     - reference"]
    for t in ts:
        index += [f"   * - :ref:`{t.id} <theorem-{t.id}>`", f"     - ``{t.kind}``", f"     - {_rst_escape(t.title)}",
                  f"     - :ref:`{_rst_escape(t.reference.key)} <ref-{t.reference.key}>`, "
                  f"{_rst_escape(t.reference.locator)}"]
        (directory / f"{t.id}.rst").write_text(theorem_page(t))
    index += ["", ".. toctree::", "   :hidden:", ""] + [f"   {t.id}" for t in ts]
    (directory / "index.rst").write_text("\n".join(index) + "\n")
