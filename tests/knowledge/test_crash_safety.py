"""A sync killed with SIGKILL leaves the previous version live; readers never see a mix."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hybrid.knowledge import store
from hybrid.knowledge.search import Retriever
from hybrid.knowledge.sync import sync_folder
from tests.conftest import REPO, make_config

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _state(folder: Path, variant: int) -> set[str]:
    """Rewrite ``folder`` as one of two corpora sharing no text; returns its document ids."""
    for old in folder.glob("*"):
        old.unlink()
    names = set()
    for i in range(24):
        if (i + variant) % 4 == 0:
            continue  # each variant drops a different quarter: syncs add and remove documents
        name = f"doc{i:02d}.md"
        paragraphs = [
            f"Section {j} of document {i}, variant {variant}: the refund policy for "
            f"returned items number {i * 7 + j + variant * 100} says this."
            for j in range(6)
        ]
        (folder / name).write_text("# Policy\n\n" + "\n\n".join(paragraphs))
        names.add(name)
    return names


def _check_consistent(config, allowed: list[set[str]]) -> set[str]:
    coll = store.collection_dir(config.index_dir, "c")
    snap = store.load_snapshot(coll)
    docs = {r[0] for r in snap.db.execute("SELECT doc_id FROM documents")}
    chunk_docs = {r[0] for r in snap.db.execute("SELECT DISTINCT doc_id FROM chunks")}
    n_chunks = snap.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    assert docs in allowed and chunk_docs == docs
    assert snap.dense.ntotal == len(snap.bm25_ids) == n_chunks
    return docs


def _worker(*args: str) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.knowledge.sync_worker", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=env,
    )


def test_sigkill_mid_sync_leaves_previous_version(tmp_path, embedder):
    config = make_config(tmp_path)
    folder = tmp_path / "docs"
    folder.mkdir()
    states = [_state(folder, 0)]
    started = time.perf_counter()
    sync_folder("c", folder, config.knowledge, embedder)
    took = time.perf_counter() - started  # each variant re-embeds as much: kill within that
    killed_mid_sync = 0
    # From reading and embedding to writing and publishing (the child, cold, takes longer).
    for attempt, share in enumerate([0.1, 0.3, 0.5, 0.8, 0.95]):
        delay = share * took
        previous = _check_consistent(config, states)
        states.append(_state(folder, attempt + 1))
        child = _worker("sync", str(config.index_dir), str(folder))
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        rest = child.communicate()[0]
        killed_mid_sync += "done" not in rest
        _check_consistent(config, [previous, states[-1]])  # old or new, never a mix
        retriever = Retriever(store.collection_dir(config.index_dir, "c"), embedder, config.search)
        assert retriever.search("refund policy", k=3)
    assert killed_mid_sync >= 3  # the kills really landed inside syncs
    report = sync_folder("c", folder, config.knowledge, embedder)  # the next sync completes
    assert _check_consistent(config, [states[-1]]) == states[-1]
    versions = store.collection_dir(config.index_dir, "c") / "versions"
    assert all(p.name.isdigit() for p in versions.iterdir()), "debris of killed syncs remains"
    assert report.version == store.current_version(versions.parent)


def test_reader_queries_while_syncs_run(tmp_path, embedder):
    config = make_config(tmp_path)
    folder = tmp_path / "docs"
    folder.mkdir()
    _state(folder, 0)
    sync_folder("c", folder, config.knowledge, embedder)
    stop = tmp_path / "stop"
    reader = _worker("read", str(config.index_dir), str(stop))
    assert reader.stdout.readline().strip() == "ready"  # model loaded, collection open
    for variant in range(1, 5):
        _state(folder, variant)
        sync_folder("c", folder, config.knowledge, embedder)
        time.sleep(0.5)  # let the reader query each version, not only the last
    stop.touch()
    summary = json.loads(reader.communicate(timeout=60)[0].strip().splitlines()[-1])
    assert summary["failures"] == 0, summary["errors"]
    assert summary["queries"] > 10 and len(summary["versions"]) >= 3
