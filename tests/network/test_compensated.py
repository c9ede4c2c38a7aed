"""``precision="compensated"`` forward enclosures (:mod:`kernels.network._compensated`): on small networks (Linear,
Conv with stride/padding/dilation/groups and every padding mode, BatchNorm, ReLU, residual Add, pooling) both the
compensated pair ``mid + lo +- rad`` and the float64 fields ``mid +- rad`` contain the exact real forward (mpmath,
200 bits, :mod:`tests.network.reference`), on points and boxes; the compensated enclosure is no wider than the
float64 one; deep residual nets get enclosures below 1e-12 relative; certified operator norms are computed once per
process; a bad ``precision`` is refused."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kernels
from boundcert.errors import InvalidInput
from kernels import network as ir
from kernels.network._ops import CPU
from kernels.network._state import point
from kernels.network.graph import ForwardContext
from tests.network.reference import PREC, exact_forward

SETTINGS = settings(max_examples=int(__import__("os").environ.get("NET_EXAMPLES", 20)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _conv(rng, ci, co, k=3, s=1, p=1, d=1, g=1, mode="zeros", bias=True, scale=1.0):
    w = rng.standard_normal((co, ci // g, k, k)) * scale / np.sqrt(ci * k * k / g)
    return ir.Conv(w, rng.standard_normal(co) * 0.1 if bias else None, (s, s), (p, p), (d, d), g, mode)


def _bn(rng, c):
    return ir.BatchNorm(rng.standard_normal(c) * 0.1, rng.random(c) + 0.5, rng.standard_normal(c),
                        rng.standard_normal(c) * 0.1, float(np.float32(1e-5)))


@st.composite
def nets(draw):
    """A small graph: conv (random geometry) -> BN -> relu -> residual block -> pool/flatten -> linear, or an MLP."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    scale = draw(st.sampled_from([1.0, 1e-3, 1e3]))
    if draw(st.booleans()):
        n, h = draw(st.integers(1, 6)), draw(st.integers(1, 5))
        nodes = (ir.Node("l1", ir.Linear(rng.standard_normal((h, n)) * scale, rng.standard_normal(h)), ("input",)),
                 ir.Node("r1", ir.Activation("relu"), ("l1",)),
                 ir.Node("l2", ir.Linear(rng.standard_normal((h, h)), None), ("r1",)),
                 ir.Node("a", ir.Add(), ("l2", "r1")),
                 ir.Node("l3", ir.Linear(rng.standard_normal((3, h)), rng.standard_normal(3)), ("a",)))
        return ir.Graph(nodes, (n,))
    g = draw(st.sampled_from([1, 2]))
    ci, c = g * draw(st.integers(1, 2)), 2 * draw(st.integers(1, 2))
    k, s, d = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    mode = draw(st.sampled_from(["zeros", "circular", "reflect", "replicate"]))
    p = draw(st.integers(0, 1))
    nodes = (ir.Node("c1", _conv(rng, ci, c, k, s, p, d, g, mode, scale=scale), ("input",)),
             ir.Node("b1", _bn(rng, c), ("c1",)),
             ir.Node("r1", ir.Activation("relu"), ("b1",)),
             ir.Node("c2", _conv(rng, c, c, 3, 1, 1, 1, draw(st.sampled_from([1, 2])), "zeros"), ("r1",)),
             ir.Node("a", ir.Add(), ("c2", "r1")),
             ir.Node("r2", ir.Activation("relu"), ("a",)),
             ir.Node("f", ir.Flatten(), ("r2",)))
    shape = (ci, 6, 5)
    flat = int(np.prod(ir.Graph(nodes, shape).shapes()["f"]))
    nodes += (ir.Node("fc", ir.Linear(rng.standard_normal((2, flat)), rng.standard_normal(2)), ("f",)),)
    return ir.Graph(nodes, shape)


def _contains(exact, lo, hi) -> bool:
    with mpmath.workprec(PREC):
        return all(mpmath.mpf(float(a)) <= e <= mpmath.mpf(float(b))
                   for e, a, b in zip(exact.reshape(-1), lo.reshape(-1), hi.reshape(-1)))


@SETTINGS
@given(nets(), st.integers(0, 2**31), st.sampled_from([0.0, 1e-3]))
def test_compensated_enclosure_contains_the_exact_forward_and_is_no_wider(g, seed, radius):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, *g.input_shape))
    out = g.forward(point(x, radius), ForwardContext(CPU, {"precision": "compensated"}))
    flo, fhi = kernels.forward_enclosure(g, x, radius=radius, device="cpu")
    clo, chi = kernels.forward_enclosure(g, x, radius=radius, device="cpu", precision="compensated")
    assert np.all(chi - clo <= fhi - flo)
    # every node output between the last Linear and the Add carries a pair; the logits come out of a Linear
    assert out.comp is not None
    for i in range(2):
        corners = [x[i] + radius * rng.choice([-1.0, 1.0], size=x[i].shape) for _ in range(2)] if radius else []
        for z in [x[i]] + corners:
            exact = exact_forward(g, z)
            assert _contains(exact, clo[i], chi[i])
            with mpmath.workprec(PREC):  # each of the two enclosures alone
                for e, m, lo, r, fr in zip(exact.reshape(-1), out.mid[i].reshape(-1), out.comp.lo[i].reshape(-1),
                                           out.comp.rad[i].reshape(-1), out.rad[i].reshape(-1)):
                    assert abs(e - mpmath.mpf(float(m)) - mpmath.mpf(float(lo))) <= mpmath.mpf(float(r))
                    assert abs(e - mpmath.mpf(float(m))) <= mpmath.mpf(float(fr))


def _deep(rng, c=4, blocks=6, hw=6):
    nodes = [ir.Node("c0", _conv(rng, 2, c, scale=2.0), ("input",)), ir.Node("r0", ir.Activation("relu"), ("c0",))]
    prev = "r0"
    for i in range(blocks):
        nodes += [ir.Node(f"c{i}a", _conv(rng, c, c, scale=1.5), (prev,)), ir.Node(f"b{i}", _bn(rng, c), (f"c{i}a",)),
                  ir.Node(f"r{i}a", ir.Activation("relu"), (f"b{i}",)),
                  ir.Node(f"c{i}b", _conv(rng, c, c, scale=1.5), (f"r{i}a",)),
                  ir.Node(f"s{i}", ir.Add(), (f"c{i}b", prev)), ir.Node(f"q{i}", ir.Activation("relu"), (f"s{i}",))]
        prev = f"q{i}"
    nodes += [ir.Node("p", ir.AdaptivePool("avg", (1, 1)), (prev,)), ir.Node("f", ir.Flatten(), ("p",)),
              ir.Node("fc", ir.Linear(rng.standard_normal((3, c)), rng.standard_normal(3)), ("f",))]
    return ir.Graph(tuple(nodes), (2, hw, hw))


def test_deep_residual_net_compensated_is_tight_and_contains_the_exact_forward():
    rng = np.random.default_rng(5)
    g = _deep(rng)
    x = rng.standard_normal((1, 2, 6, 6))
    flo, fhi = kernels.forward_enclosure(g, x)
    clo, chi = kernels.forward_enclosure(g, x, precision="compensated")
    exact = exact_forward(g, x[0])
    assert _contains(exact, clo[0], chi[0]) and _contains(exact, flo[0], fhi[0])
    scale = float(np.max(np.abs(clo)))
    assert float(np.max(chi - clo)) <= 1e-14 * scale  # the float64 pass: ~1e-12 on this net
    assert float(np.max(chi - clo)) * 50 <= float(np.max(fhi - flo))


def test_resnet18_zoo_compensated_contains_the_exact_forward():
    torch = pytest.importorskip("torch")  # noqa: F841
    from certify.models.loader import load_model
    from tests.network.zoo import build

    m, shape = build("resnet18")
    net = load_model(m).network
    x = np.random.default_rng(1).standard_normal((1, *shape)).astype(np.float32)
    lo, hi = kernels.forward_enclosure(net, x, precision="compensated")
    flo, fhi = kernels.forward_enclosure(net, x)
    assert _contains(exact_forward(net, x[0].astype(np.float64)), lo[0], hi[0])
    assert np.all(hi - lo <= fhi - flo)
    assert float(np.max(hi - lo)) <= 1e-13 * float(np.max(np.abs(hi)))


def test_operator_norms_are_computed_once_per_process(monkeypatch):
    import kernels.network._opnorm as opnorm

    calls = []
    real = opnorm.conv_norm_fourier_upper

    def counting(*a, **k):
        calls.append(a[1])
        return real(*a, **k)

    monkeypatch.setattr(opnorm, "conv_norm_fourier_upper", counting)
    rng = np.random.default_rng(11)
    w = rng.standard_normal((3, 2, 3, 3)) + 0.123456789  # weights no other test uses
    g = ir.Graph((ir.Node("c", ir.Conv(w.copy(), None, (1, 1), (1, 1)), ("input",)),), (2, 5, 5))
    x = rng.standard_normal((1, 2, 5, 5))
    a = kernels.forward_enclosure(g, x, op_norms="tight")
    g2 = ir.Graph((ir.Node("c", ir.Conv(w.copy(), None, (1, 1), (1, 1)), ("input",)),), (2, 5, 5))
    b = kernels.forward_enclosure(g2, x, op_norms="tight", precision="compensated")
    kernels.forward_enclosure(g, x, op_norms="tight")
    assert len(calls) == 1  # same weight bytes and geometry: one certificate for three calls and two graphs
    assert np.all(a[0] <= b[1]) and np.all(b[0] <= a[1])
    w2 = w.copy()
    w2[0, 0, 0, 0] += 1.0
    g3 = ir.Graph((ir.Node("c", ir.Conv(w2, None, (1, 1), (1, 1)), ("input",)),), (2, 5, 5))
    kernels.forward_enclosure(g3, x, op_norms="tight")
    kernels.forward_enclosure(g, rng.standard_normal((1, 2, 6, 6)), op_norms="tight")
    assert len(calls) == 3  # other weights, another input size: computed again


def test_float64_default_is_unchanged_by_the_option():
    rng = np.random.default_rng(2)
    g = _deep(rng, blocks=1)
    x = rng.standard_normal((2, 2, 6, 6))
    a = kernels.forward_enclosure(g, x)
    b = kernels.forward_enclosure(g, x, precision="float64")
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    out = g.forward(point(x), ForwardContext(CPU, {}))
    assert out.comp is None


def test_bad_precision_is_refused():
    g = _deep(np.random.default_rng(0), blocks=1)
    with pytest.raises(InvalidInput, match="precision='double'"):
        kernels.forward_enclosure(g, np.zeros((1, 2, 6, 6)), precision="double")


def test_conv1d_dilated_grouped_compensated_contains_the_exact_forward():
    rng = np.random.default_rng(8)
    nodes = (ir.Node("c", ir.Conv(rng.standard_normal((4, 1, 3)), rng.standard_normal(4), (2,), (2,), (2,), 2,
                                  "reflect"), ("input",)),
             ir.Node("r", ir.Activation("relu"), ("c",)),
             ir.Node("d", ir.Conv(rng.standard_normal((2, 4, 2)), None, (1,), (0,), (1,), 1, "zeros"), ("r",)))
    g = ir.Graph(nodes, (2, 9))
    x = rng.standard_normal((2, 2, 9))
    lo, hi = kernels.forward_enclosure(g, x, precision="compensated")
    flo, fhi = kernels.forward_enclosure(g, x)
    for i in range(2):
        assert _contains(exact_forward(g, x[i]), lo[i], hi[i])
    assert np.all(hi - lo <= fhi - flo)


def test_relu_of_an_overflowed_pair_keeps_an_infinite_radius():
    from kernels.network import _compensated as comp
    from kernels.network._state import Compensated, Enclosed

    mid = np.array([[np.nan, 1.0, -1.0]])
    x = Enclosed(mid, np.array([[np.inf, 0.0, 0.0]]), np.array([np.inf]),
                 Compensated(np.zeros((1, 3)), np.array([[np.inf, 0.0, 0.0]]), np.array([np.inf])))
    out = comp.relu(x, x)
    assert out.comp.rad[0, 0] == np.inf and out.rad[0, 0] == np.inf
    assert out.lo[0, 0] == -np.inf or np.isnan(out.lo[0, 0])
    assert out.comp.rad[0, 2] == 0.0 and out.mid[0, 2] == 0.0 and out.mid[0, 1] == 1.0


def test_an_overflowed_pair_gets_infinite_radii():
    from kernels.network import _compensated as comp

    hi = np.array([[np.inf, 1.0], [2.0, 3.0]])
    lo = np.array([[0.0, np.nan], [0.0, 0.0]])
    out = comp.attach(hi, lo, np.zeros((2, 2)), np.zeros(2))
    assert np.all(out.rad[0] == np.inf) and np.all(out.comp.rad[0] == np.inf) and out.dist[0] == np.inf
    assert np.all(out.comp.lo == np.where(np.isfinite(lo), lo, 0.0)) and out.comp.rad[1, 0] == 0.0


def test_logit_margins_compensated_contain_the_exact_margins_and_say_so():
    rng = np.random.default_rng(4)
    g = _deep(rng, blocks=2)
    x = rng.standard_normal((3, 2, 6, 6))
    y = np.array([0, 1, 2])
    m = kernels.logit_margins(g, x, y, precision="compensated", device="cpu")
    f = kernels.logit_margins(g, x, y, device="cpu")
    assert "dot2" in m.source and "dot2" not in f.source
    assert np.all(m.hi - m.lo <= f.hi - f.lo)
    with mpmath.workprec(PREC):
        for i in range(3):
            z = exact_forward(g, x[i]).reshape(-1)
            exact = z[y[i]] - max(v for j, v in enumerate(z) if j != y[i])
            assert mpmath.mpf(float(m.lo[i])) <= exact <= mpmath.mpf(float(m.hi[i]))


@pytest.mark.parametrize("name", ["mlp", "cnn", "bn_cnn", "mobilenet_block", "dense_block", "tiny_vit"])
def test_zoo_compensated_contains_the_exact_forward_and_is_no_wider(name):
    """Layers without a pair (ReLU6, concat, pooling, LayerNorm, GELU, attention) drop it soundly."""
    pytest.importorskip("torch")
    from certify.models.loader import load_model
    from tests.network.zoo import build

    m, shape = build(name)
    net = load_model(m).network
    x = np.random.default_rng(1).standard_normal((1, *shape)).astype(np.float32)
    lo, hi = kernels.forward_enclosure(net, x, precision="compensated")
    flo, fhi = kernels.forward_enclosure(net, x)
    assert _contains(exact_forward(net, x[0].astype(np.float64)), lo[0], hi[0]), name
    assert np.all(hi - lo <= fhi - flo), name


def test_add_of_a_pair_and_a_plain_value_contains_the_exact_sum():
    rng = np.random.default_rng(9)
    nodes = (ir.Node("l", ir.Linear(rng.standard_normal((4, 3)), rng.standard_normal(4)), ("input",)),
             ir.Node("t", ir.Activation("tanh"), ("l",)),
             ir.Node("m", ir.Linear(rng.standard_normal((4, 4)), None), ("t",)),
             ir.Node("a", ir.Add(), ("m", "t")),
             ir.Node("o", ir.Linear(rng.standard_normal((2, 4)), None), ("a",)))
    g = ir.Graph(nodes, (3,))
    x = rng.standard_normal((2, 3))
    lo, hi = kernels.forward_enclosure(g, x, precision="compensated")
    for i in range(2):
        assert _contains(exact_forward(g, x[i]), lo[i], hi[i])
