"""Word lists the name recognisers consult: organisation words and the model's dictionary."""

from __future__ import annotations

# Words that mark an organisation (designators, business nouns), an address or a region.
NOT_NAMES = set(
    "inc ltd llc plc corp corporation co company group holdings partners associates bank"
    " university college school institute foundation society club orchestra band agency"
    " solutions systems technologies technology services software labs data markets global"
    " international insurance capital ventures media network networks consulting industries"
    " enterprises trust fund council committee department ministry hospital church hotel"
    " restaurant airlines motors energy pharmaceuticals health healthcare weekly times news"
    " magazine journal records studios productions suite apt unit street road avenue country"
    " city county north south east west northern southern eastern western central new".split()
)


def dictionary(nlp) -> tuple[frozenset[str], frozenset[str]]:
    """English words, and verbs, known to the model's lemmatizer (WordNet's index).

    Most names are not in it. Another pipeline without the table turns these checks off.
    """
    try:
        table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index")
    except (AttributeError, KeyError, ValueError):
        return frozenset(), frozenset()
    words = frozenset(word for entries in table.values() for word in entries)
    return words, frozenset(table.get("verb", ()))


def is_word(text: str, words: frozenset[str]) -> bool:
    """``"Details"`` is a dictionary word (plural of one); ``"Nyström"`` is not."""
    lower = text.lower()
    return any(form in words for form in (lower, lower[:-1], lower[:-2]) if form)
