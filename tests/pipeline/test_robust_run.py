"""`certify run --theorem robust.*` counts an example as certified when the Lipschitz margin criterion or CROWN
proves it (the tightest sound method per example) and says which certified how many; the count is that union."""

from __future__ import annotations

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pipeline_support import trained  # noqa: E402

import kernels  # noqa: E402
from certify import certify  # noqa: E402
from certify.models import load_model  # noqa: E402
from kernels.bounds import InputSet  # noqa: E402


def test_robust_count_is_the_union_of_lipschitz_and_crown():
    model, _, test = trained("mlp")
    cert = certify(model, (test.x, test.y), theorem="robust.certified_accuracy", eps="0.1")
    detail = {r.name: r for r in cert.inputs}["n_certified"].detail
    lip, crown, either = map(int, re.search(r"Lipschitz certifies (\d+), CROWN (\d+), either (\d+)", detail).groups())
    direct = kernels.margin_bounds(load_model(model).graph, test.x, test.y, InputSet("l2", 0.1, lo=None, hi=None))
    assert crown == int(np.sum(direct.verified))
    n = int(cert.inputs[[r.name for r in cert.inputs].index("n_certified")].value.lo)
    assert n == either >= max(lip, crown) and either <= lip + crown
    assert crown > lip  # CROWN is the tighter method on this MLP at this radius
