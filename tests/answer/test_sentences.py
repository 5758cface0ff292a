"""Sentences of a chunk: splitting keeps offsets and provenance; titles, headings and cut
fragments are not evidence; a sentence that points back joins the one before it."""

from __future__ import annotations

from hybrid.answer import sentences
from hybrid.knowledge.search import SearchResult

DOC = (
    "# Returns\n\nYou may return unused items within 30 days. Sale items are refunded at the "
    "price you paid, e.g. 5.95 EUR.\n- Gift cards cannot be returned or refunded.\nShort line.\n"
    '"Quoted rules end here." Next one starts after a quote.'
)


def chunk(text: str, start: int = 100) -> SearchResult:
    return SearchResult(1, 0.5, "c1", "returns.md", text, 2, 3, "Returns", start, start + len(text))


def test_split_keeps_sentences_offsets_and_provenance():
    pieces = sentences.split(chunk(DOC))
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
    pieces = [p.text for p in sentences.split(chunk(TEXT_FILE))]
    assert pieces == [
        "Check-in is from 3 pm and check-out is by 11 am.",
        "Arrivals after 9 pm must be arranged with reception.",  # the wrapped line joined
        # A long line in capitals is a clause, joined with the next line, not a heading.
        "THE PARK ACCEPTS NO LIABILITY FOR ITEMS LEFT IN CARS, TENTS OR PODS AND NO LIABILITY "
        "FOR LOSS CAUSED BY WEATHER.",
    ]
    # A document title names the document (it matches every question that does) and says
    # nothing; a list item with a figure is a fact, title case or not.
    assert sentences.split(chunk("Nimbus Notes Privacy Policy\n")) == []
    assert [p.text for p in sentences.split(chunk("- Free Returns Within 30 Days\n"))] == [
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
    pieces = [" ".join(p.text.split()) for p in sentences.split(chunk(PDF_PAGE))]
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
    for piece in sentences.split(chunk(PDF_PAGE)):
        assert PDF_PAGE[piece.char_start - 100 : piece.char_end - 100].split() == piece.text.split()
    # Ranked as before titles stood apart (the answerer was trained on that ranking): a section's
    # first sentence is scored with its title in front; a list title is not glued to an item.
    titles = [piece.title for piece in sentences.pieces(chunk(PDF_PAGE))]
    assert titles == [
        "KettleWorks Appliances - Warranty and Repair Policy",
        "Extended Care",
        "Late and missed payments",
        "",  # a priced label stayed in its sentence
        "",  # a list's title is not glued to its first item
    ]
    # The answer that quotes the sentence as shown loses the title, and only before it.
    shown = [("Extended Care", "Extended Care adds 3 years of extra cover.")]
    assert sentences.without_titles("Extended Care Extended Care adds 3 years. [1]", shown) == (
        "Extended Care adds 3 years. [1]"
    )
    assert (
        sentences.without_titles("Extended Care is $29. [2]", shown) == "Extended Care is $29. [2]"
    )
    plans = [("Plans", "Orbit 10 costs $15 per month.")]  # quoted nearly: "Plan"
    assert sentences.without_titles("Plan Orbit 10 costs $15 per month. [1]", plans) == (
        "Orbit 10 costs $15 per month. [1]"
    )
    kept = "Yes. Yes Orbit 10 costs $15 per month. [1]"  # not the title
    assert sentences.without_titles(kept, plans) == kept
    # An HTML page: titles are blocks of their own, list items too (no bullets).
    html = (
        "How we use your information\n\nWe use your email address only to send receipts.\n\n"
        "Damage caused by limescale build-up\n\nAccidental damage to glass jugs\n\n"
        "Repairs by anyone else\n\nReturns"
    )
    assert [p.text for p in sentences.split(chunk(html))] == [
        "We use your email address only to send receipts.",
        "Damage caused by limescale build-up",
        "Accidental damage to glass jugs",
        "Repairs by anyone else",
    ]
    # Numbered steps are a list, not titles.
    steps = "1. Fill in the repair form\n2. Print the free label\n3. Post the kettle to us.\n"
    assert [p.text for p in sentences.split(chunk(steps))] == [
        "Fill in the repair form",
        "Print the free label",
        "Post the kettle to us.",
    ]


def test_a_chunk_that_starts_mid_sentence_drops_the_fragment():
    text = "must be arranged with reception in advance. Dogs are welcome on pitches."
    assert [p.text for p in sentences.split(chunk(text))] == ["Dogs are welcome on pitches."]
    # A contract chunk cut after "***** percent": the bracketed figure hides the lower case.
    cut = "(*****%) of the receipts shall be paid to Fox. Royalties are due monthly in arrears."
    assert [p.text for p in sentences.split(chunk(cut))] == [
        "Royalties are due monthly in arrears."
    ]
    # Its end too: "Arrivals after 9 pm" is a cut sentence, not a heading; the next chunk has it.
    end = "Late check-out is $20. Arrivals after 9 pm\n"
    assert [p.text for p in sentences.split(chunk(end))] == ["Late check-out is $20."]
    listed = "Fees we charge:\n- Late check-out until 2 pm for $20\n"  # a list item stays
    assert [p.text for p in sentences.split(chunk(listed))] == ["Late check-out until 2 pm for $20"]
    whole = "(a) Royalties are due monthly. 30 days after notice, the licence ends for good."
    assert [p.text for p in sentences.split(chunk(whole))] == [
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
    pieces = sentences.pieces(chunk(POINTING), anaphora=True)
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
    assert "This is called the excess." in [p.text for p in sentences.split(chunk(POINTING))]


FOLLOWING = (
    "Check-in closes 15 minutes before departure. Passengers who arrive after it closes\n"
    "may be moved to the next sailing. Pets travel free of charge.\n\nCabins cost $58 each.\n\n"
    "CHANGES\n"
    "You can change a booking online."
)


def test_the_sentence_after_one_in_its_paragraph_is_read_with_it():
    c = chunk(FOLLOWING)
    first, second, third, cabins, change = (p.sentence for p in sentences.pieces(c))
    both = sentences.following(c, first)
    assert both is not None and both.text == (
        "Check-in closes 15 minutes before departure. Passengers who arrive after it closes "
        "may be moved to the next sailing."  # across a wrapped line
    )
    assert (both.char_start, both.char_end) == (first.char_start, second.char_end)
    assert sentences.following(c, second).text.endswith("sailing. Pets travel free of charge.")
    # The paragraph ends (a blank line), the next sentence opens a section, or the chunk ends.
    assert sentences.following(c, third) is None
    assert sentences.following(c, cabins) is None
    assert sentences.following(c, change) is None
    # Nor across a heading, a label line, a list item's bullet or a CRLF blank line.
    for between in ("\n## Fees\n", "\nNote:\n", "\n- ", "\r\n\r\n", "\n  \n"):
        text = f"Check-in closes at nine every day.{between}Late passengers pay a fee of $15."
        first = sentences.pieces(chunk(text))[0].sentence
        assert sentences.following(chunk(text), first) is None, repr(between)
    # Line breaks read as spaces: the text spans exactly the two sentences' offsets.
    wrapped = chunk("Check-in closes at nine every day.\r\nLate passengers pay a fee of $15.")
    joined = sentences.following(wrapped, sentences.pieces(wrapped)[0].sentence)
    assert joined.text == "Check-in closes at nine every day.  Late passengers pay a fee of $15."
    assert joined.char_end - joined.char_start == len(joined.text)
