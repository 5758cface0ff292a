"""Which documents a text names: by file name, or by the parties only one document holds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from hybrid.knowledge.lexical import tokenize
from hybrid.knowledge.search import Retriever

_SUFFIX = re.compile(r"(?:inc|corp|corporation|llc|ltd|plc|co|company|holdings|group|sa|ag|gmbh)$")


# Proper names: capitalised words in a row ("Leader Act Ltd", "EZJR", "Fox Mobile").
_PROPER = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][\w&'.-]*(?:\s+[A-Z][\w&'.-]*)*")
_NOT_NAMES = frozenset("I The A An Which What Who Where When How Summarise Summarize".split())
# A name in more chunks than this is everywhere (a company's on all its pages): it names none.
MAX_NAME_CHUNKS = 200


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _names_of(doc_id: str) -> set[str]:
    stem = Path(doc_id).stem
    names = {_alnum(stem), _alnum(re.split(r"[_,]", stem)[0])}
    return names | {_SUFFIX.sub("", n) for n in names}


def words_of(doc_id: str) -> set[str]:
    """The words of a document's file name, lower case: ``{"quillhouse", "returns"}``."""
    return {_alnum(w) for w in re.split(r"[-_,.\s]+", Path(doc_id).stem) if w}


def named_documents(text: str, retrievers: Sequence[Retriever]) -> list[str]:
    """Documents of the ``retrievers``' collections that ``text`` names by file name: "the e.l.f.
    Beauty agreement" names ``ELFBEAUTY,INC_07_02_2020-EX-10.1-COOPERATION AGREEMENT.PDF``,
    "the returns policy" names ``returns-policy.md``.

    A name is the file's stem, or its part before the first ``_`` or ``,`` (filings start
    with the company), without a corporate suffix; letters and digits only, 4 or more,
    found in the text's letters and digits. Failing that, the proper names: the documents
    that hold every proper name of the text (BM25) are named ("the agreement between Leader
    Act Ltd and EZJR"; "Brightwheel" names both of Brightwheel's policies, not the one that
    says "Brightwheel" most), unless that is every document (a name on all of them, "Acme",
    tells none apart).
    """
    plain = _alnum(text)
    found = []
    for retriever in retrievers:
        for doc_id in retriever.documents():
            if any(len(n) >= 4 and n in plain for n in _names_of(doc_id)):
                found.append(doc_id)
    if found:
        return found[:3]  # more means the text named a kind of document, not one
    holding: set[str] | None = None  # the documents holding every name so far
    for name in _proper_names(text):
        docs = _holders(name, retrievers)
        if docs is None:
            continue  # everywhere
        if not docs:
            return []
        holding = docs if holding is None else holding & docs
    every = {d for r in retrievers for d in r.documents()}
    return sorted(holding) if holding and holding != every else []


def common_names(text: str, retrievers: Sequence[Retriever], least: int = 3) -> list[str]:
    """The proper names of ``text`` (possessives off) that open every document of the
    ``retrievers``' collections (in its first chunk), when there are ``least`` documents or
    more: the owner's ("Acme" heads each of the demo's five policies, and no file name has
    it). Such a name tells no document apart, and searched for, it finds the introductions and
    boilerplate that say it rather than the answer. A name every document merely mentions
    ("Saturday") is not one: it opens only the support hours page. A collection too large to
    read (``Retriever.openings`` is None) rules every name out.

    Example: ``common_names("How long is the Acme warranty on electronics?", [acme])`` ->
    ``["Acme"]``
    """
    names = [re.sub(r"['\u2019]s$", "", n) for n in _proper_names(text)]
    if not names:
        return []
    read = [r.openings() for r in retrievers]
    if any(o is None for o in read):
        return []
    openings = [terms for found in read for _, terms in found or ()]
    if len(openings) < least:
        return []  # one or two documents: a product's name may well open all of them
    return [
        name
        for name in dict.fromkeys(names)
        if (words := tokenize([name])[0]) and all(_phrase(words, t) for t in openings)
    ]


def _proper_names(text: str) -> list[str]:
    """The proper names of ``text`` worth looking up: not asking words, "I've" or "Inc."."""
    # "StreamLark's Lark Plus" is two names: the company's and its product's.
    names = [n for found in _PROPER.findall(text) for n in re.split(r"['\u2019]s\s+", found)]
    return [
        name
        for name in names
        if name.split()[0].split("'")[0] not in _NOT_NAMES
        and len(_alnum(name)) >= 3  # "I've"
        and not _SUFFIX.fullmatch(_alnum(name))  # "Inc." says nothing about which company
    ]


def _holders(name: str, retrievers: Sequence[Retriever]) -> set[str] | None:
    """The documents that hold ``name``, its words in a row; None when it is in
    ``MAX_NAME_CHUNKS`` chunks or more (everywhere)."""
    hits = [h for r in retrievers for h in r.search(name, MAX_NAME_CHUNKS, mode="bm25")]
    if len(hits) >= MAX_NAME_CHUNKS:
        return None
    # BM25 finds any of a name's words; a document holds the name where they stand together.
    terms = tokenize([name])[0]
    found = tokenize([h.text for h in hits])
    return {h.doc_id for h, words in zip(hits, found) if _phrase(terms, words)}


def _phrase(terms: list[str], words: list[str]) -> bool:
    """Whether ``terms`` occur in ``words`` in a row (both tokenised: stemmed, no stopwords)."""
    n = len(terms)
    return any(words[i : i + n] == terms for i in range(len(words) - n + 1))


# What is left of "between A, B and C" once the names are gone.
_BETWEEN_NOTHING = re.compile(r"\s*\b(?:between|among)\b(?:\s*(?:,|&|\band\b))*\s*(?=[?.!;:]|$)")


def without_names(
    text: str, documents: Sequence[str] | None = None, common: Sequence[str] = ()
) -> str:
    """The instruction without its proper names: "Which law governs the agreement between
    Leader Act Ltd and EZJR?" -> "Which law governs the agreement?".

    With ``documents``, only the words of a name that are part of one of their file names go
    ("How much is Priority Tracked at Quillhouse?" keeps "Priority Tracked", a product, and
    drops "Quillhouse" for ``quillhouse-paper-shipping-returns.md``); the ``common`` names
    (``common_names``) go too, each whole ("Fox Mobile" leaves "Mobile Plus" as it is).
    """
    original = text
    for name in common:
        text = re.sub(rf"(?<!\w){re.escape(name)}(?:['\u2019]s)?(?!\w)", "", text)
    # The file names' words ("orbitly", "mobile", "billing"), whole stems and company parts:
    # a word goes only if it is one of them ("Orbit 10", a plan, stays beside "orbitly").
    parts = set().union(*(_names_of(d) | words_of(d) for d in documents or ()))

    def drop(match: re.Match[str]) -> str:
        if match[0].split()[0] in _NOT_NAMES:
            return match[0]
        if documents is None or _alnum(match[0]) in parts:
            return ""
        words = match[0].split()
        plain = [_alnum(re.sub(r"['’]s$", "", w)) for w in words]  # "Quillhouse's"
        kept = [w for w, p in zip(words, plain) if len(p) < 3 or p not in parts]
        return " ".join(kept)

    kept = _PROPER.sub(drop, text)
    kept = _BETWEEN_NOTHING.sub("", kept)
    kept = re.sub(r"\s+([,?.!;:])", r"\1", " ".join(kept.split()))
    return kept.strip() or original
