"""certify.certify on a small trained model: inputs exact, result equal to the theorem's own evaluation, certificate
valid against the JSON Schema, atomic and deterministic, bad input refused with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import theorems  # noqa: E402
from boundcert.errors import InvalidInput  # noqa: E402
from certify import Dataset, certify, load_builtin  # noqa: E402
from certify.jobs.demo import train_classifier  # noqa: E402
from certify.models.zoo import digits_mlp  # noqa: E402

SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "certificate.schema.json"


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    model = train_classifier(digits_mlp(), load_builtin("digits", "train"), epochs=3, progress=False)
    return model, load_builtin("digits", "test")


@pytest.mark.parametrize("tid", ["test_set.binomial_tail", "test_set.kl_chernoff", "test_set.hoeffding"])
def test_certificate_inputs_and_result(trained, tid):
    model, test = trained
    cert = certify(model, test, theorem=tid, delta="0.05")
    with torch.no_grad():
        k = int((model(torch.from_numpy(test.x)).argmax(1).numpy() != test.y).sum())
    inputs = {r.name: r.value for r in cert.inputs}
    assert inputs["m"].lo == inputs["m"].hi == test.n and inputs["k"].lo == inputs["k"].hi == k
    want = theorems.get(tid).evaluate(m=test.n, k=k, delta="0.05")
    assert cert.result.lo == want.lo and cert.result.hi == want.hi


def test_certificate_matches_schema_and_is_deterministic(trained, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    model, test = trained
    a = certify(model, test, delta="0.05").to_dict()
    b = certify(model, test, delta="0.05").to_dict()
    jsonschema.validate(a, json.loads(SCHEMA.read_text()))
    a.pop("created"), b.pop("created")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_save_is_atomic_and_refuses_unwritable_dirs(trained, tmp_path):
    model, test = trained
    cert = certify(model, test, delta="0.05")
    path = cert.save(tmp_path)
    assert path.name == "certificate.json" and json.loads(path.read_text())["result"]["hi"] == cert.result.hi_str(20)
    assert [p.name for p in tmp_path.iterdir()] == ["certificate.json"]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InvalidInput, match="not writable"):
        cert.save(blocker / "sub" / "certificate.json")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"delta": "0"}, "delta"),
        ({"delta": "1.5"}, "delta"),
        ({"theorem": "pac_bayes.kl"}, "cannot compute"),
        ({"theorem": "nope"}, "unknown theorem"),
    ],
)
def test_bad_arguments(trained, kwargs, match):
    model, test = trained
    with pytest.raises(InvalidInput, match=match):
        certify(model, test, **{"delta": "0.05", **kwargs})


def test_bad_data(trained):
    model, test = trained
    with pytest.raises(InvalidInput, match="empty"):
        certify(model, (np.zeros((0, 64), np.float32), np.zeros(0, np.int64)))
    with pytest.raises(InvalidInput, match="label"):
        certify(model, (test.x, np.full(test.n, 12)))
    with pytest.raises(InvalidInput, match="shape"):
        certify(model, (np.zeros((5, 10), np.float32), np.zeros(5, np.int64)))
    with pytest.raises(InvalidInput, match="NaN"):
        certify(model, (np.full((5, 64), np.nan, np.float32), np.zeros(5, np.int64)))
    with pytest.raises(InvalidInput, match="one integer label"):
        Dataset.from_arrays(np.zeros((5, 64)), np.zeros(4))


def test_fashion_mnist_idx_reader():
    from certify.data import FASHION_MNIST_DIR

    if not FASHION_MNIST_DIR.exists():
        pytest.skip("Debian package dataset-fashion-mnist is not installed (`make data`)")
    d = load_builtin("fashion-mnist", "test")
    assert d.x.shape == (10000, 1, 28, 28) and d.n_classes == 10 and 0 <= d.x.min() and d.x.max() <= 1


def test_idx_reader_refuses_truncated_files(tmp_path):
    import struct

    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + struct.pack(">III", 10, 28, 28) + b"\x00" * 5)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 10) + b"\x00" * 10)
    with pytest.raises(InvalidInput, match="truncated"):
        load_builtin(f"idx:{tmp_path}", "test")


def test_demo_writes_model_and_certificate(tmp_path):
    from certify.jobs.demo import run_demo

    r = run_demo(tmp_path / "out", epochs=1, progress=False)
    assert r.model_path.exists() and r.certificate_path.exists()
    d = json.loads(r.certificate_path.read_text())
    assert d["theorem"]["id"] == "test_set.binomial_tail" and d["data"]["n"] == 1000
    assert float(d["result"]["hi"]) >= 1 - r.test_accuracy  # the bound is at least the measured test error
    assert r.verdict == "VERIFIED"
    names = {p.name for p in r.certificate_path.parent.iterdir()}
    assert {"reproduce.sh", "report.html", "report.md"} <= names
    pb = json.loads(r.pacbayes.certificate_path.read_text())
    assert pb["theorem"]["id"] == "pac_bayes.kl" and len(pb["delta"]["split"]) == 2
    assert pb["model"]["sha256"] and r.pacbayes.posterior_path.exists()
