"""Request bodies of the API (OpenAI's chat schema, plus drafts); errors name the field."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# A collection name as the store accepts it (stated in the OpenAPI schema, so clients and
# fuzzers see the rule): letters, digits, ".", "_", "-", starting with a letter or digit.
CollectionName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class _Lenient(BaseModel):
    # OpenAI clients send optional fields we do not use (presence_penalty, user, ...): ignore
    # them, as other OpenAI-compatible servers do, but validate every field we read.
    model_config = ConfigDict(extra="ignore")


class TextPart(_Lenient):
    type: Literal["text"]
    text: str


class ChatMessage(_Lenient):
    role: Literal["system", "user", "assistant"]
    content: str | list[TextPart]

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(_Lenient):
    include_usage: bool = False


class ChatRequest(_Lenient):
    """``model`` is a route name (``GET /v1/models`` lists them)."""

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, gt=0)
    max_completion_tokens: int | None = Field(None, gt=0)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    n: int = Field(1, ge=1, le=1)  # one choice per request
    collections: list[CollectionName] | None = None  # extension: narrow the route's collections
    adapter: str | None = None  # hybrid extension: a loaded adapter, or "base" (adapters off)

    @field_validator("messages")
    @classmethod
    def _last_from_user(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if messages[-1].role != "user":
            raise ValueError("the last message must have role 'user'")
        if not messages[-1].text().strip():
            raise ValueError("the last user message is empty")
        return messages

    def limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class DraftRequest(BaseModel):
    """Legal drafting: an instruction, optionally narrowed to some collections."""

    model_config = ConfigDict(extra="forbid")
    instruction: str = Field(min_length=1, max_length=20000)
    collections: list[CollectionName] | None = None
    route: str = "legal"
    max_tokens: int | None = Field(None, gt=0)

    @field_validator("instruction")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the instruction is blank")
        return value


class VerifyRequest(BaseModel):
    """A text to check sentence by sentence against collections the key may read."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=20000)
    collections: list[CollectionName] = Field(min_length=1, max_length=16)
    route: str = "legal"  # whose verification settings (and top_k) apply

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the text is blank")
        return value


class FeedbackRequest(BaseModel):
    """An agent's rating of an answer, by the id its response carried."""

    model_config = ConfigDict(extra="forbid")
    answer_id: str = Field(min_length=1, max_length=100)
    rating: Literal["up", "down"]
    correction: str | None = None  # the answer it should have been (a training example)
    comment: str | None = None  # over monitor.max_*_chars: 413, not 422 (the size, not shape)

    @field_validator("correction", "comment")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value if value is None or value.strip() else None


class PreviewRequest(BaseModel):
    """A question whose retrieval to preview on a route (no generation)."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=4000)
    route: str = "support"
    collections: list[CollectionName] | None = None

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is blank")
        return value


class TriageRequest(BaseModel):
    """A support ticket: its text, optional metadata echoed back (channel, customer tier...)."""

    model_config = ConfigDict(extra="forbid")
    ticket: str = Field(min_length=1)  # over serve.limits.max_ticket_chars: 413 (a size)
    metadata: dict[str, str] = {}
    draft: bool = True  # also draft a cited reply through the triage route

    @field_validator("ticket")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the ticket is blank")
        return value
