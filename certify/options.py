"""Typed run options: every option that changes a certified number is a field here, is written into the certificate
(``"options"``) and is replayed by ``certify check --recompute``.

``RunOptions`` are the options of ``certify run`` / :func:`certify.certify`; ``certify optimize`` and ``certify
compress`` record their configuration (:class:`certify.training.pacbayes.PacBayesConfig`,
:class:`certify.training.compress.CompressionConfig`) the same way, with the data they read (:class:`DataSpec`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from boundcert.errors import InvalidInput
from theorems import enclose

__all__ = ["RunOptions", "DataSpec", "options_from"]

DEFAULT_EPS = "0.1"


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Options of one ``certify run``: the confidence ``delta``, the l2 radius ``eps`` of the robustness bounds and
    the margin of the norm bounds (``None``: chosen among quantiles of the certified margins; the margin actually
    used is the certificate's ``margin`` input). Decimal strings, taken exactly."""

    delta: str = "0.05"
    eps: str = DEFAULT_EPS
    margin: str | None = None

    def __post_init__(self) -> None:
        d = enclose(str(self.delta), name="delta")
        if not (d.lo > 0 and d.hi < 1):
            raise InvalidInput(f"delta={self.delta} must lie strictly between 0 and 1: give e.g. --delta 0.05")
        e = enclose(str(self.eps), name="eps")
        if not e.lo >= 0:
            raise InvalidInput(f"eps={self.eps} must be >= 0: give the l2 radius, e.g. --eps 0.1")
        if self.margin is not None and not enclose(str(self.margin), name="margin").lo > 0:
            raise InvalidInput(f"margin={self.margin} must be > 0: give e.g. --margin 1, or leave it out")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "run", **asdict(self)}


@dataclass(frozen=True, slots=True)
class DataSpec:
    """The built-in data a PAC-Bayes or compression run read: name, the ``label > 4`` relabelling, and the first
    ``n_train`` / ``n_test`` examples of each split (``None``: all)."""

    name: str
    binary: bool = False
    n_train: int | None = None
    n_test: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def options_from(record: Mapping[str, Any], cls: type, what: str) -> Any:
    """Rebuild the dataclass ``cls`` from a certificate's recorded options (unknown or missing fields refused)."""
    if not isinstance(record, Mapping):
        raise InvalidInput(f"the certificate's {what} options are not an object: re-run the certification")
    names = {f.name for f in fields(cls)}
    values = {k: v for k, v in record.items() if k != "kind"}
    unknown = sorted(set(values) - names)
    if unknown:
        raise InvalidInput(f"the certificate's {what} options have unknown fields {unknown}: re-run the certification "
                           "with this version of boundcert")
    try:
        return cls(**values)
    except TypeError as exc:
        raise InvalidInput(f"the certificate's {what} options do not fit ({exc}): re-run the certification") from None
