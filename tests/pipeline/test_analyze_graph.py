"""``certify analyze`` on the network IR: any format (.pt2 and .onnx included), unsupported operations listed as
skipped (never fatal), ``--input-shape`` adds each convolution's certified operator norm (checked against the
explicit operator matrix's spectral norm in exact rational arithmetic)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
flint = pytest.importorskip("flint")

from certify.cli import main  # noqa: E402
from tests.kernels.references import _q, _shifted, is_psd  # noqa: E402
from tests.network.zoo import build  # noqa: E402


class _Odd(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3, padding=1)
        self.act = torch.nn.Hardswish()  # no translation
        self.fc = torch.nn.Linear(32, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.act(self.conv(x)), 1))


def _operator(weight: np.ndarray, hw: tuple[int, int], padding: int) -> np.ndarray:
    """The explicit matrix of x -> conv2d(x, weight, padding) (stride 1), column by column."""
    n = weight.shape[1] * hw[0] * hw[1]
    cols = []
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        x = torch.from_numpy(e.reshape(1, weight.shape[1], *hw))
        cols.append(torch.nn.functional.conv2d(x, torch.from_numpy(weight), padding=padding).numpy().ravel())
    return np.stack(cols, axis=1)  # entries are kernel entries or 0: exact


def test_skipped_layers_are_listed_and_conv_operator_norm_certified(tmp_path, capsys):
    torch.manual_seed(0)
    m = _Odd().eval()
    torch.save(m.state_dict(), tmp_path / "odd.pt")
    import sys

    sys.modules.setdefault("tests.pipeline.test_analyze_graph", sys.modules[__name__])
    code = main(["analyze", str(tmp_path / "odd.pt"), "--arch", "tests.pipeline.test_analyze_graph:_Odd",
                 "--input-shape", "1,4,4", "--json"])
    out = capsys.readouterr()
    assert code == 0
    rows = json.loads(out.out)
    assert [r["name"] for r in rows] == ["conv", "fc"]
    assert "skipped: act (act (Hardswish))" in out.err
    hi = rows[0]["operator_hi"]
    T = _operator(m.conv.weight.detach().double().numpy(), (4, 4), 1)
    g = [[flint.fmpq(0)] * T.shape[1] for _ in range(T.shape[1])]
    for i in range(T.shape[1]):
        for j in range(T.shape[1]):
            g[i][j] = sum((_q(T[k, i]) * _q(T[k, j]) for k in range(T.shape[0]) if T[k, i] and T[k, j]),
                          flint.fmpq(0))
    from fractions import Fraction

    f = Fraction(hi)
    assert is_psd(_shifted(g, flint.fmpq(f.numerator, f.denominator) ** 2))


def test_analyze_reads_pt2_and_onnx(tmp_path, capsys):
    import warnings

    pytest.importorskip("onnx")
    m, shape = build("bn_cnn")
    x = torch.zeros(2, *shape)
    torch.export.save(torch.export.export(m, (x,)), str(tmp_path / "m.pt2"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (x,), str(tmp_path / "m.onnx"), dynamo=False, do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE, input_names=["x"])
    outs = []
    for p in ("m.pt2", "m.onnx"):
        assert main(["analyze", str(tmp_path / p), "--json"]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    assert len(outs[0]) == len(outs[1]) == 3
    for a, b in zip(*outs):  # the same certified numbers from both frontends (names may differ)
        assert {k: v for k, v in a.items() if k != "name"} == {k: v for k, v in b.items() if k != "name"}


def test_bad_input_shape_is_one_line_exit_2(tmp_path, capsys):
    m, _ = build("mlp")
    torch.export.save(torch.export.export(m, (torch.zeros(1, 1, 4, 4),)), str(tmp_path / "m.pt2"))
    assert main(["analyze", str(tmp_path / "m.pt2"), "--input-shape", "a,b"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--input-shape" in err and "\n" not in err
