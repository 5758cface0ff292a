"""Scale-out: two stateless servers read one index root while a third process syncs it.

Readers open a version's files and keep them; a sync publishes the next version beside it and
swaps CURRENT atomically (knowledge/store.py), so neither server ever answers from half a
version, and each sees the new one at its next query, without a restart."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from hybrid.knowledge.sync import sync_folder
from tests.conftest import THREE_DOCS, make_config, write_docs
from tests.serve.process import start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]
QUESTIONS = ("How long do I have to return a sale item?", "How long does delivery take?")


def test_two_servers_read_while_a_third_process_syncs(tmp_path, embedder):
    config = make_config(tmp_path)
    docs = write_docs(tmp_path / "docs", THREE_DOCS)
    sync_folder("shop", docs, config.knowledge, embedder)
    recipe = {
        "index_dir": str(config.index_dir),
        "chunking": {"unit": "chars", "size": 300, "overlap": 50},
        "runtime": {"adapters": {}},
        "routes": {"support": {"collections": ["shop"]}},
        "monitor": {"record": False},
    }
    servers = [start_server(recipe, tmp_path / f"server-{i}") for i in (0, 1)]
    failures: list[str] = []
    stop = threading.Event()

    def read() -> None:  # both servers, all along the syncs
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                server = random.choice(servers)
                body = {"question": random.choice(QUESTIONS), "route": "support"}
                reply = client.post(f"{server.url}/v1/retrieve", json=body)
                if reply.status_code != 200 or not reply.json()["hits"]:
                    failures.append(f"{server.url}: {reply.status_code} {reply.text[:200]}")

    readers = [threading.Thread(target=read) for _ in range(2)]
    try:
        for thread in readers:
            thread.start()
        exe = Path(sys.executable).with_name("hybrid")
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        for i in range(2):  # the writer: another process, one sync at a time
            (docs / f"locker-{i}.md").write_text(f"Locker code {i} opens with the word zq{i}x.\n")
            done = subprocess.run(
                [str(exe), "--config", str(tmp_path / "server-0" / "serve.yaml"), "index", "sync",
                 "shop", str(docs)],
                capture_output=True, text=True, env=env, timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
    finally:
        stop.set()
        for thread in readers:
            thread.join(timeout=120)
    try:
        assert failures == []
        with httpx.Client(timeout=60) as client:
            versions = set()
            for server in servers:
                versions.add(client.get(f"{server.url}/v1/collections/shop").json()["version"])
                body = {"question": "Which locker opens with the word zq1x?", "route": "support"}
                top = client.post(f"{server.url}/v1/retrieve", json=body).json()["hits"][0]
                assert top["document"] == "locker-1.md", top
            assert versions == {"000003"}  # both read the writer's last version
    finally:
        for server in servers:
            server.stop()
