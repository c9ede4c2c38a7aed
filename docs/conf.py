"""Sphinx configuration. The theorem catalogue is generated from the registry at build time (docs/_catalogue.py)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import boundcert  # noqa: E402

project = "boundcert"
author = "the boundcert developers"
copyright = "2026, the boundcert developers"
release = boundcert.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax bundled: the docs render formulas with no network
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
html_theme = "furo"
html_static_path = ["_static"]
html_css_files = ["boundcert.css"]  # long formulas and code scroll instead of being clipped at the right edge
html_title = f"boundcert {release}"
exclude_patterns = ["_build"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = False
suppress_warnings = ["ref.python"]


def setup(app):
    from _catalogue import write_catalogue
    from _gallery import write_gallery

    app.connect("builder-inited", lambda app: write_catalogue(Path(app.srcdir) / "catalogue"))
    app.connect("builder-inited", lambda app: write_gallery(Path(app.srcdir) / "gallery"))
