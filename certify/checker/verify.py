"""``certify.check``: the whole check from Python, as ``certify check`` runs it: the trusted core
(:mod:`certify.checker.core`, standard library + mpmath), then the registry step (the certificate states the
registered theorem, its relation and hypotheses), then with ``recompute=True`` the replay of its options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from boundcert.errors import InvalidInput
from certify.checker.core import CheckResult, check as core_check

__all__ = ["check", "names_dataset"]


def check(cert: Any, *, model: str | None = None, data: str | None = None, recompute: bool = False,
          arch: str | None = None) -> CheckResult:
    """Check ``cert`` (a path, a JSON dict, or a :class:`~certify.certificate.Certificate`).

    ``model``/``data`` are files whose sha256 must match the recorded ones (``data`` may instead name a built-in
    dataset, ``NAME[:train|:test]``: its canonical dataset hash must then equal ``data.sha256``); ``recompute``
    re-derives every input (needs the certificate as a file: the files it names are read beside it).
    """
    from certify.checker.recompute import recompute as replay
    from certify.checker.recompute import registered

    if hasattr(cert, "to_dict"):
        cert = cert.to_dict()
    builtin = data is not None and names_dataset(data)
    res = core_check(cert, model=model, data=None if builtin else data)
    if not res.ok:
        return res
    record: Mapping[str, Any] = cert if isinstance(cert, Mapping) else json.loads(Path(cert).read_text())
    if builtin:
        res = _builtin_matches(record, str(data))
        if not res.ok:
            return res
    res = registered(record)
    if res.ok and recompute:
        if isinstance(cert, Mapping):
            raise InvalidInput("recompute=True needs the certificate as a file (the files it names are read beside "
                               "it): save it and pass the path")
        res = replay(str(cert), model=model, data=data, arch=arch)
    return res


def names_dataset(data: str) -> bool:
    """Whether ``--data`` names a dataset specification (a built-in ``NAME[:split]`` or ``idx:DIR``) rather than a
    file: no such path exists and it has a ``:`` or is a built-in name."""
    from certify.data.builtins import BUILTINS

    return not Path(data).exists() and (":" in data or data in BUILTINS)


def _builtin_matches(record: Mapping[str, Any], spec: str) -> CheckResult:
    """A built-in dataset (or ``idx:DIR``) given as ``--data``: loaded by the library (not by the trusted core, which
    reads files only) and compared by its canonical dataset hash with the certificate's ``data.sha256``."""
    from certify.data import load_data

    want = (record.get("data") or {}).get("sha256")
    if want is None:
        return CheckResult(False, f"--data {spec!r} given but the certificate records no data.sha256")
    if load_data(spec).sha256 != want:
        return CheckResult(False, f"the dataset hash of built-in {spec!r} is not data.sha256")
    return CheckResult(True)
