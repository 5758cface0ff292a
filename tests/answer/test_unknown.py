"""Unknown nouns (refused before generating), with the real spaCy tagger and MiniLM."""

from __future__ import annotations

from hybrid.answer.coverage import WordVectors
from hybrid.answer.unknown import (
    asked_part,
    mistyped,
    slips,
    specific_nouns,
    unknown_figures,
    unknown_nouns,
)
from hybrid.knowledge.lexical import tokenize

PLANS = [
    "TallyForge's Starter plan costs $12 per month and includes invoicing for one user.",
    "The Team plan adds expense tracking and up to five users.",
]


def knows_of(texts: list[str]):
    vocabulary = {t for terms in tokenize(texts) for t in terms}
    return lambda term: term in vocabulary


def test_specific_nouns_leave_out_common_words_and_other_parts_of_speech():
    assert specific_nouns("Is there parking near the dock for people?") == ["parking", "dock"]
    # "plan" and "month" are common nouns; "cheapest" is no noun.
    assert specific_nouns("What does the cheapest plan cost per month?") == []
    assert specific_nouns("Is there a TallyForge plan that includes payroll?") == [
        "tallyforge", "payroll",
    ]  # fmt: skip
    # The tagger reads "promise" as a noun; the parser sees "does" hang on it, so it is the verb.
    assert specific_nouns("What availability does Cinderbox promise on the Basic plan?") == [
        "availability", "cinderbox",
    ]  # fmt: skip
    assert specific_nouns("Is the promise of 99% uptime kept?") == ["promise", "uptime"]
    # Tagged a noun, followed by a particle: the verb of "kick in". A kick is still a noun.
    assert specific_nouns("When does illness cover kick in on the policy?") == ["illness"]
    assert specific_nouns("Is a kick scooter allowed?") == ["kick", "scooter"]
    # When, not what: the documents say "AM or PM slot", "Saturday and Sunday".
    assert specific_nouns("Is a morning or afternoon slot extra at weekends?") == ["slot"]


def test_a_noun_no_document_holds_is_unknown_and_one_they_hold_is_not(embedder):
    vectors, knows = WordVectors(embedder.embed), knows_of(PLANS)
    asked = "Is there a TallyForge plan that includes payroll?"
    assert unknown_nouns(asked, knows, PLANS, vectors, 0.8) == ["payroll"]
    # Same question, a collection that mentions payroll somewhere: not unknown, wherever it is.
    elsewhere = knows_of([*PLANS, "Payroll is run by our partner, Paywise."])
    assert unknown_nouns(asked, elsewhere, PLANS, vectors, 0.8) == []
    assert (
        unknown_nouns("Does the Starter plan include invoicing?", knows, PLANS, vectors, 0.8) == []
    )
    # A stem the documents lack, near an evidence word ("expense", cosine ~0.77): refused on it
    # or not by the threshold.
    tracked = "Does the Team plan track expenditure?"
    assert unknown_nouns(tracked, knows, PLANS, vectors, 0.8) == ["expenditure"]
    assert unknown_nouns(tracked, knows, PLANS, vectors, 0.7) == []
    # Nothing to compare with: what the documents lack is unknown.
    assert unknown_nouns(asked, knows, [], vectors, 0.8) == ["payroll"]


def test_only_the_asking_sentence_names_what_is_asked(embedder):
    vectors, knows = WordVectors(embedder.embed), knows_of(PLANS)
    # The sentence before says who asks, in their own words; the question is about the plans.
    told = "I run a bakery with payroll for three staff. Does the Team plan add users?"
    assert asked_part(told) == "Does the Team plan add users?"
    assert unknown_nouns(told, knows, PLANS, vectors, 0.8) == []
    # A last sentence that points back asks about what the one before names.
    back = "We need payroll. Is it in the Team plan?"
    assert asked_part(back) == back
    assert unknown_nouns(back, knows, PLANS, vectors, 0.8) == ["payroll"]
    # "They" asked of a company is the company, not what the sentence before names.
    them = "The payroll export stopped working. How quickly do I need to tell them?"
    assert asked_part(them) == "How quickly do I need to tell them?"
    # ... unless the sentences before name things in the plural for them to be.
    dogs = "We have two dogs. Can they stay in the cabin?"
    assert asked_part(dogs) == dogs
    # A part after " - " asks too; "Co." and "U.S." end no sentence.
    sent = "TallyForge sent a bakery invoice - is there an extra charge?"
    assert asked_part(sent) == "is there an extra charge?"
    assert (
        asked_part("Does TallyForge Co. include payroll?") == "Does TallyForge Co. include payroll?"
    )
    assert asked_part("I live in the U.S. Can I pay?") == "I live in the U.S. Can I pay?"


def test_a_typing_slip_of_a_known_word_is_known(embedder):
    vectors, knows = WordVectors(embedder.embed), knows_of(PLANS)
    # No evidence to compare with, so only the collection's terms can make them known.
    # "invoicng" (invoicing): a letter out; "exepnse" (expense): two letters swapped.
    for asked in ("Does the Team plan include invoicng?", "Is exepnse tracking in Team?"):
        assert specific_nouns(asked)[0] in ("invoicng", "exepnse")  # the tagger sees a noun
        assert unknown_nouns(asked, knows, [], vectors, 0.8) == [], asked
    assert "company" in slips("comany") and "expense" in slips("exepnse")
    # Two slips away is another word; a short word has too many neighbours to guess; and a
    # real word is taken as typed ("parking" is no slip of "packing").
    assert unknown_nouns("Is there a payrool plan?", knows, [], vectors, 0.8) == ["payrool"]
    assert slips("shop") == [] and len(slips("parking")) > 100
    packing = knows_of(["Packing is free."])
    assert mistyped("pakcing", packing) and not mistyped("parking", packing)


def test_nouns_that_ask_and_a_names_lower_case_neighbour_are_not_things(embedder):
    # "scope" asks what the choice covers; "leftover" is read as part of the name "Fernleaf".
    assert specific_nouns("What scope does the user choice apply to?") == ["user"]
    assert specific_nouns("How long does leftover Fernleaf account credit last?") == [
        "fernleaf",
    ]  # fmt: skip
    # A lower-case name on its own is still one: users type so.
    assert specific_nouns("can i pay with klarna?") == ["klarna"]
    assert specific_nouns("Does Fernleaf Kitchen sell gluten-free bread?")[-1] == "bread"


def test_a_noun_made_from_a_word_the_documents_hold_is_known(embedder):
    vectors = WordVectors(embedder.embed)
    booking = ["Bookings are made in the name of one guest, who must be at least 21."]
    knows = knows_of(booking)
    # "booker" <- "book", "redelivering" <- "delivering": the documents hold the action.
    assert unknown_nouns("How old must the booker be?", knows, booking, vectors, 0.8) == []
    delivered = ["We deliver twice; a third delivery has a $5 fee."]
    asked = "What is the fee for redelivering after a missed slot?"
    assert specific_nouns(asked) == ["fee", "redelivering", "slot"]
    assert unknown_nouns(asked, knows_of(delivered), delivered, vectors, 0.8) == ["slot"]
    # A word that merely starts alike is not made from it: "regions" is not "gions".
    assert unknown_nouns("Which regions host the booking?", knows, booking, vectors, 0.8) == [
        "regions",
    ]  # fmt: skip


def test_a_figure_that_picks_what_is_asked_must_be_one_the_evidence_gives():
    shown = [
        "30 minutes: EUR 65; 45 minutes: EUR 95.",
        "Plan: Private Office (2 people), Price: CHF 1,150 per month.",
        "A two-berth cabin costs EUR 58.",
    ]
    assert unknown_figures("What is the price of a 60-minute hygienist visit?", shown) == [
        "60-minute"
    ]
    assert unknown_figures("How much is a private office for four people?", shown) == [
        "four people"
    ]
    # Given in figures or in words, singular or plural: known.
    assert unknown_figures("What does the longer 45-minute session cost?", shown) == []
    assert unknown_figures("How much is a 2-berth cabin?", shown) == []
    assert unknown_figures("Is an office for two people cheaper?", shown) == []
    # An age and the asker's situation pick nothing.
    assert unknown_figures("Can my 13-year-old travel alone?", shown) == []
    assert unknown_figures("My visit is 18 hours away. Is there a fee?", shown) == []


def test_a_figure_on_a_priced_or_banded_scale_is_known():
    banded = [
        "Berth class: Class A, Boat length: up to 7 m, Visitor, per night: £24.",
        "Berth class: Class C, Boat length: 9.01 m to 11 m, Visitor, per night: £38.",
        "Lift-out and relaunch together cost £11 per metre, with a minimum charge of £95.",
    ]
    # In a band, under a bound or priced per unit: the figure picks a place on the scale.
    assert unknown_figures("What is a night for a 10-metre boat?", banded) == []
    assert unknown_figures("What is a night for a 6-metre boat?", banded[:1]) == []
    assert unknown_figures("What does lifting out a 6-metre boat cost?", banded[2:]) == []
    # Outside every band, and no rate: still a figure the documents do not give.
    assert unknown_figures("What is a night for a 12-metre boat?", banded[:2]) == ["12-metre"]
    assert unknown_figures("How much is a 3-kg parcel?", ["Parcels 5 kg to 10 kg: £6."]) == ["3-kg"]
    # A bound on the same kind in another unit is about something else: a 90-minute slot is no
    # place on "within 14 days".
    assert unknown_figures("Is there a 90-minute slot?", ["Returns within 14 days."]) == [
        "90-minute"
    ]
