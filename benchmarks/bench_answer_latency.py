"""Answer latency over HTTP, one request at a time: KB questions through the default support
route (evidence sentences + the shipped answerer) against the same route on whole chunks and
the base model (the route as it was before the answerer), in one run.

    .venv/bin/python benchmarks/bench_answer_latency.py [--limit 20]

Prints medians and the ratio; writes benchmarks/results/answer-latency.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/serve/process.py

from hybrid.config import load_config  # noqa: E402
from hybrid.datasets.qa_sets import index_set, read_kb  # noqa: E402
from hybrid.evals.metrics import fact_match  # noqa: E402
from hybrid.knowledge.embedder import Embedder  # noqa: E402
from tests.serve.process import start_server  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
KB = REPO / "evals" / "data" / "kb" / "heldout"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=20)
    args = parser.parse_args()
    questions = [q for q in read_kb(KB / "docs", KB / "questions.jsonl").questions if q.answers]
    questions = questions[:: max(1, len(questions) // args.limit)][: args.limit]
    with tempfile.TemporaryDirectory() as folder:
        index_dir = Path(folder) / "indexes"
        config = load_config(REPO / "configs" / "default.yaml", index_dir)
        index_set(
            "kb",
            read_kb(KB / "docs", KB / "questions.jsonl"),
            config,
            Embedder(config.embedder),
            False,
        )
        # The shipped support route as configs/default.yaml serves it, on the KB collection.
        answerer = config.routes["support"].model_dump(mode="json") | {"collections": ["kb"]}
        chunks = {
            "collections": ["kb"],
            "template": "prompts/cited_answer.j2",
            "evidence": {"unit": "chunks"},
            "top_k": 3,
            "generation": {"max_new_tokens": 256},
        }
        recipe = {
            "index_dir": str(index_dir),
            "runtime": {"adapters": {"answerer": str(REPO / "hybrid/adapters/answerer")}},
            "routes": {"answerer": answerer, "chunks": chunks},
        }
        server = start_server(recipe, Path(folder) / "server")
        results: dict[str, dict] = {}
        try:
            with httpx.Client(base_url=server.url, timeout=300) as client:
                for route in ("chunks", "answerer"):
                    times, right = [], 0
                    for q in questions:
                        body = {
                            "model": route,
                            "messages": [{"role": "user", "content": q.question}],
                        }
                        started = time.perf_counter()
                        reply = client.post("/v1/chat/completions", json=body)
                        times.append(time.perf_counter() - started)
                        reply.raise_for_status()
                        text = reply.json()["choices"][0]["message"]["content"]
                        right += fact_match(text, q.answers)
                    results[route] = {
                        "median_s": round(statistics.median(times), 3),
                        "p95_s": round(sorted(times)[int(0.95 * (len(times) - 1))], 3),
                        "fact_match": round(right / len(questions), 3),
                    }
                    got = results[route]
                    print(
                        f"{route:9s} median {got['median_s']:.2f} s  p95 {got['p95_s']:.2f} s  "
                        f"fact_match {got['fact_match']:.2f}"
                    )
        finally:
            server.stop()
    ratio = results["chunks"]["median_s"] / results["answerer"]["median_s"]
    print(f"median latency, whole chunks + base / sentences + answerer: {ratio:.2f}x")
    out = REPO / "benchmarks" / "results" / "answer-latency.json"
    out.write_text(
        json.dumps({"questions": len(questions), "routes": results, "ratio": ratio}, indent=2)
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
