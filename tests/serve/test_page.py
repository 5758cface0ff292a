"""The support agents' page in headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from hybrid.monitor.ledger import Ledger
from tests.conftest import REPO
from tests.serve.conftest import KEYS, Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SCREENSHOTS = REPO / "tests" / "screenshots"  # git-ignored; CI keeps the last one
# The flags that keep Chromium off the network it cannot reach here.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (make test installs Debian's chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def test_page_streams_an_answer_and_opens_cited_snippets(
    server: Server, tmp_path: Path, index_dir: Path
):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url)
        assert "support assistant" in page.title()
        page.fill("#key", KEYS["legal"])
        page.dispatch_event("#key", "change")
        page.wait_for_function("document.querySelector('#route').options.length > 1")
        assert errors == []
        page.select_option("#route", "legal")
        page.fill("#question", "What is the royalty rate in the content license agreement?")
        page.click("#send")

        page.wait_for_selector(".cite", timeout=120_000)
        answer = page.locator(".msg.assistant").last
        assert "royalt" in answer.inner_text().lower()
        assert int(answer.get_attribute("data-deltas") or 0) > 3  # arrived token by token
        first = page.locator(".cite").first
        label = first.inner_text()
        assert "GluMobile" in label and re.search(r"page \d", label) and "verified" in label
        first.click()
        snippet = page.locator("#snippet")
        snippet.wait_for(state="visible")
        assert "Royalties" in snippet.inner_text()

        # "Check a draft": each sentence gets its label; a wrong date shows as contradicted.
        page.fill(
            "#draft", "The Wireless Content License Agreement is dated as of December 20, 2004."
        )
        page.click("#check")
        page.wait_for_selector(".claim", timeout=60_000)
        claim = page.locator(".claim").first
        assert claim.locator(".badge").inner_text() == "contradicted"
        assert "December 16, 2004" in claim.inner_text()  # the source sentence it aligned to
        assert page.locator("#documents-panel").is_hidden()  # legal chats, it does not manage

        # A key that manages documents sees each one with its origin (folder sync or upload).
        page.fill("#key", KEYS["owner"])
        page.dispatch_event("#key", "change")
        page.wait_for_selector(".docrow", timeout=30_000)
        rows = page.locator(".docrow").all_inner_texts()
        assert any(r.startswith("returns-policy.md") and r.endswith("folder") for r in rows), rows
        assert not any("contracts" in t for t in page.locator("#documents .meta").all_inner_texts())
        assert errors == []

        # The conversation as a person uses it: Enter sends (Shift+Enter is a new line), the
        # answer is rendered Markdown without any HTML from the text, and it can be rated.
        page.fill("#key", KEYS["admin"])
        page.dispatch_event("#key", "change")
        page.wait_for_function("document.querySelector('#route').options.length > 1")
        page.select_option("#route", "support")
        page.click("#clear")
        assert page.locator(".msg").count() == 0
        page.fill("#question", "How long do I have to return a sale item?")
        page.press("#question", "Shift+Enter")
        assert page.locator(".msg").count() == 0  # a new line, not a send
        page.press("#question", "Enter")
        page.wait_for_selector(".msg.assistant .rate", timeout=120_000)
        answer = page.locator(".msg.assistant").last
        assert answer.locator(".mark").count() >= 1  # [n] as a clickable badge
        assert page.locator(".cite .snip").first.is_visible()  # the snippet, no click needed
        markdown = "### Sale items\n**14 days** <img src=x onerror=alert(1)>\n- one\n- two [2]"
        rendered = page.evaluate(
            """(text) => { const box = document.createElement('div');
            box.appendChild(renderMarkdown(text));
            const n = (tag) => box.querySelectorAll(tag).length;
            return {h: n('h4'), b: box.querySelector('strong').textContent, img: n('img'),
                    li: n('li'), text: box.textContent}; }""",
            markdown,
        )
        assert rendered["h"] == 1 and rendered["b"] == "14 days" and rendered["li"] == 2
        assert rendered["img"] == 0 and "<img src=x" in rendered["text"]  # shown, not parsed
        answer_id = answer.get_attribute("data-answer-id")
        answer.locator(".rate .down").click()
        answer.locator(".rate .correction").fill("Sale items can be returned within 14 days.")
        answer.locator(".rate .send-feedback").click()
        page.wait_for_selector(".rate .thanks")
        ledger = Ledger(index_dir.with_name(index_dir.name + ".ledger.sqlite"))
        stored = {a.id: f for f, a in ledger.feedback()}
        assert stored[answer_id].correction == "Sale items can be returned within 14 days."
        assert errors == []

        SCREENSHOTS.mkdir(exist_ok=True)
        for path in (tmp_path / "page.png", SCREENSHOTS / "agents-page.png"):
            page.screenshot(path=str(path), full_page=True)
        assert (tmp_path / "page.png").stat().st_size > 10_000
        browser.close()
