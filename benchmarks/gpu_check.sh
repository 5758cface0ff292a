#!/usr/bin/env bash
# GPU speed check for `device` machines (H100/H200): random weights of SmolLM2-135M and
# Llama-3.1-8B shapes, seq ~1024, TRL defaults vs hybrid's recipe; the serving engine's
# compiled path vs continuous batching. Needs the wheels in .whl/
# (trl, datasets, pydantic...) and the embedded tokenizer in .gpu/tokenizer (see README).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import torch, transformers, peft, trl; print(torch.__version__, transformers.__version__, peft.__version__, trl.__version__)"
out=${OUT:-/tmp}
timeout 170 python3 benchmarks/bench_train.py --random-shape smollm2-135m --tokenizer .gpu/tokenizer \
  --synthetic-words 900 --max-length 1024 --batch 16 --steps 12 --warmup 3 --examples 256 \
  --out "$out/bench_train_smollm2.json"
# The server's engine: continuous batching vs the compiled path (static KV cache +
# torch.compile), random SmolLM2-shape weights, every request through the shipped adapter.
timeout 200 python3 benchmarks/bench_engine.py --shape smollm2-135m --tokenizer .gpu/tokenizer \
  --adapter hybrid/adapters/answerer --clients 1,8,32 --rounds 2 --out "$out/bench_engine.json"
[ "${SMALL_ONLY:-0}" = 1 ] && exit 0
timeout 220 python3 benchmarks/bench_train.py --random-shape llama-8b --tokenizer .gpu/tokenizer \
  --synthetic-words 900 --max-length 1024 --batch 4 --steps 8 --warmup 2 --examples 64 \
  --out "$out/bench_train_8b.json"
