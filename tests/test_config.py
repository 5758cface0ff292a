from pathlib import Path

import pytest

from hybrid.config import HybridConfig, check_name, load_config, parse_config

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def test_there_are_recipes():
    assert any(p.name == "default.yaml" for p in CONFIGS)


REPO = Path(__file__).resolve().parents[1]
# Paths a recipe may name outside the repository: the shared data beside it.
SHARED = Path("../shared/data")


def _exists_or_shared(path: Path) -> bool:
    return (REPO / path).exists() or path.is_relative_to(SHARED) or path.is_absolute()


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_recipe_loads_and_names_what_exists(path: Path):
    config = load_config(path)
    assert config.routes, "a recipe serves at least one route"
    for name, route in config.routes.items():
        # Templates ship in prompts/; an adapter a route uses is one the runtime loads, either
        # shipped in the package or one that a recipe here trains (adapters/<train.adapter_name>).
        for template in (route.template, route.draft_template):
            assert template is None or (REPO / template).is_file(), (name, template)
        if route.adapter is not None and config.runtime.engine == "local":
            # (A remote engine serves adapters by name; the files live on that server.)
            folder = Path(config.runtime.adapters[route.adapter])
            trained = {load_config(c).train.adapter_name for c in CONFIGS}
            shipped = (REPO / folder / "adapter_config.json").is_file() or (
                folder / "adapter_config.json"
            ).is_file()
            assert shipped or folder.name in trained, (name, folder)
    for source in config.raft.sources if config.raft else ():
        assert _exists_or_shared(source.path), source.path
        assert source.docs is None or (REPO / source.docs).is_dir(), source.docs
        assert source.route in config.routes, source.route
    if config.data is not None:
        assert _exists_or_shared(config.data.path), config.data.path
    if config.triage is not None:  # the shipped classifier, with what serving reads beside it
        folder = REPO / config.triage.classifier
        for name in ("adapter_config.json", "labels.json", "categories.json", "card.json"):
            assert (folder / name).is_file(), (folder, name)
        assert config.triage.route in config.routes


def test_default_recipe_uses_embedded_models():
    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "default.yaml")
    assert config.embedder.model == "embedded:all-MiniLM-L6-v2"
    # The file states the built-in defaults (its adapter path is relative to the repository).
    repo = Path(__file__).resolve().parents[1]
    adapters = {n: (repo / p).resolve() for n, p in config.runtime.adapters.items()}
    runtime = config.runtime.model_copy(update={"adapters": adapters})
    assert config.model_copy(update={"runtime": runtime}) == HybridConfig()


def test_error_names_field_and_value():
    with pytest.raises(ValueError, match=r"chunking\.size.*got -5"):
        parse_config({"chunking": {"size": -5}})


def test_unknown_key_is_an_error():
    with pytest.raises(ValueError, match=r"embedder\.modle"):
        parse_config({"embedder": {"modle": "x"}})


def test_overlap_must_be_below_size():
    with pytest.raises(ValueError, match="overlap"):
        parse_config({"chunking": {"size": 100, "overlap": 100}})


def test_bad_enum_value_named():
    with pytest.raises(ValueError, match=r"index\.kind.*'annoy'"):
        parse_config({"index": {"kind": "annoy"}})


def test_bad_yaml_file(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("chunking: [unclosed")
    with pytest.raises(ValueError, match="bad.yaml"):
        load_config(bad)


def test_index_dir_override_order(tmp_path: Path, monkeypatch):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("index_dir: from-recipe\n")
    monkeypatch.delenv("HYBRID_INDEX_DIR", raising=False)
    assert load_config(recipe).index_dir == Path("from-recipe")
    monkeypatch.setenv("HYBRID_INDEX_DIR", str(tmp_path / "env"))
    assert load_config(recipe).index_dir == tmp_path / "env"
    assert load_config(recipe, index_dir=tmp_path / "flag").index_dir == tmp_path / "flag"


def test_route_adapter_must_be_loaded():
    with pytest.raises(ValueError, match=r"routes\.support\.adapter: 'tone' is not in runtime"):
        parse_config({"routes": {"support": {"adapter": "tone"}}})
    config = parse_config(
        {"runtime": {"adapters": {"tone": "adapters/tone"}}, "routes": {"s": {"adapter": "tone"}}}
    )
    assert config.routes["s"].adapter == "tone"


def test_serving_sections_name_the_bad_field():
    with pytest.raises(ValueError, match="engine 'openai' needs an `openai:` section"):
        parse_config({"runtime": {"engine": "openai"}})
    with pytest.raises(ValueError, match="exactly one of `key` and `key_env`"):
        parse_config({"serve": {"keys": [{"name": "a", "role": "agent"}]}})
    with pytest.raises(ValueError, match=r"serve\.keys\.0\.role.*'root'"):
        parse_config({"serve": {"keys": [{"name": "a", "role": "root", "key": "k"}]}})
    with pytest.raises(ValueError, match=r"routes\.support\.top_k.*got 0"):
        parse_config({"routes": {"support": {"top_k": 0}}})
    with pytest.raises(ValueError, match="key names must be unique"):
        parse_config({"serve": {"keys": [{"name": "a", "role": "agent", "key": "1"}] * 2}})
    with pytest.raises(ValueError, match=r"draft_quotes \(1\) needs draft_evidence"):
        parse_config({"routes": {"legal": {"draft_quotes": 1}}})


def test_importing_config_loads_no_heavy_library():
    # `hybrid --help` and config validation must not pay torch's 1.3 s import (issue 11).
    import subprocess
    import sys

    code = (
        "import sys, hybrid.config, hybrid.cli; "
        "print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "data, field",
    [
        ({"routes": {"bad name": {}}}, "route name 'bad name'"),
        ({"runtime": {"adapters": {"bad name": "adapters/x"}}}, "adapter name 'bad name'"),
        ({"train": {"adapter_name": "bad name"}}, "train.adapter_name"),
        ({"serve": {"keys": [{"name": "bad name", "role": "agent", "key": "k"}]}}, "keys.0.name"),
    ],
)
def test_one_name_pattern_for_routes_adapters_and_keys(data: dict, field: str):
    # One pattern (hybrid.config.names.NAME) decides every name a recipe gives; the error names
    # the field (or the name) and the value.
    with pytest.raises(ValueError, match=field) as error:
        parse_config(data)
    assert "bad name" in str(error.value)
    for good in ("support", "legal-2", "a.b_c"):
        assert check_name(good, "name") == good


def test_knowledge_section_is_the_recipe_s_own():
    config = parse_config({"chunking": {"size": 120, "overlap": 10}, "index_dir": "/tmp/x"})
    assert config.knowledge.chunking.size == 120
    assert config.knowledge.index_dir == Path("/tmp/x")
    assert config.knowledge.embedder == config.embedder
