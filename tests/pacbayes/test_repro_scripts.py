"""paper_repro scripts keep the harness interface (PAPER, CLAIM, main(argv)) and write the results format of
docs/tutorials/reproduce.rst (JSON Schema docs/repro.schema.json); the --quick smoke runs are marked slow (a minute
or more each on shared cores)."""

import importlib.util
import json
from fractions import Fraction
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "paper_repro"
NAMES = ["dziugaite2017", "perez_ortiz2021", "perez_ortiz2021_cnn", "perez_ortiz2021_cnn_mnist1d", "lotfi2022",
         "lotfi2022_cnn", "lotfi2022_cnn_mnist1d", "zhou2019"]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"repro_{name}", ROOT / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", NAMES)
def test_interface(name):
    mod = _load(name)
    assert isinstance(mod.PAPER, str) and isinstance(mod.CLAIM, str) and callable(mod.main)
    assert mod.__doc__ and "--quick" not in mod.__doc__.splitlines()[0]


def _check_results(path: Path):
    d = json.loads(path.read_text())
    assert set(d) >= {"paper", "claim", "scale", "rows", "certificates"}
    for r in d["rows"]:
        assert set(r) >= {"name", "paper", "ours", "tolerance", "within"}
        assert r["within"] or r.get("why")
    for c in d["certificates"]:  # each an enclosure of a risk bound: 0 <= lo <= hi, exactly
        assert 0 <= Fraction(c["result"]["lo"]) <= Fraction(c["result"]["hi"]), c["result"]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_quick_run_writes_results(name, tmp_path):
    """The quick variant writes NAME.json (the harness's contract, as every script), marked quick; its model and
    certificate files go to NAME_quick/, off the committed full run's NAME/."""
    assert _load(name).main(["--quick", "--out", str(tmp_path)]) == 0
    _check_results(tmp_path / f"{name}.json")
    assert json.loads((tmp_path / f"{name}.json").read_text())["quick"] is True
    assert (tmp_path / f"{name}.png").exists()
    assert (tmp_path / f"{name}_quick").is_dir() and not (tmp_path / name).exists()


@pytest.mark.parametrize("name", NAMES)
def test_committed_results_have_the_format(name):
    path = ROOT / "results" / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path.name} not committed yet")
    _check_results(path)


def test_committed_certificates_name_their_files_by_hash():
    from certify.models.hashing import file_sha256

    certs = sorted((ROOT / "results").glob("*/certificate.json")) + sorted((ROOT / "results").glob("*/*/certificate.json"))
    for c in certs:
        d = json.loads(c.read_text())
        f = c.parent / d["model"]["path"]
        assert f.exists(), f
        # the file's own hash: ``file_sha256`` where ``sha256`` hashes the weights (landscape flatness certificates)
        m = d["model"]
        assert file_sha256(f) == (m.get("file_sha256") or m.get("sha256") or m.get("code_sha256"))
        from certify.checker import check

        assert check(str(c)).verdict == "VERIFIED", c
