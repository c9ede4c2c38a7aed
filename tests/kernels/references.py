"""Independent references for the kernel tests: arb (python-flint, 256 bits) and mpmath, never our code."""

from __future__ import annotations

import flint
import mpmath
import numpy as np


def sigma_max_sq_ball(w: np.ndarray):
    """A rigorous arb ball for ``sigma_max(w)^2`` (largest eigenvalue of ``w^T w`` at 256 bits), or an
    mpmath 256-bit value wrapped as an exact arb when arb cannot isolate the eigenvalues."""
    w = np.asarray(w, dtype=np.float64)
    if w.shape[0] < w.shape[1]:
        w = w.T
    old = flint.ctx.prec
    flint.ctx.prec = 256
    try:
        a = flint.arb_mat([[flint.arb(float(x)) for x in row] for row in w])
        g = a.transpose() * a
        if g.nrows() == 1:
            return g[0, 0]
        try:
            ev = flint.acb_mat(g).eig(multiple=True)
            lower = max(e.real.lower() for e in ev)
            upper = max(e.real.upper() for e in ev)
            return flint.arb(lower).union(flint.arb(upper))
        except (ValueError, ZeroDivisionError):
            pass
        with mpmath.workprec(256):
            gm = mpmath.matrix([[mpmath.mpf(float(x)) for x in row] for row in w])
            gg = gm.T * gm
            ev = mpmath.eigsy(gg, eigvals_only=True)
            top = max(ev[i] for i in range(len(ev)))
            return flint.arb(mpmath.nstr(top, 80))
    finally:
        flint.ctx.prec = old


def assert_contains_sigma(enc, w: np.ndarray) -> None:
    """lo <= sigma_max(w) <= hi, decided in arb: lo^2 <= lambda_max <= hi^2 with zero tolerance."""
    lam = sigma_max_sq_ball(w)
    old = flint.ctx.prec
    flint.ctx.prec = 256
    try:
        lo, hi = flint.arb(enc.lo), flint.arb(enc.hi)
        assert enc.lo >= 0.0
        assert lo * lo <= lam, f"lower end {enc.lo!r} above sigma_max = sqrt({lam})"
        assert lam <= hi * hi, f"upper end {enc.hi!r} below sigma_max = sqrt({lam})"
    finally:
        flint.ctx.prec = old
