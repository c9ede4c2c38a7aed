"""The reproduction harness: discovery, the CLI, the results format (docs/repro.schema.json), the committed results."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from boundcert.errors import InvalidInput
from certify import repro
from certify.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "repro.schema.json").read_text())
SCRIPTS = sorted(p.stem for p in (ROOT / "paper_repro").glob("*.py") if not p.name.startswith("_"))

GOOD = {"paper": "P", "claim": "C", "scale": "S", "certificates": [],
        "rows": [{"name": "a", "paper": 1.0, "ours": 1.1, "tolerance": 0.2, "within": True},
                 {"name": "b", "paper": "< 0", "ours": 0.5, "tolerance": "sign", "within": False, "why": "reason"}]}


def _schema_errors(obj):
    jsonschema = pytest.importorskip("jsonschema")
    return list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(obj))


def test_discovery_lists_every_script_by_file():
    names = [r.name for r in repro.discover()]
    assert names == SCRIPTS
    assert "bartlett2017" in names
    for r in repro.discover():
        assert r.paper.strip() and r.claim.strip()


def test_cli_list_names_every_reproduction(capsys):
    assert main(["repro", "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in listed] == SCRIPTS


def test_cli_unknown_name_is_a_usage_error(capsys):
    assert main(["repro", "no_such_paper"]) == 2
    assert "no_such_paper" in capsys.readouterr().err


def test_good_results_pass_both_validators():
    assert repro.validate_results(GOOD) == []
    assert _schema_errors(GOOD) == []


@pytest.mark.parametrize("mutate", [
    lambda r: r.pop("rows"),
    lambda r: r["rows"][1].pop("why"),
    lambda r: r["rows"][0].update(within="yes"),
    lambda r: r["rows"][0].pop("tolerance"),
    lambda r: r.update(rows=[]),
    lambda r: r.update(paper=""),
])
def test_bad_results_fail_both_validators(mutate):
    bad = json.loads(json.dumps(GOOD))
    mutate(bad)
    assert repro.validate_results(bad)
    assert _schema_errors(bad)


def test_run_end_to_end_on_a_tiny_script(tmp_path):
    d = tmp_path / "scripts"
    d.mkdir()
    (d / "_helper.py").write_text("X = 1\n")
    (d / "toy2020.py").write_text(textwrap.dedent('''
        import argparse, json, pathlib
        import _helper
        PAPER = "Toy, 2020"
        CLAIM = "Table 1: one number"
        def main(argv=None):
            p = argparse.ArgumentParser(); p.add_argument("--quick", action="store_true"); p.add_argument("--out")
            a = p.parse_args(argv)
            out = pathlib.Path(a.out); out.mkdir(parents=True, exist_ok=True)
            rows = [{"name": "x", "paper": 1, "ours": _helper.X + a.quick, "tolerance": 0, "within": not a.quick,
                     **({"why": "quick"} if a.quick else {})}]
            (out / "toy2020.json").write_text(json.dumps({"paper": PAPER, "claim": CLAIM, "scale": "tiny",
                                                          "rows": rows, "certificates": []}))
            return 0
    '''))
    assert [r.name for r in repro.discover(d)] == ["toy2020"]
    path = repro.run("toy2020", quick=True, out=tmp_path / "out", directory=d)
    assert json.loads(path.read_text())["rows"][0]["why"] == "quick"
    with pytest.raises(InvalidInput, match="no reproduction"):
        repro.get("toy2021", d)


def test_a_script_without_paper_is_refused(tmp_path):
    (tmp_path / "bad.py").write_text("def main(argv=None):\n    return 0\n")
    with pytest.raises(InvalidInput, match="PAPER"):
        repro.discover(tmp_path)


@pytest.mark.parametrize("path", sorted((ROOT / "paper_repro" / "results").glob("*.json")), ids=lambda p: p.stem)
def test_committed_results_follow_the_format(path):
    res = json.loads(path.read_text())
    assert repro.validate_results(res) == []
    assert _schema_errors(res) == []
    assert path.stem in SCRIPTS
    assert path.with_suffix(".png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name", SCRIPTS)
def test_quick_variant_writes_valid_results(name, tmp_path):
    path = repro.run(name, quick=True, out=tmp_path)
    res = json.loads(path.read_text())
    assert repro.validate_results(res) == [] and _schema_errors(res) == []
    assert (tmp_path / f"{name}.png").is_file()


def test_cli_help_lists_repro():
    out = subprocess.run([sys.executable, "-m", "certify", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert "repro" in out.stdout


def test_gallery_has_a_page_per_committed_result(tmp_path):
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from _gallery import write_gallery
    finally:
        sys.path.remove(str(ROOT / "docs"))
    names = write_gallery(tmp_path / "gallery")
    committed = sorted(p.stem for p in (ROOT / "paper_repro" / "results").glob("*.json"))
    assert names == committed
    for name in names:
        page = (tmp_path / "gallery" / f"{name}.rst").read_text()
        assert f".. _repro-{name}:" in page and "within" in page
        assert (tmp_path / "gallery" / f"{name}.png").is_file()
