"""The bad-input table of issue 15: each row exits 2 with one line naming the input, writes nothing (no --out
directory either); the hex and spaced --delta rows give certificates the checker VERIFIES."""

from __future__ import annotations

import json

import numpy as np
import pytest

from checker_fuzz import trained
from pipeline_support import run_in_process

ARCH = "certify.zoo:digits_mlp"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from safetensors.torch import save_file

    d = tmp_path_factory.mktemp("bad-input")
    model, _, test = trained("mlp")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(d / "model.safetensors"))
    x, y = test.x[:50], test.y[:50]
    arrays = {"string_x": (x.astype(str), y), "string_y": (x, y.astype(str)), "zero_d_x": (np.float64(1.0), y[:1]),
              "complex_x": (x.astype(np.complex128), y), "huge_x": (np.full(x.shape, 1e300), y),
              "huge_label": (x, np.where(np.arange(50) == 0, 1e30, y).astype(np.float64)), "good": (x, y)}
    for name, (xa, ya) in arrays.items():
        np.savez(d / f"{name}.npz", x=xa, y=ya)
    (d / "raises_at_import.py").write_text("raise RuntimeError('broken module')\n")
    (d / "needs_args.py").write_text("def make(width):\n    return None\n")
    return d


ROWS = [("string_x", "x has dtype"), ("string_y", "y has dtype"), ("zero_d_x", "0-d"), ("complex_x", "complex"),
        ("huge_x", "float32's range"), ("huge_label", "1e+30")]


@pytest.mark.parametrize("data, match", ROWS, ids=[r[0] for r in ROWS])
def test_bad_arrays_exit_2_in_one_line(capsys, files, tmp_path, data, match):
    out = tmp_path / "new" / "out"
    code, _, err = run_in_process(capsys, "run", files / "model.safetensors", "--data", files / f"{data}.npz",
                                  "--theorem", "test_set.hoeffding", "--arch", ARCH, "--out", out)
    assert code == 2 and len(err.strip().splitlines()) == 1 and match in err, err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("arch, match", [("sys:exit", "SystemExit"),
                                         ("os:getcwd", "not a torch.nn.Module"), ("raises_at_import:f", "broken module"),
                                         ("needs_args:make", "TypeError"), ("os:sep", "not a factory")])
def test_bad_arch_exits_2_in_one_line(capsys, files, tmp_path, monkeypatch, arch, match):
    monkeypatch.syspath_prepend(str(files))
    code, _, err = run_in_process(capsys, "run", files / "model.safetensors", "--data", files / "good.npz",
                                  "--theorem", "test_set.hoeffding", "--arch", arch, "--out", tmp_path / "o")
    assert code == 2 and len(err.strip().splitlines()) == 1 and match in err and "--arch" in err, err
    assert not (tmp_path / "o").exists()


def test_check_of_a_missing_file_exits_2(capsys, tmp_path):
    code, out, err = run_in_process(capsys, "check", tmp_path / "missing.json")
    assert code == 2 and out == "" and "is not a file" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("delta", ["0x1.8p-4", " 1 / 20 ", "5e-2", "0.05"])
def test_any_delta_the_parser_takes_gives_a_certificate_the_checker_verifies(capsys, files, tmp_path, delta):
    out = tmp_path / "o"
    code, _, err = run_in_process(capsys, "run", files / "model.safetensors", "--data", files / "good.npz",
                                  "--theorem", "test_set.kl_chernoff", "--arch", ARCH, "--delta", delta, "--out", out)
    assert code == 0, err
    assert run_in_process(capsys, "check", out / "certificate.json")[:2] == (0, "VERIFIED\n")
    assert json.loads((out / "certificate.json").read_text())["delta"]["total"] == delta


@pytest.mark.parametrize("delta", ["1e-100000000", "0x1p-99999999999", "1" * 20001])
def test_run_refuses_a_delta_beyond_the_parse_limits_quickly(capsys, files, tmp_path, delta):
    import time

    t0 = time.perf_counter()
    code, _, err = run_in_process(capsys, "run", files / "model.safetensors", "--data", files / "good.npz",
                                  "--theorem", "test_set.kl_chernoff", "--arch", ARCH, "--delta", delta,
                                  "--out", tmp_path / "o")
    assert time.perf_counter() - t0 < 10
    assert code == 2 and len(err.strip().splitlines()) == 1 and "parse limits" in err, err
    assert not (tmp_path / "o").exists()
