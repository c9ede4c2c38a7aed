"""Engine pieces without a process cluster: the example spec parses, a job that crashes (not a refusal) is recorded
as ``internal_error`` and run again next time, rows round-trip through Parquet and CSV with their types, the
resume key changes with every input it names, and a dynamics job equals ``certify dynamics`` on its trajectory."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweep_support import ARCH, ROOT


def test_example_spec_parses_and_names_a_zoo():
    from certify.sweep import load_spec

    [example] = sorted((ROOT / "examples").glob("*sweep*.toml"))
    spec = load_spec(example)
    assert spec.zoo is not None and len(spec.zoo.points()) == 16
    assert [j.kind for j in spec.jobs] == ["theorem", "theorem", "analyze", "gap"]


def _job(**kw):
    from certify.sweep import Job

    base = dict(key="k" * 64, kind="gap", model="/m.safetensors", arch=None, model_file_sha256="a" * 64,
                data="digits", data_sha256="b" * 64, train_data="digits:train", train_data_sha256="c" * 64,
                theorem=None, theorem_version=None)
    base.update(kw)
    return Job(**base)


def test_a_crashing_job_is_an_internal_error_and_runs_again(tmp_path, monkeypatch):
    from distributed import Client

    from certify.sweep import ResultStore, engine

    def crash(job, out):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(engine, "execute", crash)
    store = ResultStore(tmp_path)
    store.prepare()
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address="127.0.0.1:0") as client:
        ran = engine._run_jobs(client, [_job()], store, progress=False)
    [row] = store.rows().values()
    assert (row["status"], row["error"]) == ("internal_error", "RuntimeError: boom second line")
    assert list(ran) == [row["key"]] and ran[row["key"]]["error"] == row["error"]
    assert store.finished() == set()


def test_rows_round_trip_and_refuse_nothing_silently(tmp_path):
    from certify.sweep import COLUMNS, ResultStore
    from certify.sweep.worker import base_row

    store = ResultStore(tmp_path)
    store.prepare()
    row = base_row(_job()) | {"status": "ok", "result_lo": "0.1", "result_hi": "0.2", "result_lo_float": 0.1,
                               "result_hi_float": 0.2, "seconds": 1.5}
    store.write_row(row)
    got = store.rows()[row["key"]]
    assert {k: got[k] for k in row} == row and set(got) == {n for n, _ in COLUMNS}
    table = store.consolidate(csv=True)
    assert table == [got] and list((tmp_path / "rows").iterdir()) == []
    assert (tmp_path / "results.csv").read_text().splitlines()[0] == ",".join(n for n, _ in COLUMNS)
    assert store.rows() == {row["key"]: got}


@pytest.mark.parametrize("field, value", [("model_file_sha256", "d" * 64), ("arch", "x:y"), ("data_sha256", "e" * 64),
                                          ("kind", "analyze"), ("theorem", "test_set.hoeffding"),
                                          ("theorem_version", 2), ("options", {"kind": "run", "delta": "0.01"})])
def test_resume_key_names_every_input(field, value):
    from certify.sweep import job_key

    inputs = {"kind": "theorem", "model_file_sha256": "a" * 64, "arch": None, "data_sha256": "b" * 64,
              "train_data_sha256": None, "theorem": "test_set.binomial_tail", "theorem_version": 1,
              "options": {"kind": "run", "delta": "0.05", "eps": "0.1", "margin": None}}
    assert job_key(inputs) == job_key(dict(reversed(list(inputs.items()))))
    assert job_key({**inputs, field: value}) != job_key(inputs)


def test_arch_factories_by_name():
    from boundcert.errors import InvalidInput
    from certify.sweep import archs

    net = archs.mlp_64_8_8_10()
    assert [tuple(p.shape) for p in net.parameters()] == [(8, 64), (8,), (8, 8), (8,), (10, 8), (10,)]
    with pytest.raises(InvalidInput, match="mlp_<sizes>"):
        archs.mlp_64_x_10
    with pytest.raises(AttributeError):
        archs.resnet18


def _record(path):
    """A short SGD trajectory of a tiny MLP (the recorder of certify dynamics), saved to ``path``."""
    import torch

    from certify.training.trajectory import TrajectoryRecorder

    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = (x[:, 0] > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    rec = TrajectoryRecorder(model, last_n=1000, seed=1, sample_size=64).attach(opt)
    for i in range(80):
        idx = torch.arange(i % 8 * 8, i % 8 * 8 + 8)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
    rec.detach()
    return rec.save(path)


def test_dynamics_job_equals_certify_dynamics_and_a_missing_trajectory_is_its_error(tmp_path, models):
    import json
    import shutil

    from certify.quantities.dynamics import analyze_trajectory
    from certify.sweep import execute, expand_jobs, parse_spec

    for m in models:
        shutil.copy(m, tmp_path / m.name)
    _record(tmp_path / "m0.npz")
    spec = parse_spec({"models": [{"glob": "*.safetensors", "arch": ARCH}], "jobs": [{"kind": "dynamics"}]},
                      tmp_path)
    jobs = expand_jobs(spec)
    assert [Path(j.data).name for j in jobs] == ["m0.npz", "m1.npz"]
    out = tmp_path / "out"
    ok, missing = (execute(j, str(out)) for j in jobs)
    ref = analyze_trajectory(str(tmp_path / "m0.npz"), source=jobs[0].data, seed=0).to_dict()
    assert json.loads((out / "jobs" / jobs[0].key / "dynamics.json").read_text()) == json.loads(json.dumps(ref))
    got = json.loads(ok["measures"])
    assert ok["status"] == "ok" and got["ph_dim_estimate"] == ref["ph_dim_estimate"]["dimension"]
    assert got["increment_tail_estimate"] == ref["increment_tail_estimate"]["alpha_estimate"]
    assert missing["status"] == "error" and "is not a file" in missing["error"]


def test_a_file_matched_twice_is_one_job_and_data_paths_are_taken_from_the_spec(tmp_path, models):
    import numpy as np

    from certify.data import load_builtin
    from certify.sweep import expand_jobs, parse_spec

    test = load_builtin("digits", "test")
    np.savez(tmp_path / "held_out.npz", x=test.x, y=test.y)
    groups = [{"glob": str(models[0]), "arch": ARCH}, {"glob": str(models[0].parent / "*.safetensors"), "arch": ARCH}]
    spec = parse_spec({"sweep": {"data": "held_out.npz"}, "models": groups,
                       "jobs": [{"theorem": "test_set.binomial_tail"}]}, tmp_path)
    jobs = expand_jobs(spec)
    assert [Path(j.model).name for j in jobs] == ["m0.safetensors", "m1.safetensors"]
    assert {j.data for j in jobs} == {str(tmp_path / "held_out.npz")}
    assert {j.data_sha256 for j in jobs} == {test.sha256}


def test_consolidate_takes_known_rows_without_reading_their_files(tmp_path):
    """The engine hands ``consolidate`` the rows its jobs returned: their row files are not read (a garbled one
    would fail), an earlier run's row file still is, and the table is read back in the schema's types."""
    from certify.sweep import ResultStore
    from certify.sweep.worker import base_row

    store = ResultStore(tmp_path)
    store.prepare()
    old = base_row(_job()) | {"key": "a" * 64, "status": "ok", "seconds": 2.0}
    store.write_row(old)
    new = base_row(_job()) | {"key": "b" * 64, "status": "ok", "seconds": 1}
    (tmp_path / "rows" / f"{new['key']}.parquet").write_bytes(b"not parquet")
    table = store.consolidate(keep=[new["key"]], known={new["key"]: new})
    assert [r["key"] for r in table] == [new["key"], old["key"]]
    assert table[0]["seconds"] == 1.0 and isinstance(table[0]["seconds"], float)
    assert list((tmp_path / "rows").iterdir()) == [] and store.rows() == {r["key"]: r for r in table}
