"""Multi-head self-attention through the file frontends (issue 16): the tiny ViT of the zoo (patch embedding,
LayerNorm, nn.MultiheadAttention, GELU MLP, residuals) loaded from .pt2 gives the same IR and byte-identical
certified numbers (forward enclosure, analyze rows) as the nn.Module; the enclosure contains the exact forward
(mpmath); forms that are not translated (batch_first=False, masks, need_weights=True) are named, never mistranslated."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import kernels  # noqa: E402
from boundcert.errors import HypothesisNotMet  # noqa: E402
from certify.models.loader import load_model  # noqa: E402
from certify.reports.analyze import analyze_network  # noqa: E402
from kernels import network as ir  # noqa: E402
from tests.network.reference import PREC, exact_forward  # noqa: E402
from tests.network.zoo import AttentionViT, _stats  # noqa: E402


def _vit():
    torch.manual_seed(0)
    return _stats(AttentionViT(), 0)


def _x(n=2, seed=6):
    return np.random.default_rng(seed).standard_normal((n, 1, 4, 4)).astype(np.float32)


def _pt2(m, path, x):
    ep = torch.export.export(m, (torch.from_numpy(x),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(ep, str(path))
    return path


def _same_enclosure(net, g, x):
    """Assert that ``g`` (a file frontend's IR) gives ``net``'s forward enclosure bit for bit; return ``g``'s."""
    lo, hi = kernels.forward_enclosure(net, x)
    lo2, hi2 = kernels.forward_enclosure(g, x)
    assert lo2.tobytes() == lo.tobytes() and hi2.tobytes() == hi.tobytes()
    return lo2, hi2


def test_vit_from_pt2_is_byte_identical_to_the_module(tmp_path):
    m = _vit()
    x = _x()
    net = load_model(m).network
    g = load_model(_pt2(m, tmp_path / "v.pt2", x)).network
    assert g is not None and [type(n.layer) for n in g.nodes] == [type(n.layer) for n in net.nodes]
    lo2, hi2 = _same_enclosure(net, g, x)
    exact = exact_forward(g, x[0].astype(np.float64)).reshape(-1)
    with mpmath.workprec(PREC):
        assert all(mpmath.mpf(float(a)) <= e <= mpmath.mpf(float(b)) for e, a, b in zip(exact, lo2[0], hi2[0]))
    rows, rows2 = analyze_network(net, esd=False), analyze_network(g, esd=False)
    assert [r.to_dict() for r in rows2] == [r.to_dict() for r in rows]
    assert [r.name for r in rows2 if r.name.startswith("attn")] == [f"attn.{p}_proj" for p in ("q", "k", "v", "out")]
    with pytest.raises(HypothesisNotMet, match="h_lipschitz_upper"):
        kernels.lipschitz_upper(g, input_shape=(1, 4, 4))


class _Variant(torch.nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.attn = torch.nn.MultiheadAttention(4, 2, batch_first=kind != "seq_first")
        self.pool = torch.nn.AdaptiveAvgPool1d(1)
        self.head = torch.nn.Linear(4, 3)

    def _out(self, o):
        return self.head(self.pool(o.transpose(1, 2)).flatten(1))

    def forward(self, t):
        if self.kind == "seq_first":
            u = t.transpose(0, 1)
            return self._out(self.attn(u, u, u, need_weights=False)[0].transpose(0, 1))
        if self.kind == "mask":
            mask = torch.ones(t.shape[1], t.shape[1], dtype=torch.bool).triu(1)
            return self._out(self.attn(t, t, t, attn_mask=mask, need_weights=False)[0])
        if self.kind == "cross":
            return self._out(self.attn(t, t * 2, t, need_weights=False)[0])
        if self.kind == "weights":
            return self._out(self.attn(t, t, t)[0])  # need_weights=True: softmax and bmm, not SDPA
        return self._out(self.attn(t, t, t, need_weights=False)[0])


def test_plain_variant_translates(tmp_path):
    torch.manual_seed(0)
    m = _Variant("plain").eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    g = load_model(_pt2(m, tmp_path / "p.pt2", x)).network
    ref = load_model(m).network
    assert g is not None and any(isinstance(n.layer, ir.Attention) for n in g.nodes)
    _same_enclosure(ref, g, x)


@pytest.mark.parametrize("kind", ["seq_first", "mask", "cross", "weights"])
def test_untranslated_attention_forms_are_named(kind, tmp_path):
    torch.manual_seed(0)
    m = _Variant(kind).eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    loaded = load_model(_pt2(m, tmp_path / "a.pt2", x))
    assert loaded.network is None and loaded.unsupported
    assert not any(isinstance(n.layer, ir.Attention) for n in loaded.graph.nodes), kind
    named = [n.layer for n in loaded.graph.nodes if isinstance(n.layer, ir.Unsupported) and
             "MultiheadAttention" in n.layer.op]
    assert len(named) == 1 and "rules out" in named[0].reason, kind


def _onnx(m, path, x):
    import warnings

    pytest.importorskip("onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (torch.from_numpy(x),), str(path), dynamo=False, do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE, dynamic_axes={"x": {0: "b"}}, input_names=["x"])
    return path


def test_vit_from_onnx_is_byte_identical_to_the_module(tmp_path):
    m = _vit()
    x = _x()
    net = load_model(m).network
    g = load_model(_onnx(m, tmp_path / "v.onnx", x)).network
    assert g is not None and sum(isinstance(n.layer, ir.Attention) for n in g.nodes) == 1
    _same_enclosure(net, g, x)
    rows, rows2 = analyze_network(net, esd=False), analyze_network(g, esd=False)
    assert [(r.spectral_lo, r.spectral_hi, r.frobenius_hi) for r in rows2] == \
        [(r.spectral_lo, r.spectral_hi, r.frobenius_hi) for r in rows]


def test_onnx_attention_that_computes_another_function_is_refused(tmp_path):
    """The check by evaluation: the same ops with the softmax over the wrong axis are not the translated form."""
    import onnx

    m = _vit()
    p = _onnx(m, tmp_path / "v.onnx", _x())
    model = onnx.load(str(p))
    for n in model.graph.node:
        if n.op_type == "Softmax":
            n.attribute[0].i = 2  # over the query axis instead of the key axis
    onnx.save(model, str(tmp_path / "w.onnx"))
    loaded = load_model(tmp_path / "w.onnx")
    assert loaded.network is None
    named = [n.layer for n in loaded.graph.nodes if isinstance(n.layer, ir.Unsupported) and
             "MultiheadAttention" in n.layer.op]
    assert len(named) == 1 and "do not compute" in named[0].reason


@pytest.mark.parametrize("kind", ["mask", "cross"])
def test_untranslated_onnx_attention_forms_are_named(kind, tmp_path):
    torch.manual_seed(0)
    m = _Variant(kind).eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    loaded = load_model(_onnx(m, tmp_path / "a.onnx", x))
    assert loaded.network is None
    assert not any(isinstance(n.layer, ir.Attention) for n in loaded.graph.nodes), kind


def test_scaled_dot_product_attention_from_module_and_pt2(tmp_path):
    """F.scaled_dot_product_attention written by hand (heads split by view/transpose): the IR computes torch's
    function, the enclosure contains the exact forward, .pt2 is byte-identical, no Lipschitz bound is claimed."""
    from tests.network.zoo import SDPABlock

    torch.manual_seed(0)
    m = SDPABlock().eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    net = load_model(m).network
    assert net is not None and sum(isinstance(n.layer, ir.ScaledDotProductAttention) for n in net.nodes) == 1
    lo, hi = kernels.forward_enclosure(net, x)
    with torch.no_grad():
        ref = m.double()(torch.from_numpy(x).double()).numpy()
    m.float()
    assert np.all(np.abs(ref - (lo + hi) / 2) <= 1e-9 * (1 + np.abs(ref)))
    for i in range(2):
        exact = exact_forward(net, x[i].astype(np.float64)).reshape(-1)
        with mpmath.workprec(PREC):
            assert all(mpmath.mpf(float(a)) <= e <= mpmath.mpf(float(b)) for e, a, b in zip(exact, lo[i], hi[i]))
    g = load_model(_pt2(m, tmp_path / "s.pt2", x)).network
    assert g is not None and [type(n.layer) for n in g.nodes] == [type(n.layer) for n in net.nodes]
    _same_enclosure(net, g, x)
    with pytest.raises(HypothesisNotMet, match="h_lipschitz_upper"):
        kernels.lipschitz_upper(g, input_shape=(3, 4))


def test_sdpa_with_a_mask_is_not_translated():
    class Masked(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.scaled_dot_product_attention(x, x, x, is_causal=True).flatten(1)

    loaded = load_model(Masked().eval())
    assert loaded.network is None and "scaled_dot_product_attention" in loaded.unsupported


def test_pt2_in_place_relu_and_add_translate(tmp_path):
    """nn.ReLU(inplace=True) and ``out += identity`` (torchvision's blocks) export as aten.relu_ / aten.add_."""

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = torch.nn.Conv2d(2, 2, 3, padding=1)
            self.r = torch.nn.ReLU(inplace=True)
            self.f = torch.nn.Linear(2 * 16, 3)

        def forward(self, x):
            out = self.r(self.c(x))
            out += x
            return self.f(torch.flatten(self.r(out), 1))

    torch.manual_seed(0)
    m = Block().eval()
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4)).astype(np.float32)
    net = load_model(m).network
    g = load_model(_pt2(m, tmp_path / "b.pt2", x)).network
    assert g is not None
    _same_enclosure(net, g, x)


def test_scaled_dot_product_attention_from_onnx(tmp_path):
    """torch's exporter writes F.scaled_dot_product_attention as MatMul(Softmax(MatMul(q c, k^T c)), v) with the
    scale from shape ops: one IR node (and a Permute of k), checked by evaluation; byte-identical to the module;
    with the softmax over another axis it is not translated."""
    import onnx

    from tests.network.zoo import SDPABlock

    torch.manual_seed(0)
    m = SDPABlock().eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    net = load_model(m).network
    p = _onnx(m, tmp_path / "s.onnx", x)
    g = load_model(p).network
    assert g is not None and sum(isinstance(n.layer, ir.ScaledDotProductAttention) for n in g.nodes) == 1
    _same_enclosure(net, g, x)
    model = onnx.load(str(p))
    for n in model.graph.node:
        if n.op_type == "Softmax":
            n.attribute[0].i = 2
    onnx.save(model, str(tmp_path / "w.onnx"))
    loaded = load_model(tmp_path / "w.onnx")
    assert loaded.network is None
    assert not any(isinstance(n.layer, ir.ScaledDotProductAttention) for n in loaded.graph.nodes)
