"""A bisection that returns its midpoint (as public PAC-Bayes code does) can land below the exact kl inverse, so it
is not an upper bound; ``theorems.kl_inv`` returns a proven bracket whose upper end never does."""

import math

import mpmath
import numpy as np

from theorems import kl_inv
from theorems.testing._reference import ref_kl_inv


def pbb_inv_kl(qs: float, ks: float) -> float:
    """The bisection of mperezortiz/PBB (``bounds.py``, ``inv_kl``), transcribed: returns the last midpoint."""
    ikl, izq, dch, qd = 0.0, qs, 1 - 1e-10, 0.0
    while (dch - izq) / dch >= 1e-5:
        p = (izq + dch) * 0.5
        if qs == 0:
            ikl = ks - (0 + (1 - qs) * math.log((1 - qs) / (1 - p)))
        elif qs == 1:
            ikl = ks - (qs * math.log(qs / p) + 0)
        else:
            ikl = ks - (qs * math.log(qs / p) + (1 - qs) * math.log((1 - qs) / (1 - p)))
        if ikl < 0:
            dch = p
        else:
            izq = p
        qd = p
    return qd


def test_midpoint_falls_below_exact_inverse_ours_never_does():
    rng = np.random.default_rng(0)
    below = 0
    for _ in range(20):
        q = float(rng.uniform(0.0, 0.3))
        c = float(10.0 ** rng.uniform(-4, -1))
        ours = kl_inv(q, c)
        with mpmath.workprec(256):
            exact = ref_kl_inv(q, c)
            assert ours.hi >= exact, (q, c)
            assert ours.lo <= exact
            if mpmath.mpf(pbb_inv_kl(q, c)) < exact:
                below += 1
    assert below > 0  # the midpoint is not an upper bound
