"""Subprocess helper for the crash and concurrency tests (run with `python -m`).

sync  INDEX_DIR FOLDER: print "ready" once the model is loaded, then sync collection "c".
read  INDEX_DIR STOPFILE: query "c" until STOPFILE exists; print a JSON summary.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hybrid.config import parse_config
from hybrid.knowledge import store
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.search import Retriever
from hybrid.knowledge.sync import sync_folder

CHUNKING = {"unit": "chars", "size": 300, "overlap": 50}


def main() -> None:
    action, index_dir, arg = sys.argv[1:4]
    config = parse_config({"index_dir": index_dir, "chunking": CHUNKING})
    embedder = Embedder(config.embedder)
    if action == "sync":
        print("ready", flush=True)
        sync_folder("c", Path(arg), config.knowledge, embedder)
        print("done", flush=True)
        return
    coll = store.collection_dir(config.index_dir, "c")
    retriever = Retriever(coll, embedder, config.search)
    queries = failures = 0
    versions = {retriever.snapshot.version}
    errors: list[str] = []
    print("ready", flush=True)
    while not Path(arg).exists():
        try:
            retriever.refresh()
            versions.add(retriever.snapshot.version)
            docs = {r[0] for r in retriever.snapshot.db.execute("SELECT doc_id FROM documents")}
            for mode in ("dense", "bm25", "hybrid"):
                hits = retriever.search("refund policy for returned items", k=5, mode=mode)
                if not hits or any(h.doc_id not in docs for h in hits):
                    raise RuntimeError(
                        f"inconsistent {mode} result in {retriever.snapshot.version}"
                    )
            queries += 1
        except Exception as error:  # counted and reported, not raised: the test asserts zero
            failures += 1
            errors.append(f"{type(error).__name__}: {error}")
    print(
        json.dumps(
            {
                "queries": queries,
                "failures": failures,
                "versions": sorted(versions),
                "errors": errors[:5],
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
