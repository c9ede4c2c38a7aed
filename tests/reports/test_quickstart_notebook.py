"""examples/quickstart.ipynb: the committed file is what examples/build_quickstart.py builds (outputs stripped), and
executed with nbconvert's ExecutePreprocessor it shows analyze's DataFrame, an ESD figure, certify_all's ranking,
a Certificate's repr and HTML card, and the checker's VERIFIED."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


def _build_module():
    spec = importlib.util.spec_from_file_location("build_quickstart", ROOT / "examples" / "build_quickstart.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_notebook_is_the_build_with_outputs_stripped():
    assert NOTEBOOK.read_text() == _build_module().text()  # else: run examples/build_quickstart.py
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)


def _outputs(nb) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


@pytest.mark.slow
def test_quickstart_executes_and_shows_the_tables_the_figure_and_the_certificate(tmp_path, monkeypatch):
    pytest.importorskip("nbconvert")
    pytest.importorskip("ipykernel")
    from nbconvert.preprocessors import ExecutePreprocessor

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("BOUNDCERT_PROGRESS", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    ExecutePreprocessor(timeout=600, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    outs = _outputs(nb)
    assert not [o for o in outs if o.output_type == "error"]
    html = [o.data["text/html"] for o in outs if "data" in o and "text/html" in o.data]
    frames = [h for h in html if 'class="dataframe"' in h]
    assert any("<th>spectral</th>" in h and "<th>alpha_estimate</th>" in h and "Interval([" in h for h in frames)
    assert any("<th>theorem</th>" in h and "<th>rank</th>" in h and "test_set.binomial_tail" in h for h in frames)
    cards = [h for h in html if "boundcert-certificate" in h]
    assert len(cards) == 1 and "<b>test_set.binomial_tail</b>" in cards[0] and "h_k_le_m" in cards[0]
    streams = "".join(o.text for o in outs if o.output_type == "stream")
    assert "Certificate(test_set.binomial_tail: 0-1 risk (test error) of the fixed classifier h <= 0." in streams
    assert any("data" in o and "image/png" in o.data for o in outs)  # the ESD figure
    assert outs[-1].data["text/plain"] == "'VERIFIED'"
    assert not (ROOT / "examples" / "esd").exists() and os.listdir(tmp_path) == []  # nothing written beside it
