"""Turn PDF, Markdown, text and HTML bytes into text with provenance (pages, headings)."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hybrid.config import IngestConfig
from hybrid.knowledge import tables

SUPPORTED = {
    ".pdf": "pdf",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
}

# The version of the text these parsers give a file; a folder sync re-reads every file of a
# collection built by another (2: tables' rows as lines, ``tables.py``).
PARSER = 2


class LoadError(ValueError):
    """A document that cannot be indexed; the message is the reason shown to the user."""


@dataclass(frozen=True)
class LoadedDocument:
    """One document's text. ``page_starts[i]`` is where page i+1 begins in ``text``;
    ``headings`` holds ``(offset, "Title > Section")`` pairs in order."""

    doc_id: str
    kind: str
    text: str
    content_hash: str
    size_bytes: int
    page_starts: tuple[int, ...] = ()
    headings: tuple[tuple[int, str], ...] = ()

    @property
    def n_pages(self) -> int | None:
        return len(self.page_starts) or None


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


MAX_ID_CHARS = 255  # a document id, folders included
MAX_ID_DEPTH = 8  # folders inside a collection


def check_doc_id(doc_id: str) -> str:
    """A document id is a relative POSIX path inside its collection, without ``..``, hidden
    parts, control or bidi characters (a right-to-left override shows "invoicetxt.md" for
    "invoice\u202edm.txt") or U+FFFD (invalid UTF-8: two names would collide on one id), at
    most 255 characters and 8 folders deep. Folder sync and upload apply the same rules.

    Example: ``check_doc_id("policies/returns.md")``; ``check_doc_id("a\x00.md")`` raises.
    """
    path = PurePosixPath(doc_id)
    if not doc_id or path.is_absolute() or ".." in path.parts or "\\" in doc_id:
        raise ValueError(f"document path {doc_id!r} must be relative, without '..' or '\\'")
    bad = [c for c in doc_id if unicodedata.category(c) in ("Cc", "Cf", "Cs") or c == "\ufffd"]
    if bad:
        raise ValueError(
            f"document path {doc_id!r} holds a control, bidi or invalid character "
            f"(U+{ord(bad[0]):04X}); names must be plain text"
        )
    if len(doc_id) > MAX_ID_CHARS:
        raise ValueError(f"document path is {len(doc_id)} characters; at most {MAX_ID_CHARS}")
    if len(path.parts) - 1 > MAX_ID_DEPTH:
        raise ValueError(
            f"document path is {len(path.parts) - 1} folders deep; at most {MAX_ID_DEPTH}"
        )
    if any(part.startswith(".") for part in path.parts):
        raise ValueError(f"document path {doc_id!r} is hidden (a part starts with '.')")
    return str(path)


def read_file(path: Path, config: IngestConfig) -> bytes:
    """Read a file after the checks that need no parsing (extension, size limit)."""
    if path.suffix.lower() not in SUPPORTED:
        raise LoadError(f"unsupported extension {path.suffix or '(none)'!r}")
    size = path.stat().st_size
    if size > config.max_file_mb * 1024 * 1024:
        raise LoadError(
            f"file is {size / 2**20:.1f} MB, over ingest.max_file_mb={config.max_file_mb}"
        )
    return path.read_bytes()


def load_bytes(data: bytes, doc_id: str, config: IngestConfig) -> LoadedDocument:
    """Parse document bytes; the parser is chosen by ``doc_id``'s extension.

    Example: ``load_bytes(b"# Title\\nText", "a.md", IngestConfig()).headings``
    """
    kind = SUPPORTED.get(PurePosixPath(doc_id).suffix.lower())
    if kind is None:
        raise LoadError(f"unsupported extension {PurePosixPath(doc_id).suffix or '(none)'!r}")
    if not data:
        raise LoadError("empty file (0 bytes)")
    if len(data) > config.max_file_mb * 1024 * 1024:
        raise LoadError(
            f"file is {len(data) / 2**20:.1f} MB, over ingest.max_file_mb={config.max_file_mb}"
        )
    digest = content_hash(data)
    if kind == "pdf":
        text, page_starts = _pdf_text(data, config)
        return LoadedDocument(doc_id, kind, text, digest, len(data), page_starts=page_starts)
    if kind == "html":
        text, headings = _html_text(data)
    else:
        text = tables.markdown(_decode(data))  # a pipe table's rows as lines (also in .txt)
        headings = _markdown_headings(text) if kind == "markdown" else ()
    if len(text) > config.max_chars:
        raise LoadError(
            f"{len(text):,} characters of text, over ingest.max_chars={config.max_chars:,}"
        )
    if not text.strip():
        raise LoadError("no text (only whitespace or markup)")
    return LoadedDocument(doc_id, kind, text, digest, len(data), headings=headings)


def _decode(data: bytes) -> str:
    if data.startswith(b"%PDF"):
        raise LoadError("content is a PDF but the name does not end in .pdf")
    if b"\x00" in data[:8192]:
        raise LoadError("binary content (NUL bytes) in a text document")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LoadError(
            f"not valid UTF-8 (byte {error.start}: {data[error.start : error.start + 1]!r})"
        ) from None


def _pdf_text(data: bytes, config: IngestConfig) -> tuple[str, tuple[int, ...]]:
    import time

    import pypdf

    max_pages, started = config.max_pdf_pages, time.perf_counter()

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise LoadError("not a PDF (no %PDF header)")
    # pypdf logs every recoverable oddity of real-world PDFs; the ones that matter raise.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF: a password is required")
        n_pages = len(reader.pages)
    except LoadError:
        raise
    except Exception as error:  # pypdf raises many exception types on broken files
        raise LoadError(f"corrupt PDF: {type(error).__name__}: {error}") from None
    if n_pages == 0:
        raise LoadError("PDF has no pages")
    if n_pages > max_pages:
        raise LoadError(f"PDF has {n_pages} pages, over ingest.max_pdf_pages={max_pages}")
    parts: list[str] = []
    starts: list[int] = []
    offset = 0
    for number, page in enumerate(reader.pages, start=1):
        try:
            # NBSP -> space keeps offsets (1:1) and makes snippets and BM25 terms clean.
            page_text = (page.extract_text() or "").replace("\xa0", " ").strip()
        except Exception as error:  # one broken page should not lose the document
            raise LoadError(
                f"corrupt PDF: page {number}: {type(error).__name__}: {error}"
            ) from None
        starts.append(offset)
        parts.append(page_text)
        offset += len(page_text) + 2  # the "\n\n" page separator
        if offset > config.max_chars:
            raise LoadError(
                f"over ingest.max_chars={config.max_chars:,} characters of text by page {number}"
            )
        if time.perf_counter() - started > config.max_seconds:
            raise LoadError(
                f"text extraction passed ingest.max_seconds={config.max_seconds:g} at page {number}"
            )
    text = "\n\n".join(parts)
    if not text.strip():
        raise LoadError(f"no extractable text in {n_pages} page(s): image-only PDF? (no OCR)")
    return text, tuple(starts)


_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def _heading_path(stack: list[tuple[int, str]], level: int, title: str) -> str:
    while stack and stack[-1][0] >= level:
        stack.pop()
    stack.append((level, title))
    return " > ".join(t for _, t in stack)


def _markdown_headings(text: str) -> tuple[tuple[int, str], ...]:
    fenced = [(m.start(), m.end()) for m in _FENCE.finditer(text)]
    stack: list[tuple[int, str]] = []
    found = []
    for match in _HEADING.finditer(text):
        if any(a <= match.start() < b for a, b in fenced):
            continue  # "# comment" inside a code block is not a heading
        found.append((match.start(), _heading_path(stack, len(match.group(1)), match.group(2))))
    return tuple(found)


_INVISIBLE = {"script", "style", "noscript", "template", "head", "svg", "iframe"}
_BLOCKS = {
    "p",
    "div",
    "li",
    "tr",
    "td",
    "th",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "main",
    "aside",
    "table",
    "ul",
    "ol",
    "pre",
    "blockquote",
    "dt",
    "dd",
    "figcaption",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "br",
    "hr",
    "form",
    "address",
}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


def _html_text(data: bytes) -> tuple[str, tuple[tuple[int, str], ...]]:
    from bs4 import BeautifulSoup, Comment, Doctype

    soup = BeautifulSoup(data, "html.parser")  # decodes with the declared or sniffed charset
    for table in soup.find_all("table"):
        lines = tables.html_rows(table)  # None: page layout, read as it is
        if lines is not None:
            rows = soup.new_tag("div")
            for line in lines:
                paragraph = soup.new_tag("p")
                paragraph.string = line
                rows.append(paragraph)
            table.replace_with(rows)
    text = ""
    headings: list[tuple[int, str]] = []
    stack: list[tuple[int, str]] = []
    last_block = last_heading = None
    for string in soup.find_all(string=True):
        if isinstance(string, (Comment, Doctype)):
            continue
        parents = list(string.parents)
        if any(p.name in _INVISIBLE for p in parents):
            continue
        words = " ".join(string.split())
        if not words:
            continue
        block = next((p for p in parents if p.name in _BLOCKS), None)
        if text:
            text += "\n\n" if block is not last_block else " "
        heading = next((p for p in parents if p.name in _HEADINGS), None)
        if heading is not None and heading is not last_heading:
            title = heading.get_text(" ", strip=True)
            headings.append((len(text), _heading_path(stack, _HEADINGS[heading.name], title)))
            last_heading = heading
        text += words
        last_block = block
    return text, tuple(headings)
