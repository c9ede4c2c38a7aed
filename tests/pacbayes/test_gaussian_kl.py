"""KL(Q||P) between diagonal Gaussians: the enclosure contains an independent mpmath evaluation at 256 bits."""

import math

import mpmath
import numpy as np
import pytest

from theorems import mpf_to_fraction
from certify.training.pacbayes import PriorVariance, kl_enclosure
from certify.models.posterior import StoredPosterior
from kernels._gaussian_kl import gaussian_kl_sums, sum_log_enclosure, sum_sq_exact


def _post(mu, sigma, prior):
    return StoredPosterior((mu.size, 1), (mu.reshape(1, -1), np.zeros(1, np.float32)),
                           (sigma.reshape(1, -1), np.full(1, 0.5, np.float32)),
                           (prior.reshape(1, -1), np.zeros(1, np.float32)), "mem", "0" * 64, {})


def _reference_kl(mu, sigma, prior, log_var):
    """Independent: the textbook per-parameter sum in mpmath at 256 bits (log_var an mpf)."""
    with mpmath.workprec(256):
        lam = mpmath.exp(log_var)
        tot = mpmath.mpf(0)
        for m_, s_, p_ in zip(np.concatenate([mu, [0.0]]), np.concatenate([sigma, [0.5]]),
                              np.concatenate([prior, [0.0]])):
            s2 = mpmath.mpf(float(s_)) ** 2
            tot += (s2 + (mpmath.mpf(float(m_)) - mpmath.mpf(float(p_))) ** 2) / lam - 1 + log_var - mpmath.log(s2)
        return tot / 2


@pytest.mark.parametrize("seed", range(6))
def test_kl_enclosure_contains_256_bit_reference(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 120))
    mu = (rng.normal(size=d) * 10.0 ** rng.uniform(-6, 1, size=d)).astype(np.float32)
    sigma = (10.0 ** rng.uniform(-8, 0.5, size=d)).astype(np.float32)
    prior = (rng.normal(size=d) * 0.1).astype(np.float32)
    if seed % 2:
        pv = PriorVariance(sigma="0.03")
        with mpmath.workprec(256):
            lv = mpmath.log(mpmath.mpf(3) / 100) * 2
    else:
        pv = PriorVariance(c="0.1", b=100, j=int(rng.integers(1, 900)))
        with mpmath.workprec(256):
            lv = mpmath.log(mpmath.mpf(1) / 10) - mpmath.mpf(pv.j) / 100
    kl = kl_enclosure(_post(mu, sigma, prior), pv)
    ref = _reference_kl(mu, sigma, prior, lv)
    assert kl.lo <= ref <= kl.hi
    assert (kl.hi - kl.lo) <= 1e-10 * max(1.0, abs(ref))


def test_sums_exact_and_log_sum_brackets():
    rng = np.random.default_rng(7)
    s = (10.0 ** rng.uniform(-30, 3, size=300)).astype(np.float32)
    s[:10] = np.float32(1e-45)  # subnormal float32
    mu, pr = rng.normal(size=300).astype(np.float32), np.float32(1e30) * rng.normal(size=300).astype(np.float32)
    with mpmath.workprec(4000):
        exact = mpmath.fsum(mpmath.mpf(float(a)) ** 2 + (mpmath.mpf(float(b)) - mpmath.mpf(float(c))) ** 2
                            for a, b, c in zip(s, mu, pr))
        ls = mpmath.fsum(mpmath.log(mpmath.mpf(float(a))) for a in s)
    S = sum_sq_exact(s, mu, pr)
    assert S == mpf_to_fraction(exact)  # 4000 bits hold this sum exactly
    lo, hi = sum_log_enclosure(s)
    with mpmath.workprec(400):
        assert mpmath.mpf(lo.numerator) / lo.denominator <= ls <= mpmath.mpf(hi.numerator) / hi.denominator
    S_enc, L_enc, d = gaussian_kl_sums(s, mu, pr)
    assert d == 300 and L_enc.lo <= float(ls) <= L_enc.hi and S_enc.lo <= S_enc.hi


def test_rejects_nonpositive_sigma():
    with pytest.raises(ValueError):
        sum_log_enclosure(np.array([1.0, 0.0], dtype=np.float32))
    with pytest.raises(ValueError):
        sum_sq_exact(np.array([np.nan], np.float32), np.zeros(1, np.float32), np.zeros(1, np.float32))
