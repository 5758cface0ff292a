"""Router: per request, pick a route's collections, adapter and template; compose; cite; verify.

``retrieve`` searches the collections the caller may read (hybrid search) and, for routes that
read sentences, keeps the retrieved chunks' sentences nearest the question (``evidence.py``);
``compose`` numbers them [1]..[k] in the route's template within the model's context window,
and decides whether to refuse; the engine generates; ``finish`` parses ``[n]``, maps each to
its chunk, document and page, verifies it and applies the route's checks (``finish.py``).

Over 300 lines on purpose: this is the one path a request takes (retrieve -> compose -> submit
-> finish, and check_text), read top to bottom; each concept it uses has its own module (types,
prompt, evidence, naming, citations, claims, finish).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Literal

import numpy as np

from hybrid.answer import citations, claims, coverage, evidence, naming, unknown
from hybrid.answer.finish import Finisher
from hybrid.answer.prompt import fit, load_template
from hybrid.answer.types import (
    Answer,
    Composition,
    Hit,
    Overrides,
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
        self._words = coverage.WordVectors(embedder.embed)  # unknown nouns, refusals, quotes
        # One lock for embedding and searching: fast tokenizers and snapshot swaps are not
        # thread-safe, and both take milliseconds next to generation's seconds.
        self._lock = threading.Lock()
        self._finisher = Finisher(embedder, self._lock, self._words, self._pinpoint)

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
            if kind == "answer" and ev is not None and ev.drop_names and allowed:
                # "the Acme warranty": a name that opens every document searches for the
                # documents' boilerplate (the introduction that says "Acme"), not the answer.
                # Only a rare word is such a name: contracts all open with "Agreement".
                shelf = self._searchable(allowed)
                common = [n for n in naming.common_names(question, shelf) if unknown.rare(n)]
                query = naming.without_names(query, (), common) if common else query
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
            score, lead, answered, near = None, 0, True, best  # near: what min_similarity meets
            quotes = route.draft_quotes if kind == "draft" else 0
            gate = bool(quotes) or (ev is not None and ev.require_words)
            if hits and ev is not None and ev.unit == "sentences":
                found = evidence.sentence_hits(query, vector, hits, ev, quotes, gate, self.embedder)
                hits, score, lead, answered = found.hits, found.score, found.lead, found.answered
                # A long chunk dilutes the one sentence that answers ("... must be at least 21
                # years old ..." among a booking page's terms): its sentence may clear the bar.
                if ev.sentence_bar and found.cosine is not None:
                    near = found.cosine if near is None else max(near, found.cosine)
            missing: tuple[str, ...] = ()
            figures: tuple[str, ...] = ()
            if hits and kind == "answer" and ev is not None and ev.unknown_nouns is not None:
                searched = [self._retrievers[c] for c in versions]
                shown = [h.chunk.text for h in hits]
                missing = tuple(unknown.unknown_nouns(
                    question, lambda term: any(r.knows(term) for r in searched),
                    shown, self._words, ev.unknown_nouns,
                    sorted({h.chunk.doc_id for h in hits} | set(named)),
                ))  # fmt: skip
                # "a 60-minute appointment" where the documents list 30 and 45 minutes
                figures = tuple(unknown.unknown_figures(question, shown))
                missing += figures
        refused = bool(wanted) and (near is None or near < route.min_similarity)
        floor = ev.min_score if ev is not None else None
        if score is not None and floor is not None and score < floor:
            refused = True
        # evidence.unknown_bar: an unknown noun holds the answer to a bar instead (finish).
        held = ev is not None and ev.unknown_bar is not None and not figures
        if not answered or (missing and not held) or (own and not hits):
            refused = True  # nothing in the documents says what the question asks
        flat = None if vector is None else vector.reshape(-1)
        return Retrieved(tuple(hits), best, refused, named, lead, flat, versions, missing)

    def named_documents(self, text: str, collections: Sequence[str]) -> list[str]:
        """Documents of ``collections`` that ``text`` names (``naming.named_documents``)."""
        return naming.named_documents(text, self._searchable(collections))

    def _searchable(self, collections: Sequence[str]) -> list[Retriever]:
        """The retrievers of those ``collections`` that exist."""
        return [r for r in (self.retriever(c) for c in collections) if r is not None]

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
            Source(i, h.collection, h.chunk, h.vector, h.title) for i, h in enumerate(used, start=1)
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
        aligns to; the route's checks may overrule the model (``finish.Finisher``)."""
        return self._finisher.finish(comp, self.route(comp.route), text)

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
        nli = self._finisher.nli(route.verify.nli_model)
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
