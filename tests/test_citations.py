"""Citations: one regex, invalid numbers removed, each [n] verified against chunk n."""

from __future__ import annotations

from hybrid.citations import numbers, overlap, parse, verify
from hybrid.config_serve import VerifyConfig

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


def test_numbers_and_overlap():
    assert numbers("3-5 days, 1,000 EUR and 5.95") == {"3", "5", "1000", "5.95"}
    assert overlap("Sale items are returned within 14 days", CHUNKS[0]) == 1.0
    assert overlap("Express parcels fly by drone", CHUNKS[0]) == 0.0


def test_verify_checks_words_and_figures(embedder):
    config = VerifyConfig(attribute_uncited=False)
    answer = (
        "Sale items can be returned within 14 days [1]. "
        "Sale items can be returned within 30 days [1]. "
        "Standard delivery costs 5.95 EUR [1]. "
        "Yes [2]."
    )
    checks = verify(parse(answer, 2), CHUNKS, embedder.embed, config)
    verdicts = {(c.sentence, c.n): c.verified for c in checks}
    assert verdicts == {
        ("Sale items can be returned within 14 days.", 1): True,
        ("Sale items can be returned within 30 days.", 1): False,  # wrong figure
        ("Standard delivery costs 5.95 EUR.", 1): False,  # the wrong chunk
    }  # "Yes [2]." holds no claim to check: not listed
    wrong_figure = next(c for c in checks if "30 days" in c.sentence)
    assert wrong_figure.overlap > 0.8 and not wrong_figure.numbers_found


def test_uncited_supported_sentences_are_attributed(embedder):
    answer = "Standard delivery takes 3-5 business days. The moon is made of cheese."
    checks = verify(parse(answer, 2), CHUNKS, embedder.embed, VerifyConfig())
    assert [(c.n, c.origin, c.verified) for c in checks] == [(2, "attributed", True)]
    assert (
        verify(parse(answer, 2), CHUNKS, embedder.embed, VerifyConfig(attribute_uncited=False))
        == []
    )
