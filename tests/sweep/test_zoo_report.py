"""The default engine (a LocalCluster of worker processes) on a zoo the sweep trains itself: every model equals the
same grid point trained in this process, the sidecars hold the grid, and ``--report`` gives Kendall tau and the
granulated Psi of each bound and measure against the gap, equal to an independent count over the rows."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

from sweep_support import read_rows

from certify.cli import main

SPEC = """
[zoo]
dataset = "digits"
dir = "zoo"
lr = [0.001, 0.01]
batch = [64]
width = [8]
depth = [1, 2]
epochs = 1
seed = 3

[[jobs]]
theorem = "test_set.binomial_tail"

[[jobs]]
kind = "analyze"

[[jobs]]
kind = "gap"
"""


def _tau(mu, g):
    pairs = list(itertools.combinations(range(len(mu)), 2))
    return Fraction(sum((mu[i] > mu[j]) - (mu[i] < mu[j]) for i, j in pairs if (g[i] - g[j]) > 0)
                    - sum((mu[i] > mu[j]) - (mu[i] < mu[j]) for i, j in pairs if (g[i] - g[j]) < 0), len(pairs))


def test_zoo_sweep_on_a_local_cluster_and_its_report(tmp_path, capsys):
    import torch
    from safetensors.torch import load_file

    from certify.data import load_builtin
    from certify.jobs.demo import train_classifier
    from certify.models.zoo import _mlp

    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1", "--memory-limit", "2GiB", "--report",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == {"ok": 12} and summary["ran"] == 12
    models = sorted((tmp_path / "zoo").glob("*.safetensors"))
    assert [m.name for m in models] == ["lr0.001_b64_w8_d1.safetensors", "lr0.001_b64_w8_d2.safetensors",
                                        "lr0.01_b64_w8_d1.safetensors", "lr0.01_b64_w8_d2.safetensors"]
    torch.set_num_threads(1)
    train = load_builtin("digits", "train")
    for m in models:
        side = json.loads(m.with_suffix(".json").read_text())
        hp = side["hparams"]
        assert side["arch"] == "certify.sweep.archs:mlp_64_" + "8_" * hp["depth"] + "10"
        torch.manual_seed(3)
        ref = train_classifier(_mlp((64, *[8] * hp["depth"], 10)), train, epochs=1, lr=hp["lr"], batch=hp["batch"],
                               seed=3, progress=False).state_dict()
        got = load_file(str(m))
        assert set(got) == set(ref) and all(torch.equal(got[k], ref[k]) for k in ref)

    rows = read_rows(out)
    gaps = {r["model"]: json.loads(r["measures"])["empirical_gap"] for r in rows if r["kind"] == "gap"}
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["models"] == 4
    by_col = {c["column"]: c for c in report["correlations"]}
    bound = {r["model"]: r["result_hi_float"] for r in rows if r["kind"] == "theorem"}
    order = sorted(gaps)
    assert by_col["test_set.binomial_tail (bound)"]["tau"] == float(_tau([bound[m] for m in order],
                                                                          [gaps[m] for m in order]))
    spec_hi = {r["model"]: json.loads(r["measures"])["sum_log_spectral_hi"] for r in rows if r["kind"] == "analyze"}
    assert by_col["sum_log_spectral_hi"]["tau"] == float(_tau([spec_hi[m] for m in order], [gaps[m] for m in order]))
    assert set(by_col["sum_log_spectral_hi"]["per_axis"]) == {"lr", "depth"}  # batch and width do not vary
    assert (out / "report" / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # a second run trains nothing and runs nothing (the report is rebuilt from the table)
    assert main(["sweep", str(spec), "--out", str(out), "--report", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["ran"], again["skipped"]) == (0, 12)
    assert json.loads((out / "report" / "report.json").read_text()) == report
