"""The ViT's class token and learned positional embedding in the network IR (issue 16): ``Constant`` (a learned
tensor read by the forward code: exact, a point enclosure, Lipschitz 0 w.r.t. the input) feeding ``Concat`` and
``Add``, and ``Select``/``Slice`` (the class token picked by ``t[:, 0]``). Checked against exact rationals and
explicit matrices; the fx, .pt2 and .onnx frontends give byte-identical enclosures; forms that are not a broadcast
over the batch are refused by name, never mistranslated."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

torch = pytest.importorskip("torch")

import kernels  # noqa: E402
from boundcert.errors import InvalidInput  # noqa: E402
from certify.models.loader import load_model  # noqa: E402
from kernels import network as ir  # noqa: E402
from kernels.network._state import point  # noqa: E402

_F = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)


def _graph(value: np.ndarray, w: np.ndarray, merge: str) -> ir.Graph:
    lin = ir.Node("lin", ir.Linear(w, None), ("input",))
    c = ir.Node("c", ir.Constant(value), ("input",))
    if merge == "add":
        return ir.Graph((lin, c, ir.Node("out", ir.Add(), ("lin", "c"))))
    return ir.Graph((lin, c, ir.Node("out", ir.Concat(0), ("c", "lin"))))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (2, 3), elements=_F), arrays(np.float64, (3,), elements=_F),
       arrays(np.float64, (3, 3), elements=_F))
def test_add_of_a_constant_encloses_the_exact_sum(x, c, w):
    g = _graph(c, w, "add")
    out = g.forward(point(x))
    lo, hi = out.lo, out.hi
    for i in range(2):
        for j in range(3):
            exact = sum(Fraction(w[j, k]) * Fraction(x[i, k]) for k in range(3)) + Fraction(c[j])
            assert Fraction(lo[i, j]) <= exact <= Fraction(hi[i, j])


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (2, 3), elements=_F), arrays(np.float64, (2,), elements=_F))
def test_constant_is_the_exact_point_for_every_sample(x, c):
    out = ir.Constant(c).forward((point(x),), None)
    assert out.mid.shape == (2, 2) and np.all(out.mid == c) and not np.any(out.rad) and not np.any(out.dist)


@pytest.mark.parametrize("merge", ["add", "concat"])
@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_lipschitz_of_a_constant_merge_is_that_of_x(merge, norm):
    """x + c and cat(c, x) have the Lipschitz constant of x: the constant contributes 0, not 1."""
    w = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, 1.0], [1.0, 1.0, 1.0]])
    g = _graph(np.array([5.0, -7.0, 1.0]), w, merge)
    alone = ir.Graph((ir.Node("lin", ir.Linear(w, None), ("input",)),))
    up, _ = g.lipschitz((3,), norm)
    ref, _ = alone.lipschitz((3,), norm)
    assert up == ref and up >= (np.abs(w).sum(axis=1).max() if norm == "linf" else np.linalg.norm(w, 2))
    assert ir.Constant(np.ones(2)).lipschitz((3,), norm, {}).hi == 0.0


def test_select_and_slice_pick_as_numpy_and_are_projections():
    x = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)
    e = point(x, 0.25)
    s = ir.Select(1, 0).forward((e,), None)
    assert np.array_equal(s.mid, x[:, 0]) and np.all(s.rad == 0.25) and np.array_equal(s.dist, e.dist)
    assert ir.Select(1, 0).out_shape(((3, 4),)) == (4,) and ir.Select(-1, 2).out_shape(((3, 4),)) == (3,)
    sl = ir.Slice(2, 1, None, 2)
    assert np.array_equal(sl.forward((e,), None).mid, x[:, :, 1::2]) and sl.out_shape(((3, 4),)) == (3, 2)
    assert ir.Select(1, 0).lipschitz((3, 4), "l2", {}).hi == 1.0
    assert not hasattr(ir.Select(1, 0), "move")  # not a permutation: bound propagation must not invert it
    for bad in (lambda: ir.Select(0, 0).out_shape(((3,),)), lambda: ir.Select(1, 5).out_shape(((3,),)),
                lambda: ir.Slice(1, 3, 3).out_shape(((3,),))):
        with pytest.raises(InvalidInput):
            bad()


class _Sliced(torch.nn.Module):
    """Class token, positional embedding, the first token kept by slicing (t[:, :1]) and flattened."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Conv2d(1, 3, 2, 2)
        self.cls = torch.nn.Parameter(torch.randn(1, 1, 3))
        self.pos = torch.nn.Parameter(torch.randn(1, 5, 3))
        self.head = torch.nn.Linear(6, 2)

    def forward(self, x):
        t = self.embed(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(x.shape[0], -1, -1), t], dim=1) + self.pos
        return self.head(torch.flatten(t[:, :2], 1))


def test_slice_through_every_frontend_is_byte_identical(tmp_path):
    torch.manual_seed(1)
    m = _Sliced().eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32)
    net = load_model(m).network
    assert [type(n.layer).__name__ for n in net.nodes].count("Slice") == 1
    ref = kernels.forward_enclosure(net, x)
    with torch.no_grad():
        want = m.double()(torch.from_numpy(x).double()).numpy()
    m.float()
    assert np.all(ref[0] <= want) and np.all(want <= ref[1])
    ep = torch.export.export(m, (torch.from_numpy(x),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(ep, str(tmp_path / "s.pt2"))
    files = [tmp_path / "s.pt2"]
    pytest.importorskip("onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (torch.zeros(2, 1, 4, 4),), str(tmp_path / "s.onnx"), dynamo=False,
                          do_constant_folding=False, dynamic_axes={"x": {0: "b"}}, input_names=["x"])
    files.append(tmp_path / "s.onnx")
    for p in files:
        g = load_model(p).network
        assert g is not None, p
        lo, hi = kernels.forward_enclosure(g, x)
        assert lo.tobytes() == ref[0].tobytes() and hi.tobytes() == ref[1].tobytes(), p


class _Bad(torch.nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.embed = torch.nn.Conv2d(1, 3, 2, 2)
        self.vec = torch.nn.Parameter(torch.randn(3))
        self.cls = torch.nn.Parameter(torch.randn(1, 1, 3))
        self.head = torch.nn.Linear(3, 2)

    def forward(self, x):
        t = self.embed(x).flatten(2).transpose(1, 2)  # (N, 4, 3)
        if self.kind == "broadcast":  # (3,) broadcast over tokens too: not a per-sample constant of t's shape
            t = t + self.vec
        elif self.kind == "expand":  # the class token repeated over tokens: a broadcast that is not translated
            t = t + self.cls.expand(x.shape[0], 4, -1)
        return self.head(t.mean(1))


@pytest.mark.parametrize("kind, named", [("broadcast", "broadcasting is not supported"),
                                         ("expand", "expand is not supported")])
def test_a_broadcast_that_is_not_over_the_batch_is_refused_by_name(kind, named):
    torch.manual_seed(0)
    m = _Bad(kind).eval()
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)
    with pytest.raises(InvalidInput, match=named) as info:
        g = load_model(m).graph
        kernels.forward_enclosure(g, x)
    assert "\n" not in str(info.value)


def test_a_non_float_buffer_is_unsupported():
    from certify.models.tracing import constant_layer

    layer = constant_layer(torch.arange(3), "constant idx")
    assert isinstance(layer, ir.Unsupported) and "constant idx" in layer.op
    with pytest.raises(InvalidInput):
        ir.Constant(np.array([1.0, np.nan]))


def test_onnx_initializers_feeding_concat_and_add_are_constants():
    """A hand-built ONNX graph: Concat(cls initializer, x) on axis 1, + pos initializer, Flatten, Gemm; the IR's
    enclosure contains the exact rational forward."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from certify.models.onnx_file import onnx_to_graph

    rng = np.random.default_rng(0)
    cls, pos = rng.standard_normal((1, 1, 3)).astype(np.float32), rng.standard_normal((1, 3, 3)).astype(np.float32)
    w, b = rng.standard_normal((2, 9)).astype(np.float32), rng.standard_normal(2).astype(np.float32)
    nodes = [helper.make_node("Concat", ["cls", "x"], ["t"], axis=1), helper.make_node("Add", ["t", "pos"], ["u"]),
             helper.make_node("Flatten", ["u"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "w", "b"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])],
                              [numpy_helper.from_array(v, k) for k, v in (("cls", cls), ("pos", pos), ("w", w),
                                                                         ("b", b))])
    g = onnx_to_graph(helper.make_model(graph))
    assert [type(n.layer).__name__ for n in g.nodes] == ["Constant", "Concat", "Constant", "Add", "Flatten",
                                                         "Linear"]
    x = rng.standard_normal((2, 2, 3)).astype(np.float32)
    lo, hi = kernels.forward_enclosure(g, x)
    F = np.vectorize(Fraction, otypes=[object])
    for i in range(2):
        t = np.concatenate([F(cls[0].astype(np.float64)), F(x[i].astype(np.float64))], axis=0)
        t = (t + F(pos[0].astype(np.float64))).reshape(-1)
        y = F(w.astype(np.float64)) @ t + F(b.astype(np.float64))
        assert all(Fraction(a) <= e <= Fraction(c) for a, e, c in zip(lo[i], y, hi[i]))
    head = ir.Graph((ir.Node("y", g.nodes[-1].layer, ("input",)),))
    assert g.lipschitz((2, 3), "l2")[0] == head.lipschitz((9,), "l2")[0]  # cls, pos contribute nothing
