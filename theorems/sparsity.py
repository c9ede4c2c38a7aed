"""Strong lottery tickets: a random network contains, after pruning only, a subnetwork close to any target.

Setting. A target ReLU network of depth ``l`` and width ``d`` (weights bounded: spectral norm <= 1, entries
``<= 1/sqrt(fan_in)`` in Malach et al.), inputs in the unit ball; a random network with i.i.d. entries (uniform on
[-1, 1]). "Contains an eps-approximation w.p. >= 1 - delta" means: with probability ``>= 1 - delta`` over the random
weights, a mask exists such that the pruned network ``g`` has ``sup_x ||g(x) - f(x)|| <= eps``. The constants are
not explicit in the papers' statements: these are kind ``existence``, the statement being the width per layer of the
random network up to a universal constant.

Main statements:

* **Malach, Yehudai, Shalev-Shwartz, Shamir, ICML 2020** (Thm. 2.1): depth ``2l``, width a factor ``O(d^4 l^2)``
  larger than the target's (poly in ``1/eps`` and ``log(1/delta)``; those exponents not confirmed).
* **Pensia, Rajput, Nagle, Vishwakarma, Papailiopoulos, NeurIPS 2020** (Thm. 1): depth ``2l``, width a factor
  ``O(log(d l / min(eps, delta)))`` larger: each target weight is a subset sum of products of random weights.
* **Burkholz, NeurIPS 2022**: depth ``l + 1`` suffices, for a broad class of activations, with the same
  logarithmic width factor.
* **Lueker 1998** (as used by Pensia et al., Cor. 3.3): ``n = O(log(1/min(eps, delta)))`` i.i.d. uniform[-1, 1]
  samples approximate every ``z in [-1, 1]`` by a subset sum within ``eps``, w.p. ``>= 1 - delta``.

Constructive side (in :mod:`theorems._tickets`): :func:`find_subset_sum_ticket` builds Pensia's ticket for one
linear layer from given random weights and certifies its error on a box exactly (rational arithmetic);
:func:`find_subset_sum_ticket_network` does every layer of a target ReLU network and certifies the whole pruned
network's sup-norm error on the box by propagating the per-layer errors exactly.
"""

from __future__ import annotations

from fractions import Fraction

import sympy

from theorems._registry import register
from theorems._theorem import POSITIVE_INT, Domain, Hypothesis, Quantity, Reference, Theorem
from theorems._tickets import (
    SubsetSumTicket,
    SubsetSumTicketNetwork,
    find_subset_sum_ticket,
    find_subset_sum_ticket_network,
    subset_sum_nearest,
)

__all__ = [
    "malach2020",
    "pensia2020",
    "burkholz2022",
    "lueker1998_subset_sum",
    "SubsetSumTicket",
    "SubsetSumTicketNetwork",
    "find_subset_sum_ticket",
    "find_subset_sum_ticket_network",
    "subset_sum_nearest",
]

d, depth, eps, delta = sympy.symbols("width depth epsilon delta")

_OPEN01 = Domain(lo=Fraction(0), hi=Fraction(1), lo_closed=False, hi_closed=False)
_D = Quantity("width", "d: width of the target network", POSITIVE_INT, "model", "increasing", "d")
_L = Quantity("depth", "l: depth (number of layers) of the target network", POSITIVE_INT, "model", "increasing", "l")
_EPS = Quantity("epsilon", "required sup-norm approximation error on the input domain", _OPEN01, "user", "decreasing",
                r"\varepsilon")
_DELTA = Quantity("delta", "failure probability over the random weights", _OPEN01, "user", "decreasing", r"\delta")
_BOUNDED = "width per layer of a random network that contains an eps-approximation of every target, w.p. 1 - delta"
_TARGET = Hypothesis("h_target_bounded", "target ReLU network with bounded weights (spectral norm <= 1), inputs in "
                     "the unit ball")
_RANDOM = Hypothesis("h_random_uniform", "random network entries i.i.d. uniform on [-1, 1] (or the paper's law)")


def _existence(id: str, title: str, statement: sympy.Expr, qs: tuple[Quantity, ...], ref: Reference,
               holds: str, notes: str, example: tuple[tuple[str, str], ...]) -> Theorem:
    return register(
        Theorem(
            id=id, title=title, kind="existence", statement=statement, bounded=_BOUNDED,
            bounded_latex=r"\text{width}", quantities=qs, hypotheses=(_TARGET, _RANDOM), reference=ref,
            relation="lesssim", holds_for=holds, notes=notes, example=example,
        )
    )


malach2020 = _existence(
    "sparsity.malach2020", "Strong lottery tickets with polynomial over-parameterization", d**5 * depth**2,
    (_D, _L),
    Reference("malach2020", "E. Malach, G. Yehudai, S. Shalev-Shwartz, O. Shamir. Proving the lottery ticket "
              "hypothesis: pruning is all you need. ICML 2020.", "Theorem 2.1",
              "factor O(d^4 l^2) [abstract V, via Pensia et al.]; eps, delta exponents [U]"),
    "random network of depth 2l", "Width d * O(d^4 l^2); polynomial in 1/eps and log(1/delta) (not encoded).",
    (("width", "100"), ("depth", "3")),
)

pensia2020 = _existence(
    "sparsity.pensia2020", "Strong lottery tickets with logarithmic over-parameterization (subset sum)",
    d * sympy.log(d * depth / sympy.Min(eps, delta)), (_D, _L, _EPS, _DELTA),
    Reference("pensia2020", "A. Pensia, S. Rajput, A. Nagle, H. Vishwakarma, D. Papailiopoulos. Optimal lottery "
              "tickets via subset sum: logarithmic over-parameterization is sufficient. NeurIPS 2020.", "Theorem 1",
              "factor O(log(d l)) [abstract V]; min(eps, delta) inside the log [U]"),
    "random network of depth 2l", "Constructive: theorems.sparsity.find_subset_sum_ticket builds the ticket of one "
    "layer and certifies its error. Also shown optimal up to constants for constant depth.",
    (("width", "100"), ("depth", "3"), ("epsilon", "0.01"), ("delta", "0.05")),
)

burkholz2022 = _existence(
    "sparsity.burkholz2022", "Strong lottery tickets without excessive depth (depth l + 1)",
    d * sympy.log(d * depth / sympy.Min(eps, delta)), (_D, _L, _EPS, _DELTA),
    Reference("burkholz2022", "R. Burkholz. Most activation functions can win the lottery without excessive depth. "
              "NeurIPS 2022.", "main theorem, Sec. 2 (theorem number U)",
              "depth l + 1 [abstract V]; width order [U]; code RelationalML/LT-existence"),
    "random network of depth l + 1", "Depth l + 1 instead of 2l, for activations admitting a two-layer "
    "representation of the identity (ReLU included).",
    (("width", "100"), ("depth", "3"), ("epsilon", "0.01"), ("delta", "0.05")),
)

lueker1998_subset_sum = register(
    Theorem(
        id="sparsity.lueker1998_subset_sum",
        title="Random subset sum: logarithmically many samples approximate every target",
        kind="existence",
        statement=sympy.log(2 / sympy.Min(eps, delta)),
        bounded="number n of i.i.d. uniform[-1, 1] samples whose subset sums eps-approximate every z in [-1, 1], "
                "w.p. 1 - delta",
        bounded_latex="n",
        quantities=(_EPS, _DELTA),
        hypotheses=(Hypothesis("h_uniform", "samples i.i.d. uniform on [-1, 1] (or containing a uniform "
                               "component)"),),
        reference=Reference("lueker1998", "G. S. Lueker. Exponentially small bounds on the expected optimum of the "
                            "partition and subset sum problems. Random Structures & Algorithms 12(1), 1998.",
                            "as restated by Pensia et al. 2020, Corollary 3.3",
                            "order [V via Pensia et al.]; constant [U]"),
        relation="lesssim",
        holds_for="every target z in [-1, 1] simultaneously",
        example=(("epsilon", "0.01"), ("delta", "0.05")),
    )
)
