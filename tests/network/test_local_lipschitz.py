"""The local Lipschitz upper bound on a box input domain (issue 16): ``kernels.lipschitz_upper(g, domain=(lo, hi))``
for self-attention and LayerNorm networks. Checked against difference quotients ``||f(a) - f(b)|| / ||a - b||`` of
the exact real network at 200 bits (tests/network/reference.py) and against the largest Jacobian norm a projected
gradient ascent (torch autograd, float64) finds in the domain; on a point domain the bound meets ``|| |J(x)| ||``;
with a global rule the local bound is never above it; empty or inverted domains are refused in one line."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import kernels  # noqa: E402
from boundcert.errors import HypothesisNotMet, InvalidInput  # noqa: E402
from certify.models.loader import load_model  # noqa: E402
from tests.network import zoo  # noqa: E402
from tests.network.reference import PREC, exact_forward  # noqa: E402


class _SelfAttention(torch.nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(d, heads, batch_first=True)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


class _NormNet(torch.nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(d, d)
        self.norm = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, 2)

    def forward(self, x):
        return self.head(self.norm(self.lin(x)))


def _fn(m: torch.nn.Module, shape: tuple[int, ...]):
    m = m.double().eval()
    return lambda z: m(z.reshape(1, *shape)).reshape(-1)


def _ascend(fn, lo_t, hi_t, ord_, steps: int, gen) -> float:
    """One start of projected (sign) gradient ascent of ``||J(x)||`` over the box; the largest value seen."""
    best = 0.0
    x = (lo_t + (hi_t - lo_t) * torch.rand(lo_t.shape, generator=gen, dtype=torch.float64)).requires_grad_(True)
    for _ in range(steps):
        val = torch.linalg.matrix_norm(torch.autograd.functional.jacobian(fn, x, create_graph=True), ord_)
        best = max(best, float(val.detach()))
        (g,) = torch.autograd.grad(val, x)
        g = torch.nan_to_num(g, nan=0.0)  # the 2-norm's gradient at J = 0 is NaN
        if not torch.any(g):  # a flat spot (dead ReLUs, J = 0): a random step instead
            g = torch.rand(x.shape, generator=gen, dtype=torch.float64) - 0.5
        with torch.no_grad():
            x = torch.clamp(x + 0.05 * (hi_t - lo_t) * torch.sign(g), lo_t, hi_t)
        x.requires_grad_(True)
    return best


def _attack(fn, lo: np.ndarray, hi: np.ndarray, norm: str, starts: int = 3, steps: int = 20, seed: int = 0) -> float:
    """Largest ``||J(x)||`` found by projected gradient ascent over ``x`` in the box (float64; an estimate)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    gen = torch.Generator().manual_seed(seed)
    lo_t, hi_t = torch.tensor(lo.reshape(-1)), torch.tensor(hi.reshape(-1))
    ord_ = 2 if norm == "l2" else float("inf")
    with sdpa_kernel(SDPBackend.MATH):  # the fused CPU kernel has no double backward
        return max(_ascend(fn, lo_t, hi_t, ord_, steps, gen) for _ in range(starts))


def _quotients(graph, lo: np.ndarray, hi: np.ndarray, pairs: int, seed: int) -> list:
    """Exact (200-bit) l2 difference quotients over random pairs of float points in the box."""
    rng = np.random.default_rng(seed)
    out = []
    with mpmath.workprec(PREC):
        for _ in range(pairs):
            a, b = (lo + (hi - lo) * rng.random(lo.shape) for _ in range(2))
            if np.array_equal(a, b):
                continue
            fa, fb = exact_forward(graph, a), exact_forward(graph, b)
            num = mpmath.sqrt(sum((u - v) ** 2 for u, v in zip(fa.reshape(-1), fb.reshape(-1))))
            den = mpmath.sqrt(sum((mpmath.mpf(u) - mpmath.mpf(v)) ** 2 for u, v in zip(a.reshape(-1), b.reshape(-1))))
            out.append(num / den)
    return out


def _check(m: torch.nn.Module, shape: tuple[int, ...], lo: np.ndarray, hi: np.ndarray, pairs: int = 4,
           seed: int = 0) -> float:
    g = load_model(m).graph
    res = kernels.lipschitz_upper(g, domain=(lo, hi), input_shape=shape)
    assert res.domain is not None and np.array_equal(res.domain[0], lo) and np.array_equal(res.domain[1], hi)
    assert "domain" in res.source
    for q in _quotients(g, lo, hi, pairs, seed):
        assert q <= mpmath.mpf(res.upper)
    fn = _fn(m, shape)
    assert _attack(fn, lo, hi, "l2", seed=seed) <= res.upper
    lin = kernels.lipschitz_upper(g, domain=(lo, hi), input_shape=shape, norm="linf")
    assert _attack(fn, lo, hi, "linf", starts=1, steps=10, seed=seed) <= lin.upper
    return res.upper


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([(2, 1), (2, 2), (4, 2)]), st.integers(2, 3),
       st.floats(-1.0, 0.5), st.floats(0.01, 1.0))
def test_attention_bound_dominates_quotients_and_attack(seed, dh, t, lo0, width):
    d, h = dh
    torch.manual_seed(seed)
    m = _SelfAttention(d, h)
    lo = np.full((t, d), lo0)
    _check(m, (t, d), lo, lo + width, seed=seed)


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 5), st.floats(-1.0, 0.5), st.floats(0.0, 1.0))
def test_layernorm_bound_dominates_quotients_and_attack_and_is_at_most_global(seed, d, lo0, width):
    torch.manual_seed(seed)
    m = _NormNet(d)
    lo = np.full((d,), lo0)
    g = load_model(m).graph
    local = _check(m, (d,), lo, lo + width, seed=seed)
    assert local <= kernels.lipschitz_upper(g, input_shape=(d,)).upper


def test_attention_point_domain_meets_the_entrywise_jacobian_norm():
    """On a one-point domain the enclosure of J is (nearly) a point: ||J(x)||_2 <= bound ~ || |J(x)| ||_2."""
    torch.manual_seed(3)
    m = _SelfAttention(4, 2)
    x = np.random.default_rng(3).random((3, 4))
    res = kernels.lipschitz_upper(load_model(m).graph, domain=(x, x), input_shape=(3, 4))
    jac = torch.autograd.functional.jacobian(_fn(m, (3, 4)), torch.tensor(x.reshape(-1)))
    assert float(torch.linalg.matrix_norm(jac, 2)) <= res.upper
    assert res.upper <= float(torch.linalg.matrix_norm(jac.abs(), 2)) * (1 + 1e-5)


def test_sdpa_point_domain_bound_dominates_the_jacobian_norm():
    torch.manual_seed(2)
    m = zoo.SDPABlock().eval()
    x = np.random.default_rng(2).random((3, 4))
    res = kernels.lipschitz_upper(load_model(m).graph, domain=(x, x), input_shape=(3, 4))
    jac = torch.autograd.functional.jacobian(_fn(m, (3, 4)), torch.tensor(x.reshape(-1)))
    assert float(torch.linalg.matrix_norm(jac, 2)) <= res.upper


def test_layernorm_local_bound_is_far_below_the_global_one_on_a_small_box():
    torch.manual_seed(1)
    m = _NormNet(4)
    g = load_model(m).graph
    x = np.array([0.0, 1.0, 0.0, 1.0])
    local = kernels.lipschitz_upper(g, domain=(x - 0.01, x + 0.01), input_shape=(4,))
    glob = kernels.lipschitz_upper(g, input_shape=(4,))
    assert local.upper * 10 < glob.upper
    _check(m, (4,), x - 0.01, x + 0.01)


_HAND = {"attention_vit": (zoo.AttentionViT, (1, 4, 4)), "sdpa_block": (zoo.SDPABlock, (3, 4))}


@pytest.mark.parametrize("name", ["class_token_vit", "attention_vit", "sdpa_block"])
def test_zoo_attention_models_bound_dominates_quotients_and_attack(name):
    if name in _HAND:
        torch.manual_seed(0)
        m, shape = _HAND[name][0]().eval(), _HAND[name][1]
    else:
        m, shape = zoo.build(name)
    with pytest.raises(HypothesisNotMet, match="h_lipschitz_upper"):
        kernels.lipschitz_upper(load_model(m).graph, input_shape=shape)
    lo = np.zeros(shape)
    _check(m, shape, lo, lo + 1.0, pairs=3)


@pytest.mark.parametrize("name", ["mlp", "cnn", "tiny_vit", "class_token_mlp", "dense_block"])
@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_local_bound_is_at_most_the_global_one(name, norm):
    m, shape = zoo.build(name)
    g = load_model(m).graph
    local = kernels.lipschitz_upper(g, domain=(0.0, 1.0), input_shape=shape, norm=norm)
    assert local.upper <= kernels.lipschitz_upper(g, input_shape=shape, norm=norm).upper


@pytest.mark.parametrize("domain, what", [((1.0, 0.0), "empty"), ((0.0, float("nan")), "finite"),
                                          ((np.zeros(3), 1.0), "broadcastable"), ([0.0, 1.0], "give")])
def test_bad_domains_are_refused_in_one_line(domain, what):
    torch.manual_seed(0)
    g = load_model(_SelfAttention(2, 1)).graph
    with pytest.raises(InvalidInput, match=what) as e:
        kernels.lipschitz_upper(g, domain=domain, input_shape=(2, 2))
    assert "\n" not in str(e.value)


class _GroupNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 2)
        self.norm = torch.nn.GroupNorm(2, 4)
        self.head = torch.nn.Linear(4 * 2 * 2, 2)

    def forward(self, x):
        return self.head(self.norm(self.conv(x)).flatten(1))


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 10_000), st.floats(-1.0, 0.5), st.floats(0.0, 1.0))
def test_groupnorm_bound_dominates_quotients_and_attack_and_is_at_most_global(seed, lo0, width):
    torch.manual_seed(seed)
    m = _GroupNet()
    lo = np.full((1, 3, 3), lo0)
    g = load_model(m).graph  # before _check turns the module to float64 (the float32 module's eps is float32)
    local = _check(m, (1, 3, 3), lo, lo + width, pairs=2, seed=seed)
    assert local <= kernels.lipschitz_upper(g, input_shape=(1, 3, 3)).upper


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "resnet18" else n
                                  for n in sorted(zoo.ZOO)])
def test_every_zoo_model_local_bound_dominates_the_attack(name):
    m, shape = zoo.build(name)
    g = load_model(m).graph
    lo, hi = np.zeros(shape), np.ones(shape)
    res = kernels.lipschitz_upper(g, domain=(lo, hi), input_shape=shape)
    assert _attack(_fn(m, shape), lo, hi, "l2", starts=2, steps=10) <= res.upper


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 5), st.floats(0.0, 50.0))
def test_layernorm_forward_on_a_wide_box_encloses_exact_values_within_its_range(seed, d, radius):
    """The forward enclosure intersected with the range ``|y_i - b_i| <= |w_i| sqrt(d - 1)``: exact outputs at 200
    bits of random points of the box (near its corners) lie inside it, and the box lies inside the range."""
    from kernels.network._state import point

    torch.manual_seed(seed)
    m = _NormNet(d)
    g = load_model(m).graph
    sub = kernels.network.Graph(g.nodes[:2], input_shape=(d,))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(1, d))
    out = sub.forward(point(x, radius))
    ln = g.nodes[1].layer
    span = np.abs(ln.weight) * np.sqrt(d - 1) * (1 + 1e-12) + 1e-300
    assert np.all(out.lo[0] >= ln.bias - span - 1e-12) and np.all(out.hi[0] <= ln.bias + span + 1e-12)
    with mpmath.workprec(PREC):
        for _ in range(4):
            z = x[0] + radius * rng.choice([-0.999, 0.999, 0.3], size=d)  # inside the box after rounding
            y = exact_forward(sub, z)
            dist2 = mpmath.mpf(0)
            for i in range(d):
                assert mpmath.mpf(out.lo[0, i]) <= y[i] <= mpmath.mpf(out.hi[0, i])
                dist2 += (y[i] - mpmath.mpf(out.mid[0, i])) ** 2
            assert mpmath.sqrt(dist2) <= mpmath.mpf(out.dist[0])
