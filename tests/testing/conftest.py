"""Shared settings of the theorems.testing suite: few hypothesis examples by default, many under ``-m slow``."""

from __future__ import annotations

import pytest
import theorems

FAST_EXAMPLES = 12
SLOW_EXAMPLES = 200

ALL = theorems.all()
BOUNDS = tuple(t for t in ALL if t.kind == "bound")


def ids(ts):
    return [t.id for t in ts]


@pytest.fixture(params=ALL, ids=ids(ALL))
def theorem(request):
    return request.param
