"""OpenAPI fuzzing: schemathesis generates requests from the app's own schema (bounded
examples per operation) against the real app on a tiny config; no request may get a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from hybrid.knowledge.sync import sync_folder  # noqa: E402
from hybrid.runtime.local import LocalEngine  # noqa: E402
from hybrid.serve.app import create_app  # noqa: E402
from tests.conftest import THREE_DOCS, make_config, write_docs  # noqa: E402


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, embedder, tiny_llama: Path):
    root = tmp_path_factory.mktemp("fuzz")
    config = make_config(
        root,
        runtime={"base_model": str(tiny_llama), "dtype": "fp32", "device": "cpu"},
        routes={
            "support": {"collections": ["shop"], "generation": {"max_new_tokens": 4}},
            "legal": {
                "collections": ["shop"],
                "draft_template": "prompts/legal_draft.j2",
                "generation": {"max_new_tokens": 4},
            },
        },
        serve={"limits": {"max_new_tokens": 4, "max_upload_mb": 0.05}},
    )
    sync_folder("shop", write_docs(root / "docs", THREE_DOCS), config.knowledge, embedder)
    engine = LocalEngine(config.runtime)
    app = create_app(config, engine, embedder)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    engine.close()


@pytest.mark.integration
def test_no_request_gets_a_server_error(api_schema):
    """Every operation of the schema, 25 generated requests each (schemathesis' own pytest
    plugin does not run on this pytest: the operations are driven through Hypothesis here)."""
    from hypothesis import given

    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8  # chat, models, drafts, verify, collections, documents, ...
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        check()
