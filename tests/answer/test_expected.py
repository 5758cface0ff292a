"""The kind of value a question asks for, and the sentence that states one going first."""

from __future__ import annotations

import pytest

from hybrid.answer.expected import asks_for, asks_what_follows, kind_first, states


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("What time do I need to order by for same-day dispatch?", "clock"),
        ("Until when can I change my order?", "clock"),
        ("How much does it cost to freeze my membership?", "money"),
        ("What is the diagnostic fee for an appliance out of warranty?", "money"),
        ("If I cancel the day before, how much do they keep?", "money"),
        # A count, though it mentions paying; an amount of something other than money.
        ("With yearly billing, how many months do I actually pay for?", "number"),
        ("How much notice do you give before maintenance?", "number"),
        ("How long is the free trial?", "duration"),
        ("How long does a refund take to reach my card?", "duration"),
        ("What is the minimum age for an account?", "number"),
        ("What's the charge for bringing a kayak back late?", "money"),
        # Yes or no, a date or a condition, a name, a way to pay: no kind.
        ("Does TallyForge offer a free trial before the first charge?", None),
        ("Do I keep access until the end of the term if I pay yearly?", None),
        ("When is the rest of my payment due?", None),
        ("By when must Extended Care be bought?", None),
        ("Which courier delivers my parcel?", None),
        ("How do I pay my bill?", None),
        ("How are fees calculated?", None),
        ("Which party pays the costs of arbitration?", None),
        ("What time frame applies to refunds?", None),
    ],
)
def test_what_a_question_asks_for(question, kind):
    assert asks_for(question) == kind


@pytest.mark.parametrize(
    ("question", "follows"),
    [
        ("What happens if I get to check-in after it has closed?", True),
        ("What happens to my workspace if my card payments keep failing?", True),
        ("What does Kelvarro do if my rent is more than two weeks overdue?", True),
        ("What will you do when my parcel is lost?", True),
        ("What do I have to do to get my money back?", False),  # a way, not a consequence
        ("What does the Plus plan include?", False),
        ("If nobody is home, is there a charge?", False),
    ],
)
def test_questions_that_ask_what_follows_a_condition(question, follows):
    assert asks_what_follows(question) is follows


def test_what_a_sentence_states():
    assert states("clock", "Check-in is from 3 pm.") and states("clock", "Quiet from 10.30 pm.")
    assert not states("clock", "Arrive within 3 days.")
    assert states("money", "It costs £4.95.") and states("money", "We keep 50% of the price.")
    assert states("money", "Returns are free.") and not states("money", "It takes 2 days.")
    for price in ("It costs 5 €.", "20 EUR a month", "USD 20", "50p a bag", "free of charge"):
        assert states("money", price), price
    # Any common currency, by code, name or symbol: "CHF 390" once read as no price at all.
    for price in ("CHF 390 per month", "99 SEK", "Fr. 12.50", "kr 450", "1,200 yen", "₩5000"):
        assert states("money", price), price
    for price in ("450 kr.", "12.50 Fr.", "SFr. 12.50", "50 zł", "Rs 500", "450 kr"):
        assert states("money", price), price
    assert not states("money", "Pay in CHF or EUR.")  # a currency, no amount
    assert not states("money", "Open Mo-Fr. 8 to 12.")  # a weekday, not francs
    for other in ("Feel free to call us.", "Free from defects.", "A gluten-free box."):
        assert not states("money", other), other
    assert states("clock", "Open until 5 p.m") and states("clock", "Closes at 18:00.")
    assert states("number", "Up to six profiles.") and not states("number", "Members only.")
    assert states("number", "Billed monthly.") and states("number", "Once a year.")
    for span in (
        "30 days",
        "3-5 business days",
        "2 to 4 weeks",
        "a month",
        "One year.",
        "24h",
        "48 hrs",
        "a 2-metre cable",
        "a fortnight",
        "Delivered overnight.",
    ):
        assert states("duration", span), span
    # A count, a date, a time of day or a word ending in a unit's letter is no span.
    for other in (
        "Each household can use the trial once.",
        "On 3 May.",
        "Open at 9 am.",
        "I am here.",
        "Up to six profiles.",
    ):
        assert not states("duration", other), other
    with pytest.raises(ValueError, match="kind: 'price'"):
        states("price", "It costs $5.")  # type: ignore[arg-type]


def test_the_first_sentence_that_states_the_kind_goes_first():
    shown = [
        "You can freeze your membership for up to 2 months a year.",
        "Members can freeze online.",
        "A freeze costs £5 per month and keeps your price.",
        "A day pass costs £14.",
    ]
    question = "How much does it cost to freeze my membership?"
    assert kind_first(question, shown, str) == [shown[2], shown[0], shown[1], shown[3]]
    # [1] states a price already, or none does, or nothing is asked for: the order stays.
    assert kind_first(question, shown[2:], str) == shown[2:]
    assert kind_first(question, shown[:2], str) == shown[:2]
    assert kind_first("Can I freeze my membership?", shown, str) == shown
