"""Certified robustness: the Lipschitz-margin radius (Tsuzuku, Sato, Sugiyama 2018), certified robust accuracy and
the test-set bound on the robust error, whichever sound verifier certified the points.

Main statements. Let ``f: R^n -> R^K`` be the logit map, ``L`` any upper bound on its l2 -> l2 Lipschitz constant
(product of certified layer spectral norms times activation constants; a residual block contributes
``1 + L_block``), and ``M(x) = f_y(x) - max_{i != y} f_i(x)`` the logit margin of the predicted class ``y``.

* **Lipschitz-margin certificate** (Tsuzuku et al. 2018, Prop. 1): if ``M(x) > sqrt(2) L eps`` the prediction is
  constant on the l2 ball of radius ``eps`` around ``x``. Proof: ``|a_y - a_i| <= sqrt(2) ||a||_2``, so each
  ``f_y - f_i`` is ``sqrt(2) L``-Lipschitz and stays positive on the ball. So the **certified radius** is
  ``M(x) / (sqrt(2) L)``: the prediction is constant on every ball of smaller radius.
  *Direction*: the radius is increasing in ``M`` and decreasing in ``L``; what is certified is the *lower* end of
  its enclosure, ``M_lo / (sqrt(2) L_hi)``, from a lower bound on the margin and an upper bound on ``L``.
* **Sound verifiers** (hypothesis ``h_certified_sound``): a point counts as *certified* at radius ``eps`` when a
  method proves that the exact real network with the stored float weights classifies every input of the l2 ball of
  radius ``eps`` around it as its label. Two such methods: the Lipschitz-margin criterion above (margin lower end
  ``> sqrt(2) L_hi eps``), and bound propagation with outward rounding (IBP, CROWN, alpha-CROWN:
  :mod:`kernels.bounds`, whose proven lower bound of every margin ``f_y - f_j`` over the ball is ``> 0``); the
  latter may be run on the l2 ball or on the l-inf ball of radius ``eps``, which contains it (``||d||_inf <=
  ||d||_2``), so a point certified on the l-inf ball is certified on the l2 ball. Each certificate's inputs name
  the method and ball that discharged the hypothesis.
* **Certified robust accuracy** on a sample: the fraction of points that are correctly classified *and* certified
  at radius ``eps`` is a lower bound on the sample's robust accuracy at radius ``eps`` (a deterministic statement
  about that sample).
* **Robust error, test-set bound**: the robust 0-1 loss ``1[exists ||d||_2 <= eps : h(x + d) != y]`` is a fixed
  {0, 1}-valued function of ``(x, y)`` once ``h`` and ``eps`` are fixed, so Langford's test-set bound (JMLR 2005,
  Thm. 3.3) applies to it; the number of test points that are not certified is an upper bound on the number of
  robust errors, and ``Bbar(m, k, delta)`` is non-decreasing in ``k``.

Versions: ``robust.certified_accuracy`` v2 and ``robust.robust_error_test_set`` v3 state ``h_certified_sound`` (any
sound verifier, the one used named per certificate) where v1/v2 stated ``h_lipschitz_upper`` (the Lipschitz
criterion only); ``robust.tsuzuku2018_radius`` is the Lipschitz statement and keeps ``h_lipschitz_upper``.
"""

from __future__ import annotations

import sympy

from theorems._checks import le
from theorems._registry import register
from theorems._symbols import BinomTailInv
from theorems._theorem import NONNEG_INT, OPEN_UNIT, POSITIVE, POSITIVE_INT, Hypothesis, Quantity, Reference, Theorem

__all__ = ["tsuzuku2018_radius", "certified_accuracy", "robust_error_test_set"]

margin, lip, m, n_cert, k_unc, delta = sympy.symbols("logit_margin lipschitz m n_certified k_uncertified delta")

_TSUZUKU = Reference(
    "tsuzuku2018",
    "Y. Tsuzuku, I. Sato, M. Sugiyama. Lipschitz-margin training: scalable certification of perturbation "
    "invariance for deep neural networks. NeurIPS 2018.",
    "Proposition 1",
    "docs/references.rst [V]; proof re-derived in theorems.robustness",
)
_LIP = Quantity("lipschitz", "upper bound L on the l2 Lipschitz constant of the logit map: product over layers of "
                "certified spectral norms (upper ends) times activation Lipschitz constants", POSITIVE, "kernel",
                "decreasing", "L")
_H_LIP = Hypothesis("h_lipschitz_upper", "lipschitz is an upper bound on the Lipschitz constant of the whole logit map "
                    "(l2 -> l2), including normalisation and residual layers")
_H_SOUND = Hypothesis("h_certified_sound", "every point counted as certified is proven, for the exact real network "
                      "with the stored float weights, to be classified as its label on the whole l2 ball of radius "
                      "eps, by a sound verifier: the Lipschitz-margin criterion with a certified upper bound of the "
                      "l2 Lipschitz constant (Tsuzuku et al. 2018, Prop. 1), or outward-rounded bound propagation "
                      "(IBP, CROWN or alpha-CROWN, kernels.bounds) on that l2 ball or on the l-inf ball of radius "
                      "eps, which contains it; the certificate's inputs name the method and the ball")
_H_EPS = Hypothesis("h_eps_fixed", "the radius eps and the network were fixed before the test sample was drawn")

tsuzuku2018_radius = register(
    Theorem(
        id="robust.tsuzuku2018_radius",
        title="Lipschitz-margin certified l2 radius (per sample)",
        kind="bound",
        statement=margin / (sympy.sqrt(2) * lip),
        bounded="l2 distance from x to the nearest input with a different predicted class",
        bounded_latex=r"\mathrm{dist}_2(x, \{x' : h(x') \ne h(x)\})",
        quantities=(
            Quantity("logit_margin", "M(x) = top logit minus runner-up logit at x, as an enclosure; must be > 0 "
                     "for certain (its lower end is what counts)", POSITIVE, "model", "increasing", "M(x)"),
            _LIP,
        ),
        hypotheses=(_H_LIP,),
        reference=_TSUZUKU,
        relation=">=",
        holds_for="the one input x (deterministic); the certified radius is the LOWER end of the enclosure",
        example=(("logit_margin", "3.2"), ("lipschitz", "12.5")),
    )
)

certified_accuracy = register(
    Theorem(
        id="robust.certified_accuracy",
        title="Certified robust accuracy on a sample (sound verifier: Lipschitz margin or bound propagation)",
        kind="bound",
        statement=n_cert / m,
        bounded="fraction of the sample classified correctly on the whole l2 ball of radius eps",
        bounded_latex=r"\mathrm{acc}_{\varepsilon}(S)",
        quantities=(
            Quantity("n_certified", "number of sample points correctly classified and certified at radius eps by a "
                     "sound verifier (Lipschitz margin lower end > sqrt(2) * lipschitz upper end * eps, or a proven "
                     "margin lower bound > 0 over the ball by outward-rounded bound propagation)", NONNEG_INT,
                     "derived", "increasing"),
            Quantity("m", "number of sample points", POSITIVE_INT, "data", "decreasing"),
        ),
        hypotheses=(Hypothesis("h_k_le_m", r"$n_{cert} \le m$", le("n_certified", "m")), _H_SOUND),
        reference=_TSUZUKU,
        relation=">=",
        holds_for="the given sample (deterministic)",
        version=2,  # v2: h_certified_sound (the verifier used) instead of h_lipschitz_upper (Lipschitz only)
        example=(("n_certified", "812"), ("m", "1000")),
    )
)

robust_error_test_set = register(
    Theorem(
        id="robust.robust_error_test_set",
        title="Test-set bound on the robust error at radius eps",
        kind="bound",
        statement=BinomTailInv(m, k_unc, delta),
        bounded="robust 0-1 risk P[exists ||d||_2 <= eps : h(x + d) != y] on the data distribution",
        bounded_latex=r"\mathrm{err}^{\mathrm{rob}}_{\varepsilon}(h)",
        quantities=(
            Quantity("m", "number of held-out test examples", POSITIVE_INT, "data", "decreasing"),
            Quantity("k_uncertified", "test points NOT certified robust at eps by a sound verifier (misclassified, "
                     "or neither the Lipschitz margin criterion nor outward-rounded bound propagation proves the "
                     "label on the ball)", NONNEG_INT, "derived", "increasing"),
            Quantity("delta", "confidence parameter (failure probability)", OPEN_UNIT, "user", "decreasing",
                     r"\delta"),
        ),
        hypotheses=(
            Hypothesis("h_k_le_m", r"$k \le m$", le("k_uncertified", "m")),
            Hypothesis("h_iid", "the test examples are drawn i.i.d. from the data distribution"),
            Hypothesis("h_independent", "the network was fixed without looking at the test examples (held-out data)"),
            _H_EPS,
            _H_SOUND,
        ),
        reference=Reference(
            "langford2005", "J. Langford. Tutorial on practical prediction theory for classification. JMLR 6, 2005.",
            "Theorem 3.3 applied to the robust 0-1 loss, with a sound verifier (Tsuzuku et al. 2018 Prop. 1, or "
            "outward-rounded bound propagation)",
            "docs/references.rst [V]",
        ),
        confidence=1 - delta,
        holds_for="the one network and radius fixed before the test sample is drawn",
        version=3,  # v2: the held-out hypothesis h_independent; v3: h_certified_sound instead of h_lipschitz_upper
        example=(("m", "500"), ("k_uncertified", "94"), ("delta", "0.05")),
    )
)
