"""The measures of the ``analyze`` and ``gap`` jobs that the correlation study ranks (Jiang et al. 2020, App. C):
the squared l2 path norm's upper end contains the exact value (exact rationals from the stored weights), the log
measures are the formulas of the job's own certified table, the training margin quantile is the float32 network's,
and the margin-normalised measures of the report are computed from one model's measures and leave out a model
whose margin is not positive."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np

from sweep_support import ARCH


def _jobs(tmp_path, models, kinds):
    import shutil

    from certify.sweep import expand_jobs, parse_spec

    shutil.copy(models[0], tmp_path / models[0].name)
    spec = parse_spec({"sweep": {"data": "digits", "train_data": "digits:train"},
                       "models": [{"glob": "*.safetensors", "arch": ARCH}], "jobs": [{"kind": k} for k in kinds]},
                      tmp_path)
    return expand_jobs(spec)


def _exact_path_norm_sq(state) -> Fraction:
    """sum over input-output paths of prod w^2, biases as paths from a unit input: v <- W^2 v + b^2, from v = 1."""
    ws = [state[k].double().numpy() for k in sorted(state) if k.endswith("weight")]
    bs = [state[k].double().numpy() for k in sorted(state) if k.endswith("bias")]
    v = [Fraction(1)] * ws[0].shape[1]
    for w, b in zip(ws, bs):
        sq = [[Fraction(float(x)) ** 2 for x in row] for row in w]
        v = [sum((a * c for a, c in zip(row, v)), Fraction(0)) + Fraction(float(bi)) ** 2 for row, bi in zip(sq, b)]
    return sum(v, Fraction(0))


def test_analyze_measures_contain_the_exact_path_norm_and_follow_the_table(tmp_path, models):
    from safetensors.torch import load_file

    from certify.sweep import execute

    [job] = _jobs(tmp_path, models, ["analyze"])
    row = execute(job, str(tmp_path / "out"))
    assert row["status"] == "ok"
    got = json.loads(row["measures"])
    exact = _exact_path_norm_sq(load_file(str(models[0])))
    assert exact <= Fraction(got["path_norm_l2_hi"]) <= exact * (1 + Fraction(1, 10**9))
    table = json.loads((tmp_path / "out" / "jobs" / job.key / "analyze.json").read_text())
    spec = [math.log(float(r["spectral_hi"])) for r in table]
    fro = [math.log(float(r["frobenius_hi"])) for r in table]
    d = len(table)
    ratios = [float(r["frobenius_hi"]) ** 2 / float(r["spectral_hi"]) ** 2 for r in table]
    assert got["log_spec_orig_hi"] == 2 * math.fsum(spec) + math.log(math.fsum(ratios))
    assert got["log_sum_of_spec_hi"] == math.log(d) + 2 * math.fsum(spec) / d
    assert got["log_sum_of_fro_hi"] == math.log(d) + 2 * math.fsum(fro) / d
    assert job.options == {"kind": "analyze", "measures": 2}  # a new measure set is a new job (rerun)


def test_gap_job_margin_is_the_float32_networks_tenth_percentile(tmp_path, models):
    import torch

    from certify.data import load_builtin
    from certify.models.loader import load_model
    from certify.sweep import execute

    [job] = _jobs(tmp_path, models, ["gap"])
    got = json.loads(execute(job, str(tmp_path / "out"))["measures"])
    tr = load_builtin("digits", "train")
    with torch.no_grad():
        logits = load_model(str(models[0]), ARCH).module.eval()(torch.from_numpy(tr.x)).double().numpy()
    true = logits[np.arange(tr.n), tr.y]
    other = np.where(np.arange(logits.shape[1])[None, :] == tr.y[:, None], -np.inf, logits).max(axis=1)
    assert got["train_margin_q10"] == float(np.quantile(true - other, 0.1))


def _rows(margins: dict[str, float | None], spec: dict[str, float], gaps: dict[str, float]) -> list[dict]:
    rows = []
    for i, m in enumerate(sorted(gaps)):
        hp = json.dumps({"lr": i % 2, "depth": i // 2})
        gm = {"empirical_gap": gaps[m], "train_margin_q10": margins[m]}
        rows.append({"status": "ok", "model": m, "hparams": hp, "kind": "gap", "measures": json.dumps(gm)})
        am = {"sum_log_spectral_hi": spec[m], "log_sum_of_spec_hi": spec[m] / 2}
        rows.append({"status": "ok", "model": m, "hparams": hp, "kind": "analyze", "measures": json.dumps(am)})
    return rows


def test_margin_normalised_measures_of_the_report():
    from certify.sweep.report import correlation_study
    from certify.sweep.stats import kendall_tau

    gaps = {"a": 0.01, "b": 0.03, "c": 0.02, "d": 0.05, "e": 0.04}
    spec = {"a": 1.0, "b": 1.5, "c": 0.5, "d": 2.0, "e": 1.2}
    margins = {"a": 2.0, "b": 0.5, "c": 1.0, "d": 0.25, "e": -0.1}  # e: no positive margin, left out
    study = {c.column: c for c in correlation_study(_rows(margins, spec, gaps))}
    keep = ["a", "b", "c", "d"]
    # log(prod ||W||_2^2 / margin^2) = 2 sum log ||W||_2 - 2 log margin, ranked in exact rationals
    ref = [2 * Fraction(spec[m]) - 2 * Fraction(math.log(margins[m])) for m in keep]
    c = study["log_prod_spec_over_margin2"]
    assert c.models == 4 and c.tau == float(kendall_tau(ref, [gaps[m] for m in keep]))
    inv = [Fraction(1) / Fraction(margins[m]) ** 2 for m in keep]
    assert study["log_inverse_margin2"].tau == float(kendall_tau(inv, [gaps[m] for m in keep]))
    assert study["sum_log_spectral_hi"].models == 5


def test_a_worker_loads_each_sample_once_and_refuses_data_changed_during_the_sweep(tmp_path):
    import pytest

    from boundcert.errors import InvalidInput
    from certify.data import load_data
    from certify.sweep.worker import _DATA, load_cached

    p = tmp_path / "d.npz"
    np.savez(p, x=np.ones((5, 3), np.float32), y=np.arange(5) % 2)
    sha = load_data(str(p)).sha256
    first = load_cached(str(p), sha)
    assert load_cached(str(p), sha) is first and first.sha256 == sha
    _DATA.clear()
    np.savez(p, x=np.zeros((5, 3), np.float32), y=np.arange(5) % 2)  # the file changes mid-sweep
    with pytest.raises(InvalidInput, match="changed during the sweep"):
        load_cached(str(p), sha)
