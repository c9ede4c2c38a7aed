"""Every bad input of ``certify sweep`` is one line on stderr naming the input and the fix, exit 2, and nothing is
written (the output directory is not even created)."""

from __future__ import annotations

import pytest

from sweep_support import ARCH

from certify.cli import main

GOOD_JOB = '[[jobs]]\nkind = "theorem"\ntheorem = "test_set.binomial_tail"\n'


def _models(tmp_path, body):
    return f'[sweep]\ndata = "digits"\n\n[[models]]\nglob = "{tmp_path}/*.safetensors"\narch = "{ARCH}"\n\n{body}'


CASES = {
    "unknown top key": ("[sweeps]\n", "unknown key 'sweeps'"),
    "no models": (GOOD_JOB, "names no models"),
    "no jobs": ('[[models]]\nglob = "x/*.pt"\n', "names no jobs"),
    "unknown job key": (None, "unknown key 'thm'"),
    "numeric delta": (None, "decimal string"),
    "not a bound": (None, "of kind 'order'"),
    "unknown theorem": (None, "unknown theorem id"),
    "bad kind": (None, "not a job kind"),
    "bad delta": (None, "delta=1.5"),
    "bad sample": (None, "sample='val'"),
    "duplicate job": (None, "listed twice"),
    "glob matches nothing": (None, "matches no file"),
    "zoo dataset": ('[zoo]\ndataset = "cifar"\n' + GOOD_JOB, "not a zoo dataset"),
    "zoo grid": ('[zoo]\nlr = []\n' + GOOD_JOB, "[zoo].lr"),
    "not toml": ("[[jobs\n", "not valid TOML"),
}
JOBS = {
    "unknown job key": '[[jobs]]\nkind = "theorem"\nthm = "x"\n',
    "numeric delta": GOOD_JOB + "delta = 0.05\n",
    "not a bound": '[[jobs]]\ntheorem = "norm.bartlett2017_spectral"\n',
    "unknown theorem": '[[jobs]]\ntheorem = "no.such"\n',
    "bad kind": '[[jobs]]\nkind = "train"\n',
    "bad delta": GOOD_JOB + 'delta = "1.5"\n',
    "bad sample": GOOD_JOB + 'sample = "val"\n',
    "duplicate job": GOOD_JOB + "\n" + GOOD_JOB,
    "glob matches nothing": GOOD_JOB,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_spec_is_one_line_exit_2_nothing_written(case, tmp_path, capsys):
    body, needle = CASES[case]
    text = _models(tmp_path, JOBS[case]) if body is None else body
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("certify: error: ") and err.count("\n") == 1 and needle in err, err
    assert not out.exists()


@pytest.mark.parametrize("argv, needle", [
    (["--workers", "0"], "--workers=0"),
    (["--report"], "add [[jobs]] kind = \"gap\""),
    (["--scheduler", "localhost:8786"], "not an address"),
])
def test_bad_options(argv, needle, tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text('[[models]]\nglob = "x/*.pt"\n' + GOOD_JOB)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err
    assert not (tmp_path / "out").exists()


def test_missing_spec_and_unreachable_scheduler(tmp_path, capsys, models):
    from boundcert.errors import InvalidInput
    from certify.sweep import load_spec, run_sweep

    assert main(["sweep", str(tmp_path / "nope.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    spec = tmp_path / "spec.toml"
    spec.write_text(f'[sweep]\ndata = "digits"\n[[models]]\nglob = "{models[0]}"\narch = "{ARCH}"\n' + GOOD_JOB)
    with pytest.raises(InvalidInput, match="cannot be reached") as exc:
        run_sweep(load_spec(spec), tmp_path / "o", scheduler="tcp://127.0.0.1:9", connect_timeout="2s")
    assert "\n" not in str(exc.value) and not (tmp_path / "o").exists()
