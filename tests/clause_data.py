"""Hand-made clause texts and contract PDFs for the clause tests: three types plus texts of no
type, each text in its own contract, and PDFs written by matplotlib (real, extractable text)."""

from __future__ import annotations

import csv
import io

from hybrid.config import CUAD_TYPES
from hybrid.datasets.cuad import ClauseText

STATES = ["Delaware", "New York", "Texas", "Ontario", "California", "Nevada", "Ohio", "Florida"]
PARTIES = ["the Supplier", "the Distributor", "the Licensee", "the Company", "the Reseller"]
TYPES = ["Governing Law", "Anti-Assignment", "Audit Rights"]


def texts() -> list[ClauseText]:
    out: list[tuple[str, set[str]]] = []
    for i, state in enumerate(STATES):
        party = PARTIES[i % len(PARTIES)].capitalize()
        law = (
            "This Agreement shall be governed by and construed in accordance with the laws of "
            f"the State of {state}, without regard to its conflict of laws rules."
        )
        assign = (
            f"{party} may not assign or transfer this Agreement or any of its rights hereunder "
            "without the prior written consent of the other party."
        )
        audit = (
            f"{party} shall keep complete books and records, and the other party may audit and "
            f"inspect them upon {i + 10} days written notice."
        )
        out += [(law, {"Governing Law"}), (assign, {"Anti-Assignment"}), (audit, {"Audit Rights"})]
        out.append(
            (f"{party} shall deliver the products within {i + 3} days of each order.", set())
        )
        out.append(
            (f"Invoices are payable within {30 + i} days; late payments bear interest.", set())
        )
    return [ClauseText(f"contract-{n}.pdf", t, frozenset(c)) for n, (t, c) in enumerate(out)]


def pdf(pages: list[str]) -> bytes:
    """A PDF with one text block per page (TrueType fonts: pypdf extracts the text)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    buffer = io.BytesIO()
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(buffer) as document:
        for text in pages:
            figure = plt.figure(figsize=(8.5, 11))
            figure.text(0.08, 0.92, text, va="top", fontsize=9, wrap=False)
            document.savefig(figure)
            plt.close(figure)
    return buffer.getvalue()


CONTRACT = [
    "SUPPLY AGREEMENT\n"
    "The Supplier shall deliver the products within 5 days of each purchase order.\n"
    "This Agreement shall be governed by and construed in accordance with the laws of\n"
    "the State of Vermont, without regard to its conflict of laws rules.",
    "Invoices are payable within 45 days; late payments bear interest at one percent.\n"
    "The Distributor may not assign or transfer this Agreement or any of its rights\n"
    "hereunder without the prior written consent of the other party.",
]


def tiny_model(folder, embedder):
    """The clause model trained on ``texts()`` (seconds), saved in ``folder``."""
    from hybrid.behaviour.clauses import train_clause_model

    data = texts()
    model = train_clause_model(data[::2] + data[1::4], data[3::4], TYPES, embedder, False)
    model.save(folder)
    return model


def write_cuad(path, rows: tuple[dict[str, str], ...] = ()):
    """A CUAD-shaped master clauses CSV: each of ``texts()`` in two contracts of its own (enough
    to split by contract; a text of no type under another CUAD category), then ``rows``."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["Filename", *CUAD_TYPES])
        writer.writeheader()
        for n, clause in enumerate(texts() * 2):
            column = next(iter(clause.types), "Insurance")
            writer.writerow({c: "[]" for c in CUAD_TYPES} | {
                "Filename": f"c{n}.pdf", column: repr([clause.text])})  # fmt: skip
        writer.writerows({c: "[]" for c in CUAD_TYPES} | row for row in rows)
    return path
