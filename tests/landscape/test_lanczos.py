"""Lanczos residual brackets against rigorous arb eigenvalues (python-flint, 200 bits), explicit matrices and the exact
Hessian of a small MLP; refusals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boundcert.errors import InvalidInput
from kernels import lanczos_brackets
from landscape_support import arb_eigenvalues


def _inside(bracket, ball) -> bool:
    return bracket.lo <= ball[0] and ball[1] <= bracket.hi


def _holds_some(bracket, balls) -> bool:
    return any(_inside(bracket, b) for b in balls)


@settings(max_examples=25)
@given(d=st.integers(2, 14), seed=st.integers(0, 2**31 - 1), k=st.integers(1, 3),
       scale=st.sampled_from([1e-3, 1.0, 1e4]))
def test_brackets_hold_an_eigenvalue_of_an_explicit_matrix(d, seed, k, scale):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((d, d)) * scale
    A = np.triu(M) + np.triu(M, 1).T
    balls = arb_eigenvalues(A)
    k = min(k, d)
    for which in ("largest", "smallest"):
        r = lanczos_brackets(A, k=k, n_iter=min(d, 2 + k), which=which, seed=seed)
        assert all(_holds_some(b, balls) for b in r.eigenvalues)
        if which == "largest":
            assert r.lambda_max_lower <= balls[0][0]
        else:
            assert r.lambda_min_upper >= balls[-1][1]


def test_exact_mlp_hessian_top_eigenvalues_inside_brackets(tiny):
    """Acceptance: the exact float64 Hessian (torch.autograd.functional.hessian, 57 parameters), its top-3
    eigenvalues enclosed by arb, lie inside our brackets, both for the explicit matrix (product errors paid) and for
    the float64 Hessian-vector-product operator."""
    from certify.landscape import hessian_operator

    H = tiny["H"]
    balls = arb_eigenvalues(H)
    r = lanczos_brackets(H, k=3, n_iter=H.shape[0])
    for i in range(3):
        assert _inside(r.eigenvalues[i], balls[i]), (i, r.eigenvalues[i], balls[i])
    assert r.lambda_max_lower <= balls[0][0]
    op = hessian_operator(tiny["net"], tiny["x"], tiny["y"])
    rh = lanczos_brackets(op.matvec, op.dim, 3, n_iter=40)
    for i in range(3):
        assert _inside(rh.eigenvalues[i], balls[i]), (i, rh.eigenvalues[i], balls[i])
    assert rh.lambda_max_lower <= balls[0][0]


def test_layer_block_is_the_diagonal_block(tiny):
    from certify.landscape import hessian_operator

    op = hessian_operator(tiny["net"], tiny["x"], tiny["y"], block="2")
    H = tiny["H"][op.start : op.stop, op.start : op.stop]
    balls = arb_eigenvalues(H)
    r = lanczos_brackets(op.matvec, op.dim, 2, n_iter=op.dim)
    assert _inside(r.eigenvalues[0], balls[0]) and _inside(r.eigenvalues[1], balls[1])


def test_refusals():
    A = np.eye(3)
    with pytest.raises(InvalidInput, match="symmetric"):
        lanczos_brackets(np.triu(np.ones((3, 3))), k=1)
    with pytest.raises(InvalidInput, match="shape"):
        lanczos_brackets(lambda v: np.ones(2), 3, 1)
    with pytest.raises(InvalidInput, match="NaN"):
        lanczos_brackets(lambda v: v * np.nan, 3, 1)
    with pytest.raises(InvalidInput, match="dim"):
        lanczos_brackets(lambda v: v, None, 1)
    with pytest.raises(InvalidInput, match="n_iter"):
        lanczos_brackets(A, k=1, n_iter=5)
    with pytest.raises(InvalidInput, match="invariant"):
        lanczos_brackets(A, k=2, n_iter=3)  # the identity: one Lanczos step spans an invariant space
    with pytest.raises(InvalidInput, match="which"):
        lanczos_brackets(A, k=1, which="middle")
