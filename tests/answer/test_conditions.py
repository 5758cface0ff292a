"""Figures the asker states against the bounds sentences set (answer/conditions.py)."""

import pytest

from hybrid.answer.conditions import (
    Bound,
    Stated,
    about,
    bounds,
    holds_instead,
    met_first,
    spellings,
    stated,
    verdict,
)

CANCEL = [
    "If you cancel less than 7 days before the move, the deposit is not refunded, and if you "
    "cancel less than 48 hours before, we also charge 25% of the balance.",
    "If you cancel between 14 and 7 days before, we refund half of the deposit.",
    "If you cancel more than 14 days before the move, we refund your deposit less a fee.",
    "You can postpone your move once free of charge.",
]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Our move is 10 days away and we cancel.", [Stated("time", 10.0)]),
        ("It is about 18 hours away.", [Stated("time", 0.75)]),
        ("I'll be away for two months.", [Stated("time", 60.0)]),
        ("My son is 19. Can he hire a trimmer?", [Stated("age", 19.0)]),
        ("My one-year-old sits on my lap.", [Stated("age", 1.0)]),  # an age, not a year
        ("I'm 24 years old.", [Stated("age", 24.0)]),
        ("Can I hire it for a week?", []),  # "a week": seldom the asker's own figure
        ("Is there a fee of 30 EUR?", []),
        ("What is the most they can charge in one month?", []),  # a period, not a situation
        ("My course starts in 10 days.", [Stated("time", 10.0)]),
        ("My boat is 8.5 metres long.", [Stated("length", 8.5)]),  # not an age of 8
        ("How much for my 30 kg retriever?", [Stated("weight", 30.0)]),
        ("Do I need cover of £3 m?", []),  # a sum of money, not a length
    ],
)
def test_the_figures_a_question_states(question, expected):
    assert stated(question) == expected


def test_a_bounded_figure_in_a_question_is_just_past_its_bound():
    (more,) = stated("What happens if my rent is more than two weeks overdue?")
    assert more.kind == "time" and 14 < more.value < 14.01
    assert verdict([more], "If rent is more than 14 days overdue, the code is suspended.") == "met"
    assert verdict([more], "Rent less than 14 days overdue costs a late fee.") == "unmet"


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (CANCEL[1], [Bound("time", 7.0, 14.0)]),
        (CANCEL[2], [Bound("time", 14.0, None)]),
        ("Please give us at least 24 hours' notice.", [Bound("time", 1.0, None)]),
        ("Returns are accepted within 30 days.", [Bound("time", None, 30.0)]),
        ("Bags of 23 kg or more are charged.", [Bound("weight", 23.0, None)]),
        ("Customers under 21 cannot hire petrol tools.", [Bound("age", None, 21.0)]),
        ("Passengers aged 65 or over get 20% off.", [Bound("age", 65.0, None)]),
        ("Drivers aged 21 to 24 pay a surcharge.", [Bound("age", 21.0, 24.0)]),
        ("Delivery is free on orders over 35 EUR.", []),  # an amount, no age
        ("Over 3 hours late: a voucher.", [Bound("time", 0.125, None)]),
        ("Pets travel free.", []),
        ("Medium dogs (10 to 25 kg): full groom €54", [Bound("weight", 10.0, 25.0)]),
        ("Class B, length 7.01 m to 9 m: £2,360 a year", [Bound("length", 7.01, 9.0)]),
        ("Class A, length up to 7 m: £1,840 a year", [Bound("length", None, 7.0)]),
        ("Vans of 18-24 ft need a licence.", [Bound("length", 18 * 0.3048, 24 * 0.3048)]),
        ("Summer season (1 April - 30 September): £1,520", []),  # dates, not a band
        # A deadline before an event holds while at least that long remains; a window ahead
        # ("book up to 7 days ahead") is a bound below.
        ("Cancel free of charge up to 24 hours before it starts.", [Bound("time", 1.0, None)]),
        ("Changes no later than 10 days before the event.", [Bound("time", 10.0, None)]),
        ("Book up to 7 days ahead.", [Bound("time", None, 7.0)]),
    ],
)
def test_the_bounds_a_sentence_sets(sentence, expected):
    assert bounds(sentence) == expected


def test_a_sentence_is_met_when_one_of_its_bounds_holds():
    ten, five = stated("It is 10 days away."), stated("It is 5 days away.")
    assert [verdict(ten, s) for s in CANCEL] == ["unmet", "met", "unmet", None]
    # Two bounds (7 days, 48 hours): 5 days away meets the first
    assert verdict(five, CANCEL[0]) == "met"
    # A bound on another kind of figure says nothing about this one
    assert verdict(stated("My son is 19."), CANCEL[0]) is None
    assert verdict(stated("My son is 19."), "Customers under 21 cannot hire.") == "met"


def test_the_sentence_whose_bound_holds_goes_first():
    asked = "Our move is 10 days away and we have to cancel. Will we get the deposit back?"
    assert met_first(asked, CANCEL, str, 3) == [CANCEL[1], CANCEL[0], CANCEL[2]]
    # ... from further down, when none shown holds: the last shown gives way
    order = [CANCEL[0], CANCEL[2], CANCEL[3], CANCEL[1]]
    assert met_first(asked, order, str, 3) == [CANCEL[1], CANCEL[0], CANCEL[2]]
    assert met_first("It is 20 days away.", CANCEL, str, 3) == [CANCEL[2], CANCEL[0], CANCEL[1]]
    # [1] holds, or sets no bound, or the question states no figure: the order stands
    held = [CANCEL[1], CANCEL[0], CANCEL[2]]
    assert met_first(asked, held, str, 3) == held
    assert met_first("Will we get the deposit back?", CANCEL, str, 2) == CANCEL[:2]
    # [1] sets no bound: a bound that holds moves first only when it is near the figure
    assert met_first(asked, CANCEL[3:] + CANCEL[:3], str, 2) == [CANCEL[1], CANCEL[3]]
    far = "Refunds are paid within 90 days."  # holds for 10 days, but says nothing about them
    assert met_first(asked, [CANCEL[3], far], str, 2) == [CANCEL[3], far]
    # ... or [1] states the figure itself
    said = "If you cancel 10 days before, you keep the deposit."
    assert met_first(asked, [said, CANCEL[1]], str, 2) == [said, CANCEL[1]]


def test_a_figure_that_names_an_offer_is_not_the_askers():
    assert stated("Can I get the half-price first 8 weeks and the student discount?") == []


def test_an_answer_quoting_a_sentence_whose_bound_fails_gives_way_to_one_that_holds():
    asked = "What does Kelvarro do if my rent is more than two weeks overdue?"
    after = "If rent is still unpaid after 14 days, your gate code is suspended."
    sixty = "If rent remains unpaid for 60 days, we may sell the contents of the unit."
    assert holds_instead(asked, after, sixty)
    assert not holds_instead(asked, sixty, after)  # [1] sets no bound that holds
    assert not holds_instead("What happens if my rent is overdue?", after, sixty)  # no figure
    assert not holds_instead(asked, after, after.replace("gate code", "access"))  # both hold


def test_a_sentence_is_about_the_askers_figure_when_its_bound_holds_near_it():
    late = "Our Merrowline ferry left two hours late. Do we get any compensation?"
    assert about(late, "If a departure is delayed by more than 90 minutes, you get a voucher.")
    assert not about(late, "Refunds are paid within 10 working days.")  # holds, but far
    assert not about(late, "If a departure is delayed by more than 3 hours, you get a meal.")
    assert not about("Do we get any compensation?", "Delays of more than 90 minutes: a voucher.")


def test_a_figure_of_another_kind_says_nothing_about_the_askers():
    # 10 km is not 10 days: neither a bound nor the same figure
    assert verdict(stated("I live 10 km away."), "Returns are accepted within 10 days.") is None
    assert verdict(stated("It is 10 days away."), "Unpaid 10 days after the due date.") == "met"


def test_the_band_a_stated_size_falls_in_goes_first():
    tiers = [
        "Class D, length 11.01 m to 13 m: £3,480 a year.",
        "Class B, length 7.01 m to 9 m: £2,360 a year.",
        "Class A, length up to 7 m: £1,840 a year.",
    ]
    question = "My boat is 8.5 metres long. What is a year's berth?"
    assert met_first(question, tiers, str, 3) == [tiers[1], tiers[0], tiers[2]]
    # A size in no band moves nothing.
    assert met_first("My boat is 15 m long. The price?", tiers, str, 3) == tiers


def test_a_sentence_without_a_bound_keeps_its_place_when_it_says_more_of_what_was_asked():
    shown = [
        "Multihulls pay a surcharge of 50% on their berth, except in Class D, where it is 30%.",
        "Class D, length 11.01 m to 13 m: £3,480 a year.",
    ]
    # The band holds for 12 m, but the question asks about the surcharge, which [1] states.
    assert met_first("What surcharge for my 12 m catamaran berth?", shown, str, 2) == shown
    # Asked for the price itself, the band that holds goes first.
    assert met_first("What is a year for my 12 m boat?", shown, str, 2) == shown[::-1]


def test_a_far_bound_in_a_sentence_about_something_else_does_not_go_first():
    shown = [
        "You can cancel an appointment free of charge up to 24 hours before it starts.",
        "If you arrive more than 15 minutes late, we may rebook you.",
    ]
    question = "I cancel my appointment 18 hours from now. Is there a charge?"
    assert verdict(stated(question), shown[0]) == "unmet"  # 18 hours is past the deadline
    # "more than 15 minutes" holds for 18 hours, but far from it and about arriving late.
    assert met_first(question, shown, str, 2) == shown


def test_a_unit_is_written_in_every_spelling_of_its_kind_and_size():
    assert spellings("metre") == "(?:m|metre|meter)s?"
    assert spellings("hour") == "(?:hour|hr|h)s?"  # not "min": another size
    assert spellings("boat") is None
