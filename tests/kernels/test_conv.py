"""kernels.conv_spectral_norm against the explicit operator matrix built with torch conv2d (float64)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kernels
from boundcert.errors import InvalidInput
from tests.kernels.references import assert_contains_sigma

torch = pytest.importorskip("torch")
F = torch.nn.functional


def operator_matrix(k, hw, stride, padding, mode, dilation) -> np.ndarray:
    """Columns = conv2d applied to each basis input; torch's float64 conv of a 0/1 basis vector is exact
    (each output is a single product k * 1 plus exact zeros)."""
    co, ci = k.shape[:2]
    h, w = hw
    eye = torch.eye(ci * h * w, dtype=torch.float64).reshape(-1, ci, h, w)
    if mode == "circular" and padding:
        eye = F.pad(eye, (padding,) * 4, mode="circular")
        padding = 0
    y = F.conv2d(eye, torch.from_numpy(np.ascontiguousarray(k, dtype=np.float64)), stride=stride,
                 padding=padding, dilation=dilation)
    return y.reshape(ci * h * w, -1).T.numpy()


def _enc(k, hw, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kernels.RtolNotReached)
        return kernels.conv_spectral_norm(k, hw, **kw)


@st.composite
def conv_cases(draw):
    co, ci = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ks = draw(st.integers(1, 3))
    dil = draw(st.integers(1, 2))
    keff = dil * (ks - 1) + 1
    mode = draw(st.sampled_from(["zeros", "circular"]))
    pad = draw(st.integers(0, (keff - 1) // 2)) if mode == "circular" else draw(st.integers(0, 2))
    stride = draw(st.integers(1, 2))
    n = draw(st.integers(max(keff, 2), 6))
    fam = draw(st.sampled_from(["gauss", "int", "tiny", "huge", "rank1"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    k = rng.standard_normal((co, ci, ks, ks))
    if fam == "int":
        k = rng.integers(-2, 3, size=k.shape).astype(float)
    elif fam == "tiny":
        k *= 1e-30
    elif fam == "huge":
        k *= 1e30
    elif fam == "rank1":
        k = np.einsum("o,i,a,b->oiab", *(rng.standard_normal(s) for s in k.shape))
    return k, (n, n), dict(stride=stride, padding=pad, padding_mode=mode, dilation=dil)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_cases())
def test_contains_top_singular_value_of_explicit_operator(case):
    k, hw, kw = case
    enc = _enc(k, hw, **kw)
    m = operator_matrix(k, hw, kw["stride"], kw["padding"], kw["padding_mode"], kw["dilation"])
    if min(m.shape) <= 8:
        assert_contains_sigma(enc, m)  # exact rational decision
    else:
        s = np.linalg.svd(m, compute_uv=False)[0]
        err = 10 * max(m.shape) * 2.0**-53 * s
        assert enc.lo <= s + err and s - err <= enc.hi


@pytest.mark.parametrize("mode, pad", [("circular", 1), ("zeros", 1)])
@pytest.mark.parametrize("stride", [1, 2])
def test_fixed_cases_and_gap(mode, pad, stride):
    k = np.random.default_rng(11).standard_normal((4, 3, 3, 3))
    enc = kernels.conv_spectral_norm(k, (8, 8), stride=stride, padding=pad, padding_mode=mode, rtol=1e-6) \
        if mode == "circular" else _enc(k, (8, 8), stride=stride, padding=pad, padding_mode=mode)
    m = operator_matrix(k, (8, 8), stride, pad, mode, 1)
    s = np.linalg.svd(m, compute_uv=False)[0]
    err = 10 * max(m.shape) * 2.0**-53 * s
    assert enc.lo <= s + err and s - err <= enc.hi
    if mode == "circular":  # the Fourier form is the layer itself: the gap closes to rtol
        assert enc.rel_gap <= 1e-6


def test_circular_norm_on_n_is_not_a_zero_padding_bound_but_ours_is():
    # taps (1, -1), n = 5: the counterexample of docs/references.rst (sedghi2019). With padding=0, as here, the
    # layer's norm equals the circular one on n (1.9021); it exceeds it with padding 1 (1.9319).
    k = np.array([1.0, -1.0]).reshape(1, 1, 1, 2)
    m = operator_matrix(k, (1, 5), 1, 0, "zeros", 1)
    s = np.linalg.svd(m, compute_uv=False)[0]
    enc = _enc(k, (1, 5), padding=0, padding_mode="zeros")
    assert enc.lo <= s <= enc.hi


def test_torch_weight_and_estimates():
    k = torch.randn(3, 2, 3, 3, generator=torch.Generator().manual_seed(0))
    enc = kernels.conv_spectral_norm(k, 6, padding=1, padding_mode="circular")
    for method in ("power", "fft"):
        est = kernels.conv_spectral_norm_estimate(k, 6, padding=1, padding_mode="circular", method=method)
        assert isinstance(est, float) and enc.lo * (1 - 1e-9) <= est <= enc.hi * (1 + 1e-9)
    assert isinstance(kernels.conv_spectral_norm_estimate(k, 6, method="reshape"), float)


def test_zero_kernel_and_bad_inputs():
    assert kernels.conv_spectral_norm(np.zeros((2, 2, 3, 3)), 5).hi == 0.0
    with pytest.raises(InvalidInput, match="padding_mode"):
        kernels.conv_spectral_norm(np.ones((1, 1, 3, 3)), 5, padding_mode="reflect")
    with pytest.raises(InvalidInput, match="input_hw"):
        kernels.conv_spectral_norm(np.ones((1, 1, 3, 3)), 2)
    with pytest.raises(InvalidInput, match="weight"):
        kernels.conv_spectral_norm(np.ones((3, 3)), 5)
    with pytest.raises(InvalidInput, match="cuda"):
        kernels.conv_spectral_norm(np.ones((1, 1, 3, 3)), 5, device="cuda")


@pytest.mark.parametrize("mode", ["circular", "zeros"])
def test_chunked_frequencies_give_a_sound_enclosure(mode, monkeypatch):
    import kernels._conv as conv

    k = np.random.default_rng(12).standard_normal((3, 2, 3, 3))
    whole = _enc(k, (6, 6), padding=1, padding_mode=mode, stride=2)
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)  # one block per chunk
    assert len(conv._chunks(k, conv.geometry(k.shape, 6, 2, 1, mode))) > 1
    chunked = _enc(k, (6, 6), padding=1, padding_mode=mode, stride=2)
    m = operator_matrix(k, (6, 6), 2, 1, mode, 1)
    s = np.linalg.svd(m, compute_uv=False)[0]
    err = 10 * max(m.shape) * 2.0**-53 * s
    for enc in (whole, chunked):
        assert enc.lo <= s + err and s - err <= enc.hi
    assert abs(chunked.hi - whole.hi) <= 1e-12 * whole.hi  # same alpha up to the estimate's last bits


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_cases())
def test_contains_top_singular_value_of_explicit_operator_slow(case):
    test_contains_top_singular_value_of_explicit_operator.hypothesis.inner_test(case)
