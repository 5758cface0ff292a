"""Finish an answer: parse its ``[n]``, verify each sentence against the evidence it cites, and
let the checks overrule what the model said (a refusal the evidence answers, a quote of the
wrong sentence, an answer about something else) or complete it (the sentence the ranking could
not tell from the one it quotes), as the route configures them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from hybrid.answer import (
    amend,
    citations,
    claims,
    conditions,
    coverage,
    expected,
    rows,
    sentences,
)
from hybrid.answer.naming import without_names
from hybrid.answer.types import Answer, Composition, Overruled
from hybrid.config import RouteConfig
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.search import SearchResult


class Finisher:
    """The router's last step, after generation (``Router.finish`` calls it).

    Example: ``Finisher(embedder, threading.Lock(), WordVectors(embedder.embed),
    lambda sentence, collection: sentence).finish(comp, route, "Refunds take 5 days [1].")``
    """

    def __init__(
        self,
        embedder: Embedder,
        lock: threading.Lock,
        words: coverage.WordVectors,
        pinpoint: Callable[[SearchResult, str], SearchResult],
    ):
        # lock: the router's (embedding and searching are not thread-safe); pinpoint: a cited
        # sentence on its own page, in its collection.
        self.embedder, self._lock, self._words, self._pinpoint = embedder, lock, words, pinpoint
        self._nli_models: dict[str, claims.NLI] = {}

    def finish(self, comp: Composition, route: RouteConfig, text: str) -> Answer:
        """Parse the citations of a generated answer and check each sentence (``claims``):
        quoted / supported / contradicted / unsupported against the sentence of chunk n it
        aligns to. The route's ``on_unsupported`` flags, drops or quotes what does not verify.
        """
        if comp.refused:
            return Answer(comp.refusal, (), 0, True)
        chunks, verify = [src.chunk for src in comp.sources], route.verify
        # The asker's figures against the evidence's bounds (evidence.conditions) judge too.
        figured = route.evidence is not None and route.evidence.conditions
        text = citations.without_source_labels(text, [c.doc_id for c in chunks])
        text = sentences.without_titles(text, [(s.title, s.chunk.text) for s in comp.sources])
        first = f"{chunks[0].text} [1]" if chunks else ""
        overruled: Overruled | None = None
        if comp.question and chunks and verify.refusal_coverage is not None:
            with self._lock:  # the embedder's tokenizer is not thread-safe
                if coverage.overrules_refusal(comp.question, text, route.refusal, chunks[0],
                                              verify.refusal_coverage, self._words):  # fmt: skip
                    text, overruled = first, "refusal"
        if comp.lead:  # a draft opens with the clauses it found, verbatim
            quoted = [f'"{s.chunk.text}" [{s.n}]' for s in comp.sources[: comp.lead]]
            text = "\n".join([*quoted, text])
        parsed = citations.without_repeats(citations.parse(text, len(comp.sources)))
        parsed = citations.recite(parsed, chunks)  # a copy of [4] that says [3] cites [4]
        refusal = route.refusal.lower().rstrip(".")
        if comp.lead:  # it found what was asked: a refusal after the quotes is no point
            parsed = citations.keep(parsed, lambda s: refusal not in s.text.lower())
        checks = self.checks(comp, route, parsed)
        # "Weekly rate: £379" copied from a row that says £469: the row, as it is.
        mended = (
            amend.mended(parsed, checks, verify.quote_ratio, len(comp.sources))
            if verify.mend_copies
            else None
        )
        copied = mended is not None
        if mended is not None:
            parsed, checks = mended, self.checks(comp, route, mended)
        # A quote of one source: every sentence quoted from the same one (a source may hold two
        # sentences: "You pay the first $99 of each claim. This is called the excess.").
        quoted = bool(checks) and all(c.label == "quoted" for c in checks)
        quote = checks[0] if quoted and len({c.n for c in checks}) == 1 else None
        quote = quote if quote is not None and quote.n else None  # a sentence it cited
        if overruled is None and comp.question and quote and verify.quote_margin is not None:
            with self._lock:
                better = coverage.better_quote(comp.question, chunks[0], chunks[quote.n - 1],
                                               verify.quote_margin, self._words)  # fmt: skip
            # "rent more than two weeks overdue": [1]'s bound holds for the figure the asker
            # states ("after 14 days"), the quoted one's does not (evidence.conditions).
            if not better and figured and quote.n > 1:
                better = conditions.holds_instead(comp.question, chunks[0].text,
                                                  chunks[quote.n - 1].text)  # fmt: skip
            if better:
                (parsed, checks), overruled = self._first(comp, route, parsed), "choice"
        said = " ".join(s.text for s in parsed.sentences)
        # "How much ...?" answered without a price is not answered (the answerer's closest
        # sentence about something else): sentence [1] if it states one, else refuse.
        kind = expected.asks_for(comp.question) if verify.answer_kind and chunks else None
        answered = bool(said.strip()) and refusal not in said.lower()
        if kind and answered and not expected.states(kind, said):
            if not expected.states(kind, chunks[0].text):
                return Answer(route.refusal, (), parsed.removed, True, (), "no-value")
            (parsed, checks), overruled = self._first(comp, route, parsed), overruled or "no-value"
            said = " ".join(s.text for s in parsed.sentences)
        # Last, any answer but a refusal, the earlier checks' sentence [1] too: does it address
        # the question? If not, sentence [1] (unless that is what it says already) or refuse.
        bar = route.evidence.unknown_bar if route.evidence is not None and comp.unknown else None
        checked = (verify.min_relevance is not None or bar is not None) and comp.question and chunks
        if checked and comp.query_vector is not None and answered:
            # Judged without the documents' names, as the evidence was scored: the question
            # names the company ("Is there a senior discount on Zelvora Coachlines for people
            # over 65?"), its answer seldom does, and the name alone kept it 0.39 from "Passengers
            # aged 65 or over get 20% off" (0.46 without), under the bar.
            names = sorted({c.doc_id for c in chunks})
            texts = [without_names(t, names) for t in (comp.question, said, chunks[0].text)]
            one = comp.sources[0]
            renamed = texts[2] != chunks[0].text  # [1] names the company: embedded again
            documents = [texts[1], f"{one.title} {texts[2]}".strip()][: 1 + renamed]
            with self._lock:  # the question's and sentence [1]'s vectors are at hand
                asked = comp.query_vector
                if texts[0] != comp.question:
                    asked = self.embedder.embed_query(texts[0]).reshape(-1)
                vectors = self.embedder.embed(documents)  # (1 or 2, dim): answer, [1]
            answer, one_vector = vectors[0], vectors[1] if renamed else one.vector
            # The question names what no document holds (evidence.unknown_bar): only an answer
            # near it stands ("Walk-in nail clips cost €9" for "my dog's claws": 0.64).
            if bar is not None and float(answer @ asked) < bar:
                return Answer(route.refusal, (), parsed.removed, True, (), "unknown")
            # "If you remove people from my plan ..., do I get money back?": the question back.
            back = said.rstrip().endswith("?")
            topic: coverage.Topic = "answer"
            if verify.min_relevance is not None:
                topic = coverage.on_topic(asked, answer, one_vector, verify.min_relevance, back)
            if topic != "answer" and verify.relevance_coverage is not None:
                # Words are no proof: only an answer its sources back stands by them ("free on
                # orders over £80" holds the words of "Above what basket value is delivery
                # free?" as well as "over £60" does).
                verified = bool(checks) and all(c.verified for c in checks)
                topic = self._covered(comp.question, said, chunks[0].text, names, topic,
                                      verified and not back, verify.relevance_coverage)  # fmt: skip
            if topic == "refuse" and figured:
                # "left two hours late": [1] "delayed by more than 90 minutes" is about it,
                # however far its words are (evidence.conditions put it first).
                topic = "first" if conditions.about(comp.question, chunks[0].text) else topic
            if topic == "refuse":
                return Answer(route.refusal, (), parsed.removed, True, (), "off-topic")
            if topic == "first" and overruled is None and not (quote and quote.n == 1):
                (parsed, checks), overruled = self._first(comp, route, parsed), "off-topic"
        if verify.tie_margin is not None and comp.question and answered:
            tied = amend.tied(comp, checks, verify.tie_margin)
            if tied is not None:
                parsed, checks = self._with(comp, route, parsed, tied)
                overruled = overruled or "tie"
        if verify.trim_rows and comp.question and answered and comp.query_vector is not None:
            parsed, checks = self._rows(comp, route, parsed, checks)
        refused = refusal in parsed.text.lower()
        backed = {c.sentence for c in checks if c.verified}
        # Every sentence that does not verify counts, short ones too; the refusal is no claim.
        failing = [
            s for s in parsed.sentences if s.text not in backed and refusal not in s.text.lower()
        ]
        answer_text = parsed.text
        contradicted = {c.sentence for c in checks if c.label == "contradicted"}
        wrong = [s for s in failing if s.text in contradicted]
        if wrong and backed and route.on_unsupported == "flag":  # see RouteConfig
            answer_text, checks = citations.rewrite(parsed, checks, wrong, "drop", 0.0)
            failing = [s for s in failing if s not in wrong]
        elif failing and route.on_unsupported != "flag":
            answer_text, checks = citations.rewrite(
                parsed, checks, failing, route.on_unsupported, route.verify.min_quote_score
            )
            if not answer_text:  # nothing verified and nothing to quote
                return Answer(route.refusal, (), parsed.removed, True)
        by_n: dict[int, list[citations.Check]] = {}
        for check in checks:
            if check.n:
                by_n.setdefault(check.n, []).append(check)
        cited = tuple(
            citations.describe(
                comp.sources[n - 1].chunk, comp.sources[n - 1].collection, n, by_n[n]
            )
            for n in sorted(by_n)
        )
        unsupported = tuple(s.text for s in failing) if route.on_unsupported == "flag" else ()
        overruled = overruled or ("copy" if copied else None)
        return Answer(
            citations.tidy(answer_text),
            cited,
            parsed.removed,
            refused and not cited,
            unsupported,
            overruled,
        )

    def _first(
        self, comp: Composition, route: RouteConfig, replaced: citations.Parsed
    ) -> tuple[citations.Parsed, list[citations.Check]]:
        """Evidence sentence [1], quoted and cited, in place of the ``replaced`` answer (whose
        removed-citation count it keeps), and its checks."""
        first = comp.sources[0].chunk.text
        parsed = citations.parse(f"{first} [1]", len(comp.sources))
        parsed = replace(parsed, removed=replaced.removed)
        return parsed, self.checks(comp, route, parsed)

    def _rows(
        self,
        comp: Composition,
        route: RouteConfig,
        parsed: citations.Parsed,
        checks: list[citations.Check],
    ) -> tuple[citations.Parsed, list[citations.Check]]:
        """The answer with each quoted table row cut to the cell the question asks about
        (``rows.trim``), and its checks; as it was unless every cut row verifies."""
        quoted = {c.sentence for c in checks if c.label == "quoted"}
        with self._lock:  # the embedder's tokenizer is not thread-safe
            cut = {
                s.text: rows.trim(comp.question, s.text, comp.query_vector, self.embedder.embed)
                for s in parsed.sentences
                if s.text in quoted
            }
        cut = {was: now for was, now in cut.items() if now != was}
        if not cut:
            return parsed, checks
        text = " ".join(
            citations.render(replace(s, text=cut.get(s.text, s.text))) for s in parsed.sentences
        )
        trimmed = replace(citations.parse(text, len(comp.sources)), removed=parsed.removed)
        again = self.checks(comp, route, trimmed)
        if not all(c.verified for c in again if c.sentence in cut.values()):
            return parsed, checks
        return trimmed, again

    def _with(
        self, comp: Composition, route: RouteConfig, parsed: citations.Parsed, n: int
    ) -> tuple[citations.Parsed, list[citations.Check]]:
        """The answer with evidence sentence ``n`` quoted and cited beside it, in the sources'
        order, and its checks."""
        quoted = f"{comp.sources[n - 1].chunk.text} [{n}]"
        text = f"{quoted} {parsed.text}" if n == 1 else f"{parsed.text} {quoted}"
        both = replace(citations.parse(text, len(comp.sources)), removed=parsed.removed)
        return both, self.checks(comp, route, both)

    def checks(
        self, comp: Composition, route: RouteConfig, parsed: citations.Parsed
    ) -> list[citations.Check]:
        """Each sentence verified against the sentence of its source it aligns to, pinpointed
        to that sentence's page."""
        nli = self.nli(route.verify.nli_model)
        with self._lock:
            checks = citations.verify(
                parsed,
                [s.chunk for s in comp.sources],
                self.embedder.embed,
                route.verify,
                nli,
                [s.vector for s in comp.sources],
            )
        return [
            replace(c, evidence=self._pinpoint(c.evidence, comp.sources[c.aligned - 1].collection))
            if c.evidence is not None and c.aligned
            else c
            for c in checks
        ]

    def _covered(
        self,
        question: str,
        said: str,
        first: str,
        names: list[str],
        topic: coverage.Topic,
        may_stand: bool,
        bar: float,
    ) -> coverage.Topic:
        """``topic`` ("first" or "refuse", by cosine) again, by the question's words: the answer
        (when it ``may_stand``: verified, not the question asked back), else sentence [1],
        addresses it when it covers them at least ``bar`` (``verify.relevance_coverage``)."""
        with self._lock:  # the word vectors call the embedder
            if may_stand and coverage.coverage(question, said, self._words, names) >= bar:
                return "answer"
            if topic == "refuse" and coverage.coverage(question, first, self._words, names) >= bar:
                return "first"
        return topic

    def nli(self, name: str | None) -> claims.NLI | None:
        """The route's NLI model (``verify.nli_model``), loaded once; None when it has none."""
        if name is None:
            return None
        if name not in self._nli_models:
            self._nli_models[name] = claims.NLI(name)
        return self._nli_models[name]
