"""Eval-mode BatchNorm right after an affine map no longer rules out the norm bounds: it is folded into that map
(magnitude bounds rounded up); the certified product of augmented Frobenius norms is >= the exact one of the folded
network (mpmath, 200 bits), and a BatchNorm that does not follow an affine map is refused by hypothesis name."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from certify import certify  # noqa: E402


def _hexfrac(s: str) -> Fraction:
    mant, _, exp = s.partition("p")
    return Fraction(int(mant, 16)) * Fraction(2) ** int(exp)


def _bn_model():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(48, 3),
                      nn.BatchNorm1d(3)).eval()
    with torch.no_grad():
        for bn in (m[1], m[5]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    return m


def _folded_sq(w, b, bn, positions, last):
    """Exact ||[[T', b'], [0, 1]]||_F^2 (the provider's convolution rule: P copies) of the folded layer."""
    s = [mpmath.mpf(float(g)) / mpmath.sqrt(mpmath.mpf(float(v)) + mpmath.mpf(float(np.float32(bn.eps))))
         for g, v in zip(bn.weight.detach().double().numpy(), bn.running_var.double().numpy())]
    w = w.detach().double().numpy().reshape(len(s), -1)
    b = b.detach().double().numpy()
    mu, beta = bn.running_mean.double().numpy(), bn.bias.detach().double().numpy()
    tot = mpmath.mpf(0)
    for o in range(len(s)):
        tot += sum((s[o] * mpmath.mpf(float(v))) ** 2 for v in w[o])
        tot += (s[o] * (mpmath.mpf(float(b[o])) - mpmath.mpf(float(mu[o]))) + mpmath.mpf(float(beta[o]))) ** 2
    return tot * positions + (0 if last else 1)


def test_folded_batchnorm_norm_bound_is_sound():
    m = _bn_model()
    x = np.random.default_rng(0).standard_normal((30, 1, 4, 4)).astype(np.float32)
    cert = certify(m, (x, np.arange(30) % 3), theorem="norm.neyshabur2015_frobenius_multiclass").to_dict()
    prod = cert["inputs"]["prod_frob"]
    with mpmath.workprec(200):
        exact = mpmath.sqrt(_folded_sq(m[0].weight, m[0].bias, m[1], 16, False)) * \
            mpmath.sqrt(_folded_sq(m[4].weight, m[4].bias, m[5], 1, True))
        hi = _hexfrac(prod["hi"])
        assert exact <= mpmath.mpf(hi.numerator) / hi.denominator
        assert _hexfrac(prod["lo"]) <= 0  # folded layers report lo = 0 (only their upper ends are proven)


def test_batchnorm_before_the_affine_map_is_refused_by_hypothesis():
    from boundcert.errors import HypothesisNotMet
    from certify.models.loader import load_model
    from certify.quantities.norms import chain_layers
    from certify.quantities.registry import RunContext

    torch.manual_seed(0)
    m = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(16), nn.Linear(16, 3)).eval()
    x = np.zeros((4, 1, 4, 4), np.float32)
    ctx = RunContext(m, _DS(x), None, "0.05")
    ctx.cache["loaded"] = load_model(m)
    with pytest.raises(HypothesisNotMet, match="h_homogeneous_activation"):
        chain_layers(ctx)


class _DS:
    def __init__(self, x):
        self.x = x
