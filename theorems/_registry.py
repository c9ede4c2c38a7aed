"""The theorem registry: every Theorem object, by id."""

from __future__ import annotations

import difflib

from boundcert.errors import InvalidInput
from theorems._theorem import Theorem

__all__ = ["register", "get", "all_theorems", "ids"]

_REGISTRY: dict[str, Theorem] = {}


def register(theorem: Theorem) -> Theorem:
    """Add ``theorem`` to the registry (ids are unique) and return it."""
    if theorem.id in _REGISTRY and _REGISTRY[theorem.id] is not theorem:
        raise ValueError(f"theorem id {theorem.id!r} is registered twice")
    _REGISTRY[theorem.id] = theorem
    return theorem


def get(theorem_id: str) -> Theorem:
    """The registered theorem ``theorem_id``.

    Raises:
        InvalidInput: no such id (the message suggests close ones).
    """
    try:
        return _REGISTRY[theorem_id]
    except KeyError:
        close = difflib.get_close_matches(str(theorem_id), list(_REGISTRY), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "run `certify theorems list` for the ids"
        raise InvalidInput(f"unknown theorem id={theorem_id!r}: {hint}") from None


def all_theorems() -> tuple[Theorem, ...]:
    """Every registered theorem, sorted by id."""
    return tuple(_REGISTRY[k] for k in sorted(_REGISTRY))


def ids() -> tuple[str, ...]:
    """Every registered id, sorted."""
    return tuple(sorted(_REGISTRY))
