"""The torch side of the landscape: the flatness certificate's KL against exact Fractions, filter normalisation,
the linear path, the bisection of the sharpness searches, the Hutchinson interval on diagonal matrices (property)."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boundcert.errors import InvalidInput
from certify.landscape import (
    FlatnessOptions, filter_normalized_direction, flat_model, largest_scale, layer_blocks, linear_path,
)
from kernels import hutchinson_trace


@settings(max_examples=30)
@given(diag=st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=64), min_size=1, max_size=12),
       delta=st.floats(1e-6, 0.9), seed=st.integers(0, 1000))
def test_diagonal_trace_always_inside(diag, delta, seed):
    """v^T D v = tr D for every sign vector: the interval must contain the exact trace whatever the draws."""
    D = np.diag(np.asarray(diag, dtype=np.float64))
    exact = sum((Fraction(v) for v in diag), Fraction(0))
    n = int(6 * np.log(2 / delta)) + 2
    t = hutchinson_trace(D, n_samples=n, delta=delta, seed=seed)
    assert Fraction(t.lo) <= exact <= Fraction(t.hi)


def test_flatness_kl_is_exact(tiny, tmp_path, capsys):
    from certify.cli import main

    out = tmp_path / "c"
    assert main(["landscape", str(tiny["model"]), "--data", str(tiny["data"]), "--flatness-certificate",
                 "--sigmas", "0.3,0.03", "--mc-passes", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    cert = json.loads((out / "certificate.json").read_text())
    sigma = Fraction(cert["extra"]["flatness"]["sigma"])
    w = flat_model(tiny["net"], tiny["x"][:1], tiny["y"][:1], dtype="float32").numpy_w()
    exact = sum((Fraction(float(v)) ** 2 for v in w), Fraction(0)) / (2 * sigma * sigma)  # prior mean zero
    from theorems import parse_exact

    kl = cert["inputs"]["kl"]
    assert parse_exact(kl["lo"]) <= exact <= parse_exact(kl["hi"])
    assert parse_exact(cert["inputs"]["m"]["lo"]) == parse_exact(cert["inputs"]["m"]["hi"]) == len(tiny["y"])
    assert [h["status"] for h in cert["hypotheses"]][1:] == ["assumed"] * 3  # prior, i.i.d., 0-1 loss: as stated


def test_filter_normalisation(tiny):
    import torch

    fm = flat_model(tiny["net"], tiny["x"], tiny["y"], dtype="float32")
    d = filter_normalized_direction(fm, seed=3)
    parts_d, parts_w = fm.split(d), fm.split(fm.w)
    for name, shape in zip(fm.names, fm.shapes):
        if len(shape) == 1:
            assert torch.count_nonzero(parts_d[name]) == 0  # biases do not move
        else:
            torch.testing.assert_close(parts_d[name].norm(dim=1), parts_w[name].norm(dim=1), rtol=1e-5, atol=0)
    assert layer_blocks(fm.names, fm.shapes) == {"0": (0, 30), "2": (30, 51)}


def test_linear_path_to_itself_has_no_barrier(tiny):
    p = linear_path(tiny["net"], tiny["net"], tiny["x"], tiny["y"], n=5)
    assert p.loss_barrier_estimate == pytest.approx(0.0, abs=1e-6) and len(set(np.round(p.loss, 6))) == 1


def test_linear_path_refuses_other_architectures(tiny):
    import torch

    with pytest.raises(InvalidInput, match="different parameters"):
        linear_path(tiny["net"], torch.nn.Sequential(torch.nn.Linear(4, 3)), tiny["x"], tiny["y"])


@given(threshold=st.floats(1e-4, 5.0))
def test_largest_scale_bisects_a_monotone_increase(threshold):
    s = largest_scale(lambda v: v - threshold, 0.0, 1e-5, 10.0, n_bisect=30)
    assert s <= threshold * (1 + 1e-6) or s == 1e-5
    assert s >= min(threshold, 10.0) * (1 - 1e-6) or threshold < 1e-5


@pytest.mark.parametrize("kw, words", [
    ({"delta": "0"}, "delta"), ({"delta_mc": "1"}, "delta_mc"), ({"sigmas": ()}, "empty"),
    ({"target": "2"}, "target"), ({"mc_passes": 0}, "mc_passes"), ({"prior_mean": "mean"}, "prior_mean"),
])
def test_flatness_options_refused(kw, words):
    with pytest.raises(InvalidInput, match=words):
        FlatnessOptions(**kw)


def test_delta_share_of_the_grid():
    assert FlatnessOptions(delta="0.05", sigmas=("1", "0.1", "0.01", "0.001")).delta_each() == Fraction(1, 80)
