"""Build examples/quickstart.ipynb (outputs stripped) from the cells below; the notebook is never edited by hand.

    .venv/bin/python examples/build_quickstart.py          # rewrite examples/quickstart.ipynb
    .venv/bin/python examples/build_quickstart.py --check  # exit 1 if the committed notebook differs

Execute and render it (what tests/reports/test_quickstart_notebook.py does, with nbconvert's ExecutePreprocessor)::

    .venv/bin/jupyter nbconvert --to html --execute examples/quickstart.ipynb --output-dir /tmp/quickstart
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK = Path(__file__).resolve().parent / "quickstart.ipynb"

CELLS = [
    ("md", """\
# boundcert quickstart

Train a small network on scikit-learn's digits, then, from Python:

1. `certify.analyze(model)`: a per-layer DataFrame (certified norms as enclosures, fitted measures named `*_estimate`)
   and an ESD figure per layer;
2. `certify.certify_all(model, ...)`: every applicable bound, certified and ranked within each claim;
3. a `Certificate`: its compact repr, its HTML card, and the independent checker's verdict.

Everything runs offline on the CPU in well under a minute."""),
    ("code", """\
import tempfile
from pathlib import Path

import torch

import certify
from certify.models.zoo import digits_mlp

torch.manual_seed(0)
train = certify.load_builtin("digits", "train")
x, y = torch.from_numpy(train.x), torch.from_numpy(train.y)
model = digits_mlp()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(10):
    for i in range(0, len(y), 128):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[i : i + 128]), y[i : i + 128]).backward()
        opt.step()
model.eval()
out = Path(tempfile.mkdtemp(prefix="boundcert-quickstart-"))  # figures and certificates go here"""),
    ("md", """\
## Per-layer analysis

One row per weight layer. `frobenius`, `spectral` and `stable_rank` are certified enclosures (`Interval`, with the
outward-rounded decimal ends in the `*_lo` / `*_hi` columns): the exact value for the stored float weights lies
inside. `alpha_estimate` (the power-law exponent of the empirical spectral density, as in WeightWatcher) is a fitted
number, a measure and never a bound."""),
    ("code", """\
layers = certify.analyze(model, plot=out / "esd")
layers[["name", "kind", "shape", "params", "frobenius", "spectral", "stable_rank", "alpha_estimate", "esd_ks_distance"]]"""),
    ("code", """\
layers.dtypes.value_counts()"""),
    ("md", """\
## The ESD of the first layer

`plot=` wrote one figure per layer (`layers.attrs["figures"]`)."""),
    ("code", """\
from IPython.display import Image

Image(filename=layers.attrs["figures"][0])"""),
    ("md", """\
## Every applicable bound, ranked

Test-set bounds read the held-out sample (`test_data`); norm bounds read the training sample (`train_data`). Bounds
are ranked only against bounds of the same claim (`bounded`); `bound` is the certified end as an outward-rounded
decimal. Theorems that do not apply are listed with the reason in `ranking.attrs["skipped"]`."""),
    ("code", """\
ranking = certify.certify_all(model, train_data="digits:train", test_data="digits:test")
ranking[["theorem", "bounded", "relation", "bound", "rank"]]"""),
    ("md", """\
## One certificate

The compact repr, the notebook card (`_repr_html_`: claim, input enclosures and their sources, hypotheses checked
or assumed), and the independent checker on the saved JSON."""),
    ("code", """\
cert = ranking.loc[ranking["theorem"] == "test_set.binomial_tail", "certificate"].iloc[0]
print(repr(cert))
cert"""),
    ("code", """\
path = cert.save(out / "binomial_tail")
certify.check(str(path)).verdict"""),
]


def build() -> nbformat.NotebookNode:
    """The notebook, outputs stripped (no execution counts, no outputs), with the python3 kernel."""
    cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS]
    for i, cell in enumerate(cells):
        cell["id"] = f"quickstart-{i:02d}"  # stable ids: the file does not change from build to build
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(nb)
    return nb


def text() -> str:
    return nbformat.writes(build()) + "\n"


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        same = NOTEBOOK.is_file() and NOTEBOOK.read_text() == text()
        print("up to date" if same else f"{NOTEBOOK} differs from the build: run examples/build_quickstart.py")
        return 0 if same else 1
    if argv:
        print("usage: build_quickstart.py [--check]", file=sys.stderr)
        return 2
    NOTEBOOK.write_text(text())
    print(NOTEBOOK)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
