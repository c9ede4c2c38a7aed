"""Norm- and margin-based bounds on the risk of a network, from Rademacher complexity.

Setting (binary classification). A real-valued network ``f`` without biases, with 1-Lipschitz, positively
homogeneous activations (ReLU, leaky ReLU), labels ``y in {-1, +1}``, misclassification ``y f(x) <= 0``. Fix a margin
``gamma > 0``; ``emp_margin_risk`` is the fraction of the ``m`` training examples with ``y f(x) < gamma``;
``x_frob = ||X||_F = sqrt(sum_i ||x_i||_2^2)`` over the training inputs. Rademacher complexities follow Mohri et al.
(``E_sigma sup_h (1/m) sum_i sigma_i h(x_i)``, no absolute value).

Rademacher complexity of the classes (empirical, on the sample):

* **Linear class** (Bartlett & Mendelson, JMLR 3, 2002, Lemma 22; here re-derived with Jensen's inequality):
  ``{x -> <w, x> : ||w||_2 <= u}`` has ``R_S <= u ||X||_F / m``.
* **Two-layer class** (Bartlett & Mendelson 2002, Thm. 18; re-derived): ``x -> sum_j v_j sigma(<w_j, x>)`` with
  ``sum_j |v_j| ||w_j||_2 <= u`` has ``R_S <= 2 u ||X||_F / m`` (Ledoux-Talagrand contraction, Thm. 4.12, factor 2).
* **Golowich, Rakhlin, Shamir 2018, Thm. 1** [V]: depth ``d``, ``prod_j ||W_j||_F <= u``:
  ``R_S <= (sqrt(2 ln(2) d) + 1) u ||X||_F / m``.
* **Neyshabur, Tomioka, Srebro 2015** (group-norm peeling, Thm. 1 / Cor. 2; re-derived): peeling one layer costs a
  factor 2 (contraction with an absolute value), so ``R_S <= 2^(d-1) u ||X||_F / m`` for Frobenius products and
  ``R_S <= 2^(d-1) u sqrt(2 ln(2D)) max_c ||X_{:,c}||_2 / m`` for products of ``||W_j||_{1,inf}`` (largest l1 norm of
  a unit's incoming weights; Massart's lemma over the ``2D`` signed input coordinates at the bottom). By the
  rescaling invariance of ReLU networks, the l1 path norm ``phi_1`` (all-ones input through ``|W|``) equals the
  smallest such product over rebalancings, so ``u = phi_1`` is admissible. (rkwitt/excess_capacity's
  ``neyshabur_fro`` has a further ``1/sqrt(2)``; the derived, larger constant is the one used here.)
* **Bartlett, Foster, Telgarsky 2017, Lemma A.8** [V in rkwitt/excess_capacity]: the ramp-loss class ``F_gamma``
  of networks with ``||A_i||_2 <= s_i``, ``||A_i^T - M_i^T||_{2,1} <= b_i`` and rho_i-Lipschitz activations has
  ``R_S(F_gamma) <= 4/m + 9 ln(m)/sqrt(m) sqrt(ln(2W)) (4 ||X||_F / (gamma sqrt(m))) R_A`` with the spectral
  complexity ``R_A = (prod_i rho_i s_i) (sum_i (b_i/s_i)^(2/3))^(3/2)``.

Biases. A ReLU network with biases is the bias-free network on inputs ``(x, 1)`` with augmented matrices
``[[W_k, b_k], [0, 1]]`` (the constant unit passes ReLU unchanged; the last layer is ``[W_d, b_d]``), so every result
below applies with all norms (and ``||X||_F``, the column norms) taken on the augmented matrices and inputs.

From complexity to risk (derived; the "standard terms"). Mohri, Rostamizadeh, Talwalkar, *Foundations of Machine
Learning* (2nd ed., 2018), Thm. 3.3: for a class ``G`` of functions into [0, 1], with probability ``>= 1 - delta``,
for all ``g in G``: ``E g <= E_S g + 2 R_S(G) + 3 sqrt(ln(2/delta)/(2m))``. With the 1-Lipschitz ramp loss at margin 1
(Talagrand's lemma, Mohri Lemma 5.7) this is Mohri's Thm. 5.8. The norms of a trained network are not fixed in
advance, so the classes are made countable: by homogeneity ``f / gamma`` has complexity ``u / gamma``; take the
grid ``u_j = 2^(j/8)``, ``j = 0, 1, ...`` with ``delta_j = delta / ((j+1)(j+2))`` (summing to ``delta``). For
``r = u/gamma`` and ``R = max(r, 1)``, the index ``j* = ceil(8 log2 R)`` has ``r <= u_{j*} < 2^(1/8) R`` and
``j* <= J := 8 log2 R + 1``; the ramp loss at margin 1 of ``f/gamma`` is at most ``1[y f(x) < gamma]``. Hence

    ``P[y f(x) <= 0] <= emp_margin_risk + 2 c 2^(1/8) R / m + 3 sqrt(ln(2 (J+1)(J+2) / delta) / (2m))``,

simultaneously for every network and margin, where ``c`` is the class's complexity constant above
(``R_S <= c u / m``).

Multiclass (derived). With ``k`` outputs and margin ``rho_f(x, y) = f_y(x) - max_{j != y} f_j(x)`` (an error is
``rho_f <= 0``): ``rho_f(x, y) = sum_c 1[y = c] (f_c(x) - max_{j != c} f_j(x))``; Rademacher complexity is
sub-additive, ``R(F - G) <= R(F) + R(G)``, and ``R(max(F_1..F_l)) <= sum_j R(F_j)`` (from ``max(a, b) = (a + b)/2 +
|a - b|/2`` and the contraction lemma), and the terms with ``y_i != c`` vanish, so the margin class has
``R_S <= k sum_c (m_c/m) R_{S_c}(H) <= k c(X_c summed over c) u / m``: ``c`` picks up a factor ``k`` and its data
norm becomes the sum over classes of the per-class norm (e.g. ``sum_c ||X_c||_F <= sqrt(k) ||X||_F``). Each output
``f_j`` is a one-output network whose norm product (or path norm) is at most the whole network's.

Not confirmed, so ``order``: Bartlett-Foster-Telgarsky's own union over ``(s_i, b_i, gamma)`` (their Lemma A.9 /
Thm. 3.1), hence their margin bound (their Lemma A.8 is registered as a ``bound`` on the Rademacher complexity of a
class with given constraints); Neyshabur-Bhojanapalli-Srebro 2018 (explicit constants only inside its proof).
"""

from __future__ import annotations

import sympy

from theorems._checks import at_least
from theorems._registry import register
from theorems._symbols import sqrt
from theorems._theorem import NONNEG, OPEN_UNIT, POSITIVE, POSITIVE_INT, PROBABILITY, Hypothesis, Quantity, Reference
from theorems._theorem import Theorem

__all__ = [
    "bartlett_mendelson_linear",
    "bartlett_mendelson_two_layer",
    "golowich2018_frobenius",
    "neyshabur2015_frobenius",
    "neyshabur2015_l1inf",
    "neyshabur2015_path",
    "golowich2018_frobenius_multiclass",
    "neyshabur2015_frobenius_multiclass",
    "neyshabur2015_path_multiclass",
    "bartlett2017_rademacher",
    "bartlett2017_spectral",
    "neyshabur2018_spectral",
]

m, delta, emp, gamma, xf, d = sympy.symbols("m delta emp_margin_risk margin x_frob depth")
u_lin, u_2l, u_frob, u_1inf, u_path = sympy.symbols("w_norm path_norm_2layer prod_frob prod_l1inf path_norm_l1")
xcol, dim_in, rspec, wmax, xmax, width = sympy.symbols("x_col_max input_dim spectral_complexity max_params x_max width")
pspec, sratio = sympy.symbols("prod_spec sum_frob_over_spec")
xf_class, xcol_class = sympy.symbols("x_frob_class_sum x_col_max_class_sum")

_M = Quantity("m", "number of training examples", POSITIVE_INT, "data", "decreasing")
# No direction for m where small m breaks it (checked by tests/testing/test_properties.py):
# * Bartlett-Foster-Telgarsky: the term 9 ln(m) / m grows from m = 1 to e, and 4/m + c ln(m)/m from m = 2 to 3 once
#   c > 4 / (ln(3)/3 - ln(2)/2) ~ 22.6 (e.g. x_frob = spectral_complexity = 10, margin = 1); decreasing for m >= 3.
# * Neyshabur-Bhojanapalli-Srebro: (A + ln(d m / delta)) / m grows with m while A + ln(d m / delta) < 1 (e.g.
#   A = 0 at depth = width = 1, delta = 0.9: m = 1 -> 2 raises it).
_M_SMALL_M = Quantity("m", _M.meaning, _M.domain, _M.source, None)
_DELTA = Quantity("delta", "confidence parameter (failure probability)", OPEN_UNIT, "user", "decreasing", r"\delta")
_EMP = Quantity(
    "emp_margin_risk",
    "fraction of training examples with margin y f(x) < margin (or an upper bound on it)",
    PROBABILITY, "data", "increasing", r"\hat{L}_\gamma",
)
_GAMMA = Quantity("margin", "margin gamma > 0 (any value; the bound holds for all margins at once). The statement "
                  "is non-increasing in it for a fixed emp_margin_risk (which itself grows with the margin)", POSITIVE,
                  "user", "decreasing", r"\gamma")
_XF = Quantity("x_frob", "||X||_F = sqrt(sum_i ||x_i||_2^2) over the m training inputs (inputs (x, 1) when biases "
               "are folded in; upper end)", NONNEG, "data", "increasing", r"\|X\|_F")
_DEPTH = Quantity("depth", "number of weight layers d", POSITIVE_INT, "model", "increasing", "d")

_IID = Hypothesis("h_iid", "the training examples are drawn i.i.d. from the data distribution")
_BINARY = Hypothesis("h_binary", "labels y in {-1, +1}; f has one real output; an error is y f(x) <= 0")
_HOMOG = Hypothesis("h_homogeneous_activation",
                    "activations 1-Lipschitz and positively homogeneous (ReLU, leaky ReLU); biases, if any, folded in "
                    "(augmented matrices [[W, b], [0, 1]], inputs (x, 1)) and every norm taken on the augmented "
                    "matrices and inputs")

_MOHRI = ("M. Mohri, A. Rostamizadeh, A. Talwalkar. Foundations of Machine Learning, 2nd ed. MIT Press, 2018.")
_BOUNDED = "0-1 risk P[y f(x) <= 0] of the network f"
_MC_BOUNDED = "multiclass 0-1 risk P[argmax_j f_j(x) != y] of the network f"
_HOLDS = "every network f and every margin simultaneously (union over a dyadic grid of u/margin, in the statement)"


def _margin_bound(c: sympy.Expr, u: sympy.Expr) -> sympy.Expr:
    """Mohri Thm. 3.3 + ramp loss + the grid union of the module docstring, for ``R_S <= c u / m``.

    Built with ``evaluate=False`` so that the LaTeX reads like the docstring: ``(J+1)(J+2) = (A+2)(A+3)`` with
    ``A = 8 log2 R``.
    """
    r = sympy.Max(u / gamma, 1)
    a = 8 * sympy.log(r) / sympy.log(2)
    union = sympy.Mul(2, sympy.Add(a, 2, evaluate=False), sympy.Add(a, 3, evaluate=False), sympy.Pow(delta, -1),
                      evaluate=False)
    conf = sympy.Mul(3, sqrt(sympy.log(union) / (2 * m)), evaluate=False)
    complexity = sympy.Mul(2, c, sympy.Integer(2) ** sympy.Rational(1, 8), r, sympy.Pow(m, -1), evaluate=False)
    return sympy.Add(emp, complexity, conf, evaluate=False)


_MC_EMP = Quantity(
    "emp_margin_risk",
    "fraction of training examples with multiclass margin f_y(x) - max_{j != y} f_j(x) < margin (or an upper "
    "bound on it)",
    PROBABILITY, "data", "increasing", r"\hat{L}_\gamma",
)
_CLASSES = Quantity("classes", "number of classes k (outputs of the network)", POSITIVE_INT, "data", "increasing", "k")
_MULTI = Hypothesis("h_multiclass", "labels y in {1..k}; f has k outputs; an error is f_y(x) <= max_{j != y} f_j(x) "
                    "(ties count as errors)")


def _margin_theorem(
    id: str, title: str, c: sympy.Expr, u_q: Quantity, extra: tuple[Quantity, ...], ref: Reference,
    example: tuple[tuple[str, str], ...], *, network: bool = True, multiclass: bool = False,
) -> Theorem:
    if multiclass:
        c, emp_q, bounded, blatex = _CLASSES.symbol * c, _MC_EMP, _MC_BOUNDED, r"\Pr[\arg\max_j f_j(x) \ne y]"
        extra, task = (*extra, _CLASSES), _MULTI
    else:
        emp_q, bounded, blatex, task = _EMP, _BOUNDED, r"\Pr[y f(x) \le 0]", _BINARY
    return register(
        Theorem(
            id=id, title=title, kind="bound", statement=_margin_bound(c, u_q.symbol),
            bounded=bounded, bounded_latex=blatex,
            quantities=(_M, emp_q, u_q, _GAMMA, *extra, _DELTA),
            hypotheses=(_IID, task, *((_HOMOG,) if network else ())), reference=ref, confidence=1 - delta,
            holds_for=_HOLDS,
            notes="Constants derived in the module docstring of theorems.norms (Mohri Thm. 3.3, ramp loss, grid "
                  "union over u/margin with ratio 2^(1/8)" + ("; multiclass reduction)." if multiclass else ")."),
            example=example,
        )
    )


_PROD_FROB = Quantity("prod_frob", "product over layers of Frobenius norms ||W_j||_F (upper end)", NONNEG, "kernel",
                      "increasing", r"\prod_j \|W_j\|_F")
_PATH_L1 = Quantity("path_norm_l1", "l1 path norm: sum over input-output paths of the product of |weights| (forward "
                    "pass of an all-ones input through |W_j|, all outputs summed; upper end)", NONNEG, "kernel",
                    "increasing", r"\phi_1")
_XF_CLASS = Quantity("x_frob_class_sum", "sum over classes c of ||X_c||_F, X_c the training inputs with label c "
                     "(upper end; <= sqrt(k) ||X||_F)", NONNEG, "data", "increasing", r"\sum_c \|X_c\|_F")
_XCOL_CLASS = Quantity("x_col_max_class_sum", "sum over classes c of max over input coordinates of "
                       "sqrt(sum_{i: y_i = c} x_{i,coord}^2) (upper end)", NONNEG, "data", "increasing")

_EX = (("m", "60000"), ("emp_margin_risk", "0.02"), ("margin", "1"), ("x_frob", "2400"), ("delta", "0.05"))

bartlett_mendelson_linear = _margin_theorem(
    "norm.bartlett_mendelson_linear", "Margin bound for linear predictors (l2 norm)", xf,
    Quantity("w_norm", "||w||_2 of the linear predictor (upper end)", NONNEG, "kernel", "increasing", r"\|w\|_2"),
    (_XF,),
    Reference("bartlett2002", "P. L. Bartlett and S. Mendelson. Rademacher and Gaussian complexities: risk bounds "
              "and structural results. JMLR 3:463-482, 2002.", "Lemma 22 (linear class), with Mohri et al. Thm. 3.3",
              "derived in theorems.norms (Jensen's inequality)"),
    _EX + (("w_norm", "3"),), network=False,
)

bartlett_mendelson_two_layer = _margin_theorem(
    "norm.bartlett_mendelson_two_layer", "Margin bound for two-layer networks (l1 outer, l2 inner)", 2 * xf,
    Quantity("path_norm_2layer", "sum_j |v_j| ||w_j||_2 over hidden units j (outer weight times the l2 norm of the "
             "unit's incoming weights; upper end)", NONNEG, "kernel", "increasing"),
    (_XF,),
    Reference("bartlett2002", "P. L. Bartlett and S. Mendelson. Rademacher and Gaussian complexities: risk bounds "
              "and structural results. JMLR 3:463-482, 2002.", "Theorem 18 (two-layer networks), with Mohri Thm. 3.3",
              "derived in theorems.norms (Ledoux-Talagrand Thm. 4.12)"),
    _EX + (("path_norm_2layer", "20"),),
)

golowich2018_frobenius = _margin_theorem(
    "norm.golowich2018_frobenius", "Size-independent Frobenius margin bound (Golowich-Rakhlin-Shamir)",
    (sqrt(2 * sympy.log(2) * d) + 1) * xf,
    _PROD_FROB,
    (_XF, _DEPTH),
    Reference("golowich2018", "N. Golowich, A. Rakhlin, O. Shamir. Size-independent sample complexity of neural "
              "networks. COLT 2018.", "Theorem 1, with Mohri et al. Thm. 3.3",
              "docs/references.rst [V]; rkwitt/excess_capacity golowich_fro"),
    _EX + (("prod_frob", "500"), ("depth", "3")),
)

neyshabur2015_frobenius = _margin_theorem(
    "norm.neyshabur2015_frobenius", "Frobenius-norm margin bound by layer peeling (Neyshabur-Tomioka-Srebro)",
    2 ** (d - 1) * xf,
    _PROD_FROB,
    (_XF, _DEPTH),
    Reference("neyshabur2015", "B. Neyshabur, R. Tomioka, N. Srebro. Norm-based capacity control in neural "
              "networks. COLT 2015.", "Theorem 1 / Corollary 2 (p = q = 2), with Mohri et al. Thm. 3.3",
              "re-derived in theorems.norms (factor 2^(d-1))"),
    _EX + (("prod_frob", "500"), ("depth", "3")),
)

_XCOL = Quantity("x_col_max", "max over input coordinates c of sqrt(sum_i x_{i,c}^2) on the training inputs "
                 "(upper end)", NONNEG, "data", "increasing")
_DIN = Quantity("input_dim", "input dimension D", POSITIVE_INT, "model", "increasing", "D")
_C1INF = 2 ** (d - 1) * sqrt(2 * sympy.log(2 * dim_in)) * xcol

neyshabur2015_l1inf = _margin_theorem(
    "norm.neyshabur2015_l1inf", "l1-inf group-norm margin bound (Neyshabur-Tomioka-Srebro)", _C1INF,
    Quantity("prod_l1inf", "product over layers of ||W_j||_{1,inf} = max over units of the l1 norm of the unit's "
             "incoming weights (upper end)", NONNEG, "kernel", "increasing"),
    (_XCOL, _DIN, _DEPTH),
    Reference("neyshabur2015", "B. Neyshabur, R. Tomioka, N. Srebro. Norm-based capacity control in neural "
              "networks. COLT 2015.", "Theorem 1 / Corollary 2 (p = 1, q = inf), with Mohri et al. Thm. 3.3",
              "re-derived in theorems.norms (peeling + Massart's lemma)"),
    (("m", "60000"), ("emp_margin_risk", "0.02"), ("margin", "1"), ("x_col_max", "120"), ("input_dim", "64"),
     ("depth", "3"), ("prod_l1inf", "40"), ("delta", "0.05")),
)

neyshabur2015_path = _margin_theorem(
    "norm.neyshabur2015_path", "l1 path-norm margin bound (Neyshabur-Tomioka-Srebro)", _C1INF,
    _PATH_L1,
    (_XCOL, _DIN, _DEPTH),
    Reference("neyshabur2015", "B. Neyshabur, R. Tomioka, N. Srebro. Norm-based capacity control in neural "
              "networks. COLT 2015.", "Theorem 1 with the rescaling of Sec. 5 (path norm = min over rebalancings "
              "of the l1-inf product), with Mohri et al. Thm. 3.3", "re-derived in theorems.norms"),
    (("m", "60000"), ("emp_margin_risk", "0.02"), ("margin", "1"), ("x_col_max", "120"), ("input_dim", "64"),
     ("depth", "3"), ("path_norm_l1", "40"), ("delta", "0.05")),
)

# -- multiclass (k outputs): the reduction of the module docstring multiplies c by k and sums the data norm by class
_GRS = Reference("golowich2018", "N. Golowich, A. Rakhlin, O. Shamir. Size-independent sample complexity of neural "
                 "networks. COLT 2018.", "Theorem 1, with Mohri et al. Thm. 3.3 and the multiclass reduction",
                 "docs/references.rst [V]; multiclass reduction derived in theorems.norms")
_MC_EX = (("m", "1437"), ("emp_margin_risk", "0.01"), ("margin", "2"), ("x_frob_class_sum", "1800"),
          ("classes", "10"), ("delta", "0.05"))

golowich2018_frobenius_multiclass = _margin_theorem(
    "norm.golowich2018_frobenius_multiclass", "Size-independent Frobenius margin bound, k classes",
    (sqrt(2 * sympy.log(2) * d) + 1) * xf_class, _PROD_FROB, (_XF_CLASS, _DEPTH), _GRS,
    _MC_EX + (("prod_frob", "300"), ("depth", "3")), multiclass=True,
)

neyshabur2015_frobenius_multiclass = _margin_theorem(
    "norm.neyshabur2015_frobenius_multiclass", "Frobenius-norm margin bound by layer peeling, k classes",
    2 ** (d - 1) * xf_class, _PROD_FROB, (_XF_CLASS, _DEPTH),
    Reference("neyshabur2015", "B. Neyshabur, R. Tomioka, N. Srebro. Norm-based capacity control in neural "
              "networks. COLT 2015.", "Theorem 1 / Corollary 2 (p = q = 2), with Mohri et al. Thm. 3.3 and the "
              "multiclass reduction", "re-derived in theorems.norms"),
    _MC_EX + (("prod_frob", "300"), ("depth", "3")), multiclass=True,
)

neyshabur2015_path_multiclass = _margin_theorem(
    "norm.neyshabur2015_path_multiclass", "l1 path-norm margin bound, k classes",
    2 ** (d - 1) * sqrt(2 * sympy.log(2 * dim_in)) * xcol_class, _PATH_L1, (_XCOL_CLASS, _DIN, _DEPTH),
    Reference("neyshabur2015", "B. Neyshabur, R. Tomioka, N. Srebro. Norm-based capacity control in neural "
              "networks. COLT 2015.", "Theorem 1 with the rescaling of Sec. 5, with Mohri et al. Thm. 3.3 and the "
              "multiclass reduction", "re-derived in theorems.norms"),
    (("m", "1437"), ("emp_margin_risk", "0.01"), ("margin", "2"), ("x_col_max_class_sum", "300"), ("classes", "10"),
     ("input_dim", "64"), ("depth", "3"), ("path_norm_l1", "40"), ("delta", "0.05")), multiclass=True,
)

_BFT = ("P. L. Bartlett, D. J. Foster, M. Telgarsky. Spectrally-normalized margin bounds for neural networks. "
        "NeurIPS 2017.")
_RSPEC = Quantity("spectral_complexity", "R_A = (prod_i rho_i ||A_i||_2) (sum_i (||A_i^T - M_i^T||_{2,1} / "
                  "||A_i||_2)^(2/3))^(3/2): certified spectral norms (upper ends), (2,1) norms of the deviation from "
                  "the reference matrices, rho_i the activation Lipschitz constants", NONNEG, "kernel", "increasing",
                  r"R_A")
_WMAX = Quantity("max_params", "W: max over layers of the number of entries of A_i (>= the width; larger is "
                 "conservative)", POSITIVE_INT, "model", "increasing", "W")
_bft_rad = 4 / m + 9 * sympy.log(m) / sqrt(m) * sqrt(sympy.log(2 * wmax)) * 4 * xf * rspec / (gamma * sqrt(m))

bartlett2017_rademacher = register(
    Theorem(
        id="norm.bartlett2017_rademacher",
        title="Rademacher complexity of the spectrally constrained ramp-loss class (Bartlett-Foster-Telgarsky)",
        kind="bound",
        statement=_bft_rad,
        bounded="empirical Rademacher complexity R_S(F_gamma) of the ramp-loss class of networks whose layer norms "
                "are at most the given values",
        bounded_latex=r"\hat{\mathfrak{R}}_S(\mathcal{F}_\gamma)",
        quantities=(_M_SMALL_M, _XF, _RSPEC, _GAMMA, _WMAX),
        hypotheses=(
            Hypothesis("h_lipschitz_activation", "activations rho_i-Lipschitz with sigma_i(0) = 0"),
            Hypothesis("h_m_ge_2", r"$m \ge 2$", at_least("m", 2)),
        ),
        reference=Reference("bartlett2017", _BFT, "Lemma A.8", "docs/references.rst [V in rkwitt/excess_capacity]"),
        holds_for="the class defined by the given norm constraints, on the given sample (deterministic)",
        example=(("m", "60000"), ("x_frob", "2400"), ("spectral_complexity", "50"), ("margin", "5"),
                 ("max_params", "200704")),
    )
)

bartlett2017_spectral = register(
    Theorem(
        id="norm.bartlett2017_spectral",
        title="Spectrally-normalized margin bound (Bartlett-Foster-Telgarsky), shape with Lemma A.8 constants",
        kind="order",
        statement=emp + 2 * _bft_rad + 3 * sqrt(sympy.log(2 / delta) / (2 * m)),
        bounded="multiclass 0-1 risk of the network",
        bounded_latex=r"\Pr[\arg\max_j f(x)_j \ne y]",
        quantities=(_M_SMALL_M, _EMP, _XF, _RSPEC, _GAMMA, _WMAX, _DELTA),
        hypotheses=(_IID, Hypothesis("h_lipschitz_activation", "activations rho_i-Lipschitz with sigma_i(0) = 0")),
        reference=Reference("bartlett2017", _BFT, "Theorem 1.1 / Theorem 3.1 (constants of Lemma A.8)",
                            "Lemma A.8 [V]; union over (s_i, b_i, gamma) of Lemma A.9 [U]"),
        confidence=1 - delta,
        relation="lesssim",
        holds_for="a class whose norm constraints and margin were fixed before the sample; for a trained network's "
                  "own norms the union of Lemma A.9 is needed, whose constants were not confirmed",
        notes="Order only: Lemma A.8 + Mohri Thm. 3.3 is a valid bound for constraints fixed in advance, but not for "
              "norms read off the trained network. Non-computable here: the union terms of Lemma A.9.",
        example=(("m", "60000"), ("emp_margin_risk", "0.02"), ("x_frob", "2400"), ("spectral_complexity", "50"),
                 ("margin", "5"), ("max_params", "200704"), ("delta", "0.05")),
    )
)

neyshabur2018_spectral = register(
    Theorem(
        id="norm.neyshabur2018_spectral",
        title="PAC-Bayesian spectrally-normalized margin bound (Neyshabur-Bhojanapalli-Srebro)",
        kind="order",
        statement=emp + sqrt(
            (xmax**2 * d**2 * width * sympy.log(d * width) * pspec**2 * sratio + sympy.log(d * m / delta))
            / (gamma**2 * m)
        ),
        bounded="multiclass 0-1 risk of the network",
        bounded_latex=r"L_0(f_w)",
        quantities=(
            _M_SMALL_M, _EMP,
            Quantity("x_max", "B: max_i ||x_i||_2 over the input domain", NONNEG, "data", "increasing", "B"),
            _DEPTH,
            Quantity("width", "h: largest layer width", POSITIVE_INT, "model", "increasing", "h"),
            Quantity("prod_spec", "product over layers of spectral norms ||W_i||_2 (upper end)", NONNEG, "kernel",
                     "increasing"),
            Quantity("sum_frob_over_spec", "sum over layers of ||W_i||_F^2 / ||W_i||_2^2 (stable ranks)", NONNEG,
                     "kernel", "increasing"),
            _GAMMA, _DELTA,
        ),
        hypotheses=(_IID, Hypothesis("h_relu", "ReLU activations, no biases")),
        reference=Reference("neyshabur2018", "B. Neyshabur, S. Bhojanapalli, N. Srebro. A PAC-Bayesian approach to "
                            "spectrally-normalized margin bounds for neural networks. ICLR 2018.", "Theorem 1",
                            "docs/references.rst [U]: O(.) statement, constants only inside the proof"),
        confidence=1 - delta,
        relation="lesssim",
        holds_for="every network of the class (O(.) statement)",
        notes="Order only: the hidden constant of the O(.) is not confirmed; the number is a measure, not a bound.",
        example=(("m", "60000"), ("emp_margin_risk", "0.02"), ("x_max", "10"), ("depth", "3"), ("width", "256"),
                 ("prod_spec", "30"), ("sum_frob_over_spec", "40"), ("margin", "5"), ("delta", "0.05")),
    )
)
