"""Soundness of kernels.spectral_norm: zero-tolerance containment against arb at 256 bits."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import kernels
from boundcert.errors import InvalidInput
from tests.kernels.families import FAMILIES, adversarial_matrices, make
from tests.kernels.references import assert_contains_sigma


def _quiet(w, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kernels.RtolNotReached)
        return kernels.spectral_norm(w, **kw)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(adversarial_matrices())
def test_spectral_norm_contains_sigma_max(w):
    assert_contains_sigma(_quiet(w), w)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(adversarial_matrices(max_dim=8))
def test_spectral_norm_contains_sigma_max_slow(w):
    assert_contains_sigma(_quiet(w), w)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (7, 5), (5, 7)])
def test_every_family_and_shape(family, shape):
    w = make(family, *shape, seed=hash((family, shape)) % 2**32)
    assert_contains_sigma(_quiet(w), w)


@pytest.mark.parametrize("family", ["gaussian", "low_rank", "rank1", "cond1e12", "clustered", "tiny", "huge"])
@pytest.mark.parametrize("shape", [(120, 80), (300, 310)])
def test_larger_sizes_against_svd_with_its_error_bound(family, shape):
    w = make(family, *shape, seed=7)
    enc = kernels.spectral_norm(w)
    scale = 2.0 ** -np.frexp(np.max(np.abs(w)))[1] if np.any(w) else 1.0
    s = np.linalg.svd(w * scale, compute_uv=False)[0]  # exact power-of-two scaling
    # LAPACK's backward-stable SVD: |s~ - s| <= c max(m,n) u ||W||_2; c = 10 is generous
    err = 10 * max(shape) * 2.0**-53 * s + 1e-300
    assert enc.lo * scale <= s + err
    assert enc.hi * scale >= s - err
    assert enc.rel_gap <= 1e-6


def test_rtol_is_reached_and_respected():
    w = np.random.default_rng(3).standard_normal((200, 150))
    for rtol in (1e-3, 1e-6, 1e-9):
        enc = kernels.spectral_norm(w, rtol=rtol)
        assert enc.rel_gap <= rtol
        s = np.linalg.svd(w, compute_uv=False)[0]
        err = 10 * 200 * 2.0**-53 * s
        assert enc.lo <= s + err and enc.hi >= s - err


def test_float32_and_torch_inputs_are_taken_exactly():
    torch = pytest.importorskip("torch")
    w32 = np.random.default_rng(4).standard_normal((6, 5)).astype(np.float32)
    for w in (w32, torch.from_numpy(w32), torch.from_numpy(w32).to(torch.bfloat16)):
        enc = kernels.spectral_norm(w)
        ref = w.float().numpy() if isinstance(w, torch.Tensor) else w
        assert_contains_sigma(enc, np.asarray(ref, dtype=np.float64))


def test_zero_and_empty_are_exact():
    assert kernels.spectral_norm(np.zeros((4, 3))) == kernels.Enclosure(0.0, 0.0, kernels.spectral_norm(np.zeros((1, 1))).source)
    assert kernels.spectral_norm(np.zeros((0, 3))).hi == 0.0


@pytest.mark.parametrize("bad, msg", [
    (np.array([[1.0, np.nan]]), "NaN"),
    (np.ones((2, 2, 2)), "2-D"),
    (np.ones((2, 2), dtype=np.int64), "dtype"),
])
def test_bad_inputs_are_refused(bad, msg):
    with pytest.raises(InvalidInput, match=msg):
        kernels.spectral_norm(bad)


def test_device_and_rtol_arguments():
    w = np.eye(3)
    assert kernels.spectral_norm(w, device="cpu").hi >= 1.0
    with pytest.raises(InvalidInput, match="cuda"):
        kernels.spectral_norm(w, device="cuda")
    with pytest.raises(InvalidInput, match="device"):
        kernels.spectral_norm(w, device="tpu")
    with pytest.raises(InvalidInput, match="rtol"):
        kernels.spectral_norm(w, rtol=0.0)


def test_estimate_is_a_plain_float():
    w = np.random.default_rng(5).standard_normal((30, 20))
    est = kernels.spectral_norm_estimate(w)
    assert isinstance(est, float)
    enc = kernels.spectral_norm(w)
    assert est <= enc.hi  # a Rayleigh-type estimate never exceeds sigma_max beyond rounding


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(adversarial_matrices())
def test_spectral_norm_and_esd_is_both_kernels_at_once(w):
    """One Gram for both: the enclosure is spectral_norm's (and contains sigma_max), the eigenvalues are esd's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kernels.RtolNotReached)
        warnings.simplefilter("ignore", RuntimeWarning)  # eigenvalues of huge matrices overflow to inf, as in esd
        enc, lam = kernels.spectral_norm_and_esd(w)
        ref = kernels.esd(w)
    assert enc == _quiet(w)
    assert np.array_equal(lam, ref)
    assert_contains_sigma(enc, w)
