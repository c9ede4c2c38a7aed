"""Hand-written 256-bit mpmath references for the catalogue theorems (no boundcert imports, no trees).

Each function transcribes the formula from the paper (or from the derivation in the module docstring) directly.
"""

from __future__ import annotations

import mpmath
from mpmath import mp

PREC = 256


def F(x) -> mpmath.mpf:
    """The value of an int or decimal string at 256 bits."""
    with mp.workprec(PREC):
        return mpmath.mpf(x)


def margin_union(emp, c_times_x, u, gamma, m, delta):
    """emp + 2 c 2^(1/8) R / m + 3 sqrt(ln(2 (J+1)(J+2)/delta) / (2m)), R = max(u/gamma, 1), J = 8 log2 R + 1."""
    with mp.workprec(PREC):
        r = max(F(u) / F(gamma), F(1))
        big_j = 8 * mpmath.log(r, 2) + 1
        conf = mpmath.sqrt(mpmath.log(2 * (big_j + 1) * (big_j + 2) / F(delta)) / (2 * F(m)))
        return F(emp) + 2 * c_times_x * mpmath.power(2, mpmath.mpf(1) / 8) * r / F(m) + 3 * conf


def margin_fixed_grid(emp, c_times_x, j, m, delta):
    """The fixed-class bound at grid point u_j = 2^(j/8) with delta_j = delta/((j+1)(j+2)) (Mohri Thm. 3.3)."""
    with mp.workprec(PREC):
        u_j = mpmath.power(2, mpmath.mpf(j) / 8)
        delta_j = F(delta) / ((j + 1) * (j + 2))
        return F(emp) + 2 * c_times_x * u_j / F(m) + 3 * mpmath.sqrt(mpmath.log(2 / delta_j) / (2 * F(m)))


def catoni(emp, kl, gamma, m, delta):
    """Catoni 2007 Thm. 1.2.6 at a fixed gamma."""
    with mp.workprec(PREC):
        a = F(gamma) / F(m)
        q = F(emp) + (F(kl) + mpmath.log(1 / F(delta))) / F(gamma)
        return (1 - mpmath.exp(-a * q)) / (1 - mpmath.exp(-a))


def catoni_union(emp, kl, gamma, m, delta, alpha="0.0001"):
    """Lotfi et al. 2022: the union over gamma in the form of their code."""
    with mp.workprec(PREC):
        al, g = F(alpha), F(gamma)
        union = 2 * mpmath.log(2 + mpmath.log(g) / mpmath.log(1 + al))
        budget = (1 + al) / g * (F(kl) + mpmath.log(1 / F(delta)) + union)
        a = g / F(m)
        return (1 - mpmath.exp(-a * (F(emp) + budget))) / (1 - mpmath.exp(-a))


def code_kl(bits):
    """l ln 2 + 2 ln l + ln(pi^2/6)."""
    with mp.workprec(PREC):
        b = F(bits)
        return b * mpmath.log(2) + 2 * mpmath.log(b) + mpmath.log(mpmath.pi**2 / 6)


def kl_bin(q, p):
    with mp.workprec(PREC):
        out = mpmath.mpf(0)
        if q > 0:
            out += q * mpmath.log(q / p)
        if q < 1:
            out += (1 - q) * mpmath.log((1 - q) / (1 - p))
        return out


def kl_inv_bracket(q, c):
    """[a, b] around sup{p : kl(q||p) <= c} by bisection to width 2^-200."""
    with mp.workprec(PREC):
        q, c = F(q), F(c)
        a, b = q, mpmath.mpf(1)
        while b - a > mpmath.mpf(2) ** -200:
            mid = (a + b) / 2
            if kl_bin(q, mid) <= c:
                a = mid
            else:
                b = mid
        return a, b


def binom_cdf(m, k, p):
    with mp.workprec(PREC):
        return mpmath.fsum(mpmath.binomial(m, j) * p**j * (1 - p) ** (m - j) for j in range(k + 1))


def binom_tail_inv_bracket(m, k, delta, bits=80):
    """[a, b] around max{p : Bin(m, k, p) >= delta} by bisection to width 2^-bits."""
    with mp.workprec(PREC):
        a, b = mpmath.mpf(0), mpmath.mpf(1)
        while b - a > mpmath.mpf(2) ** -bits:
            mid = (a + b) / 2
            if binom_cdf(m, k, mid) >= delta:
                a = mid
            else:
                b = mid
        return a, b


def contains(interval, ref) -> bool:
    """Whether the enclosure contains the 256-bit reference."""
    return interval.lo <= ref <= interval.hi


def meets(interval, bracket) -> bool:
    """Whether the enclosure meets a reference bracket (both contain the exact value, so they must meet)."""
    a, b = bracket
    return interval.lo <= b and a <= interval.hi
