"""The mutation harness of the checker: real certificates of every theorem family, every field mutated one at a time,
and the documented list of edits the checker accepts (docs/certificate.rst, "What the checker accepts").

A mutation is a ``(path, kind)``: ``path`` a tuple of keys/indices into the certificate JSON, ``kind`` one of
``up``/``down`` (an exact number moved by a relative 1e-9, an integer by 1), ``text`` (a string changed), ``assumed``
(a hypothesis status set to ``assumed``), ``delete`` (a key removed), ``type`` (a value replaced by a list), ``drop``
/ ``dup`` (a list shortened / its first item repeated). :func:`verdict` is what ``certify check`` says without files:
the trusted core, then the registry step. :func:`accepted_by_design` is the documented list; a VERIFIED mutation
outside it is a claim-strengthening (or undocumented) acceptance: the sweep must find none.
"""

from __future__ import annotations

import copy
import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "pipeline"))

from pipeline_support import trained  # noqa: E402

REL = Fraction(1, 10**9)
#: certificates committed with the paper reproductions: PAC-Bayes (kl, Dziugaite-Roy) and compression (Occam-Catoni)
COMMITTED = {"pac_bayes.kl": "perez_ortiz2021/certificate.json",
             "pac_bayes.dziugaite_roy2017": "dziugaite2017/mnist1d_data_dependent/certificate.json",
             "compression.occam_catoni": "lotfi2022/certificate.json"}
RUN = ["test_set.binomial_tail", "test_set.kl_chernoff", "test_set.hoeffding", "norm.neyshabur2015_frobenius_multiclass",
       "robust.certified_accuracy", "robust.robust_error_test_set"]
FAMILIES = RUN + list(COMMITTED) + ["stability.hardt2016_convex"]


def real_certificate(tid: str) -> dict[str, Any]:
    """A real certificate of theorem ``tid`` (module-cached by the caller's fixture)."""
    if tid in COMMITTED:
        return json.loads((ROOT / "paper_repro" / "results" / COMMITTED[tid]).read_text())
    if tid.startswith("stability."):
        return _stability(tid)
    from certify import certify

    model, train, test = trained("mlp")
    data = train if tid.startswith("norm") else test
    return certify(model, data, theorem=tid, delta="0.05", eps="0.05").to_dict()


def _stability(tid: str) -> dict[str, Any]:
    """Hardt et al.'s convex bound through the one assembler, on a recorded-looking schedule (exact inputs)."""
    import theorems
    from certify.pipeline import assemble, run_claim
    from certify.quantities.registry import Provided
    from theorems import enclose

    t = theorems.get(tid)
    values = {"n": "1000", "lipschitz": "1.5", "beta": "4", "max_step": "0.25", "sum_step": "12.5", "T": "50"}
    provided = {q.name: Provided(enclose(values[q.name]), "user", f"{q.name}={values[q.name]}")
                for q in t.quantities if q.name in values}
    return assemble(t, provided, context="model", claim=lambda r: run_claim(t, r, "0.05"), model={"sha256": "0" * 64},
                    data={"name": "schedule", "split": "train", "n": 1000, "sha256": "1" * 64},
                    delta={"total": "0.05", "split": [{"use": t.id, "delta": "0.05"}]}, options={}).to_dict()


def verdict(cert: Any) -> tuple[bool, str]:
    """``certify check CERT`` without files: the trusted core, then the registry step."""
    from certify.checker import check
    from certify.checker.recompute import registered

    r = check(cert)
    if r.ok:
        r = registered(cert)
    return r.ok, r.step


def _number(v: Any) -> Fraction | None:
    from theorems import parse_exact

    try:
        return parse_exact(v) if isinstance(v, str) and v.strip() else None
    except ValueError:
        return None


def _shift(v: Fraction, up: bool) -> str:
    step = abs(v) * REL if v else REL
    w = v + step if up else v - step
    return str(w) if w.denominator != 1 else str(w.numerator)


def mutations(cert: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Every single-field mutation ``(path, kind)`` of ``cert`` (see the module docstring)."""
    if isinstance(cert, dict):
        for k, v in cert.items():
            yield path + (k,), "delete"
            yield from mutations(v, path + (k,))
        return
    if isinstance(cert, list):
        if cert:
            yield path, "drop"
            yield path, "dup"
        for i, v in enumerate(cert):
            yield from mutations(v, path + (i,))
        return
    yield path, "type"
    if isinstance(cert, bool) or cert is None:
        return
    if isinstance(cert, int) or _number(cert) is not None:
        yield path, "up"
        yield path, "down"
    if isinstance(cert, str):
        yield path, "text"
        if path[-1] == "status":
            yield path, "assumed"


def apply(cert: dict[str, Any], path: tuple, kind: str) -> dict[str, Any]:
    """A deep copy of ``cert`` with the mutation applied."""
    c = copy.deepcopy(cert)
    parent = c
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1] if path else None
    v = parent[key]
    if kind == "delete":
        del parent[key]
    elif kind == "drop":
        v.pop()
    elif kind == "dup":
        v.append(copy.deepcopy(v[0]))
    elif kind == "type":
        parent[key] = [v]
    elif kind == "text":
        parent[key] = v + " (edited)" if v else "edited"
    elif kind == "assumed":
        parent[key] = "assumed"
    elif isinstance(v, int) and not isinstance(v, bool):
        parent[key] = v + (1 if kind == "up" else -1)
    else:
        parent[key] = _shift(_number(v), kind == "up")
    return c


def _at(cert: Any, path: tuple) -> Any:
    for key in path:
        cert = cert[key]
    return cert


def accepted_by_design(cert: dict[str, Any], path: tuple, kind: str) -> bool:
    """The edits the checker accepts by design (docs/certificate.rst lists the same, with the reasons)."""
    top = path[0] if path else ""
    if top in ("created", "environment", "reproduce", "extra", "options"):
        return True  # not part of the claim; options are replayed by --recompute
    if top in ("model", "data") and path != ("data", "n"):
        return True  # identification: checked against files by --model/--data and by --recompute
    if path == ("data", "n") and (kind == "delete" or (cert["inputs"].get("m") or {}).get("source") != "data"):
        return True  # the cross-check m == data.n is then not made (or there is none); m stays in the statement
    if kind == "delete" and _at(cert, path) in (None, [], {}):
        return True  # an empty field removed: the same content
    if top == "delta" and cert["theorem"].get("confidence_tree") is None and "delta" not in cert["inputs"]:
        return True  # a claim without a probability: the delta record is not part of it
    if top == "inputs" and len(path) == 3 and path[2] in ("detail", "source"):
        return True  # descriptions for people
    if top == "inputs" and len(path) == 3 and (path[2], kind) in (("lo_decimal", "down"), ("hi_decimal", "up"),
                                                                   ("lo_decimal", "delete"), ("hi_decimal", "delete")):
        return True  # the decimals shown to people, widened or left out (the checker reads the exact lo/hi)
    if top == "inputs" and len(path) == 3 and path[2] in ("lo", "hi") and kind in ("up", "down"):
        return True  # evidence widened (still proving the result) or narrowed (caught by --recompute)
    if top == "result" and (kind, path[1:]) in (("up", ("hi",)), ("up", ("hi_exact",)), ("down", ("lo",)),
                                                 ("down", ("lo_exact",)), ("delete", ("lo_exact",)),
                                                 ("delete", ("hi_exact",))):
        return True  # a wider claimed enclosure: weaker (the claim's words did not change)
    if top == "witnesses" and len(path) == 3 and (path[2], kind) in (("lo", "down"), ("hi", "up")):
        return True  # a wider bracket that still proves the result
    if top == "hypotheses" and path[-1] == "status" and kind == "assumed":
        return True  # claiming less was checked
    split = (cert.get("delta") or {}).get("split") or [{}]
    if path == ("delta", "split") and kind == "drop" and split[-1].get("use") != cert["theorem"]["id"]:
        return True  # another part of the budget left unrecorded: the claim still states the whole total
    if top == "delta" and len(path) == 4 and path[1] == "split":
        entry = cert["delta"]["split"][path[2]]
        if entry.get("use") != cert["theorem"]["id"] and (path[3] == "use" or kind == "down"):
            return True  # the label of another part of the budget; a part spending less than recorded
    return False
