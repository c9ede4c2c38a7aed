"""Small builders for mechanical hypothesis checks on enclosed inputs (``True`` only when proven)."""

from __future__ import annotations

from typing import Callable, Mapping

from theorems._interval import Interval, enclose

__all__ = ["le", "ge", "at_least"]

Check = Callable[[Mapping[str, Interval]], bool]


def le(a: str, b: str) -> Check:
    """``values[a] <= values[b]`` for certain."""
    return lambda v: bool(v[a] <= v[b]) if a in v and b in v else False


def ge(a: str, b: str) -> Check:
    """``values[a] >= values[b]`` for certain."""
    return lambda v: bool(v[a] >= v[b]) if a in v and b in v else False


def at_least(a: str, bound: int | str) -> Check:
    """``values[a] >= bound`` for certain."""
    return lambda v: bool(v[a] >= enclose(bound)) if a in v else False
