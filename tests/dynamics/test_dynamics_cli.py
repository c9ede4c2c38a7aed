"""``certify dynamics`` end to end on trajectories recorded in the test: every reported measure equals the kernel
called directly on the file's arrays, the stability bound equals the registered theorem evaluated on exact sums of
the recorded step sizes, and every bad input is one line on stderr, exit 2, nothing written."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from dynamics_support import N_TRAIN, record

import kernels
import theorems
from certify.cli import main
from certify.training.trajectory import load_trajectory


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _ph(e) -> dict:
    return {"dimension": e.dimension, "slope": e.slope, "intercept": e.intercept, "r_squared": e.r_squared,
            "sizes": list(e.sizes), "lengths": [list(r) for r in e.lengths], "alpha": e.alpha, "metric": e.metric,
            "sampling": e.sampling, "seed": e.seed, "n_points": e.n_points}


def _tail(e) -> dict:
    return {"alpha_estimate": e.alpha_estimate, "per_block": [list(p) for p in e.per_block],
            "per_projection": list(e.per_projection), "n_samples": e.n_samples, "dim": e.dim}


def test_json_equals_the_kernels_on_the_file(capsys, traj_path):
    code, out, err = run(capsys, "dynamics", traj_path, "--json", "--regime", "convex", "--lipschitz", "3",
                         "--smoothness", "2")
    assert code == 0, err
    doc = json.loads(out)
    tr = load_trajectory(traj_path)
    N = tr.iterates.shape[0]
    assert N == 121 and doc["trajectory"] == {"source": str(traj_path), "n_iterates": N, "dim": tr.iterates.shape[1],
                                              "first_step": 0, "last_step": 120, "total_steps": 120}
    kw = {"n_min": N // 4, "step": N // 8, "seed": 0}
    assert doc["ph_dim_estimate"] == _ph(kernels.ph_dim(tr.iterates, **kw))
    assert doc["ph_dim_loss_estimate"] == _ph(kernels.ph_dim_loss(tr.losses, **kw))
    assert doc["ph_dim_loss_estimate"]["metric"] == "manhattan"
    assert doc["grad_noise_tail_estimate"] == _tail(kernels.bg_tail_index_estimate(tr.grads - tr.grads.mean(axis=0)))
    assert doc["increment_tail_estimate"] == _tail(kernels.trajectory_tail_index_estimate(tr.iterates, n_projections=10,
                                                                                         seed=0))
    assert doc["jl_distortion"] is None and doc["skipped"] == {}
    # the bound: the registered theorem on exact sums of the recorded steps (step 1..T), nothing else
    alphas = [Fraction(float(a)) for a in tr.step_size_history[:, 0]]
    assert len(alphas) == 120 and set(alphas) == {Fraction(0.05)}
    th = theorems.get("stability.hardt2016_convex")
    ref = th.evaluate(n=N_TRAIN, lipschitz="3", beta="2", max_step=max(alphas), sum_step=sum(alphas))
    s = doc["stability_bound"]
    assert (s["theorem"], s["lo"], s["hi"], s["bound"]) == (th.id, ref.lo_str(20), ref.hi_str(20), ref.hi_str(20))
    assert s["inputs"]["sum_step"] == f"{sum(alphas).numerator}/{sum(alphas).denominator}"
    assert {h["name"]: h["status"] for h in s["hypotheses"]}["h_step_size_le_2_over_beta"] == "checked"
    assert any("h_start_at_init" in a for a in s["assumed"])


def test_out_writes_json_and_png_and_table(capsys, traj_path, tmp_path):
    out = tmp_path / "dyn"
    code, stdout, err = run(capsys, "dynamics", traj_path, "--out", out, "--regime", "convex", "--lipschitz", "3",
                            "--smoothness", "2", "--n-min", "40", "--step", "20", "--repeats", "2", "--seed", "5")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["dynamics.json", "dynamics.png"]
    assert (out / "dynamics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.loads((out / "dynamics.json").read_text())
    tr = load_trajectory(traj_path)
    e = kernels.ph_dim(tr.iterates, n_min=40, step=20, n_repeats=2, seed=5)
    assert doc["ph_dim_estimate"] == _ph(e) and doc["figure"] == "dynamics.png"
    assert f"<= {doc['stability_bound']['bound']}" in stdout and "stability.hardt2016_convex" in stdout
    assert f"{e.dimension:.4g}" in stdout and "not bounds" in stdout


def test_nonconvex_uses_the_smallest_admissible_c(capsys, decaying_path):
    code, out, err = run(capsys, "dynamics", decaying_path, "--json", "--regime", "nonconvex", "--lipschitz", "2",
                         "--smoothness", "1")
    assert code == 0, err
    tr = load_trajectory(decaying_path)
    alphas = [Fraction(float(a)) for a in tr.step_size_history[:, 0]]
    assert all(b <= a for a, b in zip(alphas, alphas[1:])) and alphas[0] == Fraction(0.2)
    c = max((t + 1) * a for t, a in enumerate(alphas))
    th = theorems.get("stability.hardt2016_nonconvex")
    ref = th.evaluate(n=N_TRAIN, lipschitz="2", beta="1", c=c, max_t_step=c, T=len(alphas))
    s = json.loads(out)["stability_bound"]
    assert (s["lo"], s["hi"]) == (ref.lo_str(20), ref.hi_str(20))
    # an explicit c that admits the schedule gives that c's value; one below max t*alpha_t is refused
    code, out, _ = run(capsys, "dynamics", decaying_path, "--json", "--regime", "nonconvex", "--lipschitz", "2",
                       "--smoothness", "1", "--c", "0.25")
    ref = th.evaluate(n=N_TRAIN, lipschitz="2", beta="1", c="0.25", max_t_step=c, T=len(alphas))
    assert code == 0 and json.loads(out)["stability_bound"]["hi"] == ref.hi_str(20)
    code, _, err = run(capsys, "dynamics", decaying_path, "--regime", "nonconvex", "--lipschitz", "2",
                       "--smoothness", "1", "--c", "0.1")
    assert code == 2 and "--c='0.1'" in err and "c/t" in err


def test_strongly_convex_needs_a_constant_step(capsys, traj_path, decaying_path):
    code, out, err = run(capsys, "dynamics", traj_path, "--json", "--regime", "strongly-convex", "--lipschitz", "3",
                         "--smoothness", "2", "--strong-convexity", "0.01")
    assert code == 0, err
    th = theorems.get("stability.hardt2016_strongly_convex")
    ref = th.evaluate(n=N_TRAIN, lipschitz="3", beta="2", max_step=0.05, gamma="0.01")
    assert json.loads(out)["stability_bound"]["hi"] == ref.hi_str(20)
    code, _, err = run(capsys, "dynamics", decaying_path, "--regime", "strongly-convex", "--lipschitz", "3",
                       "--smoothness", "2", "--strong-convexity", "0.01")
    assert code == 2 and "constant step" in err


def test_jl_distortion_is_the_recorded_measurement(capsys, tmp_path):
    path = record(tmp_path / "jl.npz", steps=40, jl_dim=16, grads=False, losses=False)
    code, out, err = run(capsys, "dynamics", path, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["jl_distortion"] == load_trajectory(path).metadata["jl"] and doc["trajectory"]["dim"] == 16
    assert set(doc["skipped"]) == {"ph_dim_loss_estimate", "grad_noise_tail_estimate", "stability_bound"}
    assert doc["stability_bound"] is None and doc["ph_dim_loss_estimate"] is None


def _rewrite(src, dst, **changes):
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez(dst, **arrays)
    return dst


def _bad_inputs(tmp, traj_path, decaying_path):
    tr = load_trajectory(traj_path)
    nan_it = tr.iterates.copy()
    nan_it[7, 3] = np.nan
    meta = dict(tr.metadata, sample_size=None)
    text = tmp / "notes.npz"
    text.write_text("not a trajectory")
    C = ["--regime", "convex", "--lipschitz", "3", "--smoothness", "2"]
    return {
        "missing file": ([tmp / "nope.npz"], "is not a file"),
        "not an npz": ([text], "not a readable trajectory"),
        "no metadata": ([_rewrite(traj_path, tmp / "nometa.npz", metadata=None)], "lacks 'metadata'"),
        "too few iterates": ([record(tmp / "short.npz", steps=12)], "at least 20"),
        "NaN iterate": ([_rewrite(traj_path, tmp / "nan.npz", iterates=nan_it)], "NaN or Inf at recorded step 7"),
        "step above 2/beta": ([traj_path, "--regime", "convex", "--lipschitz", "3", "--smoothness", "50"],
                              "exceeds 2/beta"),
        "Adam": ([record(tmp / "adam.npz", steps=30, optimizer="adam"), *C], "optimizer='Adam'"),
        "momentum": ([record(tmp / "mom.npz", steps=30, optimizer="momentum"), *C], "momentum=0.9"),
        "no sample size": ([_rewrite(traj_path, tmp / "nosize.npz", metadata=np.array(json.dumps(meta))), *C],
                           "--sample-size"),
        "conflicting sample size": ([traj_path, *C, "--sample-size", "99"], "conflicts"),
        "window without history": ([_rewrite(record(tmp / "win.npz", steps=40, last_n=25), tmp / "win2.npz",
                                             step_size_history=None), *C], "needs every step 1..T"),
        "increasing steps, nonconvex": ([_rewrite(traj_path, tmp / "inc.npz", step_size_history=np.linspace(
            0.01, 0.05, 120)[:, None]), "--regime", "nonconvex", "--lipschitz", "3", "--smoothness", "2"],
            "increases at step t=2"),
        "constants without regime": ([traj_path, "--lipschitz", "3"], "without --regime"),
        "regime without constants": ([traj_path, "--regime", "convex", "--lipschitz", "3"], "--smoothness"),
        "not a number": ([traj_path, "--regime", "convex", "--lipschitz", "three", "--smoothness", "2"],
                         "--lipschitz='three'"),
        "PH sizes beyond the iterates": ([traj_path, "--n-max", "500"], "ph_dim_estimate: n_max=500"),
    }


CASES = ["missing file", "not an npz", "no metadata", "too few iterates", "NaN iterate", "step above 2/beta", "Adam",
         "momentum", "no sample size", "conflicting sample size", "window without history",
         "increasing steps, nonconvex", "constants without regime", "regime without constants", "not a number",
         "PH sizes beyond the iterates"]


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, traj_path, decaying_path):
    return _bad_inputs(tmp_path_factory.mktemp("bad"), traj_path, decaying_path)


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_exit_2_nothing_written(capsys, bad_inputs, tmp_path, case):
    argv, expected = bad_inputs[case]
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "dynamics", *argv, "--out", out)
    assert code == 2 and stdout == ""
    assert err.startswith("certify: error: ") and err.count("\n") == 1 and expected in err, err
    assert not out.exists()


def test_recorded_inputs_reproduce_the_bound_with_theorems_eval(capsys, decaying_path):
    code, out, _ = run(capsys, "dynamics", decaying_path, "--json", "--regime", "nonconvex", "--lipschitz", "2",
                       "--smoothness", "0.5")
    s = json.loads(out)["stability_bound"]
    code2, out2, err2 = run(capsys, "theorems", "eval", s["theorem"], *(f"{k}={v}" for k, v in s["inputs"].items()),
                            "--json")
    assert (code, code2) == (0, 0), err2
    ev = json.loads(out2)
    assert (ev["lo"], ev["hi"]) == (s["lo"], s["hi"])
