"""Evidence sentences: splitting keeps offsets and provenance; selection ranks by the question."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid.answer import evidence
from hybrid.knowledge.lexical import tokenize
from hybrid.knowledge.search import SearchResult

DOC = (
    "# Returns\n\nYou may return unused items within 30 days. Sale items are refunded at the "
    "price you paid, e.g. 5.95 EUR.\n- Gift cards cannot be returned or refunded.\nShort line.\n"
    '"Quoted rules end here." Next one starts after a quote.'
)


def chunk(text: str, start: int = 100) -> SearchResult:
    return SearchResult(1, 0.5, "c1", "returns.md", text, 2, 3, "Returns", start, start + len(text))


def test_split_keeps_sentences_offsets_and_provenance():
    pieces = evidence.split(chunk(DOC))
    assert [p.text for p in pieces] == [
        "You may return unused items within 30 days.",
        "Sale items are refunded at the price you paid, e.g. 5.95 EUR.",
        "Gift cards cannot be returned or refunded.",  # the bullet marker is not evidence
        '"Quoted rules end here."',
        "Next one starts after a quote.",
    ]  # the heading and the two-word sentence are dropped
    for piece in pieces:
        assert DOC[piece.char_start - 100 : piece.char_end - 100] == piece.text
        assert (piece.chunk_id, piece.doc_id, piece.pages, piece.heading) == (
            "c1",
            "returns.md",
            "2-3",
            "Returns",
        )


TEXT_FILE = (
    "MEADOWBROOK HOLIDAY PARK\nBooking Conditions\n\n"
    "------------------------------------------------------------\n"
    "ARRIVAL AND DEPARTURE\n"
    "------------------------------------------------------------\n"
    "Check-in is from 3 pm and check-out is by 11 am. Arrivals after\n"
    "9 pm must be arranged with reception.\n\n"
    "THE PARK ACCEPTS NO LIABILITY FOR ITEMS LEFT IN CARS, TENTS OR PODS AND NO LIABILITY\n"
    "FOR LOSS CAUSED BY WEATHER.\n"
)


def test_titles_rules_and_capital_headings_are_not_evidence():
    pieces = [p.text for p in evidence.split(chunk(TEXT_FILE))]
    assert pieces == [
        "Check-in is from 3 pm and check-out is by 11 am.",
        "Arrivals after 9 pm must be arranged with reception.",  # the wrapped line joined
        # A long line in capitals is a clause, joined with the next line, not a heading.
        "THE PARK ACCEPTS NO LIABILITY FOR ITEMS LEFT IN CARS, TENTS OR PODS AND NO LIABILITY "
        "FOR LOSS CAUSED BY WEATHER.",
    ]
    # A document title names the document (it matches every question that does) and says
    # nothing; a list item with a figure is a fact, title case or not.
    assert evidence.split(chunk("Nimbus Notes Privacy Policy\n")) == []
    assert [p.text for p in evidence.split(chunk("- Free Returns Within 30 Days\n"))] == [
        "Free Returns Within 30 Days"
    ]


PDF_PAGE = (  # lines as pypdf gives them: section titles on their own line, prose hard-wrapped
    "KettleWorks Appliances - Warranty and Repair Policy\n"
    "This policy applies to kettles and toasters bought new from KettleWorks or an\n"
    "authorised retailer.\n"
    "8. Extended Care\n"
    "Extended Care adds 3 years of extra cover after your standard warranty ends, including\n"
    "one accidental damage repair.\n"
    "Late and missed payments\n"
    "If your bill is still unpaid 14 days after the due date, we add a fee of $7.50.\n"
    "Basic Tune - $65\n"
    "   Gear and brake adjustment, wheel truing and a chain clean.\n"
    "What the warranty does not cover\n"
    "-  Damage caused by limescale build-up.\n"
)


def test_section_titles_stand_apart_from_their_first_sentence():
    pieces = [" ".join(p.text.split()) for p in evidence.split(chunk(PDF_PAGE))]
    assert pieces == [
        "This policy applies to kettles and toasters bought new from KettleWorks or an "
        "authorised retailer.",
        # Not "Extended Care Extended Care adds ...": the title is neither glued nor evidence.
        "Extended Care adds 3 years of extra cover after your standard warranty ends, including "
        "one accidental damage repair.",
        "If your bill is still unpaid 14 days after the due date, we add a fee of $7.50.",
        # A priced label is a fact: it stays with its description.
        "Basic Tune - $65 Gear and brake adjustment, wheel truing and a chain clean.",
        "Damage caused by limescale build-up.",  # a list item, under its dropped title
    ]
    for piece in evidence.split(chunk(PDF_PAGE)):
        assert PDF_PAGE[piece.char_start - 100 : piece.char_end - 100].split() == piece.text.split()
    # Ranked as before titles stood apart (the answerer was trained on that ranking): a section's
    # first sentence is scored with its title in front; a list title is not glued to an item.
    titles = [piece.title for piece in evidence._pieces(chunk(PDF_PAGE))]
    assert titles == [
        "KettleWorks Appliances - Warranty and Repair Policy",
        "Extended Care",
        "Late and missed payments",
        "",  # a priced label stayed in its sentence
        "",  # a list's title is not glued to its first item
    ]
    # The answer that quotes the sentence as shown loses the title, and only before it.
    shown = [("Extended Care", "Extended Care adds 3 years of extra cover.")]
    assert evidence.without_titles("Extended Care Extended Care adds 3 years. [1]", shown) == (
        "Extended Care adds 3 years. [1]"
    )
    assert (
        evidence.without_titles("Extended Care is $29. [2]", shown) == "Extended Care is $29. [2]"
    )
    plans = [("Plans", "Orbit 10 costs $15 per month.")]  # quoted nearly: "Plan"
    assert evidence.without_titles("Plan Orbit 10 costs $15 per month. [1]", plans) == (
        "Orbit 10 costs $15 per month. [1]"
    )
    kept = "Yes. Yes Orbit 10 costs $15 per month. [1]"  # not the title
    assert evidence.without_titles(kept, plans) == kept
    # An HTML page: titles are blocks of their own, list items too (no bullets).
    html = (
        "How we use your information\n\nWe use your email address only to send receipts.\n\n"
        "Damage caused by limescale build-up\n\nAccidental damage to glass jugs\n\n"
        "Repairs by anyone else\n\nReturns"
    )
    assert [p.text for p in evidence.split(chunk(html))] == [
        "We use your email address only to send receipts.",
        "Damage caused by limescale build-up",
        "Accidental damage to glass jugs",
        "Repairs by anyone else",
    ]
    # Numbered steps are a list, not titles.
    steps = "1. Fill in the repair form\n2. Print the free label\n3. Post the kettle to us.\n"
    assert [p.text for p in evidence.split(chunk(steps))] == [
        "Fill in the repair form",
        "Print the free label",
        "Post the kettle to us.",
    ]


def test_a_chunk_that_starts_mid_sentence_drops_the_fragment():
    text = "must be arranged with reception in advance. Dogs are welcome on pitches."
    assert [p.text for p in evidence.split(chunk(text))] == ["Dogs are welcome on pitches."]
    # A contract chunk cut after "***** percent": the bracketed figure hides the lower case.
    cut = "(*****%) of the receipts shall be paid to Fox. Royalties are due monthly in arrears."
    assert [p.text for p in evidence.split(chunk(cut))] == ["Royalties are due monthly in arrears."]
    # Its end too: "Arrivals after 9 pm" is a cut sentence, not a heading; the next chunk has it.
    end = "Late check-out is $20. Arrivals after 9 pm\n"
    assert [p.text for p in evidence.split(chunk(end))] == ["Late check-out is $20."]
    listed = "Fees we charge:\n- Late check-out until 2 pm for $20\n"  # a list item stays
    assert [p.text for p in evidence.split(chunk(listed))] == ["Late check-out until 2 pm for $20"]
    whole = "(a) Royalties are due monthly. 30 days after notice, the licence ends for good."
    assert [p.text for p in evidence.split(chunk(whole))] == [
        "Royalties are due monthly.",
        "30 days after notice, the licence ends for good.",
    ]


POINTING = (
    "EXCESS AND CO-PAYMENT\nYou pay the first $99 of each claim. This is called the excess. You\n"
    "can choose a higher excess of $250.\nIt lowers your premium.\n\nThey are sent by post.\n"
    "- Its own list item.\nYour first card is free. After  that, each card costs EUR 7.\n"
    "This Agreement is governed by the laws of Nevada."
)


def test_a_sentence_that_points_back_is_read_with_the_one_before_it():
    pieces = evidence._pieces(chunk(POINTING), anaphora=True)
    assert [p.sentence.text for p in pieces] == [
        "You pay the first $99 of each claim. This is called the excess.",
        # a wrapped line (text files, PDFs) is the same paragraph
        "You can choose a higher excess of $250. It lowers your premium.",
        "They are sent by post.",  # after a blank line: nothing to point back at
        "Its own list item.",  # a list item stands alone
        "Your first card is free. After that, each card costs EUR 7.",  # "after that" points too
        "This Agreement is governed by the laws of Nevada.",  # a defined term, no pointer
    ]
    assert [p.first for p in pieces] == [
        "You pay the first $99 of each claim.",
        "You can choose a higher excess of $250.",
        "",
        "",
        "Your first card is free.",
        "",
    ]
    for piece in pieces:  # offsets span both sentences
        span = POINTING[piece.sentence.char_start - 100 : piece.sentence.char_end - 100]
        assert span.split() == piece.sentence.text.split()
    # Without it (and always in ``split``, which verification aligns answers against) each
    # sentence stands alone.
    assert "This is called the excess." in [p.text for p in evidence.split(chunk(POINTING))]


def test_a_joined_piece_scores_as_its_better_half(embedder):
    text = (
        "If you end a trip outside a parking zone, we charge a relocation fee of $25. This fee "
        "is doubled if the vehicle blocks a footpath, a ramp or a doorway."
    )
    question = "What is the relocation fee for ending a trip outside a parking zone?"
    vector = embedder.embed_query(question)
    [joined] = evidence.select(
        question, vector, [chunk(text)], embedder.embed, 3, 0.3, anaphora=True
    )
    first = "If you end a trip outside a parking zone, we charge a relocation fee of $25."
    [alone] = evidence.select(question, vector, [chunk(first)], embedder.embed, 3, 0.3)
    whole, half = embedder.embed([text, first]) @ vector.reshape(-1)
    assert whole < half - 0.02  # the second sentence dilutes the match
    assert joined.sentence.text == text  # shown whole ...
    assert joined.score == pytest.approx(alone.score, abs=2e-3)  # ... scored as its first half
    assert float(joined.vector @ vector.reshape(-1)) == pytest.approx(half, abs=2e-3)


def test_select_ranks_by_the_question_and_drops_repeats(embedder):
    first = chunk(DOC)
    overlap = chunk("Sale items are refunded at the price you paid, e.g. 5.95 EUR.", 160)
    question = "At what price are sale items refunded?"
    chosen = evidence.select(
        question, embedder.embed_query(question), [first, overlap], embedder.embed, 3, 0.3
    )
    assert len(chosen) == 3
    assert chosen[0].sentence.text.startswith("Sale items are refunded")
    assert len({c.sentence.text for c in chosen}) == 3  # the overlapping chunk's copy is dropped
    assert chosen[0].score >= chosen[1].score >= chosen[2].score
    assert chosen[0].vector.shape == (embedder.dimension,)
    assert evidence.select(question, embedder.embed_query(question), [], embedder.embed, 3, 0) == []


def _scored(texts: list[str]) -> list[evidence.Scored]:
    words = tokenize(texts)
    return [
        evidence.Scored(chunk(t), np.zeros(3), 1.0 - i / 10, frozenset(w))
        for i, (t, w) in enumerate(zip(texts, words))
    ]


CONTRACT = [
    "The parties agree to modify the Agreement as follows.",
    "This Agreement shall be governed by the laws of the State of Nevada.",
    "This Agreement may be executed in counterparts, each an original of this Agreement.",
    "Notices under this Agreement are given in writing to the addresses above.",
    "The Licensee pays the royalties under this Agreement each quarter.",
]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # "agreement" is in every sentence and asks nothing; "govern" and "law" pick the clause.
        ("Which law governs the agreement?", [1]),
        ("Summarise which law governs the agreement and where disputes are resolved.", [1]),
        ("Summarise the royalties.", [4]),  # one distinctive word: enough when it is the only one
        ("Where are disputes resolved under the agreement?", []),  # nothing says it: no lead
        ("Summarise the agreement.", []),  # nothing distinctive to look for
    ],
)
def test_leads_need_the_questions_distinctive_words(question, expected):
    assert evidence.leads(question, _scored(CONTRACT), 2) == expected


def test_leads_keep_rank_order_and_stop_at_n():
    ranked = _scored([CONTRACT[1], "Nevada law governs any dispute.", *CONTRACT[2:], CONTRACT[0]])
    assert evidence.leads("Which law governs the agreement?", ranked, 1) == [0]
    assert evidence.leads("Which law governs the agreement?", ranked, 5) == [0, 1]
    assert evidence.leads("Which law governs the agreement?", [], 1) == []
