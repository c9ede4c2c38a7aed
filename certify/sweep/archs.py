"""Architectures of the zoo by name, for ``--arch certify.sweep.archs:mlp_64_32_32_10``.

A factory name ``mlp_<sizes joined by _>`` is the ReLU MLP with those layer sizes (input, hidden..., output),
built by the MLP builder of :mod:`certify.models.zoo`; the names are resolved on attribute access (PEP 562), so
every width and depth of a grid has an importable, argument-free factory without a file per architecture.
"""

from __future__ import annotations

from typing import Any, Callable

from boundcert.errors import InvalidInput

__all__ = ["mlp_arch", "mlp_sizes"]


def mlp_sizes(in_features: int, width: int, depth: int, classes: int) -> tuple[int, ...]:
    """Layer sizes of the zoo MLP: ``depth`` hidden layers of ``width`` units."""
    return (in_features, *([width] * depth), classes)


def mlp_arch(sizes: tuple[int, ...]) -> str:
    """The ``--arch`` string of the MLP with these layer sizes."""
    return f"certify.sweep.archs:mlp_{'_'.join(str(s) for s in sizes)}"


def __getattr__(name: str) -> Callable[[], Any]:
    if not name.startswith("mlp_"):
        raise AttributeError(name)
    parts = name[4:].split("_")
    if len(parts) < 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise InvalidInput(f"--arch factory {name!r} is not mlp_<sizes>: give e.g. mlp_64_32_10 (input, hidden..., "
                           "output)")
    sizes = tuple(int(p) for p in parts)

    def factory() -> Any:
        from certify.models.zoo import _mlp

        return _mlp(sizes)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"ReLU MLP {'-'.join(parts)}."
    return factory
