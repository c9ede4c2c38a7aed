"""Every refusal of a kernel is an InvalidInput (one line, naming the argument); bounds that overflow are infinite.

The arguments below are the kinds a user gets wrong: ragged lists, objects that are not arrays, arrays given where an
option name is expected, seeds and counts of the wrong type. None of them may escape as a plain ValueError,
TypeError, IndexError or OverflowError.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import kernels
from boundcert.errors import InvalidInput

RAGGED = [[1.0], [2.0, 3.0]]
ARRAY_OPTION = np.zeros((2, 2))
X = np.random.default_rng(0).random((60, 2))
LAYERS = [kernels.DenseLayer(np.eye(2))]

CALLS = {
    "spectral_norm(ragged)": lambda: kernels.spectral_norm(RAGGED),
    "spectral_norm_estimate(iters='a')": lambda: kernels.spectral_norm_estimate(np.eye(2), iters="a"),
    "conv_spectral_norm(method=array)": lambda: kernels.conv_spectral_norm(np.ones((1, 1, 2, 2)), 4, method=ARRAY_OPTION),
    "conv_spectral_norm(padding_mode=array)": lambda: kernels.conv_spectral_norm(
        np.ones((1, 1, 2, 2)), 4, padding_mode=ARRAY_OPTION),
    "conv_spectral_norm_estimate(method=array)": lambda: kernels.conv_spectral_norm_estimate(
        np.ones((1, 1, 2, 2)), 4, method=ARRAY_OPTION),
    "norm_21(over=array)": lambda: kernels.norm_21(np.eye(2), over=ARRAY_OPTION),
    "distance_to_init(norm=array)": lambda: kernels.distance_to_init(np.eye(2), np.eye(2), norm=ARRAY_OPTION),
    "frobenius_norm(device=array)": lambda: kernels.frobenius_norm(np.eye(2), device=ARRAY_OPTION),
    "gaussian_kl_sums(ragged)": lambda: kernels.gaussian_kl_sums(RAGGED, np.ones(2), np.ones(2)),
    "gaussian_kl_sums(int dtype)": lambda: kernels.gaussian_kl_sums(np.ones(2, dtype=int), np.ones(2), np.ones(2)),
    "mst_length(ragged)": lambda: kernels.mst_length(RAGGED),
    "ph_dim(seed='x')": lambda: kernels.ph_dim(X, n_min=10, step=10, seed="x"),
    "ph_dim(seed=-1)": lambda: kernels.ph_dim(X, n_min=10, step=10, seed=-1),
    "ph_dim(sampling=array)": lambda: kernels.ph_dim(X, n_min=10, step=10, sampling=ARRAY_OPTION),
    "bg_tail_index_estimate(block_sizes=['a'])": lambda: kernels.bg_tail_index_estimate(X[:, 0], block_sizes=["a"]),
    "bg_tail_index_estimate(block_sizes=5)": lambda: kernels.bg_tail_index_estimate(X[:, 0], block_sizes=5),
    "trajectory_tail_index_estimate(seed=-1)": lambda: kernels.trajectory_tail_index_estimate(X, seed=-1),
    "esd(ragged matrix)": lambda: kernels.esd([RAGGED]),
    "conv2d_matrices(ragged)": lambda: kernels.conv2d_matrices(RAGGED),
    "powerlaw_fit_estimate(['a'])": lambda: kernels.powerlaw_fit_estimate(["a"]),
    "powerlaw_fit_estimate(thresh='x')": lambda: kernels.powerlaw_fit_estimate([1.0, 2.0], thresh="x"),
    "stable_rank_estimate(ragged)": lambda: kernels.stable_rank_estimate(RAGGED),
    "path_norm(layers=None)": lambda: kernels.path_norm(None),  # type: ignore[arg-type]
    "path_norm(p=array)": lambda: kernels.path_norm(LAYERS, p=ARRAY_OPTION),  # type: ignore[arg-type]
    "logit_margins(layers=None)": lambda: kernels.logit_margins(None, np.ones((1, 2)), [0]),  # type: ignore[arg-type]
    "logit_margins(x scalar)": lambda: kernels.logit_margins(LAYERS, np.float64(3.0), [0]),
    "logit_margins(y ragged)": lambda: kernels.logit_margins(LAYERS, np.ones((2, 2)), RAGGED),
    "logit_margins(batch_size=0)": lambda: kernels.logit_margins(LAYERS, np.ones((1, 2)), [0], batch_size=0),
    "lipschitz_upper(layers=3.0)": lambda: kernels.lipschitz_upper(3.0),  # type: ignore[arg-type]
    "Activation(name=array)": lambda: kernels.Activation(ARRAY_OPTION),  # type: ignore[arg-type]
    "spectral_norm(rtol=array)": lambda: kernels.spectral_norm(np.eye(2), rtol=ARRAY_OPTION),
    "mst_length(metric=array)": lambda: kernels.mst_length(X, metric=ARRAY_OPTION),  # type: ignore[arg-type]
    "ph_dim(alpha=array)": lambda: kernels.ph_dim(X, n_min=10, step=10, alpha=ARRAY_OPTION),
    "ph_dim(step=array)": lambda: kernels.ph_dim(X, n_min=10, step=ARRAY_OPTION),
    "bg_tail_index_estimate(block_sizes=array)": lambda: kernels.bg_tail_index_estimate(
        X[:, 0], block_sizes=ARRAY_OPTION.astype(int)),
    "logit_margins(batch_size=array)": lambda: kernels.logit_margins(LAYERS, np.ones((1, 2)), [0], batch_size=ARRAY_OPTION),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_bad_arguments_are_invalid_input(name):
    with pytest.raises(InvalidInput) as err:
        CALLS[name]()
    assert "\n" not in str(err.value)


# W = f 1 1^T (2 x 2, f = 1e308 as stored): the squares of the exact norms, all above the largest float squared
F2 = Fraction(1e308) ** 2
EXACT_SQ = {"spectral_norm": 4 * F2, "frobenius_norm": 4 * F2, "norm_21": 8 * F2, "norm_1_inf": 4 * F2}


@pytest.mark.parametrize("kernel", sorted(EXACT_SQ))
def test_a_norm_above_the_float_range_has_an_infinite_upper_end(kernel):
    w = np.full((2, 2), 1e308)
    enc = getattr(kernels, kernel)(w)
    assert Fraction(enc.lo) ** 2 <= EXACT_SQ[kernel] and enc.hi == np.inf
    m = kernels.matrix_norms(w)
    assert Fraction(m.frobenius.lo) ** 2 <= EXACT_SQ["frobenius_norm"] and m.frobenius.hi == np.inf
