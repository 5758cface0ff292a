"""Configuration of the routes: what each use case reads, how it generates and verifies."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from hybrid.config.gates import PromotionGate
from hybrid.schema import Strict


class GenerationSettings(Strict):
    """Decoding settings of a route; requests may lower ``max_new_tokens``, not raise it."""

    max_new_tokens: int = Field(96, gt=0, le=8192)  # answers are a sentence or two
    temperature: float = Field(0.0, ge=0, le=2)  # 0 = greedy
    top_p: float = Field(1.0, gt=0, le=1)
    # Guards, on generated tokens only (transformers' repetition_penalty also punishes the
    # prompt's tokens: at 1.1 the embedded model stopped copying from the documents).
    repetition_penalty: float = Field(1.0, ge=1.0, le=2.0)  # on tokens already generated
    no_repeat_ngram: int = Field(0, ge=0, le=64)  # never generate an n-gram twice (0: off)
    stop_loops: bool = True  # end a generation that repeats itself (finish_reason "loop")
    # The answer ends where it starts echoing the prompt (the OpenAI engine passes these on).
    stop: tuple[str, ...] = Field(("Question:",), max_length=8)


class VerifyConfig(Strict):
    """Claim-level verification (``hybrid/answer/claims.py``): each answer sentence is aligned to
    its best source sentence and labelled quoted / supported / contradicted / unsupported."""

    min_overlap: float = Field(0.5, ge=0, le=1)  # supported: share of its content words found
    min_similarity: float = Field(0.6, ge=-1, le=1)  # ... or this cosine and half that share
    quote_ratio: float = Field(0.9, gt=0, le=1)  # quoted: character similarity to the source
    # on_unsupported: quote replaces a sentence only with a source sentence about the same
    # thing (alignment score: cosine + share of its words); otherwise the sentence goes.
    min_quote_score: float = Field(0.8, ge=0, le=2)
    attribute_uncited: bool = True  # cite the supporting chunk of sentences the model left bare
    # A refusal is checked too: when the first evidence sentence covers the question's words at
    # least this much (answer/coverage.py: mean best word-embedding match), the documents do
    # answer it, and the answer is that sentence, quoted, cited [1]. Chosen on the KB training
    # questions: at 0.75 the shipped answerer's refusals of 6 answerable questions are overruled
    # (5 by a sentence stating the fact) and neither of its 2 right refusals. None: refusals stand.
    refusal_coverage: float | None = Field(0.75, ge=0, le=1)
    # A quote is checked too: when the answer quotes sentence [k > 1] verbatim and sentence [1]
    # covers the question's words better by at least this margin, the answer quotes [1]. First
    # chosen on the KB training questions (0.1: 11 of 18 quotes of [k] switched, 8 to the
    # sentence stating the fact, 1 away from it); 0.05 since [1] is ranked better: of 36 quotes
    # of [k] over the four KB splits, [1] held the fact 27 times, [k] 3 (docs/answers.md).
    # None: the model's choice stands.
    quote_margin: float | None = Field(0.05, ge=0, le=1)
    # An answer is checked against the question last: when its cosine to the question (the
    # embedder's, whole answer) is below this, it does not address what was asked. Sentence [1]
    # replaces it when that one is at least this near, else the route refuses. The shipped
    # support route sets 0.43: below every right answer of the KB training questions (lowest
    # 0.44) it refused 3 answered unanswerable ones and 4 wrong answers. None: answers stand.
    # Like the two checks above, it reads answers of routes with evidence.unit: sentences only.
    min_relevance: float | None = Field(None, ge=-1, le=1)
    # ... unless it covers the question's words at least this much (word to word, as
    # refusal_coverage): a table row ("Plan: Plus, Monthly fee: $14.99, Scooter unlock: free,
    # ...", cosine 0.38 to "What's the monthly price of Plus?", coverage 0.74) or other words
    # ("lets up to 6 profiles share" for "How many people can share ...?") is far from the
    # question by whole-sentence cosine yet says what was asked. On the four KB splits 0.7
    # turned 3 refusals into right answers and 1 unanswerable question into an answer
    # (coverage 0.71; docs/answers.md). None: cosine alone decides.
    relevance_coverage: float | None = Field(0.7, ge=0, le=1)
    # A question that asks for a time of day, a price, a span or a number (answer.expected) is
    # not answered by a sentence that states none: sentence [1] replaces it when [1] states one
    # (evidence.kind_first puts such a sentence first), else the route refuses. Over the four
    # KB splits none of the shipped answerer's 183 right answers to such questions lacked one;
    # 4 answers did, 2 wrong and 2 to unanswerable questions (docs/answers.md). Off unless set,
    # as min_relevance: not measured on contracts.
    answer_kind: bool = False
    # Two sentences state the asked value and the ranking hardly tells them apart ("Standard
    # Post is free on orders over $35." [1], "Standard Post ... costs $3.50." [2]): when the
    # answer quotes one of the first two and the other, from the same document, states a value
    # of the kind asked (answer.expected) and scores within this margin of [1]
    # (evidence.select's score), the answer gives both. 0.15 was chosen on the KB training
    # questions (2 of the 3 where [2] held the fact, 20 answers longer; docs/answers.md).
    # None: the answer stands as it is.
    tie_margin: float | None = Field(None, ge=0, le=3)
    # A sentence that copies the source sentence it aligns to (quote_ratio: character
    # similarity) but for a slip and so does not verify ("Daily rate: £79, Weekly rate: £379"
    # from a row that says £469: the 135M answerer mixes up a table's similar rows) is replaced
    # by that source sentence, verbatim. Over the six KB splits 2 answers had such a slip, both
    # from a table row that held the asked fact (docs/answers.md). False: it is flagged.
    mend_copies: bool = False
    # A quoted table row is cut to its first cell and the cell the question asks about ("Van
    # class: C - Long wheelbase, Daily rate: £79." for the daily price, not all six cells;
    # answer.rows), when the cut row verifies. Over the six KB splits the cut kept the asked
    # fact in all 16 answers that quoted a row (docs/answers.md). False: rows stay whole.
    trim_rows: bool = False
    # Any Hugging Face sequence-classification model with entailment / contradiction labels
    # (e.g. an NLI cross-encoder): decides supported / contradicted / unsupported.
    nli_model: str | None = Field(None, min_length=1)


class EvidenceConfig(Strict):
    """What the model reads: the retrieved chunks whole, or their sentences nearest the question.

    ``sentences`` suits small models (they copy the wrong chunk, and prefill dominates latency).
    A route's drafts read whole chunks unless it sets ``draft_evidence``.
    """

    unit: Literal["chunks", "sentences"] = "sentences"
    # How many numbered sentences the prompt holds: the shipped answerer was trained on 4.
    sentences: int = Field(4, gt=0, le=20)
    lexical_weight: float = Field(0.3, ge=0, le=2)  # score = cosine + weight x word overlap
    chunk_weight: float = Field(0.5, ge=0, le=2)  # + weight x cosine(question, its chunk)
    min_score: float | None = Field(None, ge=-1, le=3)  # best sentence below this: refuse
    chunks: int | None = Field(None, gt=0, le=50)  # chunks split into sentences (None: top_k)
    # Refuse when no candidate sentence holds the question's distinctive words (evidence.leads):
    # "Does Meadowbrook have a swimming pool?" finds no "pool" in the park's sentences. Off by
    # default: questions in other words than the documents' (PolicyQA's) are refused too.
    require_words: bool = False
    # Answers: refuse when the question names a thing no searched collection mentions: a
    # specific noun whose stem no collection holds and that no evidence word resembles at this
    # cosine ("Is there a plan that includes payroll?": answer.unknown). 0.8 was chosen on the
    # KB training questions (docs/answers.md). On, a figure that picks what is asked ("a
    # 60-minute appointment") and no evidence sentence gives is refused too. None: off.
    unknown_nouns: float | None = Field(0.8, ge=0, le=1)
    # None: such a noun refuses before generating. A cosine: the question is answered, and the
    # answer stands only if its cosine to the question (names out) reaches it, else the route
    # refuses (overruled "unknown"): a customer's word for the document's ("claws" for nail
    # clips, "grandmother" for aged 65 or over) is answered near the question, a missing thing
    # ("rabbits" at a dog groomer's) with a sentence about something else. Figures still refuse.
    unknown_bar: float | None = Field(None, ge=0, le=1)
    # Score sentences against the question without the names of the documents they come from
    # ("Quillhouse" picks the document; inside it, it matches the title, not the answer), and
    # search without a rare name that opens every document ("Acme": naming.common_names).
    drop_names: bool = True
    # Answers to a question that names documents ("Meadowbrook", by file name or its proper
    # names: answer.naming) read only those documents' sentences: filter keeps the top chunks
    # that are theirs, search searches them alone; either way, none found: refuse. all: off.
    named: Literal["all", "filter", "search"] = "filter"
    # When the question asks for a time of day, a price, a span or a number and sentence [1]
    # states none, the first shown sentence that does goes first: the answerer quotes [1]
    # (answer.expected). Drafts' quoted leads keep their order.
    kind_first: bool = True
    # The route's min_similarity is met by the best shown sentence as well as by the best chunk
    # (a long chunk dilutes the one sentence that answers). False: by the chunk alone.
    sentence_bar: bool = True
    # A sentence opening with a pronoun or a demonstrative ("This is called the excess.") is
    # read with the sentence before it, which holds what it points at (answer.sentences).
    anaphora: bool = True
    # "What happens if ...?" (answer.expected.asks_what_follows): sentence [1], which states the
    # condition, is read with the sentence after it in its paragraph, which says what follows.
    follow: bool = True
    # The asker states a figure ("10 days away", "I'm 19") and sentence [1] sets a bound on that
    # kind of figure that does not hold ("less than 7 days before"), or sets none: the first
    # candidate whose bound holds ("between 14 and 7 days before"; when [1] sets none, one near
    # the figure) goes first (answer.conditions). Over the six KB splits it put the right
    # sentence first for 5 more questions and for none fewer (docs/answers.md).
    conditions: bool = True


class RouteConfig(Strict):
    """One use case: which collections it reads, which adapter and template answer it."""

    collections: tuple[str, ...] = ()  # none: plain chat, no retrieval
    adapter: str | None = None  # a name from runtime.adapters; None = the base model
    template: Path = Path("prompts/evidence_answer.j2")  # what the answerer was trained on
    draft_template: Path | None = None  # POST /v1/drafts on this route; None: no drafts
    draft_adapter: str | None = None  # drafts' adapter (the answerer writes answers, not drafts)
    system_prompt: str | None = None
    top_k: int = Field(5, gt=0, le=50)
    context_tokens: int = Field(1536, gt=0)  # budget for the numbered chunks
    # Best chunk below this cosine (and, reading sentences, best shown sentence too): refuse.
    min_similarity: float = Field(0.3, ge=-1, le=1)
    refusal: str = Field("The documents do not cover this question.", min_length=1)
    generation: GenerationSettings = GenerationSettings()
    verify: VerifyConfig = VerifyConfig()
    # A sentence that does not verify: listed (flag), removed (drop), or replaced by the source
    # sentence it aligned to, verbatim, in quotes (quote). Under flag, a sentence the sources
    # contradict is still removed when another sentence of the answer verifies: "... keeps old
    # versions of your files for 180 days. [1] ... for 30 days. [3]" would hand the reader two
    # figures, and the verified one answers.
    on_unsupported: Literal["flag", "drop", "quote"] = "flag"
    evidence: EvidenceConfig = EvidenceConfig()
    # Drafts: what they read (None: whole chunks), and how many evidence sentences open them
    # verbatim. A lead quote must hold the instruction's distinctive words (evidence.leads);
    # when none does, the draft is refused rather than written from unrelated clauses.
    draft_evidence: EvidenceConfig | None = None
    # Answers too search only the documents a question names ("Quillhouse", by file name or
    # parties), without the names; drafts always do.
    scope_named: bool = False
    draft_quotes: int = Field(0, ge=0, le=5)
    promotion: PromotionGate | None = None  # what an adapter must score to serve this route

    @model_validator(mode="after")
    def _quotes_need_sentences(self) -> RouteConfig:
        unit = self.draft_evidence.unit if self.draft_evidence else "chunks"
        if self.draft_quotes and unit != "sentences":
            raise ValueError(
                f"draft_quotes ({self.draft_quotes}) needs draft_evidence.unit: sentences "
                f"(got {unit})"
            )
        return self


DEFAULT_ROUTES: dict[str, RouteConfig] = {
    # Both read the 4 sentences of the top-5 chunks nearest the question (prompt ~250 tokens)
    # and answer with the shipped RAFT answerer, greedy, one or two sentences. Support answers
    # far from the question give way to sentence [1] or the refusal (min_relevance).
    "support": RouteConfig(
        collections=("acme-policies",),
        adapter="answerer",
        evidence=EvidenceConfig(unknown_bar=0.57),
        verify=VerifyConfig(
            min_relevance=0.43,
            answer_kind=True,
            tie_margin=0.15,
            mend_copies=True,
            trim_rows=True,
        ),
    ),
    "legal": RouteConfig(
        collections=("contracts",),
        adapter="answerer",
        draft_template=Path("prompts/legal_draft.j2"),
        draft_adapter="answerer",
        # Drafts look wider inside the named contract (10 chunks), weigh the instruction's
        # words (governed, law) as much as meaning, and open with the clause, verbatim.
        draft_evidence=EvidenceConfig(chunks=10, sentences=4, lexical_weight=1.0),
        draft_quotes=1,
        on_unsupported="quote",  # a lawyer reads the source's words, not a guess
        # not measured on contracts (CUAD)
        evidence=EvidenceConfig(kind_first=False, conditions=False),
    ),
}
