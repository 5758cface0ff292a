"""Citations: one regex, invalid numbers removed, each [n] verified against chunk n."""

from __future__ import annotations

from hybrid.answer.citations import (
    keep,
    parse,
    recite,
    tidy,
    verify,
    without_repeats,
    without_source_labels,
)
from hybrid.config import VerifyConfig
from hybrid.knowledge.search import SearchResult

CHUNKS = [
    "Sale items can be returned within 14 days of delivery for a refund.",
    "Standard delivery takes 3-5 business days and costs 5.95 EUR per order.",
]


def test_parse_reads_citations_and_removes_the_invalid():
    parsed = parse("Refunds take 14 days [1]. Delivery costs 5.95 EUR [2, 7]. See [9].", 2)
    assert parsed.removed == 2
    assert parsed.text == "Refunds take 14 days [1]. Delivery costs 5.95 EUR [2]. See."
    assert [(s.text, s.cited) for s in parsed.sentences] == [
        ("Refunds take 14 days.", (1,)),
        ("Delivery costs 5.95 EUR.", (2,)),
        ("See.", ()),
    ]


def test_citation_after_the_full_stop_belongs_to_the_sentence_before():
    parsed = parse("Sale items can be returned within 14 days. [1] Delivery is quick [2]", 2)
    assert [s.cited for s in parsed.sentences] == [(1,), (2,)]
    no_space = parse("It costs 5.95 EUR.[2] File returns-policy.md is long.", 2)
    assert no_space.sentences[0].text == "It costs 5.95 EUR."  # "5.95" and ".md" stay whole
    assert no_space.sentences[0].cited == (2,)


def _hits(texts: list[str]) -> list[SearchResult]:
    return [
        SearchResult(n, 1.0, f"c{n}", "policy.md", t, None, None, "", 0, len(t))
        for n, t in enumerate(texts, 1)
    ]


def test_verify_labels_each_claim_against_its_chunk(embedder):
    config = VerifyConfig(attribute_uncited=False)
    answer = (
        "Sale items can be returned within 14 days of delivery for a refund [1]. "
        "Sale items can be returned within 30 days [1]. "
        "Standard delivery costs 5.95 EUR [1]. "
        "Yes [2]."
    )
    checks = verify(parse(answer, 2), _hits(CHUNKS), embedder.embed, config)
    labels = {(c.sentence, c.n): c.label for c in checks}
    assert labels == {
        ("Sale items can be returned within 14 days of delivery for a refund.", 1): "quoted",
        ("Sale items can be returned within 30 days.", 1): "contradicted",  # wrong figure
        ("Standard delivery costs 5.95 EUR.", 1): "unsupported",  # the wrong chunk
        ("Yes.", 2): "unsupported",  # short sentences are checked too
    }
    wrong = next(c for c in checks if "30 days" in c.sentence)
    assert not wrong.verified and "30" in wrong.reason
    assert wrong.evidence is not None and wrong.evidence.text == CHUNKS[0]


def test_uncited_supported_sentences_are_attributed(embedder):
    answer = "Standard delivery takes 3-5 business days. The moon is made of cheese."
    checks = verify(parse(answer, 2), _hits(CHUNKS), embedder.embed, VerifyConfig())
    assert [(c.n, c.origin, c.verified) for c in checks] == [
        (2, "attributed", True),
        (0, "uncited", False),
    ]
    config = VerifyConfig(attribute_uncited=False)
    bare = verify(parse(answer, 2), _hits(CHUNKS), embedder.embed, config)
    assert (bare[0].n, bare[0].origin, bare[0].aligned) == (0, "uncited", 2)


def test_a_closing_quote_ends_a_sentence_and_copies_count_once():
    text = '"Fees are due monthly." [1] "Fees are due monthly" [1] Late fees are 5 EUR. [2]'
    parsed = without_repeats(parse(text, 2))
    assert [(s.text, s.cited) for s in parsed.sentences] == [
        ('"Fees are due monthly."', (1,)),
        ("Late fees are 5 EUR.", (2,)),
    ]
    cut = "This Agreement shall be governed by the laws of the State of New York without regard."
    garbled = "This Agreement shall be governd by the laws of the State of New York without"
    kept = without_repeats(parse(f"{cut} [1] {garbled} [1]", 1))
    assert [s.text for s in kept.sentences] == [cut]  # cut short and bent by the n-gram guard
    short = without_repeats(parse("Returns are not free. Returns are free.", 0))
    assert len(short.sentences) == 2  # short sentences must match exactly: a negation differs


def test_keep_filters_sentences_and_rerenders():
    parsed = keep(parse("A is 1 [1]. B is 2 [2].", 2), lambda s: "B" in s.text)
    assert parsed.text == "B is 2. [2]" and [s.cited for s in parsed.sentences] == [(2,)]


def test_a_quote_and_its_citation_end_a_sentence_without_a_full_stop():
    parsed = parse(
        '"which Liability shall be governed by the Separation Agreement; or" [1] any '
        "vendor contracts with a Third Party [2]",
        2,
    )
    assert [s.cited for s in parsed.sentences] == [(1,), (2,)]


def test_source_labels_copied_from_the_prompt_leave_the_answer():
    docs = ["park-bookings.txt", "terms.pdf"]
    copied = "Check-in is from 3 pm (park-bookings.txt). Pets pay $5 (terms.pdf, page 2) [2]."
    assert without_source_labels(copied, docs) == "Check-in is from 3 pm. Pets pay $5 [2]."
    # Other parentheses, and names of documents not in the prompt, stay.
    kept = "Fees (VAT included) are listed in (other.md)."
    assert without_source_labels(kept, docs) == kept
    assert without_source_labels(copied, []) == copied


def test_a_copy_of_another_source_is_cited_to_it(embedder):
    hits = _hits(CHUNKS)
    copied = parse(f"{CHUNKS[1]} [1]", 2)  # the model copied [2] and wrote [1]
    before = verify(copied, hits, embedder.embed, VerifyConfig())
    assert (before[0].n, before[0].verified) == (1, False)
    recited = recite(copied, hits)
    assert recited.text == f"{CHUNKS[1]} [2]" and recited.sentences[0].cited == (2,)
    [check] = verify(recited, hits, embedder.embed, VerifyConfig())
    assert (check.n, check.label) == (2, "quoted")
    # Left as they are: a copy of a source it cites (with another), its own words, a short copy
    # ("Standard delivery takes 3-5" is in [2] too, but proves nothing), and an uncited copy.
    for text in (
        f"{CHUNKS[1]} [1, 2]",
        "Delivery is cheap. [1]",
        "Standard delivery takes 3-5 [1]",
        CHUNKS[1],
    ):
        parsed = parse(text, 2)
        assert recite(parsed, hits) is parsed, text


def test_a_miscited_copy_with_a_word_swapped_is_contradicted(embedder):
    chunks = [
        "Claims must be filed within 30 days of the vet visit.",
        "Cover for illness starts 14 days after your policy begins.",
        "Cover for accidents starts 48 hours after your policy begins.",
    ]
    # [3] with "accidents" swapped for the illness of [2], cited [1]: false, not just miscited.
    answer = "Cover for illness starts 48 hours after your policy begins. [1]"
    [check] = verify(parse(answer, 3), _hits(chunks), embedder.embed, VerifyConfig())
    assert (check.n, check.label, check.aligned) == (1, "contradicted", 3)
    assert check.evidence is not None and check.evidence.text == chunks[2]
    assert "[3]" in check.reason
    # A true sentence cited to the wrong chunk is only unsupported, as before.
    true = "Cover for accidents starts 48 hours after the policy begins. [1]"
    [check] = verify(parse(true, 3), _hits(chunks), embedder.embed, VerifyConfig())
    assert (check.n, check.label) == (1, "unsupported")


def test_tidy_ends_cut_clauses_and_capitalises_sentence_starts():
    # The answerer stops at a clause ("...; [1]") or quotes a list item in lower case.
    assert tidy("An urgent transfer arrives the same day; [1]") == (
        "An urgent transfer arrives the same day. [1]"
    )
    assert tidy("take out Cover, which costs £4.50; or not. [2] then this, [3]") == (
        "Take out Cover, which costs £4.50; or not. [2] Then this. [3]"
    )
    # A list item quoted up to its "; or", its label copied in place of [n] (which ended it).
    labelled = without_source_labels("take out Cover, which costs £4.50; or (k.md)", ["k.md"])
    assert tidy(f"{labelled} [1]") == "Take out Cover, which costs £4.50. [1]"
    assert (
        tidy(f"{labelled} It pays out. [2]")
        == "Take out Cover, which costs £4.50. It pays out. [2]"
    )
    assert tidy("We ship to: France, Spain. [1]") == "We ship to: France, Spain. [1]"
    # A citation inside a sentence, a capital inside a word and a refusal stay as written.
    assert tidy("It costs $5 [1] and more [2]") == "It costs $5 [1] and more [2]"
    assert tidy("iPhone repairs cost $5. [1] eBay orders ship free. [2]") == (
        "iPhone repairs cost $5. [1] eBay orders ship free. [2]"
    )
    assert tidy("The documents do not cover this question.") == (
        "The documents do not cover this question."
    )
