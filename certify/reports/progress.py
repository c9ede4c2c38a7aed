"""One progress-bar helper for every long loop: tqdm on stderr that steps aside when nobody is watching.

Use it instead of calling ``tqdm`` directly::

    from certify.reports.progress import progress

    for item in progress(items, desc="layers", enabled=show_progress):
        ...

* ``enabled=False`` (e.g. ``--quiet``, ``--json``, or a loop of one item): no bar at all.
* ``enabled=True``: tqdm's ``disable=None`` semantics: the bar is drawn only when **stderr is a terminal**; piped or
  redirected output (``2>&1 | tee log``, CI logs, subprocesses) gets no carriage-return redraws. Set the environment
  variable ``BOUNDCERT_PROGRESS=0`` to turn every bar off, ``=1`` to force them on (e.g. in a notebook or for a
  terminal tqdm cannot detect).
* Bars are transient (``leave=False``) and write to ``sys.stderr`` as it is when the loop starts, so stdout stays
  machine-readable.
* The result is a ``tqdm`` object in every case (a disabled one costs nothing), so ``bar.set_postfix(loss=...)``
  and ``bar.write(...)`` work whether or not the bar is drawn: a training loop can adopt it unchanged.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Iterable, TypeVar

__all__ = ["progress", "progress_enabled"]

T = TypeVar("T")


def progress_enabled(enabled: bool = True) -> bool | None:
    """tqdm's ``disable`` value for a bar the caller wants ``enabled``: ``True`` (off), ``None`` (on if stderr is a
    terminal) or ``False`` (forced on by ``BOUNDCERT_PROGRESS=1``)."""
    env = os.environ.get("BOUNDCERT_PROGRESS", "").strip().lower()
    if not enabled or env in ("0", "false", "no", "off"):
        return True
    if env in ("1", "true", "yes", "on"):
        return False
    return None


def progress(iterable: Iterable[T], *, desc: str | None = None, total: int | None = None, enabled: bool = True,
             unit: str = "it") -> Any:
    """``iterable`` wrapped in a ``tqdm`` bar on stderr (see the module docstring for when it is drawn).

    Args:
        iterable: what the loop runs over.
        desc: the bar's label, e.g. ``"theorems"``.
        total: its length when ``len(iterable)`` does not give it.
        enabled: the caller's switch (``False``: no bar whatever the terminal).
        unit: what one step is called.
    """
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, disable=progress_enabled(enabled), leave=False,
                file=sys.stderr, dynamic_ncols=True)
