"""Networks on a finite population on the circle: ground truth for the margin bounds of :mod:`theorems.norms`.

:class:`CircleMargin`. The input distribution is uniform on ``N`` points ``x_j = (cos t_j, sin t_j, 1)``,
``t_j = 2 pi (j + 1/2) / N`` (the constant coordinate folds biases in, as the module docstring of
:mod:`theorems.norms` allows). Labels ``y = sign(g(x))`` of a fixed teacher ``g``, flipped with probability ``eta``.
The candidates are ``n_students`` networks fixed in advance (perturbed copies of the teacher): depth 1,
``f(x) = w.x``, or depth 2, ``f(x) = v.relu(W x)`` (bias-free on the augmented input; the depth-2 teacher is
``relu(a.x) - relu(-a.x)`` plus small random units, so that it is never identically off); the learner picks the one
with the fewest training errors, at a margin fixed in advance for each candidate (``margin_frac`` times its largest
``|f|`` on the population). The bounds hold for every network and margin at once, so this selection is allowed.

Exact (to float round-off, checked far away from ties):

* the true risk ``P[y f(x) <= 0] = (1/N) sum_j (P[y = 1 | x_j] 1[f(x_j) <= 0] + P[y = -1 | x_j] 1[f(x_j) >= 0])``,
  by enumeration; every candidate has ``|f(x_j)| > 1e-9`` or ``f(x_j) = 0`` exactly (every hidden unit off: an error
  for both labels) at every point, so no float sign is in doubt;
* ``||X||_F = sqrt(2 m)`` and ``max_c ||X_{:,c}||_2 = sqrt(m)`` (the constant column) for every sample: passed as
  upper decimals of ``sqrt(2 m (1 + 1e-12))`` and ``sqrt(m (1 + 1e-12))`` (float points have ``|x|^2 = 2 +- 1e-15``);
* the norms of each candidate (``||w||_2``, ``||W||_F ||v||_2``, ``sum_j |v_j| ||W_j||_2``, ``||W||_{1,inf} ||v||_1``,
  the l1 path norm ``sum_j |v_j| ||W_j||_1``) rounded up by ``1e-9`` relative;
* ``emp_margin_risk``: ``#{i : y_i f(x_i) < margin + 1e-9} / m`` rounded up to a multiple of ``1/emp_grid``, an
  exact fraction at least the true empirical margin risk (the statements are increasing in it).

References: Bartlett & Mendelson 2002; Golowich, Rakhlin, Shamir 2018; Neyshabur, Tomioka, Srebro 2015; Mohri et al.
2018, Thm. 3.3 and the grid union derived in :mod:`theorems.norms`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import mpmath
import numpy as np

from boundcert.errors import InvalidInput
from theorems.testing._scenarios import Scenario, Trials, _check_common, _chunks
from theorems.testing._strategies import format_exact

__all__ = ["CircleMargin", "CircleMulticlass"]

_UP = 1 + 1e-9


def _upper_decimal(x: float) -> str:
    """A decimal string >= ``x`` (a float), with 17 significant digits, rounded up."""
    with mpmath.workprec(200):
        f = Fraction(mpmath.nstr(mpmath.mpf(x), 20)) + Fraction(abs(x)) * Fraction(1, 10**15)
    q = math.ceil(f * 10**17)
    return format_exact(Fraction(q, 10**17))  # type: ignore[return-value]


def _sqrt_upper(x: float) -> str:
    with mpmath.workprec(200):
        return _upper_decimal(float(mpmath.sqrt(mpmath.mpf(x)) * (1 + mpmath.mpf("1e-14"))))


@dataclass(frozen=True)
class CircleMargin(Scenario):
    """Margin bounds: a network chosen by ERM among fixed candidates, population risk by enumeration.

    Attributes:
        m: training-set size; delta: confidence parameter (decimal string); depth: 1 (linear) or 2 (one hidden
        ReLU layer of ``width`` units); eta: label noise; n_students: candidates; spread: their perturbation;
        margin_frac: the margin of candidate ``c`` is ``margin_frac * max_j |f_c(x_j)|``; points: ``N``;
        net_seed: seed of the teacher and the candidates (fixed before any data); emp_grid: the empirical margin
        risk is rounded up to a multiple of ``1/emp_grid``.
    """

    m: int
    delta: str
    depth: Literal[1, 2] = 1
    eta: float = 0.1
    n_students: int = 8
    spread: float = 0.3
    margin_frac: float = 0.2
    width: int = 4
    points: int = 256
    net_seed: int = 7
    emp_grid: int = 500

    @property
    def provides(self) -> frozenset[str]:  # type: ignore[override]
        common = {"m", "emp_margin_risk", "margin", "x_frob", "x_col_max", "input_dim", "depth", "prod_frob",
                  "prod_l1inf", "path_norm_l1", "delta"}
        return frozenset(common | ({"w_norm"} if self.depth == 1 else {"path_norm_2layer"}))

    def _population(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, str]]]:
        """(P[y = 1 | x_j], candidate outputs (S, N), margins (S,), candidate norms as upper decimals)."""
        if self.depth not in (1, 2):
            raise InvalidInput(f"depth={self.depth!r}: use 1 or 2")
        t = 2 * np.pi * (np.arange(self.points) + 0.5) / self.points
        x = np.stack([np.cos(t), np.sin(t), np.ones_like(t)], 1)
        r = np.random.default_rng(self.net_seed)
        a = r.standard_normal(3)
        if self.depth == 1:
            teacher = [a]
        else:  # relu(a.x) - relu(-a.x) = a.x, plus width - 2 random units with small output weights
            if self.width < 2:
                raise InvalidInput(f"width={self.width} must be >= 2 for depth 2")
            extra = r.standard_normal((self.width - 2, 3))
            teacher = [np.vstack([a, -a, extra]), np.concatenate([[1.0, -1.0], 0.3 * r.standard_normal(self.width - 2)])]

        def net(p: list[np.ndarray]) -> np.ndarray:
            return x @ p[0] if self.depth == 1 else np.maximum(x @ p[0].T, 0) @ p[1]

        p1 = np.where(net(teacher) > 0, 1 - self.eta, self.eta)
        outs, norms = [], []
        for _ in range(self.n_students):
            p = [a + self.spread * r.standard_normal(a.shape) for a in teacher]
            outs.append(net(p))
            norms.append(self._norms(p))
        f = np.stack(outs)
        if np.any((f != 0) & (np.abs(f) <= 1e-9)):  # f == 0 exactly (every unit off) is an exact tie
            raise InvalidInput(f"a candidate has |f| <= 1e-9 at a population point: change net_seed={self.net_seed}")
        return p1, f, self.margin_frac * np.abs(f).max(1), norms

    def _norms(self, p: list[np.ndarray]) -> dict[str, str]:
        if self.depth == 1:
            w = p[0]
            l2, l1 = float(np.linalg.norm(w)), float(np.abs(w).sum())
            vals = {"w_norm": l2, "prod_frob": l2, "prod_l1inf": l1, "path_norm_l1": l1}
        else:
            w, v = p
            rows2, rows1 = np.linalg.norm(w, axis=1), np.abs(w).sum(1)
            vals = {"prod_frob": float(np.linalg.norm(w) * np.linalg.norm(v)),
                    "path_norm_2layer": float(np.abs(v) @ rows2),
                    "prod_l1inf": float(rows1.max() * np.abs(v).sum()),
                    "path_norm_l1": float(np.abs(v) @ rows1)}
        return {k: _upper_decimal(val * _UP) for k, val in vals.items()}

    def draw(self, n: int, rng: np.random.Generator) -> Trials:
        _check_common(self.m, self.delta)
        p1, f, margins, norms = self._population()
        risk = ((p1 * (f <= 0)) + (1 - p1) * (f >= 0)).mean(1)
        chosen = np.empty(n, dtype=np.int64)
        in_margin = np.empty(n, dtype=np.int64)
        for a, z in _chunks(n, self.m * self.n_students):
            idx = rng.integers(0, self.points, (z - a, self.m))
            y = np.where(rng.random((z - a, self.m)) < p1[idx], 1.0, -1.0)
            yf = y[:, None, :] * f[:, idx].transpose(1, 0, 2)  # (trials, students, m)
            c = (yf <= 0).sum(2).argmin(1)
            chosen[a:z] = c
            in_margin[a:z] = (yf[np.arange(z - a), c] < margins[c, None] + 1e-9).sum(1)
        per = {k: [norms[c][k] for c in chosen] for k in norms[0]}
        per["margin"] = [_upper_decimal(float(margins[c])) for c in chosen]
        # rounded up to a multiple of 1/emp_grid (an upper bound is admissible; fewer distinct bound evaluations)
        g = self.emp_grid
        per["emp_margin_risk"] = [format_exact(Fraction(-(-int(c) * g // self.m), g)) for c in in_margin]
        shared = {"m": self.m, "delta": self.delta, "x_frob": _sqrt_upper(2 * self.m * (1 + 1e-12)),
                  "x_col_max": _sqrt_upper(self.m * (1 + 1e-12)), "input_dim": 3, "depth": self.depth}
        return Trials(per, shared, risk[chosen])


@dataclass(frozen=True)
class CircleMulticlass(Scenario):
    """Multiclass margin bounds: ``classes`` sectors of the circle, a ``k``-output network chosen by ERM.

    The population is that of :class:`CircleMargin`; the teacher's outputs are ``a_c.x`` with ``a_c = 2 (cos phi_c,
    sin phi_c, 0)``, ``phi_c = 2 pi c / k`` (depth 2: ``V relu(U x)`` with ``U = [A; -A]``, ``V = [I, -I]``, the same
    function); the label is the teacher's class, replaced with probability ``eta`` by one of the others, uniformly.
    Exact: the risk ``P[argmax_j f_j(x) != y]`` by enumeration (a tie in the argmax is an error; no candidate has a
    near-tie within ``1e-9``), ``sum_c ||X_c||_F = sum_c sqrt(2 m_c)`` and ``sum_c max_col ||X_{c,col}||_2 =
    sum_c sqrt(m_c)`` from the class counts ``m_c``, rounded up to a multiple of ``1/2``; norms of the whole network
    (``||W||_F`` or ``||U||_F ||V||_F``; the l1 path norm ``1^T |V| |U| 1``, all outputs summed) rounded up;
    ``emp_margin_risk``: ``#{i : f_{y_i}(x_i) - max_{j != y_i} f_j(x_i) < margin + 1e-9} / m`` rounded up to a multiple
    of ``1/emp_grid``.
    """

    m: int
    delta: str
    classes: int = 3
    depth: Literal[1, 2] = 1
    eta: float = 0.05
    n_students: int = 4
    spread: float = 0.2
    margin_frac: float = 0.2
    points: int = 240
    net_seed: int = 11
    emp_grid: int = 500
    provides = frozenset({"m", "emp_margin_risk", "margin", "x_frob_class_sum", "x_col_max_class_sum", "classes",
                          "input_dim", "depth", "prod_frob", "path_norm_l1", "delta"})

    def _population(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict[str, str]]]:
        """(teacher class per point, outputs (S, N, k), risks (S,), margins (S,), norms per candidate)."""
        k = self.classes
        if k < 2 or self.depth not in (1, 2):
            raise InvalidInput(f"classes={k} (>= 2) and depth={self.depth!r} (1 or 2) required")
        t = 2 * np.pi * (np.arange(self.points) + 0.5) / self.points
        x = np.stack([np.cos(t), np.sin(t), np.ones_like(t)], 1)
        phi = 2 * np.pi * np.arange(k) / k
        a = 2 * np.stack([np.cos(phi), np.sin(phi), np.zeros(k)], 1)
        teacher = [a] if self.depth == 1 else [np.vstack([a, -a]), np.hstack([np.eye(k), -np.eye(k)])]
        label = (x @ a.T).argmax(1)
        r = np.random.default_rng(self.net_seed)
        outs, norms = [], []
        for _ in range(self.n_students):
            p = [w + self.spread * r.standard_normal(w.shape) for w in teacher]
            f = x @ p[0].T if self.depth == 1 else np.maximum(x @ p[0].T, 0) @ p[1].T
            outs.append(f)
            frob = np.prod([np.linalg.norm(w) for w in p])
            path = (np.abs(p[0]) @ np.ones(3)).sum() if self.depth == 1 else (np.abs(p[1]) @ np.abs(p[0]) @ np.ones(3)).sum()
            norms.append({"prod_frob": _upper_decimal(float(frob) * _UP), "path_norm_l1": _upper_decimal(float(path) * _UP)})
        f = np.stack(outs)  # (S, N, k)
        top2 = np.sort(f, axis=2)[..., -2:]
        if np.any(top2[..., 1] - top2[..., 0] <= 1e-9):
            raise InvalidInput(f"a candidate has a near-tie in its argmax: change net_seed={self.net_seed}")
        pred = f.argmax(2)
        risk = np.where(pred == label, self.eta, 1 - self.eta).mean(1)
        gaps = top2[..., 1] - top2[..., 0]
        return label, f, risk, self.margin_frac * gaps.max(1), norms

    def draw(self, n: int, rng: np.random.Generator) -> Trials:
        _check_common(self.m, self.delta)
        k = self.classes
        label, f, risk, margins, norms = self._population()
        chosen = np.empty(n, dtype=np.int64)
        in_margin = np.empty(n, dtype=np.int64)
        counts = np.empty((n, k), dtype=np.int64)
        for a, z in _chunks(n, self.m * self.n_students * k):
            idx = rng.integers(0, self.points, (z - a, self.m))
            flip = rng.random((z - a, self.m)) < self.eta
            y = np.where(flip, (label[idx] + rng.integers(1, k, (z - a, self.m))) % k, label[idx])
            fs = f[:, idx]  # (S, trials, m, k)
            fy = np.take_along_axis(fs, np.broadcast_to(y[None, ..., None], fs.shape[:3] + (1,)), 3)[..., 0]
            other = np.where(np.arange(k) == y[None, ..., None], -np.inf, fs).max(3)
            marg = (fy - other).transpose(1, 0, 2)  # (trials, S, m)
            c = (marg <= 0).sum(2).argmin(1)
            chosen[a:z] = c
            in_margin[a:z] = (marg[np.arange(z - a), c] < margins[c, None] + 1e-9).sum(1)
            counts[a:z] = (y[..., None] == np.arange(k)).sum(1)
        g = self.emp_grid
        per = {key: [norms[c][key] for c in chosen] for key in norms[0]}
        per["margin"] = [_upper_decimal(float(margins[c])) for c in chosen]
        per["emp_margin_risk"] = [format_exact(Fraction(-(-int(c) * g // self.m), g)) for c in in_margin]
        half_up = lambda v: format_exact(Fraction(math.ceil(2 * v * (1 + 1e-9)), 2))  # noqa: E731
        per["x_frob_class_sum"] = [half_up(float(np.sqrt(2 * row).sum())) for row in counts]
        per["x_col_max_class_sum"] = [half_up(float(np.sqrt(row).sum())) for row in counts]
        shared = {"m": self.m, "delta": self.delta, "classes": k, "input_dim": 3, "depth": self.depth}
        return Trials(per, shared, risk[chosen])
