"""``certify analyze``: the ESD columns are kernels.esd_metrics_estimate on the documented matrices (a Linear
layer's W, a Conv2d kernel's kh*kw slices), exactly, in the table, --json and --csv; the certified columns keep
their names and values; WeightWatcher's warning flags follow alpha."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import kernels  # noqa: E402
from certify.reports.analyze import analyze_network  # noqa: E402
from certify.cli import main  # noqa: E402
from certify.models.loader import load_model  # noqa: E402

ESD = ["esd_matrices", "alpha_estimate", "alpha_weighted_estimate", "esd_xmin", "esd_xmax", "esd_ks_distance",
       "esd_sigma", "esd_n_fitted", "esd_n_evals", "stable_rank_estimate", "log_norm_estimate",
       "log_spectral_norm_estimate", "log_alpha_norm_estimate", "esd_warning"]


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 24, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(24 * 4 * 4, 48), torch.nn.ReLU(), torch.nn.Linear(48, 10))


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("esd") / "cnn.pt"
    torch.jit.script(model()).save(str(path))
    return path


def expected(m: torch.nn.Module) -> list:
    out = []
    for layer in (m[0], m[3], m[5]):
        W = layer.weight.detach().double().numpy()
        out.append(kernels.esd_metrics_estimate(kernels.conv2d_matrices(W) if W.ndim == 4 else W))
    return out


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_json_esd_columns_equal_the_kernel(capsys, script):
    rows = json.loads(run(capsys, "analyze", script, "--json"))
    plain = analyze_network(load_model(str(script)).network, esd=False)
    for r, ref, p in zip(rows, expected(model()), plain):
        f = ref.fit
        assert {k: r[k] for k in ESD[1:-1]} == {
            "alpha_estimate": f.alpha, "alpha_weighted_estimate": ref.alpha_weighted, "esd_xmin": f.xmin,
            "esd_xmax": f.xmax, "esd_ks_distance": f.D, "esd_sigma": f.sigma, "esd_n_fitted": f.n_tail,
            "esd_n_evals": ref.num_evals, "stable_rank_estimate": ref.stable_rank, "log_norm_estimate": ref.log_norm,
            "log_spectral_norm_estimate": ref.log_spectral_norm, "log_alpha_norm_estimate": ref.log_alpha_norm}
        assert {k: v for k, v in r.items() if k not in ESD} == {k: v for k, v in p.to_dict().items() if k not in ESD}
    assert rows[0]["esd_matrices"] == "9 kernel slices W[:, :, i, j] (24x3), pooled" and rows[0]["esd_n_evals"] == 27
    assert rows[1]["esd_matrices"] == "W (48x384)" and rows[1]["esd_n_evals"] == 48


def test_csv_and_table_show_the_same_numbers(capsys, script):
    rows = list(csv.DictReader(io.StringIO(run(capsys, "analyze", script, "--csv"))))
    table = run(capsys, "analyze", script)
    for r, ref in zip(rows, expected(model())):
        assert float(r["alpha_estimate"]) == ref.fit.alpha and int(r["esd_n_fitted"]) == ref.fit.n_tail
        assert float(r["stable_rank_estimate"]) == ref.stable_rank and r["spectral_hi"]
        assert f"{ref.fit.alpha:7.3f} {ref.alpha_weighted:8.3f} {ref.fit.D:7.4f}" in table
    assert "ESD measures" in table and "certified enclosures" in table


def test_warning_flags_follow_weightwatcher():
    from certify.reports.analyze import esd_columns
    from certify.models.network import Linear

    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((300, 300)))

    def with_tail(exponent: float) -> dict:  # W = U diag(s): eigenvalues s^2 with density ~ lambda^-exponent
        return esd_columns(Linear(U * np.sqrt(1.0 + rng.pareto(exponent - 1.0, 300)), None))

    light, heavy, mid = with_tail(9.0), with_tail(1.5), with_tail(4.0)
    assert light["alpha_estimate"] > 6 and light["esd_warning"] == "under-trained"
    assert heavy["alpha_estimate"] < 2 and heavy["esd_warning"] == "over-trained"
    assert 2 <= mid["alpha_estimate"] <= 6 and mid["esd_warning"] == ""
    small = esd_columns(Linear(rng.standard_normal((10, 40)), None))
    assert small["esd_n_evals"] == 10 and "few eigenvalues" in small["esd_warning"]
    zero = esd_columns(Linear(np.zeros((30, 30)), None))
    assert zero["esd_warning"] == "fit failed" and zero["alpha_estimate"] == -1.0
    from certify.reports.analyze import LayerRow

    row = LayerRow("z", "Linear", "30x30", 900, *(["0"] * 7), **zero)
    assert json.loads(json.dumps(row.to_dict()))["log_norm_estimate"] == "-inf"
