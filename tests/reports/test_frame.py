"""`certify.analyze(model) -> DataFrame`: one row per weight layer, certified columns as enclosures that contain the
exact norms (decided in Fractions), the same numbers as `certify analyze --json`, typed columns, ESD figures."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

torch = pytest.importorskip("torch")

import certify  # noqa: E402
from certify.cli import main  # noqa: E402
from certify.models.zoo import digits_cnn  # noqa: E402
from theorems._interval import mpf_to_fraction  # noqa: E402


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(1)
    return digits_cnn()


def test_analyze_dataframe_columns_and_containment(model, tmp_path):
    df = certify.analyze(model, plot=tmp_path / "esd")
    assert list(df["kind"]) == ["Conv2d (kernel matrix)"] * 2 + ["Linear"]
    assert str(df.dtypes["name"]) == "string" and str(df.dtypes["alpha_estimate"]) == "float64"
    assert str(df.dtypes["params"]) == "Int64" and df.attrs["skipped"] == []
    weights = [m.weight.detach().double().numpy() for m in model.modules() if hasattr(m, "weight")]
    for (_, row), W in zip(df.iterrows(), weights):
        exact = sum(Fraction(float(v)) ** 2 for v in W.ravel())
        iv = row["frobenius"]
        assert mpf_to_fraction(iv.lo) ** 2 <= exact <= mpf_to_fraction(iv.hi) ** 2
        assert Fraction(row["spectral_lo"]) ** 2 <= exact  # ||W||_2 <= ||W||_F
    for path in df.attrs["figures"]:
        assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert len(df.attrs["figures"]) == 3


def test_analyze_dataframe_equals_the_cli_json(model, tmp_path, capsys):
    path = tmp_path / "m.pt"
    torch.jit.script(model).save(str(path))
    assert main(["analyze", str(path), "--json", "--plot", str(tmp_path / "figs")]) == 0
    rows = json.loads(capsys.readouterr().out)
    df = certify.analyze(str(path))
    assert [r["spectral_hi"] for r in rows] == list(df["spectral_hi"])
    assert [r["alpha_estimate"] for r in rows] == list(df["alpha_estimate"])
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(f"esd-{n}.png" for n in df["name"])
