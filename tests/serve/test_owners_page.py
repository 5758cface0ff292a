"""The knowledge owners' page in headless Chromium: upload several files (one bad), see the good
one listed and live, preview a question only it answers, delete it, see it gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.serve.conftest import KEYS, Server
from tests.serve.test_page import FLAGS, SCREENSHOTS, chromium

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PDF = REPO / "evals" / "data" / "kb" / "train" / "docs" / "kettleworks-appliances-warranty.pdf"
NAME = PDF.name
CARD = '.collection[data-collection="acme-policies"]'


def test_owner_uploads_previews_and_deletes(server: Server, tmp_path: Path):
    sync_api = pytest.importorskip("playwright.sync_api")
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 this is not a PDF")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=FLAGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(server.url + "/owners")
        page.fill("#key", KEYS["owner"])
        page.dispatch_event("#key", "change")
        page.wait_for_selector(f"{CARD} tr.docrow")
        assert page.locator(".collection").count() == 1  # contracts: not this key's
        before = page.locator(f"{CARD} tr.docrow").count()

        page.set_input_files(f"{CARD} input.choose", [str(bad), str(PDF)])
        notice = page.wait_for_selector(f"{CARD} .notice", timeout=120_000)
        text = notice.inner_text()
        assert f"{NAME}: live now" in text and "broken.pdf" in text, text
        row = page.locator(f'{CARD} tr.docrow[data-document="{NAME}"]')
        assert row.count() == 1 and "pdf" in row.inner_text()
        assert page.locator(f"{CARD} tr.docrow").count() == before + 1  # the bad one: not added
        assert "1 added" in page.locator(f"{CARD} .sync").inner_text()

        page.select_option("#route", "support")
        assert page.eval_on_selector("#route", "e => e.value") == "support"
        page.fill("#preview-q", "How much is KettleWorks Extended Care?")
        page.click("#preview")
        page.wait_for_selector(".hit")
        assert NAME in page.locator(".hit .meta").first.inner_text()
        page.wait_for_selector("#adapters div")  # staleness of the loaded adapters
        assert "answerer" in page.locator("#adapters").inner_text()

        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "owners-page.png"), full_page=True)
        row.locator("button.delete").click()
        page.wait_for_function(
            f"!document.querySelector('{CARD} tr.docrow[data-document=\"{NAME}\"]')"
        )
        assert "deleted" in page.locator(f"{CARD} .notice").inner_text()
        page.click("#preview")  # the old hits go at once; wait for the new ones
        page.wait_for_selector(".hit")
        assert not any(NAME in m for m in page.locator(".hit .meta").all_inner_texts())
        assert errors == []
        browser.close()
