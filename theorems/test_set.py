"""Test-set bounds: the true error of a fixed classifier from its errors on held-out data.

Main statements (J. Langford, "Tutorial on practical prediction theory for classification", JMLR 6, 2005, Sec. 3).
Let a classifier ``h`` be fixed independently of a test sample ``S`` of ``m`` i.i.d. examples on which it makes
``k`` errors. With probability at least ``1 - delta`` over ``S``:

* **Test-set bound** (Thm. 3.3): ``err(h) <= Bbar(m, k, delta) = max{p : Bin(m, k, p) >= delta}``;
* **Relative-entropy (Chernoff) relaxation** (Sec. 3, via the Chernoff bound ``Bin(m,k,p) <= exp(-m kl(k/m||p))``):
  ``err(h) <= kl^{-1}(k/m, ln(1/delta)/m)``;
* **Hoeffding relaxation** (W. Hoeffding, JASA 58, 1963, Thm. 1): ``err(h) <= k/m + sqrt(ln(1/delta)/(2m))``.

Each is tighter than the next: ``Bbar <= kl^{-1} <= Hoeffding`` (Pinsker's inequality gives the second step).
"""

from __future__ import annotations

import sympy

from theorems._checks import le
from theorems._registry import register
from theorems._symbols import BinomTailInv, KlInv, sqrt
from theorems._theorem import NONNEG_INT, OPEN_UNIT, POSITIVE_INT, Hypothesis, Quantity, Reference, Theorem

__all__ = ["binomial_tail", "kl_chernoff", "hoeffding"]

m, k, delta = sympy.symbols("m k delta")

_QUANTITIES = (
    Quantity("m", "number of held-out test examples", POSITIVE_INT, "data", "decreasing"),
    Quantity("k", "errors of the classifier on the test examples", NONNEG_INT, "data", "increasing"),
    Quantity("delta", "confidence parameter (failure probability)", OPEN_UNIT, "user", "decreasing", r"\delta"),
)

_HYPOTHESES = (
    Hypothesis("h_k_le_m", r"$k \le m$", le("k", "m")),
    Hypothesis("h_iid", "the test examples are drawn i.i.d. from the data distribution"),
    Hypothesis("h_independent", "the classifier was fixed without looking at the test examples"),
)

_LANGFORD = "J. Langford. Tutorial on practical prediction theory for classification. JMLR 6:273-306, 2005."
_BOUNDED = "0-1 risk (test error) of the fixed classifier h"
_CONF = 1 - delta
_EXAMPLE = (("m", "1000"), ("k", "30"), ("delta", "0.05"))

binomial_tail = register(
    Theorem(
        id="test_set.binomial_tail",
        title="Test-set bound by binomial tail inversion",
        kind="bound",
        statement=BinomTailInv(m, k, delta),
        bounded=_BOUNDED,
        bounded_latex=r"\mathrm{err}_{\mathcal{D}}(h)",
        quantities=_QUANTITIES,
        hypotheses=_HYPOTHESES,
        reference=Reference("langford2005", _LANGFORD, "Theorem 3.3", "docs/references.rst [V]"),
        confidence=_CONF,
        holds_for="the one classifier h fixed before the test sample is drawn",
        example=_EXAMPLE,
    )
)

kl_chernoff = register(
    Theorem(
        id="test_set.kl_chernoff",
        title="Test-set bound, relative-entropy Chernoff relaxation",
        kind="bound",
        statement=KlInv(k / m, sympy.log(1 / delta) / m),
        bounded=_BOUNDED,
        bounded_latex=r"\mathrm{err}_{\mathcal{D}}(h)",
        quantities=_QUANTITIES,
        hypotheses=_HYPOTHESES,
        reference=Reference(
            "langford2005", _LANGFORD, "Sec. 3: Theorem 3.3 with the relative-entropy Chernoff bound",
            "docs/references.rst [V]",
        ),
        confidence=_CONF,
        holds_for="the one classifier h fixed before the test sample is drawn",
        example=_EXAMPLE,
    )
)

hoeffding = register(
    Theorem(
        id="test_set.hoeffding",
        title="Test-set bound, Hoeffding relaxation",
        kind="bound",
        statement=k / m + sqrt(sympy.log(1 / delta) / (2 * m)),
        bounded=_BOUNDED,
        bounded_latex=r"\mathrm{err}_{\mathcal{D}}(h)",
        quantities=_QUANTITIES,
        hypotheses=_HYPOTHESES,
        reference=Reference(
            "hoeffding1963",
            "W. Hoeffding. Probability inequalities for sums of bounded random variables. JASA 58:13-30, 1963.",
            "Theorem 1 (as used in Langford 2005, Sec. 3)",
            "docs/references.rst [V]",
        ),
        confidence=_CONF,
        holds_for="the one classifier h fixed before the test sample is drawn",
        example=_EXAMPLE,
    )
)
