"""report.html: summary.md as one self-contained web page, for sharing a run as a single file.

The page is summary.md rendered (every table, prediction and sample in it), its plots embedded as PNG data URIs, and
the run's whole meta.json. It needs no network: styles and the script are inline, and its Content-Security-Policy
forbids fetching anything and runs only the page's own script (by hash), so nothing a run's names smuggle in could
load or execute. Run-controlled text reaches the page only as Markdown text (escaped by `markdown_text`) rendered
with raw HTML off, or through `html.escape`. Clicking a table's header sorts its rows by that column: by the leading
number where both cells have one (numbers before text), otherwise as text; a second click reverses.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
from pathlib import Path
from typing import Any

# Sorting on header click; numbers are read as the sorting test reads them (an optional "[" then a number).
SORT_SCRIPT = """
const leadingNumber = /^\\s*\\[?\\s*(-?(?:\\d+\\.?\\d*|\\.\\d+)(?:e[-+]?\\d+)?)/i;
function sortKey(cell) {
  const found = leadingNumber.exec(cell.textContent);
  return found ? parseFloat(found[1]) : null;
}
function compareCells(a, b) {
  const x = sortKey(a), y = sortKey(b);
  if (x !== null && y !== null) return x - y;
  if (x !== null || y !== null) return x !== null ? -1 : 1;
  return a.textContent.localeCompare(b.textContent);
}
for (const table of document.querySelectorAll("table")) {
  const body = table.tBodies[0];
  if (!body) continue;
  table.querySelectorAll("thead th").forEach((header, column) => {
    header.title = "sort by this column";
    header.addEventListener("click", () => {
      const ascending = header.dataset.sorted !== "ascending";
      table.querySelectorAll("thead th").forEach(other => delete other.dataset.sorted);
      header.dataset.sorted = ascending ? "ascending" : "descending";
      const rows = Array.from(body.rows);
      rows.sort((a, b) => (ascending ? 1 : -1) * compareCells(a.cells[column], b.cells[column]));
      body.append(...rows);
    });
  });
}
"""

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
thead th { background: #eef2f7; cursor: pointer; user-select: none; white-space: nowrap; }
thead th[data-sorted=ascending]::after { content: " \\25B2"; }
thead th[data-sorted=descending]::after { content: " \\25BC"; }
tbody tr:nth-child(even) { background: #f8f8f8; }
pre { background: #f4f4f4; padding: 0.6em; white-space: pre-wrap; word-break: break-all; }
code { background: #f4f4f4; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
"""


def _rendered(markdown: str, plots: dict[str, Path]) -> str:
    """summary.md as HTML with raw HTML off; its plot images point at their PNG bytes as data URIs."""
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = renderer.parse(markdown)
    for token in tokens:
        for child in token.children or []:
            source = child.attrGet("src") if child.type == "image" else None
            if source in plots:
                encoded = base64.b64encode(plots[source].read_bytes()).decode("ascii")
                child.attrSet("src", f"data:image/png;base64,{encoded}")
    return renderer.renderer.render(tokens, renderer.options, {})


def _environment(meta: dict[str, Any] | None) -> str:
    """meta.json in full, one escaped row per entry (nested values as JSON)."""
    if meta is None:
        return ""
    rows = "".join(f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(_shown(value))}</td></tr>"
                   for key, value in meta.items())
    return ("<h2>Environment</h2>\n<p>The run's meta.json.</p>\n<table><thead><tr><th>entry</th><th>value</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>\n")


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def report_html(title: str, summary: str, meta: dict[str, Any] | None, plots: list[Path]) -> str:
    """The page for a run folder named `title`: its summary.md text rendered, the `plots` (PNG files that summary
    names by file name) embedded, and its meta.json."""
    script_hash = base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode()).digest()).decode("ascii")
    policy = f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'"
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n<link rel="icon" href="data:,">\n'
            f"<title>benchsuite report: {html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"{_rendered(summary, {plot.name: plot for plot in plots})}{_environment(meta)}"
            f"<script>{SORT_SCRIPT}</script>\n</body>\n</html>\n")
