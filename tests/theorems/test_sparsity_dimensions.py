"""Lottery-ticket existence results, the subset-sum ticket finder (exact error certificate), dimension results."""

from __future__ import annotations

import itertools
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath import mp

import theorems
from boundcert.errors import InvalidInput
from catalogue_ref import PREC, F, contains
from theorems.sparsity import find_subset_sum_ticket, subset_sum_nearest


# -- existence statements -----------------------------------------------------------------------------------------
def test_existence_statements():
    with mp.workprec(PREC):
        pensia = F(100) * mpmath.log(F(300) / F("0.01"))
        malach = F(100) ** 5 * 9
        lueker = mpmath.log(2 / F("0.01"))
    assert contains(theorems.get("sparsity.pensia2020").evaluate(width=100, depth=3, epsilon="0.01", delta="0.05"),
                    pensia)
    assert contains(theorems.get("sparsity.burkholz2022").evaluate(width=100, depth=3, epsilon="0.05",
                                                                   delta="0.01"), pensia)
    assert contains(theorems.get("sparsity.malach2020").evaluate(width=100, depth=3), malach)
    assert contains(theorems.get("sparsity.lueker1998_subset_sum").evaluate(epsilon="0.01", delta="0.5"), lueker)
    for tid in ("sparsity.pensia2020", "sparsity.burkholz2022", "sparsity.malach2020",
                "sparsity.lueker1998_subset_sum"):
        assert theorems.get(tid).kind == "existence"
    with pytest.raises(InvalidInput):
        theorems.get("sparsity.pensia2020").evaluate(width=100, depth=3, epsilon="0", delta="0.05")


# -- subset sum ---------------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=0, max_size=9), st.floats(-2, 2))
def test_subset_sum_nearest_is_optimal(values, target):
    v = np.array(values, dtype=np.float64)
    mask = subset_sum_nearest(v, target)
    best = min(abs(sum(c) - target) for r in range(len(v) + 1) for c in itertools.combinations(values, r))
    assert abs(v[mask].sum() - target) <= best + 1e-12


def _pruned_exact(ticket, first, second, x):
    """The pruned network at x, in exact rational arithmetic (independent of the finder's error formula)."""
    a = [[Fraction(float(first[h, i])) if ticket.mask_first[h, i] else Fraction(0) for i in range(first.shape[1])]
         for h in range(first.shape[0])]
    hidden = [max(Fraction(0), sum(a[h][i] * x[i] for i in range(len(x)))) for h in range(len(a))]
    return [sum(Fraction(float(second[j, h])) * hidden[h] for h in range(len(hidden)) if ticket.mask_second[j, h])
            for j in range(second.shape[0])]


def _problem(seed, n, out=2, dim=3, scale=0.5):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-scale, scale, (out, dim)), rng.uniform(-1, 1, (dim * n, dim)),
            rng.uniform(-1, 1, (out, dim * n)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ticket_error_is_exact_and_attained(seed):
    w, first, second = _problem(seed, n=24)
    ticket = find_subset_sum_ticket(w, first, second, radius="1.5")
    r = ticket.radius
    rng = np.random.default_rng(seed + 100)
    worst = Fraction(0)
    # the error is piecewise linear in each x_i with its only kink at 0: its sup over the box is attained on the
    # grid {-r, 0, r}^D
    for signs in itertools.product((-1, 0, 1), repeat=w.shape[1]):
        x = [s * r for s in signs]
        g = _pruned_exact(ticket, first, second, x)
        for j in range(w.shape[0]):
            target = sum(Fraction(float(w[j, i])) * x[i] for i in range(w.shape[1]))
            worst = max(worst, abs(g[j] - target))
    assert worst == ticket.error
    for _ in range(30):  # interior points never exceed the certificate
        x = [Fraction(float(v)) for v in rng.uniform(-1.5, 1.5, w.shape[1])]
        g = _pruned_exact(ticket, first, second, x)
        for j in range(w.shape[0]):
            target = sum(Fraction(float(w[j, i])) * x[i] for i in range(w.shape[1]))
            assert abs(g[j] - target) <= ticket.error
    with mp.workprec(PREC):
        exact = F(ticket.error.numerator) / ticket.error.denominator
    assert contains(ticket.error_interval(), exact)


def test_ticket_error_shrinks_with_more_random_units():
    """Lueker's rate: the error falls fast (exponentially) in the number of random units per weight."""
    errors = [find_subset_sum_ticket(*_problem(5, n)).error for n in (8, 24, 40)]
    assert errors[2] < errors[1] < errors[0]
    assert errors[2] < Fraction(1, 100)


def test_ticket_refusals():
    w, first, second = _problem(0, n=4)
    with pytest.raises(InvalidInput):
        find_subset_sum_ticket(w, first[:, :2], second)
    with pytest.raises(InvalidInput):
        find_subset_sum_ticket(w, first, second, radius=0)
    bad = first.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InvalidInput):
        find_subset_sum_ticket(w, bad, second)


# -- dimensions ---------------------------------------------------------------------------------------------------
def test_dimension_results_are_order_with_named_terms():
    for tid in ("dimension.simsekli2020_hausdorff", "dimension.birdal2021_ph", "dimension.dupuis2023_data_dependent"):
        t = theorems.get(tid)
        assert t.kind == "order" and "omitted" in t.notes and "dim" in t.names


def test_birdal_shape():
    r = theorems.get("dimension.birdal2021_ph").evaluate(m=50000, dim=12, loss_bound=1, lipschitz=10, delta="0.05")
    with mp.workprec(PREC):
        ref = 2 * mpmath.sqrt((4 * 12 * mpmath.log(F(50000) * 100) ** 2 + mpmath.log(7 / F("0.05"))) / 50000)
    assert contains(r, ref)


def test_ticket_network_error_is_certified():
    """A 2-layer target: the exact pruned network never exceeds the propagated certificate (vertices and random
    points of the box), and the certificate is not absurdly loose."""
    from theorems.sparsity import find_subset_sum_ticket_network

    rng = np.random.default_rng(11)
    dims, n = [3, 4, 2], 28
    targets = [rng.uniform(-0.5, 0.5, (dims[k + 1], dims[k])) for k in range(2)]
    firsts = [rng.uniform(-1, 1, (dims[k] * n, dims[k])) for k in range(2)]
    seconds = [rng.uniform(-1, 1, (dims[k + 1], dims[k] * n)) for k in range(2)]
    net = find_subset_sum_ticket_network(targets, firsts, seconds, radius=2)

    def exact(x):
        h_t, h_p = list(x), list(x)
        for k, (w, a, b, blk) in enumerate(zip(targets, firsts, seconds, net.blocks)):
            t_out = [sum(Fraction(float(w[j, i])) * h_t[i] for i in range(len(h_t))) for j in range(w.shape[0])]
            p_out = _pruned_exact(blk, a, b, h_p)
            if k < len(targets) - 1:
                t_out = [max(Fraction(0), v) for v in t_out]
                p_out = [max(Fraction(0), v) for v in p_out]
            h_t, h_p = t_out, p_out
        return max(abs(p - t) for p, t in zip(h_p, h_t))

    worst = Fraction(0)
    points = [[s * 2 for s in signs] for signs in itertools.product((-1, 0, 1), repeat=3)]
    points += [[Fraction(float(v)) for v in rng.uniform(-2, 2, 3)] for _ in range(30)]
    for x in points:
        worst = max(worst, exact([Fraction(v) for v in x]))
    assert worst <= net.error
    assert net.error < 50 * worst + Fraction(1, 10**6)
    with pytest.raises(InvalidInput):
        find_subset_sum_ticket_network(targets, firsts[:1], seconds)
