"""Kendall tau and Jiang et al.'s granulated Psi against independent references (exact fractions): tau from counted
concordant and discordant pairs, Psi from an explicit loop over the grid's axes; and the outward float rounding of
certified decimal strings against exact rationals."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boundcert.errors import InvalidInput
from certify.sweep import float_outward, granulated_kendall, kendall_tau


def _tau_ref(mu, g):
    pairs = list(itertools.combinations(range(len(mu)), 2))
    conc = sum(1 for i, j in pairs if (mu[i] - mu[j]) * (g[i] - g[j]) > 0)
    disc = sum(1 for i, j in pairs if (mu[i] - mu[j]) * (g[i] - g[j]) < 0)
    return Fraction(conc - disc, len(pairs))


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5)), min_size=2, max_size=12))
def test_kendall_tau_equals_counted_pairs(pts):
    mu, g = [p[0] for p in pts], [p[1] for p in pts]
    assert kendall_tau(mu, g) == _tau_ref(mu, g)


def test_kendall_tau_without_ties_is_scipys_tau_b():
    from scipy.stats import kendalltau

    mu, g = [3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0], [2.7, 1.8, 2.8, 1.9, 4.5, 9.1, 0.1, 3.3]
    tau = kendall_tau(mu, g)
    assert tau == Fraction(25 - 3, 28) == _tau_ref(mu, g)  # 25 concordant, 3 discordant of 28 pairs
    assert float(tau) == pytest.approx(kendalltau(mu, g).statistic, rel=0, abs=1e-15)


def _psi_ref(mu, g, grid, axes):
    values = {a: sorted({h[a] for h in grid}) for a in axes}
    per = {}
    for a in axes:
        others = [b for b in axes if b != a]
        taus = []
        for rest in itertools.product(*(values[b] for b in others)):
            idx = [i for i, h in enumerate(grid) if all(h[b] == v for b, v in zip(others, rest))]
            if len(idx) >= 2:
                taus.append(_tau_ref([mu[i] for i in idx], [g[i] for i in idx]))
        per[a] = sum(taus, Fraction(0)) / len(taus)
    return sum(per.values(), Fraction(0)) / len(per), per


@settings(max_examples=25)
@given(st.data())
def test_granulated_kendall_equals_the_grid_loop(data):
    axes = ("lr", "batch", "width")
    sizes = [data.draw(st.integers(2, 3)) for _ in axes]
    grid = [dict(zip(axes, p)) for p in itertools.product(*(range(s) for s in sizes))]
    mu = data.draw(st.lists(st.integers(0, 9), min_size=len(grid), max_size=len(grid)))
    g = data.draw(st.lists(st.integers(0, 9), min_size=len(grid), max_size=len(grid)))
    got = granulated_kendall(mu, g, grid)
    psi, per = _psi_ref(mu, g, grid, axes)
    assert got.psi == psi and got.per_axis == per
    assert got.groups == {a: len(grid) // s for a, s in zip(axes, sizes)}


def test_granulated_kendall_by_hand():
    # 2 x 2 grid: along lr the measure follows the gap at batch 1 (+1) and opposes it at batch 2 (-1); along batch
    # it opposes it at lr 1 (-1) and the gap is tied at lr 2 (0): psi_lr = 0, psi_batch = -1/2, Psi = -1/4.
    grid = [{"lr": 1, "batch": 1}, {"lr": 2, "batch": 1}, {"lr": 1, "batch": 2}, {"lr": 2, "batch": 2}]
    mu, g = [1, 2, 0, 3], [10, 20, 30, 20]
    got = granulated_kendall(mu, g, grid)
    assert got.per_axis == {"lr": Fraction(0), "batch": Fraction(-1, 2)} and got.psi == Fraction(-1, 4)


def test_single_valued_axes_and_missing_models_are_left_out():
    grid = [{"lr": 1, "depth": 1}, {"lr": 2, "depth": 1}, {"lr": 3, "depth": 1}]
    got = granulated_kendall([1, 2, 3], [3, 2, 1], grid)
    assert got.per_axis == {"lr": Fraction(-1)} and got.psi == Fraction(-1)


@pytest.mark.parametrize("args", [([1], [1]), ([1, 2], [1])])
def test_bad_sizes_are_refused(args):
    with pytest.raises(InvalidInput):
        kendall_tau(*args)


@settings(max_examples=100)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=25, min_value=Decimal("-1e30"),
                   max_value=Decimal("1e30")))
def test_float_outward_encloses_the_decimal(d):
    text = str(d)
    up, down = float_outward(text, True), float_outward(text, False)
    exact = Fraction(text)
    assert Fraction(down) <= exact <= Fraction(up)
    assert Fraction(math.nextafter(up, -math.inf)) < exact or Fraction(up) == exact
    assert Fraction(math.nextafter(down, math.inf)) > exact or Fraction(down) == exact
