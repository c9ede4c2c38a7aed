"""Fractal and topological dimensions of training trajectories, and the generalization gap (order results).

These results bound the worst-case gap over the set of iterates ``W`` visited by the optimiser near convergence by a
dimension of ``W``; each holds under assumptions whose constants cannot be computed from a trained network (a
mutual-information term between the data and the trajectory, regularity constants of the dimension), so they are
registered as kind ``order``: the statement keeps the computable part (the dimension, ``m``, the loss bound ``B``,
the Lipschitz constant ``L``, ``delta``) and the non-computable terms are named in each theorem's notes. The number
they evaluate to is a measure that may be compared across runs, never a bound.

Main statements (shapes; ``m`` training examples, loss in ``[0, B]``, ``L`` the loss's Lipschitz constant in the
weights):

* **Simsekli, Sener, Deligiannidis, Erdogdu, NeurIPS 2020** ("Hausdorff dimension, heavy tails, and generalization in
  neural networks"): ``sup_{w in W} |R(w) - R_S(w)| <~ 2B sqrt((dim_H log^2(m L^2) + log(1/delta)) / m)`` with
  ``dim_H`` the Hausdorff dimension of the trajectory, estimated by the Blumenthal-Getoor index of the increments
  (their ``src/utils.py``).
* **Birdal, Lou, Guibas, Simsekli, NeurIPS 2021** ("Intrinsic dimension, persistent homology and generalization in
  neural networks"): ``<~ 2B sqrt((4 dim_PH log^2(m L^2) + log(7 M / delta) + I_inf) / m)``; ``dim_PH`` from the
  slope ``s`` of log (total MST edge length) against log (number of iterates): ``dim_PH = 1 / (1 - s)``.
* **Dupuis, Deligiannidis, Simsekli, ICML 2023** ("Generalization bounds using data-dependent fractal dimensions"):
  the same shape with the PH dimension of the trajectory under the data-dependent pseudo-metric
  ``rho_S(w, w') = (1/m) sum_i |l(w, z_i) - l(w', z_i)|`` (l1 distance of per-example loss vectors), no Lipschitz
  constant needed: ``<~ 2B sqrt((dim_PH^{rho_S} log^2(m) + log(1/delta) + I_inf) / m)``.
"""

from __future__ import annotations

import sympy

from theorems._registry import register
from theorems._symbols import sqrt
from theorems._theorem import NONNEG, OPEN_UNIT, POSITIVE, POSITIVE_INT, Hypothesis, Quantity, Reference, Theorem

__all__ = ["simsekli2020_hausdorff", "birdal2021_ph", "dupuis2023_data_dependent"]

dim, m, b, lip, delta = sympy.symbols("dim m loss_bound lipschitz delta")

# No direction is declared for m or L: the shapes hold log^2 terms that are not monotone on the whole domain.
# * m: (dim log^2(x) + c) / m with x = m (Dupuis) or m L^2 has derivative in m proportional to
#   dim log(x) (2 - log(x)) - c, positive when 0 < log(x) < 2 and dim is large against c = log(1/delta): the
#   statement grows with m for x < e^2 (e.g. Dupuis, dim = 13.5, B = 0.01, delta = 0.001525: m = 1 -> 2 raises it).
#   It is decreasing once m L^2 >= e^2 (resp. m >= e^2), the regime of the papers.
# * L: log^2(m L^2) decreases in L while m L^2 < 1 (e.g. m = 1, L = 0.01 -> 0.01001 lowers the statement).
_M = Quantity("m", "number of training examples", POSITIVE_INT, "data", None)
_B = Quantity("loss_bound", "B: the loss takes values in [0, B]", POSITIVE, "user", "increasing", "B")
_L = Quantity("lipschitz", "L: Lipschitz constant of the loss in the weights (upper end)", POSITIVE, "user",
              None, "L")
_DELTA = Quantity("delta", "confidence parameter (failure probability)", OPEN_UNIT, "user", "decreasing", r"\delta")
_BOUNDED = "worst-case generalization gap sup_{w in W} |R(w) - R_S(w)| over the trajectory W"
_TRAJ = Hypothesis("h_trajectory", "W = the iterates near convergence (Birdal: last 1000 iterates at 100% train "
                   "accuracy), flattened weights")
_IID = Hypothesis("h_iid", "the training examples are drawn i.i.d. from the data distribution")
_LOSS = Hypothesis("h_loss_bounded", "the loss takes values in [0, B]")


def _dim(meaning: str) -> Quantity:
    return Quantity("dim", meaning + " (an estimate: the result is a measure)", NONNEG, "kernel", "increasing")


simsekli2020_hausdorff = register(
    Theorem(
        id="dimension.simsekli2020_hausdorff",
        title="Hausdorff-dimension generalization bound (order)",
        kind="order",
        statement=2 * b * sqrt((dim * sympy.log(m * lip**2) ** 2 + sympy.log(1 / delta)) / m),
        bounded=_BOUNDED,
        bounded_latex=r"\sup_{w \in \mathcal{W}} |R(w) - \hat{R}_S(w)|",
        quantities=(_M, _dim("Hausdorff dimension of the trajectory, Blumenthal-Getoor index estimate"), _B, _L,
                    _DELTA),
        hypotheses=(_TRAJ, _IID, _LOSS,
                    Hypothesis("h_feller", "the optimiser is a Feller process with heavy-tailed (stable) increments")),
        reference=Reference("simsekli2020", "U. Simsekli, O. Sener, G. Deligiannidis, M. A. Erdogdu. Hausdorff "
                            "dimension, heavy tails, and generalization in neural networks. NeurIPS 2020.",
                            "main theorem, Sec. 3 (theorem number U)",
                            "estimator [V in umutsimsekli/Hausdorff-Dimension-and-Generalization]; bound shape [U]"),
        confidence=1 - delta,
        relation="lesssim",
        holds_for="every w in the trajectory W simultaneously",
        notes="Non-computable terms omitted: the mutual information between S and W, and the constants of the "
              "dimension's regularity assumption.",
        example=(("m", "50000"), ("dim", "12"), ("loss_bound", "1"), ("lipschitz", "10"), ("delta", "0.05")),
    )
)

birdal2021_ph = register(
    Theorem(
        id="dimension.birdal2021_ph",
        title="Persistent-homology-dimension generalization bound (order)",
        kind="order",
        statement=2 * b * sqrt((4 * dim * sympy.log(m * lip**2) ** 2 + sympy.log(7 / delta)) / m),
        bounded=_BOUNDED,
        bounded_latex=r"\sup_{w \in \mathcal{W}} |R(w) - \hat{R}_S(w)|",
        quantities=(_M, _dim("PH_0 dimension of the trajectory: 1/(1 - slope) of log MST length vs log n, "
                             "n = 200, 250, ..., 950 iterates, Euclidean metric"), _B, _L, _DELTA),
        hypotheses=(_TRAJ, _IID, _LOSS),
        reference=Reference("birdal2021", "T. Birdal, A. Lou, L. Guibas, U. Simsekli. Intrinsic dimension, persistent "
                            "homology and generalization in neural networks. NeurIPS 2021.",
                            "main theorem, Sec. 3 (theorem number U)",
                            "estimator [V in tolgabirdal/PHDimGeneralization]; bound shape docs/references.rst [U]"),
        confidence=1 - delta,
        relation="lesssim",
        holds_for="every w in the trajectory W simultaneously",
        notes="Non-computable terms omitted: I_inf (total mutual information between S and W) and log M (M a "
              "constant of the regularity assumption on the PH dimension).",
        example=(("m", "50000"), ("dim", "12"), ("loss_bound", "1"), ("lipschitz", "10"), ("delta", "0.05")),
    )
)

dupuis2023_data_dependent = register(
    Theorem(
        id="dimension.dupuis2023_data_dependent",
        title="Data-dependent fractal-dimension generalization bound (order)",
        kind="order",
        statement=2 * b * sqrt((dim * sympy.log(m) ** 2 + sympy.log(1 / delta)) / m),
        bounded=_BOUNDED,
        bounded_latex=r"\sup_{w \in \mathcal{W}} |R(w) - \hat{R}_S(w)|",
        quantities=(_M, _dim("PH_0 dimension of the per-example loss vectors of the trajectory under the l1 "
                             "(Manhattan) metric"), _B, _DELTA),
        hypotheses=(_TRAJ, _IID, _LOSS),
        reference=Reference("dupuis2023", "B. Dupuis, G. Deligiannidis, U. Simsekli. Generalization bounds using "
                            "data-dependent fractal dimensions. ICML 2023.", "main theorem, Sec. 3 (theorem number U)",
                            "estimator [V in benjiDupuis/data_dependent_dimensions]; bound shape [U]"),
        confidence=1 - delta,
        relation="lesssim",
        holds_for="every w in the trajectory W simultaneously",
        notes="Non-computable terms omitted: I_inf (mutual information between S and W) and the constants of the "
              "covering argument.",
        example=(("m", "50000"), ("dim", "3"), ("loss_bound", "1"), ("delta", "0.05")),
    )
)
