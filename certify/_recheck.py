"""``certify check --recompute``: re-derive a certificate's quantities with the library (imports torch, theorems).

Kept apart from the core checker (:mod:`certify._checker`, standard library + mpmath only). It verifies that the
statement tree is the registered theorem's (same id, version and tree), re-runs the providers on the model and
data, and requires every recomputed enclosure to lie inside the recorded one (counts: equal).
"""

from __future__ import annotations

import json
from pathlib import Path

from boundcert.errors import CertifyError
from certify._checker import CheckResult

__all__ = ["recompute"]


def _resolve(cert_path: Path, given: str | None, recorded: str | None) -> str | None:
    if given:
        return given
    if recorded and (cert_path.parent / recorded).is_file():
        return str(cert_path.parent / recorded)
    return recorded


def recompute(cert_path: str, *, model: str | None = None, data: str | None = None,
              arch: str | None = None) -> CheckResult:
    import theorems
    from certify._pipeline import certify
    from theorems import parse_exact

    path = Path(cert_path)
    cert = json.loads(path.read_text())
    th = cert["theorem"]
    try:
        t = theorems.get(th["id"])
    except CertifyError:
        return CheckResult(False, f"recompute: theorem {th['id']!r} is not registered in this library")
    if t.version != th["version"] or t.tree() != th["statement_tree"]:
        return CheckResult(False, f"recompute: statement_tree is not that of {t.id} version {t.version}")
    model_file = _resolve(path, model, cert["model"].get("path"))
    if model_file is None or not Path(model_file).is_file():
        return CheckResult(False, "recompute: give the model file with --model")
    d = cert["data"]
    data_spec = data or (f"{d['name']}:{d['split']}" if d.get("split") in ("train", "test") else None)
    if data_spec is None:
        return CheckResult(False, "recompute: give the data file with --data")
    inputs = cert["inputs"]
    margin = inputs.get("margin", {}).get("lo")
    try:
        again = certify(model_file, data_spec, theorem=t.id, delta=cert["delta"]["total"],
                        arch=arch or cert["model"].get("arch"),
                        margin=str(parse_exact(margin)) if margin else None)
    except CertifyError as exc:
        return CheckResult(False, f"recompute: the library refuses ({exc})")
    if again.data["sha256"] != d["sha256"] or again.model["sha256"] != cert["model"]["sha256"]:
        return CheckResult(False, "recompute: model or data hash differs from the certificate's")
    for rec in again.inputs:
        old = inputs.get(rec.name)
        if old is None:
            return CheckResult(False, f"recompute: input {rec.name} is missing from the certificate")
        lo, hi = parse_exact(old["lo"]), parse_exact(old["hi"])
        new_lo, new_hi = parse_exact(rec.to_dict()["lo"]), parse_exact(rec.to_dict()["hi"])
        if not (lo <= new_lo and new_hi <= hi):
            return CheckResult(False, f"recompute: input {rec.name} recomputes to [{float(new_lo)!r}, "
                                      f"{float(new_hi)!r}], outside the recorded enclosure")
    return CheckResult(True)
