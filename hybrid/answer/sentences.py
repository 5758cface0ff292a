"""Sentences of a chunk: where they end, which lines are titles, headings or cut fragments,
and which sentence points back at the one before it.

Each sentence stays a ``SearchResult`` of its chunk (same ``chunk_id``, document, pages,
heading) with its own text and character offsets, so a citation still points at a real chunk
and page. ``evidence`` ranks them; verification aligns answers to them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

from hybrid.knowledge.search import SearchResult

# A sentence ends at ". " / "! " / "? " before an upper-case letter, digit, quote or bracket, or at
# a line break; "5.95", "e.g. 5 days" and "section 3.2" stay whole.
_NOT_AN_END = "".join(f"(?<!{re.escape(a)})" for a in ("e.g.", "i.e.", "No.", "vs.", "Inc.", "Co."))
_END = re.compile(_NOT_AN_END + r"(?<=[.!?;])[\"')\]]?\s+(?=[A-Z0-9\"'(\[])|\s*\n\s*")
_BULLET = re.compile(r"^(?:[-*\u2022]|\d{1,2}[.)]|\(?[a-z]\))\s+")
_NUMBERED = re.compile(r"^\d{1,2}[.)]\s+")  # "8. Extended Care": a numbered section or item
MIN_WORDS = 4  # shorter lines are headings, labels or page furniture, not evidence
MAX_CHARS = 600  # a run-on clause (contracts) is cut at a word boundary
# A plain-text heading: a rule ("-----", "=====") or a line in capitals ("ARRIVAL AND DEPARTURE").
_RULE = re.compile(r"^\s*[-=_*~#+]{3,}\s*$")
_CAPS = re.compile(r"^[^a-z]*[A-Z]{2}[^a-z]*$")
# Starts in lower case, past any brackets, quotes and figures in brackets ("(*****%) of").
_CLOSING = ".!?:;\"')\u201d"  # what a sentence, or a quoted or bracketed one, ends with
_FRAGMENT = re.compile(r"^(?:[(\[][^)\]]*[)\]]\s*|[\"'\u2018\u201c]\s*)*[a-z]")
# A sentence that opens with a pronoun or a demonstrative points back at the one before it:
# "This is called the excess." (after "You pay the first $99 of each claim."), "It is taken
# from your refund.", "After that, each replacement card costs EUR 7.". "This Agreement",
# "That Section": a defined term, not a pointer.
_ANAPHOR = re.compile(
    r"^(?:It|Its|They|Their|These|Those|Such|(?:This|That)(?!\s+[A-Z])"
    r"|(?:After|Before|Beyond|Besides|Apart\s+from|Except\s+for|Other\s+than|Instead\s+of"
    r"|In|For|Under|Within|During|Until|Unlike|On\s+top\s+of)\s+(?:that|this|these|those|it|them)"
    r"|Otherwise|If\s+so|If\s+not)\b"
)


class Piece(NamedTuple):
    """A sentence of a chunk, the section title it is scored and shown with, and, where it
    took in the sentence after it that points back ("It costs $29."), its first sentence."""

    sentence: SearchResult
    title: str
    first: str = ""


def split(chunk: SearchResult) -> list[SearchResult]:
    """The chunk's sentences, each a ``SearchResult`` of the same chunk with its own offsets.

    Example: ``[s.text for s in split(hit)] == ["Returns are free.", "Refunds take 5 days."]``
    """
    return [piece.sentence for piece in pieces(chunk)]


def pieces(chunk: SearchResult, anaphora: bool = False) -> list[Piece]:
    """``split``'s sentences, each with the title of its PDF or text section where it is the
    section's first sentence ("" elsewhere). The sentence (its text, offsets and quote) no
    longer starts with the title, but it is scored and shown to the answerer with it: "Extended
    Care Extended Care adds 3 years ...", as when lines joined them. Shown alone, the sentence
    lost the answerer the title's words ("Phones on instalments"): KB held-out fact match 0.855
    -> 0.826, and 0.812 retrained on such prompts (docs/answers.md, "Section titles").

    With ``anaphora``, a sentence that opens with a pronoun or a demonstrative ("This is called
    the excess.") is one piece with the sentence before it in its paragraph ("You pay the first
    $99 of each claim. This is called the excess."): alone, it answers "What is the excess?"
    without the figure (``_ANAPHOR``)."""
    out: list[Piece] = []
    kept = -1  # where the last piece kept starts in ``text`` (-1: the last piece was dropped)
    title = ""  # the section title(s) just above the next sentence, when a line joined them
    start = 0
    text = _unwrap(chunk.text)  # same length: offsets still index the chunk
    ending = len(text.rstrip())  # where the chunk's last piece ends
    for match in [*_END.finditer(text), None]:
        end = match.start() if match else len(text)
        if match and match.group(0)[:1] in "\"')]":
            end += 1  # the closing quote or bracket belongs to the sentence
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        bullet = _BULLET.match(piece[lead:])
        lead += bullet.end() if bullet else 0
        body = piece[lead:].rstrip()
        unended = body[-1:] not in _CLOSING and not bullet  # a list item may go unpunctuated
        if len(body) > MAX_CHARS:
            space = body.rfind(" ", 0, MAX_CHARS)
            body = body[: space if space > 0 else MAX_CHARS]
        # A chunk cut mid-sentence starts with a fragment ("must be arranged with reception",
        # "(15%) of the receipts"); the overlapping chunk before it holds the whole sentence.
        # So does the chunk after it for a cut end ("... for $20. Arrivals after 9 pm").
        last = (match.end() if match else len(text)) >= ending
        fragment = (start == 0 and _FRAGMENT.match(body) is not None) or (
            unended and last and start > 0
        )
        section = False
        if match and "\n" in match.group(0):  # a piece that ends its line may be a title
            # The whole line, as "8. Extended Care" (the pieces split after "8." too), and the
            # next 3 lines (a window: the rest of a long chunk is not copied per piece).
            line = text[text.rfind("\n", 0, start) + 1 : end]
            following = text[match.end() : match.end() + 3 * MAX_CHARS].split("\n", 3)[:3]
            section = _section_title(line, following)
        if section:
            # Only where _unwrap used to join the title to the next line, as scored before.
            joined = match.group(0).count("\n") == 1 and not _heading(line)
            item = bool(_BULLET.match(following[0].strip())) or _heading(following[0])
            glued = _NUMBERED.sub("", line.strip(), count=1)
            title = f"{title} {glued}".strip() if joined and not item else ""
            kept = -1
        elif (
            len(body.split()) >= MIN_WORDS
            and not body.startswith("#")
            and not _title(body)
            and not fragment
        ):
            offset = chunk.char_start + start + lead
            sentence = replace(chunk, text=body, char_start=offset, char_end=offset + len(body))
            if anaphora and _points_back(text, kept, start, body, bullet is not None):
                before = out[-1]
                whole = " ".join(text[kept : start + lead + len(body)].split())
                joined_to = replace(before.sentence, text=whole, char_end=offset + len(body))
                out[-1] = Piece(joined_to, before.title, before.first or before.sentence.text)
            else:
                out.append(Piece(sentence, title))
                kept = start + lead
            title = ""
        else:
            title = ""
            kept = -1
        start = match.end() if match else len(text)
    return out


def following(
    chunk: SearchResult, sentence: SearchResult, anaphora: bool = False
) -> SearchResult | None:
    """``sentence`` (a piece of ``chunk``, ``pieces`` with ``anaphora``) and the piece after it
    in its paragraph, as one sentence (offsets spanning both; line breaks read as spaces, so the
    text keeps the span's length); None where the paragraph (a blank line), the section (a
    heading, a title, a label line) or the chunk ends with it, where a list item follows, or
    where the two run past ``MAX_CHARS``.

    Example: in "Check-in closes at 9. Late arrivals pay $15.\n\nPets travel free.", the first
    sentence -> "Check-in closes at 9. Late arrivals pay $15."
    """
    found = pieces(chunk, anaphora)
    starts = [p.sentence.char_start for p in found]
    at = starts.index(sentence.char_start) if sentence.char_start in starts else None
    if at is None or at + 1 == len(found) or found[at + 1].title:
        return None  # not a piece of this chunk, its last, or the next opens a section
    after = found[at + 1].sentence
    start, end = sentence.char_start - chunk.char_start, after.char_end - chunk.char_start
    gap = chunk.text[sentence.char_end - chunk.char_start : after.char_start - chunk.char_start]
    # Only whitespace between them, and no blank line ("\r\n\r\n", "\n  \n"): a heading, a
    # label or a list item's bullet between them is text of its own.
    if gap.strip() or _BLANK_LINE.search(gap) or end - start > MAX_CHARS:
        return None
    return replace(
        sentence, text=re.sub(r"\s", " ", chunk.text[start:end]), char_end=after.char_end
    )


_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")


def _points_back(text: str, kept: int, start: int, body: str, bullet: bool) -> bool:
    """Whether the sentence ``body`` (at ``start`` in ``text``) points back at the piece kept
    just before it (at ``kept``): it opens with a pronoun or a demonstrative, is no list item,
    and follows in the same paragraph (a wrapped line, not a blank one), the two within
    ``MAX_CHARS``."""
    if kept < 0 or bullet or not _ANAPHOR.match(body):
        return False
    gap = text[kept:start]
    return "\n\n" not in gap and len(gap) + len(body) <= MAX_CHARS


def without_titles(answer: str, shown: Sequence[tuple[str, str]]) -> str:
    """``answer`` without the section titles the prompt showed before sentences it quotes, as
    written or nearly ("Plan Orbit 10 costs" under the title "Plans").

    ``shown``: (title, sentence) per source. Example: ``without_titles("Extended Care Extended
    Care adds 3 years. [1]", [("Extended Care", "Extended Care adds 3 years.")])`` ->
    ``"Extended Care adds 3 years. [1]"``
    """
    for title, sentence in shown:
        if not title:
            continue
        opening = re.escape(" ".join(sentence.split()[:4]))  # the sentence's first words
        # As many words as the title, opening a sentence of the answer, before the quote.
        before = rf"(?:^|(?<=[.!?\]]\s))((?:\S+\s+){{{len(title.split())}}})(?={opening})"
        stems = _stems(title)
        answer = re.sub(before, lambda m, t=stems: "" if _stems(m[1]) == t else m[1], answer)
    return answer


def _stems(text: str) -> list[str]:
    return [w.lower().rstrip("s") for w in re.findall(r"[A-Za-z0-9]+", text)]


def _title(text: str) -> bool:
    """A title or heading, not a statement: no closing punctuation, no figure, and most words
    capitalised ("Nimbus Notes Privacy Policy", "Cinderbox Backup - Service Level Agreement").
    It names the document, so it matches every question that does, and says nothing."""
    if text.rstrip()[-1:] in ".!?:;\"'" or any(ch.isdigit() for ch in text):
        return False
    words = [w for w in text.split() if w[:1].isalpha()]
    short = 0 < len(words) <= 10  # longer: a clause in capitals, or a list item
    return short and sum(w[0].isupper() for w in words) >= 0.6 * len(words)


def _heading(line: str) -> bool:
    """A Markdown heading, a rule or a short line in capitals: it stands alone, never joined.
    (A long line in capitals is a clause: contracts shout their liability limits.)"""
    stripped = line.strip()
    caps = _CAPS.match(stripped) and len(stripped.split()) <= 8 and stripped[-1] not in ".,;:!?"
    return stripped.startswith("#") or bool(_RULE.match(line)) or bool(caps)


def _section_title(line: str, following: Sequence[str]) -> bool:
    """A section title of a PDF or text file ("Late and missed payments", "8. Extended Care"):
    a short line without closing punctuation or a figure, followed by a paragraph (the next
    few ``following`` lines, up to a sentence end) that starts in capitals. Joined to it, the
    title would open its first sentence ("Extended Care Extended Care adds 3 years...") and
    the answer that quotes it; alone, it says nothing. A document's title in title case may
    be longer. A list item ("- Damage caused by limescale") and a priced label ("Basic Tune -
    $65") are not titles; neither is a line before another short line (an HTML list), but
    one before a bulleted list is."""
    stripped = line.strip()
    if _BULLET.match(stripped) and not _NUMBERED.match(stripped):
        return False  # "- Damage caused by limescale": a list item
    body = _NUMBERED.sub("", stripped, count=1)
    words = body.split()
    short = 0 < len(words) <= 6 and body[-1] not in _CLOSING + ",-"
    if not (short or _title(body)) or any(c.isdigit() for c in body):
        return False
    first = following[0].strip() if following else ""
    if _BULLET.match(first):  # the title of a list ("What is not covered"), not an item of one
        return not _NUMBERED.match(stripped)
    lines: list[str] = []
    for nxt in following[:3]:  # a wrapped paragraph: its first sentence ends within 3 lines
        if not nxt.strip():
            break
        lines.append(nxt.strip())
        if nxt.rstrip()[-1:] in ".!?:":
            break
    nxt = " ".join(lines)
    prose = nxt[-1:] in ".!?:" or len(nxt.split()) >= 10  # a paragraph, not the next list item
    return nxt[:1].isupper() and prose and len(nxt.split()) > len(words)


def _unwrap(text: str) -> str:
    """Join hard-wrapped lines (text files, PDF lines): a line break is a space unless the line
    ends a sentence or is a heading, or the next one starts a list item or a heading. The
    length is unchanged, so offsets still hold."""
    lines = text.split("\n")
    joined = [lines[0]]
    for i, line in enumerate(lines[1:], start=1):
        previous = joined[-1]
        heading = _heading(previous) or not previous.strip()
        ends = previous.rstrip()[-1:] in ".!?:;" if previous.strip() else True
        starts_item = bool(_BULLET.match(line.lstrip())) or _heading(line)
        # A section title is tested last: only a line that would otherwise be joined.
        if (
            heading
            or ends
            or starts_item
            or not line.strip()
            or _section_title(previous, lines[i : i + 3])
        ):
            joined.append(line)
        else:
            joined[-1] = previous + " " + line
    return "\n".join(joined)
