"""A real server: uvicorn in a subprocess with the embedded models, over real HTTP.

Indexes: the sample policies (acme-policies) and three shared CUAD contract PDFs (contracts).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hybrid.config import DEFAULT_ROUTES
from tests.conftest import CONTRACTS, require_shared
from tests.serve.process import ServerProcess
from tests.serve.process import start_server as launch

THREE_CONTRACTS = (
    "HerImports_20161018_8-KA_EX-10.14_9765707_EX-10.14_Maintenance Agreement.pdf",
    "GluMobileInc_20070319_S-1A_EX-10.09_436630_EX-10.09_Content License Agreement2.pdf",
    "CUROGROUPHOLDINGSCORP_05_04_2020-EX-10.3-SERVICING AGREEMENT.PDF",
)
KEYS = {
    "admin": "admin-secret",
    "agent": "agent-secret",  # given through $TEST_AGENT_KEY: keys from the environment
    "legal": "legal-secret",
    "owner": "owner-secret",
    "solo": "solo-secret",
    "thrifty": "thrifty-secret",
}


@dataclass
class Server(ServerProcess):
    def client(self, key: str | None = "admin", timeout: float = 120) -> httpx.Client:
        headers = {"Authorization": f"Bearer {KEYS[key]}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


def start_server(config: dict, folder: Path, env: dict[str, str] | None = None) -> Server:
    started = launch(config, folder, env)
    return Server(started.url, started.log, started.process)


def stop_server(server: Server) -> None:
    server.stop()


def recipe(index_dir: Path) -> dict:
    greedy = {"temperature": 0.0}
    support = {
        "collections": ["acme-policies"],
        "adapter": "answerer",
        "generation": {"max_new_tokens": 48, **greedy},
        # as configs/default.yaml ships it
        "verify": {"min_relevance": 0.43, "answer_kind": True, "tie_margin": 0.15},
    }
    return {
        "index_dir": str(index_dir),
        "runtime": {"max_batch": 4, "max_queue": 6},
        "routes": {
            # The product's routes: evidence sentences answered by the shipped answerer.
            "support": support,
            # The support route with an off-topic bar no answer clears (cosine 0.99 to the
            # question, and no rescue by word coverage): the real answerer's answer is
            # overruled on demand.
            "strict": {**support, "verify": {"min_relevance": 0.99, "relevance_coverage": None}},
            # Serving mechanics on the base model (pages, streaming, drafts). The 135M base's
            # greedy answer differs between CPUs (AVX512-BF16 or not): over whole chunks it
            # answered the royalty question on one and refused it on another. Evidence
            # sentences with quoting make the answer the documents' own on both.
            "legal": {
                "collections": ["contracts"],
                "on_unsupported": "quote",
                "top_k": 3,
                "draft_template": "prompts/legal_draft.j2",
                "generation": {"max_new_tokens": 48, **greedy},
            },
            # The shipped legal route as it is (answerer, evidence sentences, lead quotes).
            "counsel": DEFAULT_ROUTES["legal"].model_dump(mode="json", exclude_defaults=True),
            "everything": {
                "collections": ["acme-policies", "contracts"],
                "generation": {"max_new_tokens": 24, **greedy},
            },
            "raw": {"generation": {"max_new_tokens": 24, **greedy}},
        },
        "serve": {
            "keys": [
                {"name": "admin", "role": "admin", "key": KEYS["admin"], "max_concurrency": 32},
                {
                    "name": "agent",
                    "role": "agent",
                    "key_env": "TEST_AGENT_KEY",
                    "routes": ["support", "everything", "raw"],
                    "collections": ["acme-policies"],
                },
                {
                    "name": "legal",
                    "role": "legal",
                    "key": KEYS["legal"],
                    "collections": ["contracts"],
                },
                {
                    "name": "owner",
                    "role": "owner",
                    "key": KEYS["owner"],
                    "collections": ["acme-policies"],
                },
                {"name": "solo", "role": "agent", "key": KEYS["solo"], "max_concurrency": 1},
                # The smallest budget allowed: one full prompt (limits.max_prompt_tokens).
                {
                    "name": "thrifty",
                    "role": "agent",
                    "key": KEYS["thrifty"],
                    "tokens_per_minute": 2048,
                },
            ],
            "limits": {"max_body_kb": 64, "max_upload_mb": 1, "request_timeout_s": 120},
        },
    }


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, embedder) -> Path:
    """acme-policies (5 sample policies) and contracts (3 CUAD PDFs), built in-process."""
    from hybrid.cli.knowledge import SAMPLES
    from hybrid.config import parse_config
    from hybrid.knowledge.sync import sync_folder

    root = tmp_path_factory.mktemp("serve")
    pdfs = root / "pdfs"
    pdfs.mkdir()
    for name in THREE_CONTRACTS:
        shutil.copy(require_shared(CONTRACTS) / name, pdfs / name)
    config = parse_config({"index_dir": str(root / "indexes")})
    for name, folder in (("acme-policies", SAMPLES), ("contracts", pdfs)):
        report = sync_folder(name, folder, config.knowledge, embedder)
        assert not report.failed, report.failed
    return root / "indexes"


@pytest.fixture(scope="session")
def server(request, tmp_path_factory):
    """The server under test; HYBRID_TEST_SERVER=<url> reuses a running one (debugging)."""
    if os.environ.get("HYBRID_TEST_SERVER"):
        yield Server(os.environ["HYBRID_TEST_SERVER"], Path(os.devnull), None)
        return
    index_dir = request.getfixturevalue("index_dir")
    server = start_server(
        recipe(index_dir),
        tmp_path_factory.mktemp("server"),
        env={"TEST_AGENT_KEY": KEYS["agent"]},
    )
    yield server
    stop_server(server)
