"""Uniform stability of stochastic gradient methods (Hardt, Recht, Singer, ICML 2016).

Setting. SGM runs ``T`` steps ``w_{t+1} = w_t - alpha_t grad f(w_t; z_{i_t})`` on a sample of ``n`` examples, the
index ``i_t`` drawn uniformly. For every example ``z`` the loss ``f(.; z)`` is ``L``-Lipschitz and ``beta``-smooth.
Uniform stability ``eps_stab`` bounds the **expected** generalization gap (their Thm. 2.2):
``|E_{S, A}[R(A(S)) - R_S(A(S))]| <= eps_stab``, in expectation over the sample and the algorithm's randomness;
no high-probability statement is made, so these results have no ``delta``.

Main statements (step sizes as used by the training run):

* **Convex** (Thm. 3.8): ``alpha_t <= 2/beta`` gives ``eps_stab <= (2 L^2 / n) sum_t alpha_t``.
* **gamma-strongly convex** (Thm. 3.9): constant step ``alpha <= 1/beta`` (projected SGM on a convex set) gives
  ``eps_stab <= 2 L^2 / (gamma n)``.
* **Non-convex** (Thm. 3.12): loss in [0, 1], non-increasing steps ``alpha_t <= c / t`` give
  ``eps_stab <= (1 + 1/(beta c)) / (n - 1) * (2 c L^2)^(1/(beta c + 1)) * T^(beta c / (beta c + 1))``.

Each is non-decreasing in ``L`` and in the step sizes and non-increasing in ``n``. The step-size hypotheses are
checked mechanically from the largest step (``max_step``) and the largest ``t * alpha_t`` (``max_t_step``).
"""

from __future__ import annotations

import sympy

from theorems._checks import at_least
from theorems._registry import register
from theorems._interval import Interval, enclose
from theorems._theorem import NONNEG, POSITIVE, POSITIVE_INT, Hypothesis, Quantity, Reference, Theorem

__all__ = ["hardt2016_convex", "hardt2016_strongly_convex", "hardt2016_nonconvex"]

n, lip, beta, sum_step, gamma, c, big_t = sympy.symbols("n lipschitz beta sum_step gamma c T")

_HRS = Reference(
    "hardt2016",
    "M. Hardt, B. Recht, Y. Singer. Train faster, generalize better: stability of stochastic gradient descent. "
    "ICML 2016 (arXiv:1509.01240).",
    "",
    "docs/references.rst [V in two public notes; theorem numbers U]",
)
_N = Quantity("n", "number of training examples", POSITIVE_INT, "data", "decreasing")
_L = Quantity("lipschitz", "L: Lipschitz constant of the loss in the weights, for every example (upper end)",
              POSITIVE, "user", "increasing", "L")
_BETA = Quantity("beta", "beta: smoothness constant of the loss (Lipschitz constant of its gradient)", POSITIVE,
                 "user", None, r"\beta")
_MAXSTEP = Quantity("max_step", "largest step size alpha_t used by the training run", POSITIVE, "training", None,
                    r"\max_t \alpha_t")
_BOUNDED = "expected generalization gap E[R(A(S)) - R_S(A(S))] of SGM"
_HOLDS = "in expectation over the sample and the algorithm's randomness (no confidence level)"
_IID = Hypothesis("h_iid", "the training examples are drawn i.i.d. from the data distribution")
_LIPH = Hypothesis("h_lipschitz", "f(.; z) is L-Lipschitz for every example z")
_SMOOTH = Hypothesis("h_smooth", "f(.; z) is beta-smooth for every example z")
_SAMPLE = Hypothesis("h_uniform_sampling", "each step uses one example drawn uniformly at random (with replacement)")


def _step_le(num: int) -> object:
    """Check ``max_step <= num / beta``."""
    def check(v: dict[str, Interval]) -> bool:
        if "max_step" not in v or "beta" not in v:
            return False
        return bool(v["max_step"] * v["beta"] <= enclose(num))
    return check


def _c_check(v: dict[str, Interval]) -> bool:
    return "max_t_step" in v and "c" in v and bool(v["max_t_step"] <= v["c"])


def _hrs(locator: str) -> Reference:
    return Reference(_HRS.key, _HRS.citation, locator, _HRS.confirmed)


hardt2016_convex = register(
    Theorem(
        id="stability.hardt2016_convex",
        title="Stability of SGM, convex smooth Lipschitz loss",
        kind="bound",
        statement=2 * lip**2 * sum_step / n,
        bounded=_BOUNDED,
        bounded_latex=r"\mathbb{E}[R(A(S)) - R_S(A(S))]",
        quantities=(
            _N, _L, _BETA, _MAXSTEP,
            Quantity("sum_step", "sum over the T steps of the step sizes alpha_t actually used", NONNEG, "training",
                     "increasing", r"\sum_t \alpha_t"),
        ),
        hypotheses=(
            Hypothesis("h_step_size_le_2_over_beta", r"$\alpha_t \le 2/\beta$ for all t", _step_le(2)),
            Hypothesis("h_convex", "f(.; z) is convex for every example z"),
            _LIPH, _SMOOTH, _SAMPLE, _IID,
        ),
        reference=_hrs("Theorem 3.8 (with Theorem 2.2)"),
        holds_for=_HOLDS,
        example=(("n", "50000"), ("lipschitz", "1"), ("beta", "4"), ("max_step", "0.1"), ("sum_step", "50")),
    )
)

hardt2016_strongly_convex = register(
    Theorem(
        id="stability.hardt2016_strongly_convex",
        title="Stability of SGM, strongly convex smooth Lipschitz loss",
        kind="bound",
        statement=2 * lip**2 / (gamma * n),
        bounded=_BOUNDED,
        bounded_latex=r"\mathbb{E}[R(A(S)) - R_S(A(S))]",
        quantities=(
            _N, _L, _BETA, _MAXSTEP,
            Quantity("gamma", "gamma: strong-convexity constant of the loss", POSITIVE, "user", "decreasing",
                     r"\gamma"),
        ),
        hypotheses=(
            Hypothesis("h_step_size_le_1_over_beta", r"constant step $\alpha \le 1/\beta$", _step_le(1)),
            Hypothesis("h_strongly_convex", "f(.; z) is gamma-strongly convex for every z; SGM projects onto a "
                       "convex set on which f is L-Lipschitz"),
            _LIPH, _SMOOTH, _SAMPLE, _IID,
        ),
        reference=_hrs("Theorem 3.9 (with Theorem 2.2)"),
        holds_for=_HOLDS,
        example=(("n", "50000"), ("lipschitz", "1"), ("beta", "4"), ("max_step", "0.1"), ("gamma", "0.01")),
    )
)

_bc = beta * c
hardt2016_nonconvex = register(
    Theorem(
        id="stability.hardt2016_nonconvex",
        title="Stability of SGM, non-convex smooth Lipschitz loss with steps c/t",
        kind="bound",
        statement=(1 + 1 / _bc) / (n - 1) * (2 * c * lip**2) ** (1 / (_bc + 1)) * big_t ** (_bc / (_bc + 1)),
        bounded=_BOUNDED,
        bounded_latex=r"\mathbb{E}[R(A(S)) - R_S(A(S))]",
        quantities=(
            _N, _L,
            Quantity("beta", "beta: smoothness constant of the loss", POSITIVE, "user", None, r"\beta"),
            Quantity("c", "c in the step-size schedule alpha_t <= c / t", POSITIVE, "training", None, "c"),
            Quantity("max_t_step", "max over steps t = 1..T of t * alpha_t actually used", POSITIVE, "training",
                     None),
            Quantity("T", "number of SGM steps", POSITIVE_INT, "training", "increasing", "T"),
        ),
        hypotheses=(
            Hypothesis("h_step_size_le_c_over_t", r"$\alpha_t \le c/t$ for all t", _c_check),
            Hypothesis("h_n_ge_2", r"$n \ge 2$", at_least("n", 2)),
            Hypothesis("h_loss_bounded", "the loss takes values in [0, 1]"),
            Hypothesis("h_steps_nonincreasing", "the step sizes are non-increasing in t"),
            _LIPH, _SMOOTH, _SAMPLE, _IID,
        ),
        reference=_hrs("Theorem 3.12 (with Theorem 2.2)"),
        holds_for=_HOLDS,
        notes="Not monotone in beta or c on its own; increasing in L and T, decreasing in n.",
        example=(("n", "50000"), ("lipschitz", "1"), ("beta", "4"), ("c", "0.05"), ("max_t_step", "0.04"),
                 ("T", "100000")),
    )
)
