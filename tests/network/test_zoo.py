"""Acceptance zoo of the network IR (issue 16): each architecture loads from nn.Module, state dict and safetensors
(and .pt2 / .onnx where those frontends are available) to the same graph; the forward enclosure contains the exact
real forward pass (mpmath, 200 bits, :mod:`tests.network.reference`); the l2 Lipschitz upper bound is >= exact
difference quotients along the gradient an attack finds; analyze covers every weight layer; the robustness bound
evaluates."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import kernels  # noqa: E402
from certify.models.loader import load_model  # noqa: E402
from certify.reports.analyze import analyze_network  # noqa: E402
from tests.network.reference import PREC, exact_forward  # noqa: E402
from tests.network.zoo import ARCH, ATTENTION, ZOO, build  # noqa: E402

NAMES = sorted(ZOO)


def _x(shape, n=2, seed=0):
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)


@pytest.fixture(scope="module", params=[pytest.param(n, marks=pytest.mark.slow) if n == "resnet18" else n
                                        for n in NAMES])
def zoo_model(request):
    m, shape = build(request.param)
    return request.param, m, shape, load_model(m).network


def test_translation_is_complete_and_matches_torch(zoo_model):
    name, m, shape, net = zoo_model
    assert net is not None, name
    x = _x(shape)
    lo, hi = kernels.forward_enclosure(net, x)
    with torch.no_grad():
        ref = m.double()(torch.from_numpy(x).double()).numpy()
    m.float()
    assert lo.shape == ref.shape
    assert np.all(np.abs(ref - (lo + hi) / 2) <= 1e-9 * (1 + np.abs(ref)))  # the IR computes torch's function


def test_forward_enclosure_contains_the_exact_forward(zoo_model):
    name, m, shape, net = zoo_model
    x = _x(shape, n=1, seed=1)
    lo, hi = kernels.forward_enclosure(net, x)
    exact = exact_forward(net, x[0].astype(np.float64)).reshape(-1)
    with mpmath.workprec(PREC):
        for e, a, b in zip(exact, lo.reshape(-1), hi.reshape(-1)):
            assert mpmath.mpf(float(a)) <= e <= mpmath.mpf(float(b)), name
    assert np.all(hi - lo <= 1e-9 * (1 + np.abs(hi))), name


def test_resnet18_enclosure_contains_the_exact_forward():
    """The default-suite share of the ResNet-18 checks (the rest run with -m slow)."""
    m, shape = build("resnet18")
    net = load_model(m).network
    x = _x(shape, n=1, seed=1)
    lo, hi = kernels.forward_enclosure(net, x)
    exact = exact_forward(net, x[0].astype(np.float64)).reshape(-1)
    with mpmath.workprec(PREC):
        assert all(mpmath.mpf(float(a)) <= e <= mpmath.mpf(float(b)) for e, a, b in zip(exact, lo[0], hi[0]))
    assert 0 < kernels.lipschitz_upper(net, input_shape=shape).upper < float("inf")
    # the tight operator norms: still a proven enclosure, and no wider
    lo2, hi2 = kernels.forward_enclosure(net, x, op_norms="tight")
    with mpmath.workprec(PREC):
        assert all(mpmath.mpf(float(a)) <= e <= mpmath.mpf(float(b)) for e, a, b in zip(exact, lo2[0], hi2[0]))
    assert np.all(hi2 - lo2 <= hi - lo)


def test_lipschitz_upper_bounds_the_attack(zoo_model):
    name, m, shape, net = zoo_model
    if name in ATTENTION:  # no global Lipschitz bound exists: refused by hypothesis name, never a number
        from boundcert.errors import HypothesisNotMet

        with pytest.raises(HypothesisNotMet, match="h_lipschitz_upper"):
            kernels.lipschitz_upper(net, input_shape=shape)
        return
    lip = kernels.lipschitz_upper(net, input_shape=shape)
    assert 0 < lip.upper < float("inf")
    rng = np.random.default_rng(2)
    worst = mpmath.mpf(0)
    m64 = m.double()
    for _ in range(2):
        a = torch.from_numpy(rng.standard_normal((1, *shape))).requires_grad_(True)
        v = torch.from_numpy(rng.standard_normal(3))
        for _ in range(3):  # a few ascent steps on |<v, f(a)>| gradient direction
            g, = torch.autograd.grad((m64(a)[0] * v).sum(), a)
            a = (a + 0.1 * g / g.norm()).detach().requires_grad_(True)
        g, = torch.autograd.grad((m64(a)[0] * v).sum(), a)
        pa = a.detach().numpy()[0]
        pb = pa + 1e-3 * (g / g.norm()).numpy()[0]
        fa, fb = exact_forward(net, pa).reshape(-1), exact_forward(net, pb).reshape(-1)
        with mpmath.workprec(PREC):
            num = mpmath.sqrt(sum((u - w) ** 2 for u, w in zip(fa, fb)))
            den = mpmath.sqrt(sum((mpmath.mpf(float(u)) - mpmath.mpf(float(w))) ** 2
                                  for u, w in zip(pa.ravel(), pb.ravel())))
            worst = max(worst, num / den)
    m.float()
    with mpmath.workprec(PREC):
        assert worst <= mpmath.mpf(lip.upper), name


def test_analyze_covers_every_weight_layer(zoo_model):
    name, m, shape, net = zoo_model
    n_weight = sum(isinstance(mod, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)) for mod in m.modules())
    n_weight += 3 * sum(isinstance(mod, torch.nn.MultiheadAttention) for mod in m.modules())  # q, k, v (packed)
    rows = analyze_network(net, esd=False, input_shape=shape)
    assert len(rows) == n_weight, name
    assert all(r.operator_hi is not None for r in rows if r.kind.startswith("Conv"))


def test_every_file_format_gives_byte_identical_numbers(zoo_model, tmp_path):
    from safetensors.torch import save_file

    name, m, shape, net = zoo_model
    x = _x(shape, n=2, seed=3)
    ref = kernels.forward_enclosure(net, x)
    ref_lip = None if name in ATTENTION else kernels.lipschitz_upper(net, input_shape=shape).upper
    sd = {k: v.contiguous() for k, v in m.state_dict().items()}
    torch.save(sd, tmp_path / "m.pt")
    save_file(sd, str(tmp_path / "m.safetensors"))
    ep = torch.export.export(m, (torch.from_numpy(x),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(ep, str(tmp_path / "m.pt2"))
    files = {"state_dict": tmp_path / "m.pt", "safetensors": tmp_path / "m.safetensors", "pt2": tmp_path / "m.pt2"}
    if _onnx_export(m, shape, tmp_path / "m.onnx"):
        files["onnx"] = tmp_path / "m.onnx"
    for fmt, p in files.items():
        g = load_model(p, arch=None if fmt in ("pt2", "onnx") else f"tests.network.zoo:{ARCH[name]}").network
        assert g is not None, (name, fmt)
        if fmt != "onnx":  # ONNX spells flatten/transpose as Reshape/Permute: same numbers, other node types
            assert [type(n.layer) for n in g.nodes] == [type(n.layer) for n in net.nodes], (name, fmt)
        lo, hi = kernels.forward_enclosure(g, x)
        assert lo.tobytes() == ref[0].tobytes() and hi.tobytes() == ref[1].tobytes(), (name, fmt)
        if ref_lip is not None:
            assert kernels.lipschitz_upper(g, input_shape=shape).upper == ref_lip


def _onnx_export(m, shape, path) -> bool:
    """Write ``m`` as ONNX with torch's exporter (TorchScript-based, offline); False when onnx is not installed."""
    import warnings

    pytest.importorskip("onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (torch.zeros(2, *shape),), str(path), dynamo=False, do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE, dynamic_axes={"x": {0: "b"}}, input_names=["x"])
    return True


def test_corrupt_onnx_and_pt2_are_one_line_refusals(tmp_path):
    from boundcert.errors import InvalidInput

    for name in ("bad.onnx", "bad.pt2"):
        (tmp_path / name).write_bytes(b"\x08\x07garbage" * 10)
        with pytest.raises(InvalidInput) as info:
            load_model(tmp_path / name)
        assert "\n" not in str(info.value)


def test_robustness_bound_evaluates(zoo_model):
    from certify import certify

    name, m, shape, net = zoo_model
    x = _x(shape, n=12, seed=4)
    y = np.arange(12) % 3
    cert = certify(m, (x, y), theorem="robust.certified_accuracy", eps="0.001")
    assert cert.to_dict()["result"]["hi"] is not None
    if name in ATTENTION:  # no Lipschitz constant: the count is by bound propagation (IBP), and certify robust runs
        assert "IBP" in cert.to_dict()["inputs"]["n_certified"]["detail"]
        _robust_by_ibp(name, m, shape, x, y)


def _robust_by_ibp(name, m, shape, x, y):
    import contextlib
    import io
    import json
    import tempfile
    from pathlib import Path

    from certify.cli import main

    with tempfile.TemporaryDirectory() as d:
        torch.save(m.state_dict(), Path(d) / "m.pt")
        np.savez(Path(d) / "d.npz", x=x, y=y)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(["robust", str(Path(d) / "m.pt"), "--arch", f"tests.network.zoo:{ARCH[name]}", "--data",
                         str(Path(d) / "d.npz"), "--eps", "0.001", "--method", "ibp", "--domain", "none",
                         "--out", str(Path(d) / "out"), "--json"])
        out = json.loads(buf.getvalue())
        assert code == 0 and float(out["robust_error_upper"]) <= 1.0
        assert out["verified"] + out["attacked"] + out["not_verified"] == len(y)


def test_export_program_runs_the_pipeline(tmp_path):
    from certify import certify

    m, shape = build("bn_cnn")
    x = _x(shape, n=6, seed=5)
    torch.export.save(torch.export.export(m, (torch.from_numpy(x),)), str(tmp_path / "r.pt2"))
    loaded = load_model(tmp_path / "r.pt2")
    assert loaded.description.startswith("torch.export") and len(loaded.file_sha256) == 64
    cert = certify(str(tmp_path / "r.pt2"), (x, np.arange(6) % 3), theorem="robust.certified_accuracy", eps="0.001")
    ref = certify(m, (x, np.arange(6) % 3), theorem="robust.certified_accuracy", eps="0.001")
    assert cert.to_dict()["result"] == ref.to_dict()["result"]


def test_traced_torchscript_is_named_not_a_crash(tmp_path):
    m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)).eval()
    torch.jit.trace(m, torch.zeros(1, 1, 4, 4)).save(str(tmp_path / "t.pt"))
    loaded = load_model(tmp_path / "t.pt")
    assert loaded.network is None and "Flatten" in loaded.unsupported and "norm.*" in loaded.unsupported
    assert len(loaded.graph.weight_layers) == 1  # analyze still reports the Linear layer


def test_attention_block_enclosure_and_lipschitz_refusal():
    """Multi-head self-attention (nn.Module frontend): the forward enclosure contains the exact forward; the global
    Lipschitz bound is refused by hypothesis name; analyze reports the four projections."""
    from boundcert.errors import HypothesisNotMet
    from tests.network.zoo import AttentionViT

    torch.manual_seed(0)
    m = AttentionViT().eval()
    net = load_model(m).network
    x = _x((1, 4, 4), n=2, seed=6)
    lo, hi = kernels.forward_enclosure(net, x)
    with torch.no_grad():
        ref = m.double()(torch.from_numpy(x).double()).numpy()
    assert np.all(np.abs(ref - (lo + hi) / 2) <= 1e-9 * (1 + np.abs(ref)))
    for i in range(2):
        exact = exact_forward(net, x[i].astype(np.float64)).reshape(-1)
        with mpmath.workprec(PREC):
            assert all(mpmath.mpf(float(a)) <= e <= mpmath.mpf(float(b)) for e, a, b in zip(exact, lo[i], hi[i]))
    with pytest.raises(HypothesisNotMet, match="h_lipschitz_upper"):
        kernels.lipschitz_upper(net, input_shape=(1, 4, 4))
    rows = analyze_network(net, esd=False)
    assert [r.name for r in rows if r.name.startswith("attn")] == [f"attn.{p}_proj" for p in ("q", "k", "v", "out")]


def test_run_theorem_all_evaluates_the_robustness_bounds(tmp_path, capsys):
    """certify run --theorem all on a DenseNet-style block (concat, BatchNorm, pooling): the robust.* bounds are
    certified; the norm.* bounds are refused by hypothesis name (a plain chain is their hypothesis)."""
    import json

    from certify.cli import main

    m, shape = build("dense_block")
    x = _x(shape, n=30, seed=7)
    torch.save(m.state_dict(), tmp_path / "d.pt")
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(30) % 3)
    code = main(["run", str(tmp_path / "d.pt"), "--arch", "tests.network.zoo:dense_block", "--data",
                 str(tmp_path / "d.npz"), "--theorem", "all", "--eps", "0.001", "--out", str(tmp_path / "out"),
                 "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (tmp_path / "out" / "certificate-robust.certified_accuracy.json").is_file()
    assert "h_homogeneous_activation" in out["skipped"]["norm.neyshabur2015_frobenius_multiclass"]


@pytest.mark.parametrize("name", ["class_token_vit", "class_token_mlp"])
def test_run_theorem_all_evaluates_the_robustness_bounds_on_the_class_token_vits(name, tmp_path, capsys):
    """certify run --theorem all on the ViTs with class token and positional embedding (with attention: no
    Lipschitz constant, so the robust.* counts come from bound propagation)."""
    import json

    from certify.cli import main

    m, shape = build(name)
    x = _x(shape, n=30, seed=7)
    torch.save(m.state_dict(), tmp_path / "v.pt")
    np.savez(tmp_path / "v.npz", x=x, y=np.arange(30) % 3)
    code = main(["run", str(tmp_path / "v.pt"), "--arch", f"tests.network.zoo:{ARCH[name]}", "--data",
                 str(tmp_path / "v.npz"), "--theorem", "all", "--eps", "0.001", "--out", str(tmp_path / "out"),
                 "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    for t in ("robust.certified_accuracy", "robust.robust_error_test_set"):
        assert t not in out["skipped"], out["skipped"].get(t)
        assert (tmp_path / "out" / f"certificate-{t}.json").is_file()
