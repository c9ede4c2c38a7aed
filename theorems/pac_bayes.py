"""PAC-Bayes bounds on the risk of a stochastic classifier (a posterior ``Q`` over networks).

Main statements. A prior ``P`` is fixed before the training sample ``S`` of ``m`` i.i.d. examples is seen; the loss
is the 0-1 loss (any loss in [0, 1]). With probability at least ``1 - delta`` over ``S``, simultaneously for every
posterior ``Q`` (``emp = emp(Q)`` its empirical risk on ``S``, ``kl = KL(Q||P)`` in nats):

* **PAC-Bayes-kl** (Langford & Seeger 2001; A. Maurer, "A note on the PAC Bayesian theorem", 2004, Thm. 5; needs
  ``m >= 8``): ``kl(emp || err(Q)) <= (kl + ln(2 sqrt(m)/delta)) / m``, i.e.
  ``err(Q) <= kl^{-1}(emp, (kl + ln(2 sqrt(m)/delta)) / m)``;
* **McAllester's form** (Pinsker's inequality ``kl(q||p) >= 2 (p-q)^2`` applied to the above):
  ``err(Q) <= emp + sqrt((kl + ln(2 sqrt(m)/delta)) / (2m))``;
* **Catoni's bound** (O. Catoni, "PAC-Bayesian supervised classification", IMS Lecture Notes 56, 2007, Thm. 1.2.6),
  for a ``gamma > 0`` fixed in advance: ``err(Q) <= Phi^{-1}_{gamma/m}(emp + (kl + ln(1/delta))/gamma)`` with
  ``Phi^{-1}_a(q) = (1 - e^{-a q}) / (1 - e^{-a})``;
* **Dziugaite & Roy 2017** ("Computing nonvacuous generalization bounds for deep (stochastic) neural networks with
  many more parameters than training data", UAI 2017, eq. (7) with the union bound of their Sec. 5 / App. B): prior
  ``N(w0, lambda_j I)`` with ``lambda_j = c exp(-j/b)`` chosen from a grid indexed by ``j >= 1``,
  ``err(Q) <= kl^{-1}(emp, (kl + 2 ln j + ln(pi^2 m / (6 delta))) / (m - 1))``. Here ``emp`` is an *upper bound* on
  the stochastic empirical risk (theirs: a kl bound on a Monte Carlo estimate, with its own ``delta'``).

Every statement is non-decreasing in ``emp``, so an upper bound on the empirical risk may be passed for ``emp_risk``.
"""

from __future__ import annotations

import sympy

from theorems._checks import at_least
from theorems._registry import register
from theorems._symbols import KlInv, sqrt
from theorems._theorem import (
    NONNEG,
    OPEN_UNIT,
    POSITIVE,
    POSITIVE_INT,
    PROBABILITY,
    Hypothesis,
    Quantity,
    Reference,
    Theorem,
)

__all__ = ["pac_bayes_kl", "mcallester", "catoni", "dziugaite_roy2017"]

m, emp, kl, delta, gamma, j = sympy.symbols("m emp_risk kl delta gamma j")

_M = Quantity("m", "number of training examples the bound is evaluated on", POSITIVE_INT, "data", "decreasing")
_EMP = Quantity(
    "emp_risk", "empirical 0-1 risk of the posterior Q (or an upper bound on it)", PROBABILITY, "data",
    "increasing", r"\hat{L}_S(Q)",
)
_KL = Quantity("kl", "KL(Q||P) in nats", NONNEG, "model", "increasing", r"\mathrm{KL}(Q\|P)")
_DELTA = Quantity("delta", "confidence parameter (failure probability)", OPEN_UNIT, "user", "decreasing", r"\delta")

_PRIOR = Hypothesis("h_prior_fixed", "the prior P was chosen without looking at the training sample S")
_IID = Hypothesis("h_iid", "the training examples are drawn i.i.d. from the data distribution")
_LOSS = Hypothesis("h_loss_bounded", "the loss takes values in [0, 1] (the 0-1 loss)")
_M8 = Hypothesis("h_m_ge_8", r"$m \ge 8$", at_least("m", 8))

_MAURER = "A. Maurer. A note on the PAC Bayesian theorem. arXiv:cs/0411099, 2004."
_BOUNDED = "0-1 risk of the stochastic classifier Q (Gibbs classifier) on the data distribution"
_ALL_Q = "every posterior Q simultaneously"
_EXAMPLE = (("m", "10000"), ("emp_risk", "0.05"), ("kl", "200"), ("delta", "0.05"))

_budget = (kl + sympy.log(2 * sympy.sqrt(m) / delta)) / m

pac_bayes_kl = register(
    Theorem(
        id="pac_bayes.kl",
        title="PAC-Bayes-kl bound (Langford-Seeger, Maurer)",
        kind="bound",
        statement=KlInv(emp, _budget),
        bounded=_BOUNDED,
        bounded_latex=r"L_{\mathcal{D}}(Q)",
        quantities=(_M, _EMP, _KL, _DELTA),
        hypotheses=(_M8, _PRIOR, _IID, _LOSS),
        reference=Reference("maurer2004", _MAURER, "Theorem 5", "docs/references.rst [V], as used in PBB"),
        confidence=1 - delta,
        holds_for=_ALL_Q,
        example=_EXAMPLE,
    )
)

mcallester = register(
    Theorem(
        id="pac_bayes.mcallester",
        title="McAllester's PAC-Bayes bound (Pinsker relaxation of PAC-Bayes-kl)",
        kind="bound",
        statement=emp + sqrt(_budget / 2),
        bounded=_BOUNDED,
        bounded_latex=r"L_{\mathcal{D}}(Q)",
        quantities=(_M, _EMP, _KL, _DELTA),
        hypotheses=(_M8, _PRIOR, _IID, _LOSS),
        reference=Reference(
            "maurer2004", _MAURER, "Theorem 5 with Pinsker's inequality (McAllester 1999 form)",
            "docs/references.rst [V]",
        ),
        confidence=1 - delta,
        holds_for=_ALL_Q,
        example=_EXAMPLE,
    )
)

_a = gamma / m
catoni = register(
    Theorem(
        id="pac_bayes.catoni",
        title="Catoni's PAC-Bayes bound (fixed gamma)",
        kind="bound",
        statement=(1 - sympy.exp(-_a * (emp + (kl + sympy.log(1 / delta)) / gamma))) / (1 - sympy.exp(-_a)),
        bounded=_BOUNDED,
        bounded_latex=r"L_{\mathcal{D}}(Q)",
        quantities=(
            # not monotone in m: Phi^-1_{gamma/m}(q) decreases in m for q < 1 but increases for q > 1 (vacuous)
            Quantity("m", _M.meaning, _M.domain, _M.source, None),
            _EMP,
            _KL,
            _DELTA,
            Quantity("gamma", "inverse temperature, fixed before seeing the sample", POSITIVE, "user", None,
                     r"\gamma"),
        ),
        hypotheses=(
            Hypothesis("h_gamma_fixed", "gamma was chosen before the training sample was seen"),
            _PRIOR,
            _IID,
            _LOSS,
        ),
        reference=Reference(
            "catoni2007",
            "O. Catoni. PAC-Bayesian supervised classification: the thermodynamics of statistical learning. "
            "IMS Lecture Notes Monograph Series 56, 2007.",
            "Theorem 1.2.6",
            "docs/references.rst [V] (Phi^-1 form as used in Lotfi et al. 2022 and Zhou et al. 2019 code)",
        ),
        confidence=1 - delta,
        holds_for=_ALL_Q,
        example=(("m", "10000"), ("emp_risk", "0.05"), ("kl", "200"), ("delta", "0.05"), ("gamma", "5000")),
    )
)

dziugaite_roy2017 = register(
    Theorem(
        id="pac_bayes.dziugaite_roy2017",
        title="Dziugaite-Roy 2017 PAC-Bayes-kl bound with a union over prior variances",
        kind="bound",
        statement=KlInv(emp, (kl + 2 * sympy.log(j) + sympy.log(sympy.pi**2 * m / (6 * delta))) / (m - 1)),
        bounded=_BOUNDED,
        bounded_latex=r"L_{\mathcal{D}}(Q)",
        quantities=(
            _M,
            _EMP,
            _KL,
            _DELTA,
            Quantity("j", "index of the prior variance lambda_j = c exp(-j/b) on the grid", POSITIVE_INT, "model",
                     "increasing"),
        ),
        hypotheses=(
            Hypothesis("h_m_ge_2", r"$m \ge 2$", at_least("m", 2)),
            Hypothesis("h_prior_grid", "the prior is N(w0, lambda_j I), lambda_j = c exp(-j/b), with w0, b, c fixed "
                       "before seeing S (the paper: b = 100, c = 0.1)"),
            _IID,
            _LOSS,
        ),
        reference=Reference(
            "dziugaite2017",
            "G. K. Dziugaite and D. M. Roy. Computing nonvacuous generalization bounds for deep (stochastic) neural "
            "networks with many more parameters than training data. UAI 2017.",
            "eq. (7) with the union bound over lambda (Sec. 5, App. B)",
            "docs/references.rst [V in gkdziugaite/pacbayes-opt]",
        ),
        confidence=1 - delta,
        holds_for=_ALL_Q,
        example=(("m", "55000"), ("emp_risk", "0.0295"), ("kl", "5144"), ("delta", "0.025"), ("j", "100")),
    )
)
