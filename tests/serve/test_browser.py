"""The web page end to end in headless Chromium (Playwright driving Debian's ``chromium``; no browser download):
search, rate three titles, see recommendations with reasons, follow "more like this", look up a known user; on a
phone-width screen, with labelled controls and no script errors. Saves a screenshot in the test's tmp folder."""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

import cofirec
from cofirec.data.synthetic import make_synthetic

from .conftest import needs_fold_in, running, sqlite_url

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install 'cofirec[dev]')")

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "chromium", "chromium-browser")


def chromium_path() -> str:
    for c in CANDIDATES:
        path = c if Path(c).is_absolute() and Path(c).exists() else shutil.which(c)
        if path:
            return path
    pytest.skip("chromium not installed (Debian: apt-get install -y --no-install-recommends chromium; .ci/run does it)")


@contextmanager
def phone_page(p, url: str) -> Iterator[tuple[Any, list[str]]]:
    """A phone-width page of headless Debian Chromium at ``url``, and the list its script errors go to."""
    browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
    try:
        page = browser.new_page(viewport={"width": 375, "height": 740})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(url)
        yield page, errors
    finally:
        browser.close()


@needs_fold_in
def test_page_search_rate_recommend_more_like_this_and_known_user(model_dir, tmp_path):
    chromium_path()
    with running(model_dir, sqlite_url(tmp_path), tmp_path / "server.log") as srv, sync_api.sync_playwright() as p:
        with phone_page(p, srv.url + "/") as (page, errors):
            sync_api.expect(page.locator("#model-line")).to_contain_text("80 items")

            page.get_by_label("Search titles").fill("item 1")
            page.keyboard.press("Enter")  # the form submits from the keyboard
            results = page.locator("#search-results li")
            sync_api.expect(results.first).to_contain_text("Item 1")
            assert results.count() >= 3
            for k, stars in enumerate(("5", "4", "5")):
                row = results.nth(k)
                row.get_by_role("combobox").select_option(stars)
                row.get_by_role("button", name="Rate").click()
            sync_api.expect(page.locator("#rated li")).to_have_count(3)

            page.get_by_role("button", name="Recommend for me").click()
            recs = page.locator("#recommendations li")
            sync_api.expect(recs.first).to_be_visible()
            assert recs.count() == 10
            sync_api.expect(recs.first.locator(".reasons")).to_contain_text("Because you rated Item")
            rated_titles = page.locator("#rated .title").all_inner_texts()
            assert not set(recs.locator(".title").all_inner_texts()) & set(rated_titles)

            first_title = recs.first.locator(".title").inner_text()
            recs.first.get_by_role("button", name="More like").click()
            sync_api.expect(page.locator("#similar-heading")).to_have_text(f"More like {first_title}")
            sync_api.expect(page.locator("#similar li").first).to_be_visible()
            assert page.locator("#similar li").count() == 10
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
            page.screenshot(path=str(tmp_path / "visitor.png"), full_page=True)

            page.get_by_label("User id").fill("7")
            page.get_by_role("button", name="Show").click()
            sync_api.expect(page.locator("#status")).to_contain_text("for user 7")
            sync_api.expect(page.locator("#history li").first).to_be_visible()
            assert page.locator("#recommendations li").count() == 10
            assert not errors, errors
            page.get_by_label("User id").fill("no-such-user")
            page.get_by_role("button", name="Show").click()
            sync_api.expect(page.locator("#status")).to_contain_text("unknown user")
            page.screenshot(path=str(tmp_path / "known-user.png"), full_page=True)
            assert all("404" in e for e in errors), errors  # only the unknown user's two lookups failed
    assert (tmp_path / "visitor.png").stat().st_size > 10_000


@needs_fold_in
def test_page_reasons_for_an_implicit_model_say_liked_without_ratings(tmp_path):
    # an implicit-feedback model: the page offers "Like" buttons and its reasons name the liked titles only
    # ("Because you liked Item 3 (1990), Item 12 (1975)"), never "rated" nor the stored like value after a title
    chromium_path()
    data = make_synthetic(n_users=100, n_items=60, density=0.15, seed=4).as_implicit(min_rating=4)
    folder = tmp_path / "ials"
    model = cofirec.create_model("ials", {"factors": 8, "epochs": 5}).fit(data)
    model.save(folder)
    with running(folder, sqlite_url(tmp_path), tmp_path / "server.log") as srv, sync_api.sync_playwright() as p:
        with phone_page(p, srv.url + "/") as (page, errors):
            sync_api.expect(page.locator("#model-line")).to_contain_text(f"{model.n_items} items")  # items liked in training
            page.get_by_label("Search titles").fill("item 1")
            page.keyboard.press("Enter")
            results = page.locator("#search-results li")
            sync_api.expect(results.first).to_contain_text("Item 1")
            assert results.first.get_by_role("combobox").count() == 0  # no star ratings for implicit feedback
            for k in range(3):
                results.nth(k).get_by_role("button", name="Like").click()
            sync_api.expect(page.locator("#rated li")).to_have_count(3)
            liked = page.locator("#rated li").all_inner_texts()
            assert all("liked" in t and "rated" not in t for t in liked), liked  # not "rated 4" for a like
            page.get_by_role("button", name="Recommend for me").click()
            reasons = page.locator("#recommendations li .reasons")
            sync_api.expect(reasons.first).to_contain_text("Because you liked Item")
            texts = reasons.all_inner_texts()
            assert texts and all(t.startswith("Because you liked ") for t in texts), texts
            assert not any(re.search(r"\)\s+\d", t) for t in texts), texts  # no "(1990) 4": the like value is not shown
            page.screenshot(path=str(tmp_path / "implicit.png"), full_page=True)
            assert not errors, errors
