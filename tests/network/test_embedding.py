"""nn.Embedding in the network IR (issue 16): integer token ids, an exact gather; the same IR and byte-identical
enclosures from nn.Module (fx), .pt2 (aten.embedding) and .onnx (Gather); the enclosure contains the exact forward
(mpmath, 200 bits); an input-Lipschitz bound and input perturbations are refused by hypothesis name; analyze
reports the table."""

from __future__ import annotations

import json
import warnings

import mpmath
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import kernels  # noqa: E402
from boundcert.errors import HypothesisNotMet, InvalidInput  # noqa: E402
from certify.models.loader import load_model  # noqa: E402
from certify.reports.analyze import analyze_network  # noqa: E402
from kernels import network as ir  # noqa: E402
from tests.network.reference import PREC, exact_forward  # noqa: E402
from tests.network.zoo import TokenNet, _stats  # noqa: E402


def _model():
    torch.manual_seed(0)
    return _stats(TokenNet(), 0)


def _ids(n=3, seed=0):
    return np.random.default_rng(seed).integers(0, 11, (n, 5))


def _files(m, tmp_path):
    x = torch.from_numpy(_ids())
    ep = torch.export.export(m, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(ep, str(tmp_path / "t.pt2"))
    files = {"pt2": tmp_path / "t.pt2"}
    pytest.importorskip("onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (x,), str(tmp_path / "t.onnx"), dynamo=False, do_constant_folding=False,
                          dynamic_axes={"x": {0: "b"}}, input_names=["x"])
    files["onnx"] = tmp_path / "t.onnx"
    return files


def test_embedding_enclosure_is_exact_and_the_same_through_every_frontend(tmp_path):
    m = _model()
    net = load_model(m).network
    assert isinstance(net.nodes[0].layer, ir.Embedding)
    ids = _ids()
    x = ids.astype(np.float64)  # token ids as exact floats
    lo, hi = kernels.forward_enclosure(net, x)
    with torch.no_grad():
        ref = m.double()(torch.from_numpy(ids)).numpy()
    m.float()
    assert np.all(np.abs(ref - (lo + hi) / 2) <= 1e-9 * (1 + np.abs(ref)))
    for i in range(ids.shape[0]):
        exact = exact_forward(net, x[i]).reshape(-1)
        with mpmath.workprec(PREC):
            assert all(mpmath.mpf(float(a)) <= e <= mpmath.mpf(float(b)) for e, a, b in zip(exact, lo[i], hi[i]))
    for fmt, p in _files(m, tmp_path).items():
        g = load_model(p).network
        assert g is not None and isinstance(g.nodes[0].layer, ir.Embedding), fmt
        assert np.array_equal(g.nodes[0].layer.weight, net.nodes[0].layer.weight), fmt
        lo2, hi2 = kernels.forward_enclosure(g, x)
        assert lo2.tobytes() == lo.tobytes() and hi2.tobytes() == hi.tobytes(), fmt


def test_embedding_gather_is_exact():
    w = np.random.default_rng(1).standard_normal((7, 3))
    layer = ir.Embedding(w)
    from kernels.network._state import point

    out = layer.forward((point(np.array([[0.0, 6.0, 3.0]])),), None)
    assert np.array_equal(out.mid[0], w[[0, 6, 3]]) and not np.any(out.rad) and not np.any(out.dist)
    assert layer.out_shape(((3,),)) == (3, 3)


def test_input_lipschitz_and_perturbations_are_refused_by_name():
    net = load_model(_model()).network
    with pytest.raises(HypothesisNotMet, match="h_lipschitz_upper") as info:
        kernels.lipschitz_upper(net, input_shape=(5,))
    assert "embedding output" in str(info.value)
    with pytest.raises(HypothesisNotMet, match="h_lipschitz_upper"):
        kernels.forward_enclosure(net, _ids().astype(np.float64), radius=0.1)


@pytest.mark.parametrize("bad", [np.full((1, 5), 11.0), np.full((1, 5), -1.0), np.full((1, 5), 0.5)])
def test_out_of_range_or_fractional_ids_are_one_line_refusals(bad):
    net = load_model(_model()).network
    with pytest.raises(InvalidInput, match=r"\[0, 11\)") as info:
        kernels.forward_enclosure(net, bad)
    assert "\n" not in str(info.value)


def test_max_norm_embedding_is_named_unsupported():
    m = torch.nn.Sequential(torch.nn.Embedding(5, 2, max_norm=1.0), torch.nn.Flatten(), torch.nn.Linear(6, 2))
    loaded = load_model(m.eval())
    assert loaded.network is None and "max_norm" in loaded.unsupported


def test_analyze_reports_the_table_in_graph_order(tmp_path, capsys):
    from certify.cli import main

    m = _model()
    rows = analyze_network(load_model(m).network)
    assert [r.name for r in rows] == ["embed", "head"] and rows[0].kind == "Embedding (table)"
    assert rows[0].shape == "11x4" and rows[0].params == 44
    lo, hi = float(rows[0].spectral_lo), float(rows[0].spectral_hi)
    s = np.linalg.svd(m.embed.weight.detach().double().numpy(), compute_uv=False)[0]
    assert lo <= s <= hi
    p = _files(m, tmp_path)["pt2"]
    assert main(["analyze", str(p), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in out] == ["embed", "head"]
    assert out[0]["spectral_hi"] == rows[0].spectral_hi


def test_integer_ids_are_taken_exactly():
    """int64 ids (numpy or torch) give the same bytes as the same ids as float64; ids beyond 2^53 are refused."""
    net = load_model(_model()).network
    ids = _ids()
    want = kernels.forward_enclosure(net, ids.astype(np.float64))
    for x in (ids, torch.from_numpy(ids), ids.astype(np.int32)):
        got = kernels.forward_enclosure(net, x)
        assert all(np.array_equal(a, b) for a, b in zip(got, want))
    with pytest.raises(InvalidInput, match="2\\^53"):
        kernels.forward_enclosure(net, np.full((1, 5), 2**53 + 1, dtype=np.int64))
    with pytest.raises(InvalidInput, match="dtype"):
        kernels.forward_enclosure(net, np.ones((1, 5), dtype=bool))
