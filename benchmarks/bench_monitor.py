"""Monitoring overhead: what ledgering each answer and feeding the drift monitor adds to a chat
request, against the same server with ``monitor.record: false``, side by side in one process.

A scripted engine answers (no model), so the request is retrieval, verification and the API;
the difference of the two arms' medians is the monitoring's cost. Target (issue 12): <= 2 ms
at the median.

    .venv/bin/python benchmarks/bench_monitor.py              # 300 requests per arm
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (the scripted engine)

from fastapi.testclient import TestClient  # noqa: E402

from hybrid.config import EmbedderConfig  # noqa: E402
from hybrid.knowledge.embedder import Embedder  # noqa: E402
from hybrid.knowledge.sync import sync_folder  # noqa: E402
from hybrid.serve.app import create_app  # noqa: E402
from tests.conftest import THREE_DOCS, make_config, write_docs  # noqa: E402
from tests.serve.fake_engine import FakeEngine  # noqa: E402

QUESTIONS = (
    "How long do I have to return a sale item?",
    "When are refunds paid?",
    "How long does standard delivery take?",
    "How long do you keep order records?",
    "When are analytics cookies set?",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="per arm")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/monitor.json"))
    args = parser.parse_args()
    embedder = Embedder(EmbedderConfig())
    with tempfile.TemporaryDirectory() as tmp:
        clients = {}
        for arm, record in (("off", False), ("on", True)):
            config = make_config(
                Path(tmp) / arm,
                routes={"support": {"collections": ["shop"]}},
                monitor={"record": record, "reference_size": 50},
            )
            docs = write_docs(Path(tmp) / "docs", THREE_DOCS)
            sync_folder("shop", docs, config.knowledge, embedder)
            clients[arm] = TestClient(create_app(config, FakeEngine(), embedder)).__enter__()
        times: dict[str, list[float]] = {"off": [], "on": []}
        for i in range(args.requests + 20):  # interleaved; the first 20 warm up
            for arm, client in clients.items():
                body = {
                    "model": "support",
                    "messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}],
                }
                started = time.perf_counter()
                reply = client.post("/v1/chat/completions", json=body)
                elapsed = time.perf_counter() - started
                if reply.status_code != 200:
                    raise SystemExit(f"{arm}: {reply.status_code} {reply.text}")
                if i >= 20:
                    times[arm].append(elapsed * 1000)
        for client in clients.values():
            client.__exit__(None, None, None)
    p50 = {arm: statistics.median(t) for arm, t in times.items()}
    result = {
        "requests_per_arm": args.requests,
        "p50_ms": {arm: round(v, 2) for arm, v in p50.items()},
        "p95_ms": {arm: round(sorted(t)[int(0.95 * len(t))], 2) for arm, t in times.items()},
        "added_p50_ms": round(p50["on"] - p50["off"], 2),
        "ratio_on_over_off": round(p50["on"] / p50["off"], 3),
    }
    print(f"chat request p50: monitoring off {p50['off']:.2f} ms, on {p50['on']:.2f} ms")
    print(
        f"added at the median: {result['added_p50_ms']:.2f} ms (target <= 2 ms); ratio on/off "
        f"{result['ratio_on_over_off']:.3f}x"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
