"""The certificate: a self-contained JSON record of one rigorous evaluation of a theorem on a model and data.

Format (``format_version`` 1; field by field in docs/certificate.rst, JSON Schema in docs/certificate.schema.json):
the theorem (id, version, statement as LaTeX and as a portable expression tree), every input as an enclosure written
*exactly* (hex floats ``0xMANpEXP``; decimal strings are rounded outward and given for reading only), where each
input came from, the hypotheses with their status, model and data sha256, the delta budget and its split, the result
enclosure, the witnesses (proven brackets of the special-function nodes, in evaluation order, which the checker
verifies instead of recomputing), the environment and the reproduction command. Writes are atomic (temp file + rename).

Everything but ``created`` is a deterministic function of the inputs: two runs give byte-identical files apart from
that field.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import theorems
from certify.certificate.io import atomic_write_text
from theorems import Interval, Theorem, exact_hex

__all__ = ["FORMAT_VERSION", "InputRecord", "Certificate", "theorem_record"]

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One input of the theorem: its enclosure and where it came from."""

    name: str
    value: Interval
    source: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "lo": exact_hex(self.value.lo),
            "hi": exact_hex(self.value.hi),
            "lo_decimal": self.value.lo_str(20),
            "hi_decimal": self.value.hi_str(20),
            "source": self.source,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Certificate:
    """A rigorous evaluation of one theorem, ready to be written, checked and reproduced.

    ``result`` encloses the theorem's statement at the recorded inputs; for kind ``bound`` its upper end is the
    certified bound on ``theorem["bounded"]`` (with probability ``confidence`` where the theorem says so).
    """

    theorem: Mapping[str, Any]
    inputs: tuple[InputRecord, ...]
    hypotheses: tuple[Mapping[str, str], ...]
    result: Interval
    claim: str
    model: Mapping[str, Any]
    data: Mapping[str, Any]
    delta: Mapping[str, Any]
    environment: Mapping[str, Any]
    reproduce: str
    created: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    witnesses: tuple[Mapping[str, Any], ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)  # every option that changes a number (replayed)

    @property
    def bound(self) -> Interval:
        """The result enclosure (its ``hi`` is the certified bound for kind ``bound``)."""
        return self.result

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "created": self.created,
            "claim": self.claim,
            "theorem": dict(self.theorem),
            "inputs": {r.name: r.to_dict() for r in self.inputs},
            "hypotheses": [dict(h) for h in self.hypotheses],
            "model": dict(self.model),
            "data": dict(self.data),
            "delta": dict(self.delta),
            "result": {
                "lo": self.result.lo_str(20),
                "hi": self.result.hi_str(20),
                "lo_exact": exact_hex(self.result.lo),
                "hi_exact": exact_hex(self.result.hi),
            },
            "environment": dict(self.environment),
            "reproduce": self.reproduce,
            "extra": dict(self.extra),
            "options": dict(self.options),
            "witnesses": [
                {"op": w["op"], "lo": exact_hex(w["lo"]), "hi": exact_hex(w["hi"])} for w in self.witnesses
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the certificate atomically to ``path``: a directory (existing, or a new one when ``path`` ends in
        a separator or has no ``.json`` suffix; created with its parents) gets ``certificate.json``."""
        text = os.fspath(path)
        target = Path(text)
        if target.is_dir() or text.endswith((os.sep, "/")) or target.suffix.lower() != ".json":
            target = target / "certificate.json"
        atomic_write_text(target, self.to_json())
        return target

    def __repr__(self) -> str:
        rel = ">=" if " is at least " in self.claim else "<="  # the claim says which end is certified
        end = self.result.hi_str(6) if rel == "<=" else self.result.lo_str(6)
        return (f"Certificate({self.theorem.get('id')}: {self.theorem.get('bounded')} {rel} {end}; "
                f"delta={self.delta.get('total')}, model sha256 {str(self.model.get('sha256', ''))[:12]})")

    def _repr_html_(self) -> str:
        """A notebook card: the claim, the inputs (enclosures and sources), the hypotheses and their status."""
        from html import escape

        rows = "".join(f"<tr><td><code>{escape(r.name)}</code></td><td>[{escape(r.value.lo_str(8))}, "
                       f"{escape(r.value.hi_str(8))}]</td><td>{escape(r.source)}</td></tr>" for r in self.inputs)
        hyps = "".join(f"<li><code>{escape(str(h.get('name')))}</code> ({escape(str(h.get('status')))}): "
                       f"{escape(str(h.get('statement')))}</li>" for h in self.hypotheses)
        return (f"<div class='boundcert-certificate'><p><b>{escape(str(self.theorem.get('id')))}</b>: "
                f"{escape(self.claim)}</p><table><thead><tr><th>input</th><th>enclosure</th><th>source</th></tr>"
                f"</thead><tbody>{rows}</tbody></table><p>Hypotheses:</p><ul>{hyps}</ul>"
                f"<p>delta {escape(str(self.delta.get('total')))}; model sha256 "
                f"<code>{escape(str(self.model.get('sha256', '')))}</code></p></div>")


def theorem_record(t: Theorem) -> dict[str, Any]:
    """The ``theorem`` field of a certificate: id, version, statement (LaTeX and tree), reference."""
    return {
        "id": t.id,
        "version": t.version,
        "title": t.title,
        "kind": t.kind,
        "bounded": t.bounded,
        "holds_for": t.holds_for,
        "reference": {"key": t.reference.key, "citation": t.reference.citation, "locator": t.reference.locator},
        "statement_latex": t.latex(),
        "claim_latex": t.claim_latex(),
        "statement_tree": t.tree(),
        "confidence_tree": theorems.to_tree(t.confidence) if t.confidence is not None else None,
    }
