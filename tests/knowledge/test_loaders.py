import io
from pathlib import Path

import pypdf
import pytest

from hybrid.config import IngestConfig
from hybrid.knowledge.loaders import LoadError, check_doc_id, load_bytes, read_file
from tests.conftest import CONTRACTS, THREE_DOCS, require_shared

CFG = IngestConfig()
HER = "HerImports_20161018_8-KA_EX-10.14_9765707_EX-10.14_Maintenance Agreement.pdf"


def _pdf(pages: int = 1, encrypt: str | None = None, source: bytes | None = None) -> bytes:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(source)) if source else pypdf.PdfWriter()
    for _ in range(pages if source is None else 0):
        writer.add_blank_page(612, 792)
    if encrypt is not None:
        writer.encrypt(user_password=encrypt, owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_markdown_heading_paths():
    doc = load_bytes(THREE_DOCS["refunds.md"].encode(), "refunds.md", CFG)
    assert [h for _, h in doc.headings] == ["Refunds", "Refunds > Sale items"]
    offset = dict((h, o) for o, h in doc.headings)["Refunds > Sale items"]
    assert doc.text[offset:].startswith("## Sale items")


def test_markdown_ignores_hash_lines_in_code_fences():
    text = "# Top\n\n```bash\n# not a heading\n```\n\n## Real\n"
    doc = load_bytes(text.encode(), "a.md", CFG)
    assert [h for _, h in doc.headings] == ["Top", "Top > Real"]


def test_html_visible_text_and_headings():
    doc = load_bytes(THREE_DOCS["privacy.html"].encode(), "p.html", CFG)
    assert "secret-script" not in doc.text and "Privacy notice" in doc.text
    assert "We keep order records for 6 years." in doc.text
    assert [h for _, h in doc.headings] == ["Privacy notice", "Privacy notice > Cookies"]


def test_text_document_and_hash_is_stable():
    a = load_bytes(b"hello world", "a.txt", CFG)
    b = load_bytes(b"hello world", "b/c.txt", CFG)
    assert a.text == "hello world" and a.content_hash == b.content_hash and a.kind == "text"


def test_real_pdf_pages_and_known_phrase():
    path = require_shared(CONTRACTS / HER)
    data = path.read_bytes()
    doc = load_bytes(data, HER, CFG)
    assert doc.n_pages == len(pypdf.PdfReader(io.BytesIO(data)).pages) == 6
    at = doc.text.index("4. GOVERNING LAW")
    page = sum(1 for start in doc.page_starts if start <= at)
    assert page == 3


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        (
            "corrupt.pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage\x00\xff" * 3,
            "corrupt PDF",
        ),
        ("notpdf.pdf", b"PK\x03\x04 this is a zip", "not a PDF"),
        ("blank.pdf", _pdf(pages=2), "no extractable text"),
        ("nopages.pdf", _pdf(pages=0), "no pages"),
        ("locked.pdf", _pdf(pages=1, encrypt="secret"), "encrypted"),
        ("latin1.txt", "café".encode("latin-1"), "not valid UTF-8"),
        ("empty.md", b"", "empty file"),
        ("blank.txt", b"   \n\n  ", "no text"),
        ("binary.txt", b"abc\x00def", "binary"),
        ("pdf-named.txt", b"%PDF-1.4 ...", "content is a PDF"),
        ("report.docx", b"PK\x03\x04", "unsupported extension '.docx'"),
    ],
)
def test_bad_input_is_a_load_error_with_reason(name: str, data: bytes, reason: str):
    with pytest.raises(LoadError, match=reason):
        load_bytes(data, name, CFG)


def test_encrypted_pdf_with_empty_user_password_opens():
    path = require_shared(CONTRACTS / HER)
    doc = load_bytes(_pdf(encrypt="", source=path.read_bytes()), "open.pdf", CFG)
    assert "GOVERNING LAW" in doc.text


def test_size_and_page_limits(tmp_path: Path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"a " * 600_000)
    with pytest.raises(LoadError, match="max_file_mb"):
        read_file(big, IngestConfig(max_file_mb=1))
    with pytest.raises(LoadError, match="max_pdf_pages=1"):
        load_bytes(_pdf(pages=2), "two.pdf", IngestConfig(max_pdf_pages=1))


@pytest.mark.parametrize("bad", ["../x.md", "/etc/passwd", "a/../../b.md", "", "a\\b.md"])
def test_doc_ids_must_stay_inside_the_collection(bad: str):
    with pytest.raises(ValueError):
        check_doc_id(bad)


@pytest.mark.parametrize(
    ("bad", "rule"),
    [
        ("evil\x00.md", "control"),
        ("invoice\u202edm.txt", "bidi"),  # shows as "invoicetxt.md"
        ("caf\ufffd.md", "invalid"),  # invalid UTF-8, decoded
        ("x" * 300 + ".md", "at most 255"),
        ("/".join(["d"] * 12) + "/x.md", "folders deep"),
        (".hidden.md", "hidden"),
        ("docs/.git/x.md", "hidden"),
    ],
)
def test_doc_ids_are_plain_bounded_visible_names(bad: str, rule: str):
    with pytest.raises(ValueError, match=rule):
        check_doc_id(bad)
    assert (
        check_doc_id("policies/2026/returns policy (v2).md")
        == "policies/2026/returns policy (v2).md"
    )


def test_folder_sync_reports_badly_named_files(tmp_path, embedder):
    from hybrid.knowledge.sync import sync_folder
    from tests.conftest import make_config

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\n\nReturns are free within 30 days.")
    (folder / "bad\u202etxt.md").write_text("# Bad\n\nA hidden direction change.")
    report = sync_folder("names", folder, make_config(tmp_path).knowledge, embedder)
    assert report.added == ["good.md"]
    assert "bidi" in report.failed["bad\u202etxt.md"]
