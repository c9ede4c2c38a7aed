"""Compression (Occam) bounds: the risk of a network that a fixed decoder rebuilds from a short code.

Prior on codes (derived). Fix a decoder before seeing the sample. A network ``h`` with a code of ``l >= 1`` bits gets
prior mass ``P(h) >= (6/pi^2) l^-2 2^-l`` (for each length ``l`` the ``2^l`` strings share ``6/(pi^2 l^2)``, and
``sum_l 6/(pi^2 l^2) = 1``), so a point-mass posterior on ``h`` has

    ``KL = ln(1/P(h)) <= l ln 2 + 2 ln l + ln(pi^2 / 6)``

(the ``l + 2 log2 l`` bits of Zhou et al. 2019 and Lotfi et al. 2022, plus the normalising ``ln(pi^2/6)``).

Main statements, with probability ``>= 1 - delta`` over ``m`` i.i.d. training examples, for every code at once:

* **Occam, kl form** (PAC-Bayes-kl, Maurer 2004 Thm. 5, with the point mass): ``err(h) <= kl^-1(emp, (KL + ln(2
  sqrt(m)/delta)) / m)``, ``m >= 8``.
* **Occam, binomial form** (Langford 2005, Sec. 4 Occam's Razor bound: Thm. 3.3 for each code with ``delta P(h)``
  and a union bound): ``err(h) <= Bbar(m, k, delta P(h))``, ``k`` the training errors.
* **Catoni with a union over gamma** (Catoni 2007 Thm. 1.2.6; the union of Lotfi et al. 2022, their code
  activatedgeek/tight-pac-bayes): for every ``gamma >= 1`` at once, with ``alpha = 10^-4``,
  ``err(Q) <= Phi^-1_{gamma/m}(emp + (1 + alpha)/gamma [KL + ln(1/delta) + 2 ln(2 + ln(gamma)/ln(1 + alpha))])``,
  ``Phi^-1_a(q) = (1 - e^{-a q}) / (1 - e^{-a})``. Derivation: apply Catoni at ``gamma_k = (1+alpha)^k``,
  ``k >= 0``, with ``delta_k = delta / ((k+1)(k+2))``; for ``gamma`` take ``k = floor(ln gamma / ln(1+alpha))``, so
  ``1/gamma_k < (1+alpha)/gamma`` and ``k + 2 <= 2 + ln gamma / ln(1+alpha)``; ``Phi^-1_a(q)`` is increasing in ``q``
  and, for ``q <= 1``, in ``a`` (``q/(e^{aq}-1) >= 1/(e^a-1)``); for ``q > 1`` the right side exceeds 1.
* **Occam, Catoni form**: the above with the code-length KL. Zhou et al. 2019 (ImageNet, 350 KiB code, 65% train
  accuracy) report 96.5% top-1 error; the test suite recomputes 0.9654.
"""

from __future__ import annotations

from fractions import Fraction

import sympy

from theorems._checks import at_least, le
from theorems._registry import register
from theorems._symbols import BinomTailInv, KlInv
from theorems._theorem import (
    NONNEG,
    NONNEG_INT,
    OPEN_UNIT,
    POSITIVE_INT,
    PROBABILITY,
    Domain,
    Hypothesis,
    Quantity,
    Reference,
    Theorem,
)

__all__ = ["occam_kl", "occam_binomial", "catoni_union", "occam_catoni", "code_kl"]

m, emp, bits, delta, kl, gamma, k = sympy.symbols("m emp_risk code_bits delta kl gamma k")

#: ``ln(1/P(h))`` for a code of ``bits`` bits under the prior of the module docstring.
code_kl = bits * sympy.log(2) + 2 * sympy.log(bits) + sympy.log(sympy.pi**2 / 6)
#: The grid ratio of the union over gamma (fixed in advance).
ALPHA = sympy.Rational(1, 10000)

_M = Quantity("m", "number of training examples", POSITIVE_INT, "data", "decreasing")
# The Catoni forms declare no direction for m (as pac_bayes.catoni): Phi^-1_{gamma/m}(q) decreases in m for q < 1
# but increases for q > 1 (vacuous region), e.g. m = 1 -> 2 at emp = 1, kl = 0, gamma = 1 goes 1.58 -> 2.39.
_M_CATONI = Quantity("m", _M.meaning, _M.domain, _M.source, None)
_EMP = Quantity("emp_risk", "empirical 0-1 risk on the training sample (or an upper bound on it)", PROBABILITY, "data",
                "increasing", r"\hat{L}_S")
_BITS = Quantity("code_bits", "length in bits of the code from which the fixed decoder rebuilds the network, all side "
                 "information (codebook, shapes, quantisation levels) included", POSITIVE_INT, "model", "increasing",
                 r"\ell")
_DELTA = Quantity("delta", "confidence parameter (failure probability)", OPEN_UNIT, "user", "decreasing", r"\delta")
_GAMMA = Quantity("gamma", "Catoni inverse temperature, any gamma >= 1 (the union over gamma is paid in the "
                  "statement; choose it to minimise the bound)", Domain(lo=Fraction(1)), "user", None, r"\gamma")

_DECODER = Hypothesis("h_decoder_fixed", "the decoder (and the code format) was fixed before the sample was seen")
_IID = Hypothesis("h_iid", "the training examples are drawn i.i.d. from the data distribution")
_LOSS = Hypothesis("h_loss_bounded", "the loss takes values in [0, 1] (the 0-1 loss)")
_PRIOR = Hypothesis("h_prior_fixed", "the prior P was chosen without looking at the training sample")

_ZHOU = ("W. Zhou, V. Veitch, M. Austern, R. P. Adams, P. Orbanz. Non-vacuous generalization bounds at the ImageNet "
         "scale: a PAC-Bayesian compression approach. ICLR 2019.")
_LOTFI = ("S. Lotfi, M. Finzi, S. Kapoor, A. Potapczynski, M. Goldblum, A. G. Wilson. PAC-Bayes compression bounds so "
          "tight that they can explain generalization. NeurIPS 2022.")
_CATONI = ("O. Catoni. PAC-Bayesian supervised classification: the thermodynamics of statistical learning. IMS "
           "Lecture Notes 56, 2007.")
_BOUNDED = "0-1 risk of the network rebuilt from the code"


def _catoni_union(kl_expr: sympy.Expr) -> sympy.Expr:
    a = gamma / m
    budget = (1 + ALPHA) / gamma * (kl_expr + sympy.log(1 / delta)
                                    + 2 * sympy.log(2 + sympy.log(gamma) / sympy.log(1 + ALPHA)))
    return (1 - sympy.exp(-a * (emp + budget))) / (1 - sympy.exp(-a))


occam_kl = register(
    Theorem(
        id="compression.occam_kl",
        title="Occam bound for a compressed network, PAC-Bayes-kl form",
        kind="bound",
        statement=KlInv(emp, (code_kl + sympy.log(2 * sympy.sqrt(m) / delta)) / m),
        bounded=_BOUNDED,
        bounded_latex=r"L_{\mathcal{D}}(h)",
        quantities=(_M, _EMP, _BITS, _DELTA),
        hypotheses=(Hypothesis("h_m_ge_8", r"$m \ge 8$", at_least("m", 8)), _DECODER, _IID, _LOSS),
        reference=Reference("zhou2019", _ZHOU,
                            "Maurer 2004 Thm. 5 with the code-length prior of Zhou et al. Sec. 3 (their theorem no. U)",
                            "docs/references.rst [V in code]; prior normalisation derived in theorems.compression"),
        confidence=1 - delta,
        holds_for="every network with a code, simultaneously",
        example=(("m", "60000"), ("emp_risk", "0.02"), ("code_bits", "20000"), ("delta", "0.05")),
    )
)

occam_binomial = register(
    Theorem(
        id="compression.occam_binomial",
        title="Occam's razor bound for a compressed network, binomial tail form",
        kind="bound",
        statement=BinomTailInv(m, k, delta * 6 / (sympy.pi**2 * bits**2) * sympy.Integer(2) ** (-bits)),
        bounded=_BOUNDED,
        bounded_latex=r"L_{\mathcal{D}}(h)",
        quantities=(
            _M,
            Quantity("k", "training errors of the rebuilt network", NONNEG_INT, "data", "increasing"),
            _BITS, _DELTA,
        ),
        hypotheses=(Hypothesis("h_k_le_m", r"$k \le m$", le("k", "m")), _DECODER, _IID),
        reference=Reference("langford2005", "J. Langford. Tutorial on practical prediction theory for "
                            "classification. JMLR 6, 2005.",
                            "Sec. 4, Occam's Razor bound (Theorem 3.3 with delta P(h))",
                            "derived in theorems.compression (union of Thm. 3.3 over codes)"),
        confidence=1 - delta,
        holds_for="every network with a code, simultaneously",
        example=(("m", "2000"), ("k", "40"), ("code_bits", "300"), ("delta", "0.05")),
    )
)

catoni_union = register(
    Theorem(
        id="compression.catoni_union",
        title="Catoni's PAC-Bayes bound with a union over gamma (Lotfi et al. 2022)",
        kind="bound",
        statement=_catoni_union(kl),
        bounded="0-1 risk of the stochastic classifier Q",
        bounded_latex=r"L_{\mathcal{D}}(Q)",
        quantities=(_M_CATONI, _EMP, Quantity("kl", "KL(Q||P) in nats", NONNEG, "model", "increasing",
                                       r"\mathrm{KL}(Q\|P)"), _GAMMA, _DELTA),
        hypotheses=(_PRIOR, _IID, _LOSS),
        reference=Reference("lotfi2022", _LOTFI,
                            "Catoni 2007 Thm. 1.2.6 with the union over gamma of Lotfi et al. Sec. 3 "
                            "(code: pactl/bounds)",
                            "docs/references.rst [V in activatedgeek/tight-pac-bayes]; union re-derived here"),
        confidence=1 - delta,
        holds_for="every posterior Q and every gamma >= 1, simultaneously",
        example=(("m", "60000"), ("emp_risk", "0.02"), ("kl", "2000"), ("gamma", "60000"), ("delta", "0.05")),
    )
)

occam_catoni = register(
    Theorem(
        id="compression.occam_catoni",
        title="Occam bound for a compressed network, Catoni form with a union over gamma (Zhou 2019, Lotfi 2022)",
        kind="bound",
        statement=_catoni_union(code_kl),
        bounded=_BOUNDED,
        bounded_latex=r"L_{\mathcal{D}}(h)",
        quantities=(_M_CATONI, _EMP, _BITS, _GAMMA, _DELTA),
        hypotheses=(_DECODER, _IID, _LOSS),
        reference=Reference("zhou2019", _ZHOU, "Catoni 2007 Thm. 1.2.6 with the code-length prior (Zhou et al. Sec. 3) "
                            "and the union over gamma of Lotfi et al. Sec. 3",
                            "docs/references.rst [V in code]; derived in theorems.compression"),
        confidence=1 - delta,
        holds_for="every network with a code and every gamma >= 1, simultaneously",
        example=(("m", "1281167"), ("emp_risk", "0.35"), ("code_bits", "2867200"), ("gamma", "5058575"),
                 ("delta", "0.05")),
    )
)
