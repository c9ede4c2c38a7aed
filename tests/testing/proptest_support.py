"""Shared settings of the theorems.testing suite (a uniquely named helper, not a conftest: several test folders
may have a conftest.py). Few hypothesis examples by default, many under ``-m slow``."""

from __future__ import annotations

import theorems

FAST_EXAMPLES = 12
SLOW_EXAMPLES = 200

ALL = theorems.all()
BOUNDS = tuple(t for t in ALL if t.kind == "bound")


def ids(ts):
    return [t.id for t in ts]
