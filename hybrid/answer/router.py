"""Router: per request, pick a route's collections, adapter and template; compose; cite; verify.

``retrieve`` searches the collections the caller may read (hybrid search) and, for routes that
read sentences, keeps the retrieved chunks' sentences nearest the question (``evidence.py``);
``compose`` numbers them [1]..[k] in the route's template within the model's context window,
and decides whether to refuse; the engine generates; ``finish`` parses ``[n]``, maps each to
its chunk, document and page, and verifies it.

Over 300 lines on purpose: this is the one path a request takes (retrieve -> compose -> submit
-> finish, and check_text), read top to bottom; each concept it uses has its own module (types,
prompt, evidence, naming, citations, claims).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Literal

import numpy as np

from hybrid.answer import citations, claims, coverage, evidence, naming, unknown
from hybrid.answer.prompt import fit, load_template
from hybrid.answer.types import (
    Answer,
    Composition,
    Hit,
    Overrides,
    Overruled,
    Retrieved,
    Source,
)
from hybrid.config import HybridConfig, RouteConfig
from hybrid.errors import Invalid, NotFound
from hybrid.knowledge import store
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.search import Filters, Retriever, SearchResult
from hybrid.models.promotions import promotions_for
from hybrid.runtime.engine import Engine, Event, Messages, Ticket

# The request's types live in types.py; they are named here too, where callers look for them.
__all__ = ["Answer", "Composition", "Hit", "Overrides", "Retrieved", "Router", "Source"]


class Router:
    """Example: ``router.finish(comp, engine.submit(comp.messages, comp.settings).result().text)``
    after ``comp = router.compose("support", [{"role": "user", "content": "Refund window?"}])``.
    """

    def __init__(self, config: HybridConfig, engine: Engine | None, embedder: Embedder):
        # engine None: retrieve and check text only (``hybrid verify``); compose needs one.
        self.config, self.engine, self.embedder = config, engine, embedder
        self.templates = {
            (name, "answer"): load_template(r.template) for name, r in config.routes.items()
        }
        self.templates |= {
            (name, "draft"): load_template(r.draft_template)
            for name, r in config.routes.items()
            if r.draft_template is not None
        }
        self._retrievers: dict[str, Retriever] = {}
        self.promotions = promotions_for(config)
        self._nli_models: dict[str, claims.NLI] = {}
        self._words = coverage.WordVectors(embedder.embed)  # refusal and quote checks
        # One lock for embedding and searching: fast tokenizers and snapshot swaps are not
        # thread-safe, and both take milliseconds next to generation's seconds.
        self._lock = threading.Lock()

    def adapter_of(self, route_name: str) -> str | None:
        """The route's adapter: the configured one, or with ``serve.require_promotion`` the one
        promoted for it now (the log is re-read when it changes: a rollback is live at once)."""
        configured = self.route(route_name).adapter
        if self.promotions is None or configured is None:
            return configured
        current = self.promotions.current(route_name)
        if current is None:
            raise NotFound(f"route {route_name!r}: no adapter is promoted for it")
        return current.adapter

    def route(self, name: str) -> RouteConfig:
        if name not in self.config.routes:
            raise NotFound(f"unknown route {name!r}; known: {sorted(self.config.routes)}")
        return self.config.routes[name]

    def retrieve(
        self,
        route_name: str,
        question: str,
        readable: Callable[[str], bool] = lambda _: True,
        collections: Sequence[str] | None = None,
        documents: Sequence[str] = (),
        kind: Literal["answer", "draft"] = "answer",
    ) -> Retrieved:
        """The route's evidence for a question: its top chunks, or their best sentences when the
        route reads sentences (``evidence.unit``; drafts: ``draft_evidence``, else chunks).
        Drafts with ``draft_quotes`` put the sentences they will quote first (``lead``) and are
        refused when no sentence holds the instruction's distinctive words (``evidence.leads``).

        ``readable`` is the caller's permission check: a collection it rejects is never searched.
        ``documents`` narrows the search to these document ids or globs.
        """
        route = self.route(route_name)
        if not question.strip():
            raise Invalid("messages: the last user message is empty")
        wanted = tuple(collections) if collections is not None else route.collections
        allowed = [c for c in wanted if readable(c)]
        named: tuple[str, ...] = ()
        query = question
        with self._lock:
            if (kind == "draft" or route.scope_named) and not documents:
                # "the GluMobile agreement": search within that document, not the whole shelf,
                # for what the instruction asks; inside it the names tell nothing apart.
                named = documents = tuple(self.named_documents(question, allowed))
                # Drafts drop every name (parties say nothing inside their contract); answers
                # only the document's own ("Quillhouse"), not products ("Priority Tracked").
                only = None if kind == "draft" else named
                query = naming.without_names(question, only) if named else question
            ev = route.evidence if kind == "answer" else route.draft_evidence
            k = (ev.chunks or route.top_k) if ev is not None else route.top_k
            vector = self.embedder.embed_query(query) if allowed else None
            hits = self._search(query, vector, allowed, k, Filters(tuple(documents)))
            own: tuple[str, ...] = ()
            if kind == "answer" and ev is not None and ev.named != "all" and not documents:
                own = tuple(self.named_documents(question, allowed))
                if own and ev.named == "search":
                    hits = self._search(query, vector, allowed, k, Filters(own))
                hits = [h for h in hits if h.chunk.doc_id in own] if own else hits
                named = named or own
            # The versions just searched (read under the lock: a refresh cannot slip between).
            versions = {
                c: self._retrievers[c].snapshot.version for c in allowed if c in self._retrievers
            }
            best = max(
                (h.chunk.similarity for h in hits if h.chunk.similarity is not None), default=None
            )
            score, lead, answered = None, 0, True
            quotes = route.draft_quotes if kind == "draft" else 0
            gate = bool(quotes) or (ev is not None and ev.require_words)
            if hits and ev is not None and ev.unit == "sentences":
                hits, score, lead, answered = evidence.sentence_hits(
                    query, vector, hits, ev, quotes, gate, self.embedder
                )
            missing: tuple[str, ...] = ()
            if hits and kind == "answer" and ev is not None and ev.unknown_nouns is not None:
                searched = [self._retrievers[c] for c in versions]
                missing = tuple(unknown.unknown_nouns(
                    question, lambda term: any(r.knows(term) for r in searched),
                    [h.chunk.text for h in hits], self._words, ev.unknown_nouns,
                    sorted({h.chunk.doc_id for h in hits} | set(named)),
                ))  # fmt: skip
        refused = bool(wanted) and (best is None or best < route.min_similarity)
        floor = ev.min_score if ev is not None else None
        if score is not None and floor is not None and score < floor:
            refused = True
        if not answered or missing or (own and not hits):
            refused = True  # nothing in the documents says what the question asks
        flat = None if vector is None else vector.reshape(-1)
        return Retrieved(tuple(hits), best, refused, named, lead, flat, versions, missing)

    def named_documents(self, text: str, collections: Sequence[str]) -> list[str]:
        """Documents of ``collections`` that ``text`` names (``naming.named_documents``)."""
        retrievers = [r for r in (self.retriever(c) for c in collections) if r is not None]
        return naming.named_documents(text, retrievers)

    def compose(
        self,
        route_name: str,
        messages: Messages,
        readable: Callable[[str], bool] = lambda _: True,
        collections: Sequence[str] | None = None,
        overrides: Overrides = Overrides(),
        kind: Literal["answer", "draft"] = "answer",
        documents: Sequence[str] = (),
        retrieved: Retrieved | None = None,
        max_prompt_tokens: int | None = None,
    ) -> Composition:
        """Retrieve (unless ``retrieved`` is given) and build the prompt (``kind`` picks the
        route's ``template`` or its ``draft_template``). See ``retrieve`` for the filters;
        ``overrides`` are the request's changes to the route's sampling and adapter.
        ``max_prompt_tokens`` caps the prompt below the model's window (the server's limit:
        one request must not hold the generator for a long prefill); older turns go first.
        Over 60 lines: the request's one sequence (check, retrieve, refuse or fit), in order.
        """
        route = self.route(route_name)
        template = self.templates.get((route_name, kind))
        if template is None:
            raise Invalid(f"route {route_name!r} has no {kind}_template")
        if not messages or messages[-1].get("role") != "user":
            raise Invalid("messages: the last message must come from the user")
        question = messages[-1]["content"]
        if not question.strip():
            raise Invalid("messages: the last user message is empty")
        settings = overrides.settings(route.generation)
        if retrieved is None:
            retrieved = self.retrieve(route_name, question, readable, collections, documents, kind)
        hits, best, named = list(retrieved.hits), retrieved.best_similarity, retrieved.named
        history = [m for m in messages[:-1] if m.get("role") != "system"]

        configured = self.adapter_of(route_name) if kind == "answer" else route.draft_adapter
        adapter = overrides.pick_adapter(configured)

        # A refusal: no prompt, nothing to generate; the route's refusal is the answer.
        refused = Composition(
            route_name, [], (), len(hits), 0, True, best, settings, adapter, 0, named,
            refusal=route.refusal, query_vector=retrieved.query_vector, versions=retrieved.versions,
            unknown=retrieved.unknown,
        )  # fmt: skip
        if retrieved.refused:
            return refused
        turns = len(history)
        prompt, tokens, history, used = fit(
            self._engine(), route, template, history, question, hits, settings, max_prompt_tokens
        )
        if hits and not used:  # evidence was found but none fits beside the conversation
            return replace(refused, dropped=len(hits))
        sources = tuple(
            Source(i, h.collection, h.chunk, h.vector) for i, h in enumerate(used, start=1)
        )
        return replace(
            refused,
            messages=prompt,
            sources=sources,
            dropped=len(hits) - len(used),
            refused=False,
            prompt_tokens=tokens,
            dropped_turns=turns - len(history),
            lead=min(retrieved.lead, len(sources)),
            question=question if kind == "answer" and route.evidence.unit == "sentences" else "",
        )

    def finish(self, comp: Composition, text: str) -> Answer:
        """Parse the citations of a generated answer and check each sentence (``claims``):
        quoted / supported / contradicted / unsupported against the sentence of chunk n it
        aligns to. The route's ``on_unsupported`` flags, drops or quotes what does not verify.
        """
        route = self.route(comp.route)
        if comp.refused:
            return Answer(comp.refusal, (), 0, True)
        chunks, verify = [src.chunk for src in comp.sources], route.verify
        text = citations.without_source_labels(text, [c.doc_id for c in chunks])
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
        refusal = route.refusal.lower().rstrip(".")
        if comp.lead:  # it found what was asked: a refusal after the quotes is no point
            parsed = citations.keep(parsed, lambda s: refusal not in s.text.lower())
        checks = self._checks(comp, route, parsed)
        quote = checks[0] if len(checks) == 1 and checks[0].label == "quoted" else None
        quote = quote if quote is not None and quote.n else None  # a sentence it cited
        if overruled is None and comp.question and quote and verify.quote_margin is not None:
            with self._lock:
                better = coverage.better_quote(comp.question, chunks[0], chunks[quote.n - 1],
                                               verify.quote_margin, self._words)  # fmt: skip
            if better:
                parsed = replace(citations.parse(first, len(chunks)), removed=parsed.removed)
                checks, overruled = self._checks(comp, route, parsed), "choice"
        # Last, any answer but a refusal, the earlier checks' sentence [1] too: does it address
        # the question? If not, sentence [1] (unless that is what it says already) or refuse.
        said = " ".join(s.text for s in parsed.sentences)
        checked = verify.min_relevance is not None and comp.question and chunks
        if checked and said.strip() and refusal not in said.lower():
            with self._lock:
                topic = coverage.on_topic(
                    comp.question, said, chunks[0].text, verify.min_relevance,
                    self.embedder.embed_query, self.embedder.embed,
                )  # fmt: skip
            if topic == "refuse":
                return Answer(route.refusal, (), parsed.removed, True, (), "off-topic")
            if topic == "first" and overruled is None and not (quote and quote.n == 1):
                parsed = replace(citations.parse(first, len(chunks)), removed=parsed.removed)
                checks, overruled = self._checks(comp, route, parsed), "off-topic"
        refused = refusal in parsed.text.lower()
        backed = {c.sentence for c in checks if c.verified}
        # Every sentence that does not verify counts, short ones too; the refusal is no claim.
        failing = [
            s for s in parsed.sentences if s.text not in backed and refusal not in s.text.lower()
        ]
        answer_text = parsed.text
        if failing and route.on_unsupported != "flag":
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
        return Answer(
            answer_text, cited, parsed.removed, refused and not cited, unsupported, overruled
        )

    def _checks(
        self, comp: Composition, route: RouteConfig, parsed: citations.Parsed
    ) -> list[citations.Check]:
        """Each sentence verified against the sentence of its source it aligns to, pinpointed
        to that sentence's page."""
        nli = self._nli(route.verify.nli_model)
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

    def check_text(
        self,
        route_name: str,
        text: str,
        collections: Sequence[str],
        readable: Callable[[str], bool] = lambda _: True,
    ) -> list[claims.Judgement]:
        """Check a text someone wrote (a draft, another model's answer) sentence by sentence:
        each is aligned to its best sentence among the route's top chunks retrieved for it, in
        the collections ``readable`` allows, and labelled (``claims.judge``).

        Example: ``claims.report(router.check_text("legal", draft, ["contracts"]))``
        """
        route = self.route(route_name)
        sentences = [s.text for s in citations.parse(text, 0).sentences]  # "[n]" is not ours
        if not sentences:
            raise Invalid("text: no sentence to check")
        allowed = [c for c in collections if readable(c)]
        nli = self._nli(route.verify.nli_model)
        out = []
        with self._lock:
            vectors = self.embedder.embed(sentences)  # (sentences, dim)
            for sentence, vector in zip(sentences, vectors):
                query = vector.reshape(1, -1)  # as embed_query gives it: (1, dim)
                hits = self._search(sentence, query, allowed, route.top_k, Filters(()))
                where = {h.chunk.chunk_id: h.collection for h in hits}
                pool = [s for _, s in citations.sentences_of([h.chunk for h in hits])]
                pool_vectors = self.embedder.embed([s.text for s in pool]) if pool else vectors[:0]
                judged = claims.judge(sentence, vector, pool, pool_vectors, route.verify, nli)
                if judged.evidence is not None:
                    collection = where[judged.evidence.chunk_id]
                    judged = replace(judged, evidence=self._pinpoint(judged.evidence, collection))
                out.append(judged)
        return out

    def _pinpoint(self, sentence: SearchResult, collection: str) -> SearchResult:
        """The sentence on its own page (not its chunk's range), where the collection is built."""
        retriever = self.retriever(collection)
        return retriever.pinpoint(sentence) if retriever is not None else sentence

    def _engine(self) -> Engine:
        if self.engine is None:
            raise ValueError("this router has no engine: it can retrieve and check, not answer")
        return self.engine

    def _nli(self, name: str | None) -> claims.NLI | None:
        if name is None:
            return None
        if name not in self._nli_models:
            self._nli_models[name] = claims.NLI(name)
        return self._nli_models[name]

    def submit(
        self, comp: Composition, on_event: Callable[[Event], None] | None = None
    ) -> Ticket | None:
        """Queue a composition's generation (None when it is refused: nothing to generate).
        ``on_event`` receives each streamed piece on the engine's thread (the server's SSE)."""
        if comp.refused:
            return None
        return self._engine().submit(comp.messages, comp.settings, comp.adapter, on_event)

    def answer(
        self,
        route_name: str,
        messages: Messages,
        timeout: float | None = None,
        documents: Sequence[str] = (),
        overrides: Overrides = Overrides(),
    ) -> Answer:
        """Compose, submit and finish in one call: the server's sequence, without streaming.
        Example: ``router.answer("support", [{"role": "user", "content": "Refunds?"}]).text``"""
        comp = self.compose(route_name, messages, documents=documents, overrides=overrides)
        ticket = self.submit(comp)
        if ticket is None:
            return self.finish(comp, "")
        result = ticket.result(timeout)
        if result.error:
            raise RuntimeError(f"generation failed: {result.error}")
        return self.finish(comp, result.text)

    # -- internals --------------------------------------------------------------------------

    def _search(
        self,
        question: str,
        vector: np.ndarray | None,
        collections: list[str],
        k: int,
        filters: Filters,
    ) -> list[Hit]:
        if not collections:
            return []
        hits: list[Hit] = []
        for name in collections:
            retriever = self.retriever(name)
            if retriever is not None:
                found = retriever.search(question, k, filters=filters, query_vector=vector)
                stored = retriever.vectors(found) if found else []
                hits += [Hit(name, r, v) for r, v in zip(found, stored)]
        hits.sort(key=lambda h: -h.chunk.score)  # RRF scores: comparable across collections
        return hits[:k]

    def has_collection(self, name: str) -> bool:
        """Whether ``name`` is a valid collection name with a built version (Invalid if the
        name itself is bad: "" or "../x")."""
        coll = store.collection_dir(self.config.index_dir, store.check_name(name))
        return store.current_version(coll) is not None

    def retriever(self, name: str) -> Retriever | None:
        """The collection's retriever at its newest version; None while it is not built."""
        coll = store.collection_dir(self.config.index_dir, name)
        retriever = self._retrievers.get(name)
        if retriever is None:
            if store.current_version(coll) is None:
                return None  # not built yet: nothing to read, not an error
            retriever = Retriever(coll, self.embedder, self.config.search)
            self._retrievers[name] = retriever
        else:
            retriever.refresh()  # one small file read; a sync elsewhere becomes visible
        return retriever
