"""Amend a checked answer from its own evidence: add the sentence the ranking could not tell
from the one quoted (``tied``), or put back the source sentence a copy slipped a word of
(``mended``). ``Finisher.finish`` calls both, where the route turns them on.
"""

from __future__ import annotations

from dataclasses import replace

from hybrid.answer import citations, claims, conditions, expected
from hybrid.answer.types import Composition


def tied(comp: Composition, checks: list[citations.Check], margin: float) -> int | None:
    """The other of sentences [1] and [2] when the answer cites only one of them, verified, and
    the ranking hardly tells them apart (``verify.tie_margin``): both from one document, both
    stating a value of the kind asked, scores within ``margin``, and no figure the asker states
    falls in the cited one's bounds and not the other's. None otherwise.

    Example: for "What does Quillhouse charge for Standard Post?", the answer "Standard Post is
    free on orders over $35. [1]" beside [2] "Standard Post ... costs $3.50." (scores 1.08 and
    1.03) -> 2.
    """
    kind = expected.asks_for(comp.question)
    cited = {c.n for c in checks if c.n}
    if kind is None or len(comp.sources) < 2 or len(cited) != 1 or not cited <= {1, 2}:
        return None
    if not all(c.verified for c in checks):
        return None
    one, two = (s.chunk for s in comp.sources[:2])
    if one.doc_id != two.doc_id or abs(one.score - two.score) > margin:
        return None
    if not (expected.states(kind, one.text) and expected.states(kind, two.text)):
        return None
    n = cited.pop()
    other = 3 - n
    said, unsaid = (one.text, two.text) if n == 1 else (two.text, one.text)
    if conditions.holds_instead(comp.question, said, unsaid):
        return None  # the asker's figure tells them apart: the 8.5 m boat's band, not the 12 m
    # A sentence that says it already, left uncited (verify.attribute_uncited off), is enough.
    return None if any(c.aligned == other for c in checks) else other


def mended(
    parsed: citations.Parsed, checks: list[citations.Check], ratio: float, n_sources: int
) -> citations.Parsed | None:
    """``parsed`` with each sentence that copies the source sentence it aligns to but for a
    slip (``claims.copy_ratio`` at least ``ratio``) and verifies against no source replaced by
    that source sentence, citing it; None when no sentence is such a copy.

    Example: "Daily rate: £79, Weekly rate: £379. [1]" where [1] says "Daily rate: £79, Weekly
    rate: £469." -> "Daily rate: £79, Weekly rate: £469. [1]"
    """
    backed = {c.sentence for c in checks if c.verified}
    copies: dict[str, tuple[str, int]] = {}
    for c in checks:
        if c.sentence in backed or c.evidence is None or not c.aligned or c.sentence in copies:
            continue
        if claims.copy_ratio(c.sentence, c.evidence.text) >= ratio:
            copies[c.sentence] = (c.evidence.text, c.aligned)
    if not copies:
        return None
    out = []
    for s in parsed.sentences:
        text, n = copies.get(s.text, (s.text, 0))
        out.append(citations.render(citations.Sentence(text, (n,) if n else s.cited)))
    return replace(citations.parse(" ".join(out), n_sources), removed=parsed.removed)
