"""The prompt: the route's template rendered with the numbered evidence, fitted to the window."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import jinja2

from hybrid.answer.types import Hit
from hybrid.config import GenerationSettings, RouteConfig
from hybrid.errors import Invalid
from hybrid.runtime.engine import Engine, Messages

REPO = Path(__file__).resolve().parents[2]  # prompts/ lives beside the package
_SPACES = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")  # inside a line, not its indent


def load_template(path: Path) -> jinja2.Template:
    """The Jinja template at ``path``, relative to the working directory or the repository.

    Example: ``load_template(Path("prompts/evidence_answer.j2")).render(question=q, chunks=[])``
    """
    for candidate in (path, REPO / path):
        if candidate.is_file():
            source = candidate.read_text(encoding="utf-8")
            return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(source)
    raise ValueError(f"prompt template {path} not found (looked in . and {REPO})")


def render(
    route: RouteConfig,
    template: jinja2.Template,
    history: Messages,
    question: str,
    hits: list[Hit],
) -> Messages:
    """The chat messages: the route's system prompt, the turns kept, then the question with
    its evidence numbered [1]..[k] in the template."""
    # A section's first sentence is shown under its title, as the answerer was trained; a
    # hard-wrapped line's indent, kept inside the sentence for its offsets, is one space.
    chunks = [
        replace(h.chunk, text=_SPACES.sub(" ", f"{h.title} {h.chunk.text}".strip())) for h in hits
    ]
    content = template.render(question=question, chunks=chunks, refusal=route.refusal)
    content = content.strip()
    system = [{"role": "system", "content": route.system_prompt}] if route.system_prompt else []
    return system + history + [{"role": "user", "content": content}]


def fit(
    engine: Engine,
    route: RouteConfig,
    template: jinja2.Template,
    history: Messages,
    question: str,
    hits: list[Hit],
    settings: GenerationSettings,
    max_prompt_tokens: int | None,
) -> tuple[Messages, int, Messages, list[Hit]]:
    """The prompt that fits: (messages, their tokens, the turns kept, the evidence kept).

    Over the window (minus ``max_new_tokens``, capped by ``max_prompt_tokens``) the oldest
    turn goes first, then evidence from the lowest rank; over ``route.context_tokens`` only
    evidence goes, never the best piece. Invalid when the question alone does not fit.
    """
    budget = engine.context_window - settings.max_new_tokens
    if max_prompt_tokens is not None:
        budget = min(budget, max_prompt_tokens)
    used = list(hits)
    bare: int | None = None  # tokens without any chunk, for the current history
    while True:
        prompt = render(route, template, history, question, used)
        tokens = engine.count_tokens(prompt)
        if bare is None:
            without = render(route, template, history, question, [])
            bare = engine.count_tokens(without) if used else tokens
        evidence_tokens = tokens - bare
        # The best chunk stays even over context_tokens: only the window is a hard limit.
        if tokens <= budget and (evidence_tokens <= route.context_tokens or len(used) == 1):
            return prompt, tokens, history, used
        if tokens > budget and history:
            history, bare = history[1:], None  # the oldest turn goes before any evidence
        elif used:
            used = used[:-1]  # drop whole chunks, lowest rank first
        else:
            raise Invalid(
                f"messages: the question alone takes {tokens} tokens; the prompt may take "
                f"{budget} (the context window {engine.context_window} minus "
                f"max_new_tokens, or the server's limits.max_prompt_tokens)"
            )
