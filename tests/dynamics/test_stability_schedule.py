"""The stability bound on random recorded schedules: it contains the exact value (a rational for Theorem 3.8, a
256-bit mpmath reference for Theorem 3.12) and grows with the step sizes; the recorder keeps every step size."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamics_support import N_TRAIN, record
from reference import PREC, mpf_exact

import kernels
import theorems
from certify.quantities.dynamics import analyze_trajectory
from certify.quantities.stability import StabilityInputs, stability_bound
from certify.training.trajectory import Trajectory, TrajectoryRecorder, load_trajectory
from theorems import mpf_to_fraction, parse_exact

SGD = {"class": "SGD", "defaults": {"lr": 0.1, "momentum": 0, "weight_decay": 0, "nesterov": False, "maximize": False}}


def synthetic(alphas: list[float], n: int = 1000) -> Trajectory:
    """A trajectory object holding only what the bound reads: the schedule and the metadata."""
    T = len(alphas)
    return Trajectory(steps=np.arange(T + 1), iterates=np.zeros((T + 1, 2)), step_sizes=None, losses=None,
                      grads=None, grad_steps=None, step_size_history=np.array(alphas, dtype=np.float64)[:, None],
                      metadata={"total_steps": T, "sample_size": n, "optimizer": SGD, "every": 1})


steps_st = st.lists(st.floats(min_value=1e-6, max_value=1.0, allow_subnormal=False), min_size=1, max_size=60)
# u < 1: at u = 1 (alpha_max = 2/beta exactly) interval arithmetic cannot prove the hypothesis for a non-binary beta
ratio_st = st.fractions(min_value=Fraction(1, 1000), max_value=Fraction(999, 1000), max_denominator=10**6)
lip_st = st.fractions(min_value=Fraction(1, 100), max_value=Fraction(100), max_denominator=10**4)


def _text(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}"


@settings(max_examples=60)
@given(alphas=steps_st, u=ratio_st, L=lip_st, n=st.integers(2, 10**6))
def test_convex_bound_contains_the_exact_rational(alphas, u, L, n):
    amax = max(Fraction(a) for a in alphas)
    beta = 2 / amax * u  # so that alpha_t <= 2/beta holds exactly
    b = stability_bound(synthetic(alphas, n), StabilityInputs("convex", _text(L), _text(beta)))
    exact = 2 * L**2 * sum((Fraction(a) for a in alphas), Fraction(0)) / n
    assert mpf_to_fraction(b.enclosure.lo) <= exact <= mpf_to_fraction(b.enclosure.hi)
    assert b.theorem_id == "stability.hardt2016_convex"


@settings(max_examples=60)
@given(alphas=steps_st, bumps=st.lists(st.floats(0.0, 0.5), min_size=60, max_size=60), u=ratio_st, L=lip_st)
def test_convex_bound_is_monotone_in_the_step_sizes(alphas, bumps, u, L):
    larger = [a + d for a, d in zip(alphas, bumps)]  # float a + d >= a: rounding is monotone
    beta = 2 / max(Fraction(a) for a in larger) * u
    small = stability_bound(synthetic(alphas), StabilityInputs("convex", _text(L), _text(beta))).enclosure
    big = stability_bound(synthetic(larger), StabilityInputs("convex", _text(L), _text(beta))).enclosure
    assert big.lo >= small.lo and big.hi >= small.hi


@settings(max_examples=40)
@given(alphas=steps_st, beta=lip_st, L=lip_st, n=st.integers(2, 10**6))
def test_nonconvex_bound_contains_the_256_bit_reference(alphas, beta, L, n):
    alphas = sorted(alphas, reverse=True)
    b = stability_bound(synthetic(alphas, n), StabilityInputs("nonconvex", _text(L), _text(beta)))
    c = max((t + 1) * Fraction(a) for t, a in enumerate(alphas))
    T = len(alphas)
    with mpmath.workprec(PREC):
        bc = mpf_exact(beta) * mpf_exact(c)
        ref = ((1 + 1 / bc) / (n - 1) * (2 * mpf_exact(c) * mpf_exact(L) ** 2) ** (1 / (bc + 1))
               * mpmath.mpf(T) ** (bc / (bc + 1)))
        assert b.enclosure.lo <= ref <= b.enclosure.hi
    assert parse_exact(dict(b.inputs)["c"]) == c and dict(b.inputs)["T"] == str(T)


def test_recorder_keeps_every_step_size_beyond_the_window(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    rec = TrajectoryRecorder(model, last_n=3, every=2, sample_size=17).attach(opt)
    lrs = []
    for _ in range(11):
        lrs.append(opt.param_groups[0]["lr"])
        opt.zero_grad()
        model(torch.randn(4, 3)).sum().backward()
        opt.step()
        sched.step()
    tr = load_trajectory(rec.save(tmp_path / "t.npz"))
    assert list(tr.steps) == [6, 8, 10] and tr.step_size_history.shape == (11, 1)
    assert tr.step_size_history[:, 0].tolist() == lrs and tr.metadata["sample_size"] == 17
    assert tr.metadata["optimizer"]["groups"][0]["momentum"] == 0


def test_python_api_returns_the_kernel_estimates(tmp_path):
    path = record(tmp_path / "t.npz", steps=60)
    tr = load_trajectory(path)
    r = analyze_trajectory(path, n_min=20, step=10, seed=3,
                           stability=StabilityInputs("convex", "1", "4", sample_size=N_TRAIN))
    assert r.ph_dim_estimate == kernels.ph_dim(tr.iterates, n_min=20, step=10, seed=3)
    assert r.ph_dim_loss_estimate == kernels.ph_dim_loss(tr.losses, n_min=20, step=10, seed=3)
    assert r.increment_tail_estimate == kernels.trajectory_tail_index_estimate(tr.iterates, seed=3)
    alphas = [Fraction(float(a)) for a in tr.step_size_history[:, 0]]
    ref = theorems.get("stability.hardt2016_convex").evaluate(n=N_TRAIN, lipschitz="1", beta="4",
                                                              max_step=max(alphas), sum_step=sum(alphas))
    assert r.stability is not None and (r.stability.enclosure.lo, r.stability.enclosure.hi) == (ref.lo, ref.hi)
    with pytest.raises(AttributeError):
        r.n_iterates = 0  # frozen
