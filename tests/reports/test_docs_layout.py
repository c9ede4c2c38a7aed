"""The docs register a stylesheet that makes long display maths and code scroll instead of being clipped."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_conf_registers_the_scroll_stylesheet():
    conf = runpy.run_path(str(ROOT / "docs" / "conf.py"))
    assert "_static" in conf["html_static_path"] and "boundcert.css" in conf["html_css_files"]
    css = (ROOT / "docs" / "_static" / "boundcert.css").read_text()
    rules = dict(re.findall(r"([^{}]+)\{([^}]*)\}", re.sub(r"/\*.*?\*/", "", css, flags=re.S)))
    scrolling = [sel for sel, body in rules.items() if "overflow-x: auto" in body]
    assert any("div.math" in s for s in scrolling) and any("div.highlight pre" in s for s in scrolling)
