"""Data roles and the user's data objects: a test-set bound on a known training split is refused; --train-data and
--test-data route each theorem to its sample; torch TensorDataset / DataLoader are accepted and give the same
certificate as the arrays; Certificate.save creates a new directory; a compact repr and an HTML card."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

torch = pytest.importorskip("torch")

from pipeline_support import run_in_process as run  # noqa: E402
from pipeline_support import save_all, save_npz, trained  # noqa: E402

import theorems  # noqa: E402
from boundcert.errors import InvalidInput  # noqa: E402
from certify import certify  # noqa: E402
from certify.data import role_of  # noqa: E402

NORM = "norm.neyshabur2015_frobenius_multiclass"


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    d = tmp_path_factory.mktemp("roles")
    model, train, test = trained("mlp")
    return {**save_all(model, d), "model": model, "train_ds": train, "test_ds": test,
            "test": save_npz(test, d / "test.npz"), "train": save_npz(train, d / "train.npz")}


def test_roles_of_the_catalogue():
    roles = {t.id: role_of(t) for t in theorems.all() if t.kind == "bound"}
    assert {k for k, v in roles.items() if v == "held_out"} == {
        "test_set.binomial_tail", "test_set.kl_chernoff", "test_set.hoeffding", "robust.robust_error_test_set"}
    assert roles[NORM] == roles["pac_bayes.kl"] == roles["compression.occam_catoni"] == "train"
    assert roles["robust.certified_accuracy"] == "any"


@pytest.mark.parametrize("theorem", ["test_set.binomial_tail", "robust.robust_error_test_set"])
def test_test_set_bound_on_a_training_split_is_refused(capsys, mlp, tmp_path, theorem):
    code, _, err = run(capsys, "run", mlp["safetensors"], "--arch", "certify.zoo:digits_mlp", "--data", "digits:train",
                       "--theorem", theorem, "--out", tmp_path / "o")
    assert code == 2 and "test-set bound" in err and "digits:train" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "certificate.json").exists()
    with pytest.raises(InvalidInput, match="held-out data"):
        certify(mlp["model"], mlp["train_ds"], theorem=theorem)


def test_train_and_test_data_route_each_theorem(capsys, mlp, tmp_path):
    out = tmp_path / "all"
    code, stdout, err = run(capsys, "run", mlp["safetensors"], "--arch", "certify.zoo:digits_mlp", "--train-data",
                            "digits:train", "--test-data", mlp["test"], "--theorem", "all", "--out", out)
    assert code == 0, err
    ranking = json.loads((out / "ranking.json").read_text())
    ids = {r["theorem"] for r in ranking["ranking"]}
    assert {"test_set.binomial_tail", NORM} <= ids
    held = json.loads((out / "certificate-test_set.binomial_tail.json").read_text())
    trained_on = json.loads((out / f"certificate-{NORM}.json").read_text())
    assert held["data"]["split"] == "file" and held["data"]["n"] == 597
    assert trained_on["data"]["name"] == "digits" and trained_on["data"]["split"] == "train"
    # ranks count within one claim: every claim has its own rank 1
    by_claim: dict[str, list[str]] = {}
    for r in ranking["ranking"]:
        by_claim.setdefault(r["bounded"], []).append(r["rank"])
    assert all(ranks == [str(i + 1) for i in range(len(ranks))] for ranks in by_claim.values())
    assert len(by_claim) >= 2
    import re

    for line in (out / "ranking.md").read_text().splitlines()[2:]:  # `||d||_2` stays inside its cell
        assert len(re.split(r"(?<!\\)\|", line.strip())[1:-1]) == 5, line
    script = (out / "reproduce.sh").read_text()
    assert f"--data {mlp['test']}" in script  # each check names the data its certificate read


def test_theorem_without_its_role_data_is_refused(capsys, mlp, tmp_path):
    code, _, err = run(capsys, "run", mlp["safetensors"], "--arch", "certify.zoo:digits_mlp", "--train-data",
                       mlp["train"], "--theorem", "test_set.hoeffding", "--out", tmp_path / "o")
    assert code == 2 and "--test-data" in err


def test_torch_dataset_and_dataloader_give_the_arrays_certificate(mlp):
    from torch.utils.data import DataLoader, TensorDataset

    ds = mlp["test_ds"]
    ref = certify(mlp["model"], (ds.x, ds.y), theorem="test_set.binomial_tail")
    tds = TensorDataset(torch.from_numpy(ds.x), torch.from_numpy(ds.y))
    for data in (tds, DataLoader(tds, batch_size=64, shuffle=False)):
        c = certify(mlp["model"], data, theorem="test_set.binomial_tail")
        assert c.data["sha256"] == ref.data["sha256"] and c.result.hi == ref.result.hi
    with pytest.raises(InvalidInput, match="not \\(x, y\\)"):
        certify(mlp["model"], DataLoader(torch.from_numpy(ds.x), batch_size=8), theorem="test_set.binomial_tail")


def test_save_creates_a_new_directory_and_reprs_are_compact(mlp, tmp_path):
    ds = mlp["test_ds"]
    c = certify(mlp["model"], (ds.x, ds.y), theorem="test_set.binomial_tail")
    path = c.save(tmp_path / "new" / "dir")
    assert path == tmp_path / "new" / "dir" / "certificate.json" and json.loads(path.read_text())["claim"] == c.claim
    assert c.save(str(tmp_path / "other") + "/").name == "certificate.json"
    assert c.save(tmp_path / "x.json") == tmp_path / "x.json"
    text = repr(c)
    assert len(text) < 200 and "test_set.binomial_tail" in text and c.result.hi_str(6) in text
    html = c._repr_html_()
    assert "<table>" in html and all(r.name in html for r in c.inputs) and "h_independent" in html


def test_certify_all_returns_the_ranking_as_a_dataframe(mlp):
    import certify as api

    ds = mlp["test_ds"]
    df = api.certify_all(mlp["model"], train_data="digits:train", test_data=(ds.x, ds.y))
    assert list(df.columns) == ["theorem", "bounded", "relation", "bound", "bound_float", "rank", "delta",
                                "certificate"]
    assert {str(t) for t in df.dtypes[["theorem", "bound"]]} == {"string"} and str(df.dtypes["rank"]) == "int64"
    assert "pac_bayes.kl" in df.attrs["skipped"]
    for _, group in df.groupby("bounded"):
        assert list(group["rank"]) == list(range(1, len(group) + 1))
        ends = [Fraction(b) for b in group["bound"]]
        assert ends == sorted(ends) or set(group["relation"]) == {">="}
    row = df[df["theorem"] == "test_set.binomial_tail"].iloc[0]
    single = certify(mlp["model"], (ds.x, ds.y), theorem="test_set.binomial_tail")
    assert row["bound"] == single.result.hi_str(6) and row["certificate"].result.hi == single.result.hi


def test_reproduce_sh_finds_the_users_arch_module_from_another_directory(capsys, mlp, tmp_path, monkeypatch):
    import os
    import subprocess
    import sys

    from pipeline_support import ROOT

    pkg = tmp_path / "userarch" / "mynets"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "mlp.py").write_text("def build():\n    from certify.zoo import digits_mlp\n    return digits_mlp()\n")
    monkeypatch.syspath_prepend(str(tmp_path / "userarch"))
    out = tmp_path / "o"
    code, _, err = run(capsys, "run", mlp["safetensors"], "--arch", "mynets.mlp:build", "--data", mlp["test"],
                       "--theorem", "test_set.hoeffding", "--out", out)
    assert code == 0, err
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CERTIFY": f"{sys.executable} -m certify", "MPLBACKEND": "Agg"}
    r = subprocess.run(["sh", str(out / "reproduce.sh")], capture_output=True, text=True, env=env, cwd=elsewhere,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("VERIFIED"), r.stderr
    assert str(tmp_path / "userarch") in (out / "reproduce.sh").read_text()
