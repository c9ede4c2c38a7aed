"""The backward step of a convolution (torch float64 path, kernels.bounds.convop) against exact rationals: for random
zero-padded convolutions (stride, padding, dilation, groups, 1-D and 2-D), random coefficients ``L`` and a random
point ``z`` with ``|z| <= zmax``, ``L (T z + bias) >= L_in z + c`` and ``-L (T z + bias) >= -L_in z + c_neg`` hold
exactly (``T z`` by a naive loop in Fractions, independent of torch and of the operator code)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.bounds.operators import operator_of
from kernels.network import Conv


def _exact_conv(z: np.ndarray, K: np.ndarray, bias, s, p, d, groups) -> np.ndarray:
    """(C, H, W) Fractions -> (C_out, oh, ow) Fractions, zero padding."""
    C, H, W = z.shape
    co, cg, kh, kw = K.shape
    og = co // groups
    oh = (H + 2 * p[0] - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (W + 2 * p[1] - d[1] * (kw - 1) - 1) // s[1] + 1
    out = np.empty((co, oh, ow), dtype=object)
    for o in range(co):
        g = o // og
        for i in range(oh):
            for j in range(ow):
                acc = Fraction(0) if bias is None else Fraction(float(bias[o]))
                for c in range(cg):
                    for a in range(kh):
                        for bb in range(kw):
                            y, x = i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + bb * d[1]
                            if 0 <= y < H and 0 <= x < W:
                                acc += Fraction(float(K[o, c, a, bb])) * z[g * cg + c, y, x]
                out[o, i, j] = acc
    return out


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from([1, 2]), st.integers(1, 2), st.integers(0, 1), st.integers(1, 2),
       st.booleans(), st.booleans())
def test_conv_back_step_contains_the_exact_value(seed, groups, stride, pad, dil, one_d, with_bias):
    rng = np.random.default_rng(seed)
    c_in, c_out, k = 2 * groups, 2 * groups, 2 if one_d else 3
    H, W = (1, 7) if one_d else (6, 5)
    K = rng.normal(size=(c_out, c_in // groups, 1 if one_d else k, k)) * 2.0 ** rng.integers(-3, 3)
    bias = rng.normal(size=c_out) if with_bias else None
    if one_d:
        layer = Conv(K[:, :, 0, :], bias, (stride,), (pad,), (dil,), groups)
        in_shape = (c_in, W)
    else:
        layer = Conv(K, bias, (stride, stride), (pad, pad), (dil, dil), groups)
        in_shape = (c_in, H, W)
    out_shape = layer.out_shape((in_shape,))
    op = operator_of(layer, in_shape, out_shape, {})
    assert op.kind == "conv"
    zmax = rng.uniform(0, 3, size=(1,) + in_shape)
    z = zmax * rng.uniform(-1, 1, size=zmax.shape)
    L = rng.normal(size=(1, 3) + out_shape) * 2.0 ** rng.integers(-20, 20)
    Lin, c, cn = op.back(L, zmax, negated=True)
    assert np.all(np.isfinite(c)) and np.all(np.isfinite(cn))
    zf = np.vectorize(Fraction, otypes=[object])(z[0].reshape((c_in, 1, W) if one_d else in_shape))
    Tz = _exact_conv(zf, K, bias, (1, stride) if one_d else (stride,) * 2, (0, pad) if one_d else (pad,) * 2,
                     (1, dil) if one_d else (dil,) * 2, groups).reshape(-1)
    zflat = zf.reshape(-1)
    for r in range(L.shape[1]):
        lhs = sum((Fraction(float(a)) * v for a, v in zip(L[0, r].reshape(-1), Tz)), Fraction(0))
        rhs = sum((Fraction(float(a)) * v for a, v in zip(Lin[0, r].reshape(-1), zflat)), Fraction(0))
        assert lhs >= rhs + Fraction(float(c[0, r]))
        assert -lhs >= -rhs + Fraction(float(cn[0, r]))
