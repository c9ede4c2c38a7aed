"""Typed options of ``certify robust``: recorded in the certificate's ``"options"`` (kind ``"robust"``) and replayed
by ``certify check --recompute``. Decimal strings are taken exactly (``eps`` enclosed, rounded up to a float for the
kernel: a larger ball is sound; the domain's ends rounded outward)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from boundcert.errors import InvalidInput
from theorems import enclose

__all__ = ["RobustOptions", "METHODS", "NORMS"]

METHODS = ("ibp", "crown", "alpha-crown")
NORMS = ("linf", "l2")


def _float_up(text: str, name: str) -> float:
    hi = enclose(text, name=name).hi
    f = float(hi)
    return f if enclose(repr(f)).lo >= hi else float(np.nextafter(f, np.inf))


def _float_down(text: str, name: str) -> float:
    lo = enclose(text, name=name).lo
    f = float(lo)
    return f if enclose(repr(f)).hi <= lo else float(np.nextafter(f, -np.inf))


@dataclass(frozen=True, slots=True)
class RobustOptions:
    """``eps`` radius (decimal), ``norm`` linf|l2, ``method`` ibp|crown|alpha-crown, ``delta`` of the test-set bound,
    ``domain`` ``"LO,HI"`` or ``"none"`` (the input box the ball is intersected with), the PGD attack's ``steps``,
    ``restarts`` and ``seed``, ``n`` (the first n examples; ``None``: all), ``float32`` (also bound the float32
    execution)."""

    eps: str
    norm: str = "linf"
    method: str = "crown"
    delta: str = "0.05"
    domain: str = "0,1"
    attack_steps: int = 20
    attack_restarts: int = 1
    attack_seed: int = 0
    n: int | None = None
    float32: bool = True

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise InvalidInput(f"--norm {self.norm!r}: one of {', '.join(NORMS)}")
        if self.method not in METHODS:
            raise InvalidInput(f"--method {self.method!r}: one of {', '.join(METHODS)}")
        e = enclose(str(self.eps), name="eps")
        if not e.lo >= 0:
            raise InvalidInput(f"--eps {self.eps}: the radius must be >= 0, e.g. --eps 0.01")
        d = enclose(str(self.delta), name="delta")
        if not (d.lo > 0 and d.hi < 1):
            raise InvalidInput(f"--delta {self.delta}: must lie strictly between 0 and 1, e.g. --delta 0.05")
        self.domain_bounds()
        for name, v, lo in (("--attack-steps", self.attack_steps, 0), ("--attack-restarts", self.attack_restarts, 1)):
            if not isinstance(v, int) or v < lo:
                raise InvalidInput(f"{name} {v!r}: an integer >= {lo}")
        if self.n is not None and (not isinstance(self.n, int) or self.n < 1):
            raise InvalidInput(f"--n {self.n!r}: a positive number of examples, or leave it out")

    @property
    def eps_float(self) -> float:
        """A float >= the decimal radius."""
        return _float_up(str(self.eps), "eps")

    def domain_bounds(self) -> tuple[float | None, float | None]:
        """The domain's float ends (rounded outward), ``(None, None)`` for ``"none"``."""
        if self.domain.strip().lower() == "none":
            return None, None
        parts = self.domain.split(",")
        if len(parts) != 2:
            raise InvalidInput(f"--domain {self.domain!r}: give LO,HI (e.g. 0,1) or none")
        lo, hi = _float_down(parts[0].strip(), "domain"), _float_up(parts[1].strip(), "domain")
        if not lo <= hi:
            raise InvalidInput(f"--domain {self.domain!r}: LO must be <= HI")
        return lo, hi

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "robust", **asdict(self)}
