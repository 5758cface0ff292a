"""Drafts as numbered points with footnotes: each point's sources, quoted on their own page."""

from __future__ import annotations

from hybrid.answer.citations import parse
from hybrid.answer.claims import SEVERITY
from hybrid.answer.router import Answer


def footnoted(answer: Answer) -> tuple[str, list[dict], list[dict]]:
    """Number the draft's sentences as points and turn chunk numbers [n] into footnotes [^1],
    [^2]... numbered by first use; sentences the verifier attributed get their footnote too.
    Each footnote quotes the source sentence that supports the point, on its own page.

    Example: ``"Fees are due monthly [3]."`` -> ``"1. Fees are due monthly[^1]"`` + footnote 1.
    """
    by_chunk = {c["n"]: c for c in answer.citations}
    order: dict[int, int] = {}
    points = []
    for sentence in parse(answer.text, max(by_chunk, default=0)).sentences:
        chunks = [n for n in sentence.cited if n in by_chunk]
        checks = [
            (c["n"], x)
            for c in answer.citations
            for x in c["sentences"]
            if x["text"] == sentence.text
        ]
        chunks += [n for n, _ in checks if n not in chunks]  # attributed by the verifier
        marks = [order.setdefault(n, len(order) + 1) for n in chunks]
        labels = [x["label"] for _, x in checks]
        points.append(
            {
                "n": len(points) + 1,
                "text": sentence.text,
                "label": max(labels, key=SEVERITY.index) if labels else None,
                "footnotes": marks,
            }
        )
    text = "\n".join(
        f"{p['n']}. {p['text']}" + "".join(f"[^{m}]" for m in p["footnotes"]) for p in points
    )
    footnotes = []
    for n, m in sorted(order.items(), key=lambda item: item[1]):
        c = by_chunk[n]
        support = next((x["evidence"] for x in c["sentences"] if x["evidence"]), None)
        page = support["page"] if support else c["page"]
        where = f", page {page}" if page is not None else ""
        footnotes.append(
            {
                "n": m,
                "label": f"[^{m}]: {c['document']}{where}",
                "document": c["document"],
                "collection": c["collection"],
                "page": page,
                "pages": c["pages"],
                "snippet": support["snippet"] if support else c["snippet"],
                "verified": c["verified"],
                "origin": c["origin"],
            }
        )
    return text, footnotes, points
