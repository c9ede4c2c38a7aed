"""The banded Gram certificate of kernels._conv_banded against the explicit operator matrix (exact arithmetic).

The Gram band is compared with ``T^T T`` / ``T T^T`` of the operator built with torch conv2d (exact for 0/1 inputs),
computed exactly in rationals; the enclosures are checked with the exact rational decisions of tests.kernels.references.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kernels
from boundcert.errors import InvalidInput
from kernels._conv_banded import _plan, band_certifies, band_plan, gram_band
from kernels._conv_ops import geometry
from tests.kernels.references import _q, assert_contains_sigma, is_psd
from tests.kernels.test_conv import operator_matrix

torch = pytest.importorskip("torch")
flint = pytest.importorskip("flint")


def pixel_major(m: np.ndarray, c_in: int, c_out: int, hw: tuple[int, int], ohw: tuple[int, int]) -> np.ndarray:
    """Reorder the operator (rows c_out x oh x ow, columns c_in x h x w) to pixels outer, channels inner."""
    oh, ow = ohw
    h, w = hw
    m = m.reshape(c_out, oh * ow, c_in, h * w).transpose(1, 0, 3, 2)
    return m.reshape(oh * ow * c_out, h * w * c_in)


def exact_gram(t: np.ndarray, side: str) -> list[list[flint.fmpq]]:
    a = [[_q(x) for x in row] for row in (t if side == "output" else t.T)]
    return [[sum((x * y for x, y in zip(r, s)), flint.fmpq(0)) for s in a] for r in a]


def band_matrix(ab: np.ndarray) -> np.ndarray:
    kd1, n = ab.shape
    g = np.zeros((n, n))
    for d in range(kd1):
        idx = np.arange(n - d)
        g[idx + d, idx] = ab[d, :n - d]
    return g


@st.composite
def layers(draw):
    co, ci = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ks = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["zeros", "circular"]))
    pad = draw(st.integers(0, 2)) if mode == "zeros" else draw(st.integers(0, (ks - 1) // 2))
    stride = draw(st.integers(1, 3))
    n = draw(st.integers(max(ks, 2), 5))
    if mode == "circular" and stride * ((n + 2 * pad - ks) // stride) > n - 1:
        stride = 1
    ints = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    k = rng.integers(-3, 4, size=(co, ci, ks, ks)).astype(float) if ints else rng.standard_normal((co, ci, ks, ks))
    return k, n, stride, pad, mode


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers(), st.sampled_from(["input", "output"]))
def test_gram_band_is_the_operator_gram_within_its_error_bound(layer, side):
    k, n, stride, pad, mode = layer
    if mode == "circular":
        side = "input"
    g = geometry(k.shape, n, stride, pad, mode)
    plan = _plan(g, side)
    ab, err = gram_band(k, g, plan)
    t = pixel_major(operator_matrix(k, (n, n), stride, pad, mode, 1), g.c_in, g.c_out, (n, n), g.out_hw)
    exact = exact_gram(t, side)
    got = band_matrix(ab)
    n = plan.n
    d = [[_q(got[max(i, j), min(i, j)]) - exact[i][j] for j in range(n)] for i in range(n)]
    assert all(exact[i][j] == 0 for i in range(n) for j in range(n) if abs(i - j) > plan.kd)  # the band holds G
    e = _q(err)
    # ||dG||_2 <= err  <=>  err I - dG >= 0 and err I + dG >= 0, decided exactly
    assert is_psd([[(e if i == j else 0) - d[i][j] for j in range(n)] for i in range(n)])
    assert is_psd([[(e if i == j else 0) + d[i][j] for j in range(n)] for i in range(n)])
    if np.all(k == np.round(k)):  # integer kernels: every sum is exact
        assert all(x == 0 for row in d for x in row)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers())
def test_banded_enclosure_contains_the_top_singular_value(layer):
    k, n, stride, pad, mode = layer
    enc = kernels.conv_spectral_norm(k, n, stride=stride, padding=pad, padding_mode=mode, method="banded", rtol=1e-6)
    assert_contains_sigma(enc, operator_matrix(k, (n, n), stride, pad, mode, 1))


def test_band_certificate_is_decided_at_the_exact_top_eigenvalue():
    k = np.random.default_rng(3).integers(-3, 4, size=(2, 3, 3, 3)).astype(float)
    g = geometry(k.shape, 5, 1, 1, "zeros")
    plan = band_plan(g)
    ab, err = gram_band(k, g, plan)
    assert err > 0.0
    lam = float(np.linalg.eigvalsh(band_matrix(ab) + np.tril(band_matrix(ab), -1).T)[-1])
    assert band_certifies(ab, err, lam * (1 + 1e-9))
    assert not band_certifies(ab, err, lam * (1 - 1e-9))  # a certificate below lambda_max would be a bug
    assert not band_certifies(ab, err, 0.0)


@pytest.mark.parametrize("stride", [1, 2])
def test_zero_padding_now_reaches_the_requested_gap(stride):
    rng = np.random.default_rng(4)
    k = rng.standard_normal((8, 6, 3, 3))
    with pytest.warns(kernels.RtolNotReached):
        fourier = kernels.conv_spectral_norm(k, 12, stride=stride, padding=1, method="fourier", rtol=1e-6)
    enc = kernels.conv_spectral_norm(k, 12, stride=stride, padding=1, rtol=1e-6)
    assert "banded-gram" in enc.source and enc.rel_gap <= 1e-6 < fourier.rel_gap
    m = operator_matrix(k, (12, 12), stride, 1, "zeros", 1)
    s = np.linalg.svd(m, compute_uv=False)[0]
    err = 10 * max(m.shape) * 2.0**-53 * s
    assert enc.lo <= s + err and s - err <= enc.hi and enc.hi < fourier.hi


def test_auto_skips_a_band_over_budget_and_says_so(monkeypatch):
    import kernels._conv as conv

    monkeypatch.setattr(conv, "BANDED_MAX_BYTES", 1)
    k = np.random.default_rng(5).standard_normal((3, 3, 3, 3))
    with pytest.warns(kernels.RtolNotReached, match="method='banded'"):
        enc = kernels.conv_spectral_norm(k, 8, padding=1)
    assert "banded-gram" not in enc.source
    assert "banded-gram" in kernels.conv_spectral_norm(k, 8, padding=1, method="banded").source


def test_bad_method():
    with pytest.raises(InvalidInput, match="method="):
        kernels.conv_spectral_norm(np.ones((1, 1, 3, 3)), 5, method="dense")
