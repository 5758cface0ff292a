"""Tables as sentences: each row of a Markdown or HTML table becomes one line that names its
columns, so a row found alone (by search, or as an evidence sentence) still says what its
figures are.

A price list loses its meaning cell by cell: HTML's cells became paragraphs of their own
("Annual", "$240 per year", "once a year") and a Markdown row ("| Velloway Plus | $14.99 |
free |") says neither what $14.99 is nor that "Velloway Plus" is a plan. As a line, "Plan:
Annual, Price: $240 per year, Billed: once a year." answers "How much is the annual plan?"
and is a sentence the answerer can quote. The header row goes: its words are in every row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import zip_longest
from typing import Any


def row_sentence(header: Sequence[str], cells: Sequence[str]) -> str:
    """One table row as a line: "Column: value" for each non-empty cell, in order.

    Example: ``row_sentence(["Plan", "Price"], ["Annual", "$240 per year"])`` ->
    ``"Plan: Annual, Price: $240 per year."``; without a header the cells are listed.
    """
    parts = []
    for name, cell in zip_longest(header, cells, fillvalue=""):
        value = " ".join(cell.split()).rstrip(".")
        if value:
            name = " ".join(name.split()).rstrip(":")
            parts.append(f"{name}: {value}" if name else value)
    return f"{', '.join(parts)}." if parts else ""


def markdown(text: str) -> str:
    """``text`` with each pipe table (GitHub-flavoured, as markdown-it-py's table rule finds
    them: not in code) rewritten as one line per body row.

    Example: ``markdown("| Day | Hours |\\n|---|---|\\n| Sat | 9-13 |\\n")`` ->
    ``"Day: Sat, Hours: 9-13.\\n"``
    """
    if "|" not in text:
        return text
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    found: list[tuple[list[int], list[list[str]]]] = []  # (line range, rows: header first)
    for i, token in enumerate(tokens):
        if token.type == "table_open" and token.map is not None:
            found.append((token.map, []))
        elif token.type == "tr_open" and found:
            found[-1][1].append([])
        elif token.type in ("th_open", "td_open") and found:
            found[-1][1][-1].append(tokens[i + 1].content)  # the cell's inline token
    if not found:
        return text
    lines = re.split(r"\r\n?|\n", text)  # as markdown-it counts lines
    out: list[str] = []
    done = 0
    for (start, end), (header, *body) in found:
        out += lines[done:start]
        out += [line for line in (row_sentence(header, cells) for cells in body) if line]
        done = end
    return "\n".join(out + lines[done:])


# What makes a table page layout rather than data: prose or structure in its cells.
_LAYOUT_TAGS = ["table", "p", "div", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"]
MAX_CELL_WORDS = 60


def html_rows(table: Any) -> list[str] | None:
    """A BeautifulSoup ``<table>``'s caption and rows as lines (``row_sentence``); the header
    is its first row when that row is all ``<th>`` or inside ``<thead>`` (and others follow).
    None for a table that lays out a page (tables, paragraphs or lists inside, a cell of over
    ``MAX_CELL_WORDS`` words, or one column): its text stays as it was, paragraph by paragraph.

    Example: for ``<table><tr><th>Plan</th><th>Price</th></tr><tr><td>Annual</td><td>$240
    </td></tr></table>`` -> ``["Plan: Annual, Price: $240."]``
    """
    if table.find(_LAYOUT_TAGS) is not None:
        return None
    rows = []
    for row in table.find_all("tr"):
        cells = []
        for cell in row.find_all(["th", "td"]):
            text = cell.get_text(" ", strip=True)
            span = str(cell.get("colspan", "1"))
            # A cell spanning columns stands under each of their headers.
            cells += [text] * (min(int(span), 50) if span.isdigit() and int(span) > 0 else 1)
        if any(cells):
            rows.append((row, cells))
    words = [len(cell.split()) for _, cells in rows for cell in cells]
    if not rows or max(len(cells) for _, cells in rows) < 2 or max(words) > MAX_CELL_WORDS:
        return None
    lines = []
    caption = table.find("caption")
    if caption is not None and caption.get_text(strip=True):
        lines.append(" ".join(caption.get_text(" ").split()))
    header: list[str] = []
    if len(rows) > 1:  # a header row alone is listed as a row
        first, cells = rows[0]
        if first.find_parent("thead") is not None or not first.find_all("td"):
            header, rows = cells, rows[1:]
    lines += [row_sentence(header, cells) for _, cells in rows]
    return [line for line in lines if line]
