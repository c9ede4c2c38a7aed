"""Adversarial matrix families for the soundness tests (hypothesis strategies)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FAMILIES = (
    "gaussian", "low_rank", "rank1", "cond1e12", "clustered", "tiny", "huge", "subnormal", "zero",
    "row", "column", "mixed_magnitudes", "integer_like", "float32",
)


def make(family: str, m: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = min(m, n)
    if family == "row":
        m = 1
    if family == "column":
        n = 1
    if family in ("gaussian", "row", "column"):
        return rng.standard_normal((m, n))
    if family == "low_rank":
        r = max(1, k // 2)
        return rng.standard_normal((m, r)) @ rng.standard_normal((r, n))
    if family == "rank1":
        return np.outer(rng.standard_normal(m), rng.standard_normal(n))
    if family in ("cond1e12", "clustered"):
        u, _ = np.linalg.qr(rng.standard_normal((m, k)))
        v, _ = np.linalg.qr(rng.standard_normal((n, k)))
        if family == "cond1e12":
            s = np.logspace(0, -12, k)
        else:
            s = np.ones(k) - np.arange(k) * rng.choice([0.0, 1e-15, 1e-12, 1e-8])
            s[k // 2:] *= 0.5
        return (u * s) @ v.T
    if family == "tiny":
        return rng.standard_normal((m, n)) * 1e-30
    if family == "huge":
        return rng.standard_normal((m, n)) * 1e30
    if family == "subnormal":
        return rng.integers(-5, 6, size=(m, n)).astype(np.float64) * 5e-324
    if family == "zero":
        return np.zeros((m, n))
    if family == "mixed_magnitudes":
        return rng.standard_normal((m, n)) * 10.0 ** rng.integers(-300, 300, size=(m, n))
    if family == "integer_like":
        return rng.integers(-3, 4, size=(m, n)).astype(np.float64)
    if family == "float32":
        return rng.standard_normal((m, n)).astype(np.float32)
    raise AssertionError(family)


@st.composite
def adversarial_matrices(draw, max_dim: int = 6):
    """A family-built matrix, or raw hypothesis floats (any finite doubles, subnormals included)."""
    m = draw(st.integers(1, max_dim))
    n = draw(st.integers(1, max_dim))
    if draw(st.booleans()):
        fam = draw(st.sampled_from(FAMILIES))
        return make(fam, m, n, draw(st.integers(0, 2**32 - 1)))
    width = draw(st.sampled_from([32, 64]))
    elems = st.floats(allow_nan=False, allow_infinity=False, width=width,
                      **({} if width == 32 else {"min_value": -1e300, "max_value": 1e300}))
    return draw(hnp.arrays(np.float32 if width == 32 else np.float64, (m, n), elements=elems))
