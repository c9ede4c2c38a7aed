"""``certify.check``: the whole check from Python, as ``certify check`` runs it: the trusted core
(:mod:`certify.checker.core`, standard library + mpmath), then the registry step (the certificate states the
registered theorem, its relation and hypotheses), then with ``recompute=True`` the replay of its options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from boundcert.errors import InvalidInput
from certify.checker.core import CheckResult, check as core_check

__all__ = ["check"]


def check(cert: Any, *, model: str | None = None, data: str | None = None, recompute: bool = False,
          arch: str | None = None) -> CheckResult:
    """Check ``cert`` (a path, a JSON dict, or a :class:`~certify.certificate.Certificate`).

    ``model``/``data`` are files whose sha256 must match the recorded ones; ``recompute`` re-derives every input
    (needs the certificate as a file: the files it names are read beside it).
    """
    from certify.checker.recompute import recompute as replay
    from certify.checker.recompute import registered

    if hasattr(cert, "to_dict"):
        cert = cert.to_dict()
    res = core_check(cert, model=model, data=data)
    if not res.ok:
        return res
    record: Mapping[str, Any] = cert if isinstance(cert, Mapping) else json.loads(Path(cert).read_text())
    res = registered(record)
    if res.ok and recompute:
        if isinstance(cert, Mapping):
            raise InvalidInput("recompute=True needs the certificate as a file (the files it names are read beside "
                               "it): save it and pass the path")
        res = replay(str(cert), model=model, data=data, arch=arch)
    return res
