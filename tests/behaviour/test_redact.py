import json
import os
import stat

import pytest

from hybrid.behaviour.redact import (
    PLACEHOLDER,
    RedactedExample,
    RedactionReport,
    Redactor,
    Span,
    _resolve,
    write_mapping,
)
from hybrid.config import CustomRecognizer, RedactionConfig

ORDER = CustomRecognizer(entity="ORDER_NUMBER", pattern=r"\bAO-\d{6}\b")

# (entity, realistic sentence, the value that must be covered by a span of that entity)
SENTENCES = [
    ("PERSON", "Hi, this is Maria Gonzalez from the billing team.", "Maria Gonzalez"),
    ("EMAIL_ADDRESS", "Send the invoice to jane.doe@example.com today.", "jane.doe@example.com"),
    ("PHONE_NUMBER", "You can reach me on my mobile: 07700 900 123.", "07700 900 123"),
    ("PHONE_NUMBER", "Call me at (212) 555-0147 after five.", "(212) 555-0147"),
    ("CREDIT_CARD", "My card number is 4111 1111 1111 1111, expiry 09/27.", "4111 1111 1111 1111"),
    ("US_SSN", "My social security number is 536-90-4399.", "536-90-4399"),
    ("IBAN_CODE", "Refund to GB82 WEST 1234 5698 7654 32.", "GB82 WEST 1234 5698 7654 32"),
    ("IP_ADDRESS", "The login came from IP address 203.0.113.42 last night.", "203.0.113.42"),
    ("LOCATION", "I moved to Toronto last year and love it.", "Toronto"),
    (
        "STREET_ADDRESS",
        "Ship to 1600 Pennsylvania Ave NW, Washington, DC 20500.",
        "Pennsylvania Ave",
    ),
    ("STREET_ADDRESS", "My new address is 221B Baker Street, Apt 4, London.", "221B Baker Street"),
    ("STREET_ADDRESS", "We live at Kiannonkatu 98 in Oulu.", "Kiannonkatu 98"),
    ("DATE_OF_BIRTH", "I was born on 12 March 1985 in a small town.", "12 March 1985"),
    ("DATE_OF_BIRTH", "DOB: 04/07/1990, member since 2015.", "04/07/1990"),
    (
        "URL",
        "My portfolio is at https://www.example.org/jdoe/portfolio.",
        "https://www.example.org/jdoe/portfolio",
    ),
]


def test_resolve_merges_overlaps_and_the_longest_names_the_span():
    text = "Jo Ann Lee-Smith"
    spans = [Span("LOCATION", 3, 6, 0.9, ""), Span("PERSON", 0, 10, 0.5, "")]
    assert _resolve(spans, text) == [Span("PERSON", 0, 10, 0.5, "Jo Ann Lee")]
    # Chained overlaps merge into one span: no fragment of either detection is left over.
    chained = [Span("PERSON", 0, 6, 0.8, ""), Span("LOCATION", 4, 16, 0.8, "")]
    assert _resolve(chained, text) == [Span("LOCATION", 0, 16, 0.8, text)]
    # Equal length: a format type (URL) beats a language type (PERSON).
    tie = [Span("PERSON", 0, 6, 0.85, ""), Span("URL", 0, 6, 0.5, "")]
    assert _resolve(tie, text)[0].entity == "URL"


def test_placeholder_pattern():
    assert PLACEHOLDER.fullmatch("<PERSON_12>")[1:] == ("PERSON", "12")
    assert PLACEHOLDER.fullmatch("<ORDER_NUMBER_3>")[1] == "ORDER_NUMBER"
    assert PLACEHOLDER.fullmatch("<person_1>") is None


def test_report_counts_examples_and_types():
    report = RedactionReport()
    report.add(RedactedExample(["<PERSON_1> hi"], {"PERSON": 1}, {"<PERSON_1>": "Ann"}))
    report.add(RedactedExample(["nothing here"], {}, {}))
    assert report.to_dict() == {
        "examples_scanned": 2,
        "examples_changed": 1,
        "counts": {"PERSON": 1},
    }


def test_mapping_file_is_owner_only(tmp_path):
    path = tmp_path / "train.map.json"
    old_umask = os.umask(0)  # the most permissive umask must still give 0600
    try:
        write_mapping(path, [{"<PERSON_1>": "Ann Lee"}, {}])
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == [{"<PERSON_1>": "Ann Lee"}, {}]
    path.chmod(0o644)
    write_mapping(path, [{"<EMAIL_ADDRESS_1>": "a@b.org"}])  # replaced, not reused
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(RedactionConfig(custom=(ORDER,)))


@pytest.mark.integration
@pytest.mark.parametrize(("entity", "sentence", "value"), SENTENCES)
def test_detects_each_required_type(redactor, entity, sentence, value):
    start = sentence.index(value)
    spans = redactor.find_pii(sentence)
    covering = [s for s in spans if s.start <= start and start + len(value) <= s.end]
    assert [s.entity for s in covering] == [entity], spans


@pytest.mark.integration
def test_pseudonyms_are_consistent_within_an_example_and_restart_for_the_next(redactor):
    first = redactor.redact_example(
        [
            "Hi, I'm Maria Gonzalez and my colleague is David Chen.",
            "maria  gonzalez again: David Chen will call you back.",
            "Thanks Maria Gonzalez!",
        ]
    )
    assert first.turns == [
        "Hi, I'm <PERSON_1> and my colleague is <PERSON_2>.",
        "<PERSON_1> again: <PERSON_2> will call you back.",
        "Thanks <PERSON_1>!",
    ]
    assert first.mapping == {"<PERSON_1>": "Maria Gonzalez", "<PERSON_2>": "David Chen"}
    assert first.counts == {"PERSON": 5}
    second = redactor.redact_example(["Mail David Chen at d.chen@example.com"])
    assert second.turns == ["Mail <PERSON_1> at <EMAIL_ADDRESS_1>"]  # numbering restarts
    # A one-word name that is also a word is carried to other turns only as written.
    third = redactor.redact_example(["Hi, I'm May.", "You may call May Lee later."])
    assert third.turns[0] == "Hi, I'm <PERSON_1>."
    assert third.turns[1].startswith("You may call")


@pytest.mark.integration
def test_numbering_is_per_type_and_skips_placeholders_already_there(redactor):
    example = redactor.redact_example(
        ["<PERSON_1> wrote: I'm Ann Lee, email ann@example.com or bob@example.com"]
    )
    assert example.turns == [
        "<PERSON_1> wrote: I'm <PERSON_2>, email <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_2>"
    ]


@pytest.mark.integration
def test_custom_regex_recogniser_from_config(redactor):
    example = redactor.redact_example(["Where is order AO-123456?", "AO-123456 and AO-654321"])
    assert example.turns == [
        "Where is order <ORDER_NUMBER_1>?",
        "<ORDER_NUMBER_1> and <ORDER_NUMBER_2>",
    ]
    assert "ORDER_NUMBER" in redactor.entities


@pytest.mark.integration
def test_find_pii_does_not_flag_placeholders(redactor):
    assert redactor.find_pii("Hi <PERSON_1>, your order <ORDER_NUMBER_1> ships today.") == []
    assert redactor.find_pii("Thanks <PERSON_2>! Call <PHONE_NUMBER_1> or see <URL_1>.") == []
    spans = redactor.find_pii("Hi <PERSON_1>, call 212-555-0101 now")
    assert [(s.entity, s.text) for s in spans] == [("PHONE_NUMBER", "212-555-0101")]


@pytest.mark.integration
def test_support_phrasing_keeps_its_words(redactor):
    # Template slots are not PII; an imperative read into a name keeps its verb.
    assert redactor.find_pii("Log into {{Website Name}} and open {{Order Details}}.") == []
    assert redactor.redact_text("Call Ann at 555-0100.") == "Call <PERSON_1> at <PHONE_NUMBER_1>."
    assert redactor.find_pii("Open Order History, then Live Chat.") == []


@pytest.mark.integration
def test_already_redacted_text_has_no_residual_pii(redactor):
    text = (
        "I'm Maria Gonzalez, born on 12 March 1985. Email maria.g@example.com or call "
        "(212) 555-0147. I live at 221B Baker Street, London. Order AO-123456."
    )
    redacted = redactor.redact_text(text)
    assert "Gonzalez" not in redacted and "555-0147" not in redacted
    assert redactor.find_pii(redacted) == []
    assert redactor.redact_text(redacted) == redacted


@pytest.mark.integration
@pytest.mark.parametrize(
    "text",
    [
        "How do I reset my password? The app keeps crashing after the update.",
        "I want to cancel my subscription and get a refund for last month.",
        "The meeting is on 12 March 2025 at 10 am, via the usual video link.",
        "",
    ],
)
def test_text_without_pii_is_unchanged(redactor, text):
    assert redactor.redact_text(text) == text


@pytest.mark.integration
def test_only_configured_entities_are_redacted():
    redactor = Redactor(RedactionConfig(entities=("EMAIL_ADDRESS",)))
    text = "Maria Gonzalez: maria.g@example.com, (212) 555-0147"
    assert redactor.redact_text(text) == "Maria Gonzalez: <EMAIL_ADDRESS_1>, (212) 555-0147"


@pytest.mark.integration
def test_bad_arguments(redactor):
    with pytest.raises(TypeError):
        redactor.find_pii(b"bytes")
    with pytest.raises(TypeError):
        redactor.redact_example("one string, not a list of turns")
    with pytest.raises(TypeError):
        Redactor({"entities": ["PERSON"]})


@pytest.mark.integration
def test_kept_strings_such_as_document_ids_are_not_redacted(redactor):
    prompt = "[1] Returns take 5 days. (fool.com.txt)\nQuestion: mail jo@example.org?"
    assert "fool.com" not in redactor.redact_example([prompt]).turns[0]  # reads as a URL
    kept = redactor.redact_example([prompt], keep=("fool.com.txt",)).turns[0]
    assert "(fool.com.txt)" in kept and "jo@example.org" not in kept  # the e-mail still goes
    assert redactor.find_pii(kept, keep=("fool.com.txt",)) == []  # the training gate agrees
