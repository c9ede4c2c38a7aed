"""Loading: formats, weights_only refusal of code-running pickles, corrupt files, NaN weights, the fx-normalised
network (BatchNorm, pools, residual adds), unsupported layers named, and certified logits that contain the exact
network's output."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from pipeline_support import save_all, trained  # noqa: E402

from boundcert.errors import InvalidInput  # noqa: E402
from certify.quantities.forward import logit_enclosure  # noqa: E402
from certify.models.network import Activation, Add, BatchNorm, Conv2d, Flatten, Linear, Pool  # noqa: E402
from certify.models.loader import load_model  # noqa: E402


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_code_running_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"weight": _Evil(str(marker))}, fh)
    torch.save({"weight": _Evil(str(marker))}, tmp_path / "evil_zip.pt")  # torch's own zip format
    assert not marker.exists()
    for p in (path, tmp_path / "evil_zip.pt"):
        with pytest.raises(InvalidInput, match="weights_only=True"):
            load_model(p, arch="certify.zoo:digits_mlp")
    assert not marker.exists()


def test_formats_load_to_the_same_network(tmp_path):
    model, _, test = trained("mlp")
    paths = save_all(model, tmp_path)
    ref = load_model(model)
    for fmt, p in paths.items():
        arch = None if fmt == "torchscript" else "certify.zoo:digits_mlp"
        m = load_model(p, arch=arch)
        assert m.file_sha256 is not None and len(m.file_sha256) == 64
        assert [type(n.layer) for n in m.network.nodes] == [type(n.layer) for n in ref.network.nodes]
        for a, b in zip(m.network.weight_layers, ref.network.weight_layers):
            assert np.array_equal(a.layer.weight, b.layer.weight) and np.array_equal(a.layer.bias, b.layer.bias)


def test_weights_only_file_needs_arch(tmp_path):
    model, _, _ = trained("mlp")
    paths = save_all(model, tmp_path)
    with pytest.raises(InvalidInput, match="--arch"):
        load_model(paths["safetensors"])
    with pytest.raises(InvalidInput, match="do not fit"):
        load_model(paths["state_dict"], arch="certify.zoo:mnist1d_mlp")


def test_truncated_safetensors(tmp_path):
    model, _, _ = trained("mlp")
    p = save_all(model, tmp_path)["safetensors"]
    p.write_bytes(p.read_bytes()[:200])
    with pytest.raises(InvalidInput, match="safetensors"):
        load_model(p, arch="certify.zoo:digits_mlp")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights(bad):
    from certify.models.zoo import digits_mlp

    m = digits_mlp()
    with torch.no_grad():
        m[0].weight[3, 4] = bad
    with pytest.raises(InvalidInput, match="NaN or Inf"):
        load_model(m)


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1, groups=2, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.act = nn.LeakyReLU(0.1)

    def forward(self, x):
        return x + self.act(self.bn(self.conv(x)))


def _cnn():
    torch.manual_seed(1)
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, dilation=1), nn.BatchNorm2d(4), nn.Tanh(), _Block(),
                      nn.MaxPool2d(2), nn.AvgPool2d(2), nn.Dropout(0.5), nn.Flatten(), nn.Linear(16, 10),
                      nn.Sigmoid(), nn.Linear(10, 10), nn.GELU(), nn.ELU(), nn.Linear(10, 3))
    with torch.no_grad():  # non-trivial running statistics
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    return m.eval()


def test_fx_normalisation_and_certified_logits_contain_exact_output():
    m = _cnn()
    net = load_model(m).network
    kinds = [type(n.layer) for n in net.nodes]
    for k in (Conv2d, BatchNorm, Activation, Add, Pool, Flatten, Linear):
        assert k in kinds
    assert not net.is_chain  # the residual add
    x = np.random.default_rng(0).random((7, 1, 8, 8)).astype(np.float32)
    lo, hi = logit_enclosure(net, x)
    import mpmath

    from tests.network.reference import exact_forward

    for i in range(2):  # the exact real network (mpmath, 200 bits; eps and slopes as the float32 model uses them)
        exact = exact_forward(net, x[i].astype(np.float64)).reshape(-1)
        with mpmath.workprec(200):
            assert all(mpmath.mpf(float(a)) <= e <= mpmath.mpf(float(b)) for e, a, b in zip(exact, lo[i], hi[i]))
    with torch.no_grad():  # and it is torch's function (float64 pass; eps/slopes differ from float32 by ~1e-9)
        ref = m.double()(torch.from_numpy(x).double()).numpy()
    assert np.all(np.abs(ref - (lo + hi) / 2) < 1e-6)
    assert np.all(hi - lo < 1e-6)


def test_unsupported_layer_is_named_with_the_theorems_it_rules_out():
    m = nn.Sequential(nn.Linear(64, 10), nn.Hardswish(), nn.Linear(10, 10))
    loaded = load_model(m)
    assert loaded.network is None and "Hardswish" in loaded.unsupported and "norm.*" in loaded.unsupported
    # the partial graph keeps the weight layers (certify analyze lists the rest as skipped)
    assert len(loaded.graph.weight_layers) == 2 and len(loaded.graph.unsupported) == 1


def test_data_files_npz_and_torch(tmp_path):
    from certify.data import load_data

    x = np.random.default_rng(0).random((5, 64)).astype(np.float32)
    y = np.arange(5) % 3
    np.savez(tmp_path / "d.npz", x=x, y=y)
    torch.save({"x": torch.from_numpy(x), "y": torch.from_numpy(y)}, tmp_path / "d.pt")
    torch.save((torch.from_numpy(x), torch.from_numpy(y)), tmp_path / "t.pt")
    hashes = set()
    for name in ("d.npz", "d.pt", "t.pt"):
        d = load_data(tmp_path / name)
        assert np.array_equal(d.x, x) and np.array_equal(d.y, y) and len(d.file_sha256) == 64
        hashes.add(d.sha256)
    assert len(hashes) == 1  # the canonical hash does not depend on the file format
    np.savez(tmp_path / "bad.npz", a=x)
    with pytest.raises(InvalidInput, match="x=..., y=..."):
        load_data(tmp_path / "bad.npz")
    with pytest.raises(InvalidInput, match="not a built-in"):
        load_data("nope")


def test_flushed_subnormals_are_refused():
    from boundcert.errors import UnsoundEnvironment
    from certify import certify
    from certify.models.zoo import digits_mlp

    x, y = np.zeros((3, 64), np.float32), np.zeros(3, np.int64)
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush denormals")
    try:
        with pytest.raises(UnsoundEnvironment, match="subnormal"):
            certify(digits_mlp(), (x, y))
    finally:
        torch.set_flush_denormal(False)
    certify(digits_mlp(), (x, y))


def test_lipschitz_on_the_graph_residuals_batchnorm_pools():
    from certify import certify

    model, _, test = trained("cnn")
    cert = certify(model, test, theorem="robust.certified_accuracy", eps="0.01")
    assert "kernels.lipschitz_upper" in json.dumps(cert.to_dict()["inputs"])
    # BatchNorm, pools and a residual add no longer rule the Lipschitz bound out
    import kernels

    net = load_model(_cnn()).network
    lip = kernels.lipschitz_upper(net, input_shape=(1, 8, 8))
    assert 0 < lip.upper < float("inf")
