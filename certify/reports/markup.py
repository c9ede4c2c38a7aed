"""Markup for report.md / report.html: Markdown escaping, the report's Markdown subset as HTML, maths offline.

* :func:`md_text` / :func:`md_cell` escape text for Markdown (GitHub-flavoured): each character that could start
  markup there is backslash-escaped (``\\ ` * | $ ~`` always, ``_`` at a word's edge, ``]`` before ``(`` or
  ``[``, ``<`` before a tag-like character, ``#`` at the start), so a quantity such as ``||X_c||_F`` neither
  splits a table row nor turns into emphasis, and ``$`` does not start maths (GitHub renders ``$...$`` as maths).
  :func:`md_with_math` escapes the text around ``$...$`` spans and keeps the spans as maths.
* :func:`markdown_to_html`: the subset :mod:`certify.reports.report` writes (headings, paragraphs, lists, tables,
  images, ``**bold**``, code spans, backslash escapes, ``$...$`` and display ``$$...$$`` maths) as HTML. Table
  rows split only at unescaped ``|``.
* :func:`latex_svg`: maths is rendered **offline, without JavaScript**: matplotlib's mathtext (a hard dependency)
  draws the formula with Computer Modern glyphs as SVG paths; the HTML embeds it as a ``data:`` image whose alt
  text is the LaTeX source, sized in ``em`` and aligned on the text baseline. No font, script or network access is
  needed to view the page. A formula mathtext cannot parse is shown as its LaTeX source in ``<code>``.
  Display maths sits in a box that scrolls horizontally instead of being clipped.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import re
from dataclasses import dataclass

__all__ = ["md_text", "md_cell", "md_with_math", "markdown_to_html", "latex_svg", "MathImage"]

# always: \ ` * | $ ~ ; "_" unless inside a word; "]" before "(" or "[" (a link); "<" before what could open a tag;
# "#" at the start
_MD_SPECIAL = re.compile(r"[\\`*|$~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|\](?=[(\[])|<(?=[A-Za-z/!?])|^#")
_FONT_PT = 12.0  # mathtext size; the image is scaled in em, so it follows the page's font size
_DISPLAY_SCALE = 1.3  # display maths a little larger than the text, as LaTeX's nested fractions are small


def md_text(text: object) -> str:
    """``text`` with Markdown punctuation backslash-escaped (renders literally; no maths, no emphasis)."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), " ".join(str(text).split("\n")))


def md_cell(text: object) -> str:
    """A Markdown table cell: :func:`md_text` (``|`` escaped, so the row keeps its columns)."""
    return md_text(text)


def md_with_math(text: str) -> str:
    """Text with ``$...$`` maths spans: the text between the spans escaped, the spans kept (``$`` unpaired: text)."""
    parts = re.split(r"(\$[^$]+\$)", text)
    return "".join(p if p.startswith("$") and p.endswith("$") and len(p) > 2 else md_text(p) for p in parts)


@dataclass(frozen=True, slots=True)
class MathImage:
    """A formula as SVG: ``width``, ``height``, ``depth`` (below the baseline) in points at :data:`_FONT_PT`."""

    svg: bytes
    width: float
    height: float
    depth: float

    def html(self, latex: str, display: bool) -> str:
        uri = "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode()
        scale = (_DISPLAY_SCALE if display else 1.0) / _FONT_PT
        h, d = self.height * scale, self.depth * scale
        cls = "math display" if display else "math"
        alt = html.escape(latex, quote=True)
        return (f'<img class="{cls}" src="{uri}" alt="{alt}" title="{alt}" '
                f'style="height:{h:.3f}em;vertical-align:{-d:.3f}em">')


def _to_mathtext(latex: str) -> str:
    """The LaTeX the statements use, in mathtext's dialect (``\\le`` is ``\\leq`` there, ``\\!`` unknown...)."""
    s = re.sub(r"\\(le|ge|ne)(?![A-Za-z])", r"\\\1q", latex)
    s = s.replace(r"\!", "").replace(r"\operatorname", r"\mathrm").replace(r"\text", r"\mathrm")
    s = s.replace(r"\lVert", r"\|").replace(r"\rVert", r"\|").replace(r"\lvert", "|").replace(r"\rvert", "|")
    return s


@functools.lru_cache(maxsize=512)
def latex_svg(latex: str) -> MathImage | None:
    """``latex`` (without ``$``) drawn by mathtext as a tight SVG; None when mathtext cannot parse it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import MathTextParser

    src = f"${_to_mathtext(latex)}$"
    rc = {"mathtext.fontset": "cm", "svg.fonttype": "path", "svg.hashsalt": "boundcert-report"}
    with matplotlib.rc_context(rc):
        prop = FontProperties(size=_FONT_PT)
        try:
            width, height, depth, _, _ = MathTextParser("path").parse(src, dpi=72, prop=prop)
        except ValueError:  # mathtext's parse error: the caller shows the LaTeX source instead
            return None
        fig = figure.Figure(figsize=(width / 72.0, height / 72.0))
        fig.text(0, depth / height, src, fontproperties=prop, color="#222222")
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", transparent=True, metadata={"Date": None, "Creator": None})
    return MathImage(buf.getvalue(), width, height, depth)


def _math_html(latex: str, display: bool) -> str:
    img = latex_svg(latex.strip())
    if img is None:
        return f'<code class="tex">{html.escape(latex)}</code>'
    return img.html(latex.strip(), display)


def _inline(text: str) -> str:
    """The inline subset: ``\\X`` escapes, code spans, ``**bold**``, ``$...$`` maths; everything else escaped."""
    out: list[str] = []
    i, n = 0, len(text)
    plain: list[str] = []

    def flush() -> None:
        if plain:
            out.append(html.escape("".join(plain)))
            plain.clear()

    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and not text[i + 1].isalnum() and not text[i + 1].isspace():
            plain.append(text[i + 1])
            i += 2
        elif c == "`" and (j := text.find("`", i + 1)) > i:
            flush()
            out.append(f"<code>{html.escape(text[i + 1:j])}</code>")
            i = j + 1
        elif text.startswith("**", i) and (j := text.find("**", i + 2)) > i + 2:
            flush()
            out.append(f"<strong>{_inline(text[i + 2:j])}</strong>")
            i = j + 2
        elif c == "$" and (j := text.find("$", i + 1)) > i + 1:
            flush()
            out.append(_math_html(text[i + 1:j], display=False))
            i = j + 1
        else:
            plain.append(c)
            i += 1
    flush()
    return "".join(out)


def _cells(row: str) -> list[str]:
    """A Markdown table row split at the ``|`` not escaped by an odd number of backslashes."""
    s = row.strip()
    cells, cur, i = [], [], 0
    if s.startswith("|"):
        s = s[1:]
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            cur.append(s[i:i + 2])
            i += 2
        elif s[i] == "|":
            cells.append("".join(cur).strip())
            cur = []
            i += 1
        else:
            cur.append(s[i])
            i += 1
    if "".join(cur).strip():
        cells.append("".join(cur).strip())
    return cells


def markdown_to_html(markdown: str, images: dict[str, str]) -> str:
    """The Markdown subset of the report as HTML; ``images`` maps an image's file name to the ``src`` to use."""
    out: list[str] = []
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
            i += 1
        elif line.startswith("$$") and line.rstrip().endswith("$$") and len(line.strip()) > 4:
            out.append(f'<div class="math-display">{_math_html(line.strip()[2:-2], display=True)}</div>')
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                if not set(lines[i]) <= set("|-: "):
                    rows.append(_cells(lines[i]))
                i += 1
            head, body = rows[0], rows[1:]
            out.append('<div class="table"><table><thead><tr>' + "".join(f"<th>{_inline(c)}</th>" for c in head)
                       + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body)
                       + "</tbody></table></div>")
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        elif (m := re.fullmatch(r"!\[(.+?)\]\((.+?)\)", line.strip())) and m.group(2) in images:
            alt = html.escape(m.group(1).replace("\\", ""))
            out.append(f'<figure><img alt="{alt}" src="{images[m.group(2)]}"><figcaption>{alt}</figcaption></figure>')
            i += 1
        else:
            cls = ' class="claim"' if line.startswith("**") and line.endswith("**") else ""
            out.append(f"<p{cls}>{_inline(line)}</p>")
            i += 1
    return "\n".join(out)
